"""A service's "no", typed: what the API, the console and the CLI may show to the person who
asked, as opposed to a bug.

- `Refusal(code, message, field=..., **values)`: the service refuses (a state that forbids
  it, a value it cannot take). `field` names the input it is about ("" when none); `code`
  and `values` let the console say it in the operator's language; `str()` reads
  "field: message", the English the API, the CLI and the logs show.
- `Invalid(field, message, code=...)`: one field's value is wrong.
- `Refusals(problems)`: every problem of one submission at once, so a form shows each beside
  its field (one error per submit makes people submit again and again).

The API answers a Refusal with a 422 naming the field and nothing else does: any other
exception is a bug, a 500 that is logged. A Refusal is still a ValueError, so code that
handles a ValueError from a parser or a service keeps handling it.
"""

from __future__ import annotations

import re

# "field: message", the form services wrote their refusals in before they were typed.
_FIELD_FIRST = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]{0,63}): (.*)$", re.S)


class Refusal(ValueError):
    def __init__(self, code: str, message: str, *, field: str | None = None, **values: str) -> None:
        if field is None:
            field, message = split_field(message)
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.field = field
        self.message = message
        self.values = values


class Invalid(Refusal):
    """One field's value is wrong."""

    def __init__(self, field: str, message: str, *, code: str = "invalid", **values: str) -> None:
        super().__init__(code, message, field=field, **values)


class Refusals(Refusal):
    """Every problem one submission has, found together; the text is all of them, first first."""

    def __init__(self, problems: list[Refusal]) -> None:
        super().__init__("invalid_many", "; ".join(str(p) for p in problems), field="")
        self.problems = problems


def refuse_all(problems: list[Refusal]) -> None:
    """Raise the problems found, if any: one as itself, several together."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise Refusals(problems)


def split_field(text: str) -> tuple[str, str]:
    """("field", "message") from "field: message"; ("", text) when it names no field."""
    match = _FIELD_FIRST.match(text)
    return (match.group(1), match.group(2)) if match else ("", text)


class Reason(str):
    """One refused line among many (an import's bad rows): its English text, which the API, the
    CLI and the logs read as a plain string, carrying the code and values the console
    translates."""

    code: str
    values: dict[str, str]

    def __new__(cls, code: str, english: str, **values: str) -> Reason:
        reason = super().__new__(cls, english)
        reason.code = code
        reason.values = values
        return reason


def reason_of(exc: Exception, english: str | None = None) -> str:
    """A caught refusal as a Reason (code and values kept), anything else as its text;
    `english` replaces the exception's own text where a list says it differently."""
    text = english if english is not None else str(exc)
    if isinstance(exc, Refusal):
        return Reason(exc.code, text, **exc.values)
    return text


def field_of(problem: ValueError) -> str:
    """The field a problem names ("" when it names none)."""
    return problem.field if isinstance(problem, Refusal) else split_field(str(problem))[0]


def message_of(problem: ValueError) -> str:
    """A problem's text without its field."""
    return problem.message if isinstance(problem, Refusal) else split_field(str(problem))[1]
