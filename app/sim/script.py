"""Caller scripts: the short step language shared by the CLI, scripted callees and scenarios.

A step is one of: ``1`` / ``123#`` (keys), ``say:il modem non funziona`` (speech; also
``speak:``), ``silence``, ``hangup``, ``expect:buongiorno`` (assert it was heard so far),
``record:message text`` (same as say:, reads better at a <Record>).
Written as a list, or as one comma-separated string: ``"1,say:il modem,silence"``; a step
that holds a comma is quoted, as in CSV, since speech is written with punctuation as the
recogniser gives it: ``'1,"say:Adesso non posso, mi chiamate voi dopo?",hangup'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.sim.call import SimCall

_KEYS = re.compile(r"^[0-9#*]+$")


@dataclass(frozen=True)
class Step:
    action: str  # press | speak | silence | hangup | expect | expect_not
    value: str = ""

    def __str__(self) -> str:
        return {"press": self.value, "silence": "silence", "hangup": "hangup"}.get(
            self.action, f"{self.action}:{self.value}")


def parse_step(text: str) -> Step:
    raw = text.strip()
    if not raw:
        raise ValueError("empty step")
    if _KEYS.match(raw):
        return Step("press", raw)
    lowered = raw.lower()
    if lowered in ("silence", "hangup"):
        return Step(lowered)
    head, sep, rest = raw.partition(":")
    head = head.strip().lower()
    if sep and head in ("say", "speak", "record") and rest.strip():
        return Step("speak", rest.strip())
    if sep and head in ("expect", "expect_not") and rest.strip():
        return Step(head, rest.strip())
    if sep and head == "press" and _KEYS.match(rest.strip()):
        return Step("press", rest.strip())
    raise ValueError(f"unknown step {raw!r}: use keys (1, 12#), say:TEXT, silence, hangup, "
                     "expect:TEXT")


def parse_steps(steps: str | Iterable[str]) -> list[Step]:
    items = _csv_fields(steps) if isinstance(steps, str) else list(steps)
    return [parse_step(str(item)) for item in items if str(item).strip()]


def _csv_fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line], skipinitialspace=True, strict=True), [])
    except csv.Error as exc:
        raise ValueError(f"steps {line!r}: {exc} (quote a step that holds a comma whole: "
                         '"say:no, grazie")') from None


def apply_step(call: SimCall, step: Step) -> None:
    """Play one step for the caller; `expect` raises AssertionError with the transcript."""
    if step.action == "press":
        call.press(step.value)
    elif step.action == "speak":
        call.speak(step.value)
    elif step.action == "silence":
        call.silence()
    elif step.action == "hangup":
        call.hangup()
    elif step.action == "expect":
        call.expect_say(step.value)
    elif step.action == "expect_not":
        if call.heard(step.value):
            raise AssertionError(f"heard {step.value!r}\n{call.format_transcript()}")
    else:  # pragma: no cover - parse_step only builds the actions above
        raise ValueError(step.action)


def run_steps(call: SimCall, steps: Iterable[Step]) -> SimCall:
    for step in steps:
        apply_step(call, step)
    return call
