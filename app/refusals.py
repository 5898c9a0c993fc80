"""A service's "no", with a code: API clients read its English text, the console its own words.

Services raise `Refusal(code, english, **values)` where a person acting on the console can hit
the refusal; it is a ValueError, so every caller that handles a service's ValueError still does.
"""

from __future__ import annotations


class Refusal(ValueError):
    def __init__(self, code: str, message: str, **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


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


class Refusals(ValueError):
    """Every problem one submission has, found together so a form can show each beside its
    field at once (one error per submit makes people submit again and again). Each problem is
    a "field: message" ValueError, usually a Refusal; the text is all of them, first first."""

    def __init__(self, problems: list[ValueError]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def field_of(problem: ValueError) -> str:
    """The field a "field: message" problem names ("" when it names none)."""
    name, sep, _ = str(problem).partition(": ")
    return name if sep and name.isidentifier() else ""


def message_of(problem: ValueError) -> str:
    """A problem's text without its leading "field: "."""
    text = str(problem)
    name = field_of(problem)
    return text[len(name) + 2:] if name else text
