"""Explore an IVR automatically: call it again and again, trying every key the prompts
mention, an unlisted key and silence at each turn, breadth first, and report every path on
which a caller would suffer (app.sim.courtesy problems) or that the simulator could not run.

Each path is a fresh call from the start (the app keeps call state in its database, so a call
cannot be forked halfway); `max_calls` bounds the cost.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.sim.call import CallEnded, SimCall, SimulatorError
from app.sim.script import Step, apply_step

_DIGIT = re.compile(r"(?<![\d:])\b(\d)\b(?![\d:])")  # "press 1." yes, "18:00" no
_STAR = re.compile(r"\b(star|asterisco|sterretje|asterisk)\b", re.IGNORECASE)
_HASH = re.compile(r"\b(hash|cancelletto|hekje|pound)\b", re.IGNORECASE)
SPOKEN = "vorrei parlare con qualcuno"  # a plausible free-form answer at speech prompts
RECORDED = "messaggio di prova del simulatore"


@dataclass
class Finding:
    path: list[str]
    problems: list[str]
    transcript: str

    def report(self) -> str:
        return (f"path {' > '.join(self.path) or '(start)'}: {'; '.join(self.problems)}\n"
                + "\n".join("    " + line for line in self.transcript.splitlines()[-12:]))


@dataclass
class Exploration:
    calls: int = 0
    paths: int = 0
    findings: list[Finding] = field(default_factory=list)
    truncated: bool = False


def options(call: SimCall) -> list[str]:
    """What a curious caller could do now: each key the last prompts mention, one key they
    do not mention, and silence (speech and recording prompts get one spoken answer)."""
    if call.waiting_for == "record":
        return [f"say:{RECORDED}", "silence"]
    recent = " ".join(_since_last_turn(call))
    keys = sorted(set(_DIGIT.findall(recent)))
    if _STAR.search(recent):
        keys.append("*")
    if _HASH.search(recent):
        keys.append("#")
    unlisted = next((d for d in "7598" if d not in keys), None)
    choices = keys + ([unlisted] if unlisted else [])
    if not keys:
        choices.append(f"say:{SPOKEN}")
    return choices + ["silence"]


def _since_last_turn(call: SimCall) -> list[str]:
    said: list[str] = []
    for entry in reversed(call.transcript):
        if entry.kind in ("press", "speak", "silence"):
            break
        if entry.kind == "say":
            said.append(entry.text)
    return list(reversed(said))


def _play(make_call: Callable[[], SimCall], path: list[str]) -> SimCall:
    call = make_call()
    for raw in path:
        if call.ended:
            break
        step = Step("speak", raw[4:]) if raw.startswith("say:") else (
            Step("silence") if raw == "silence" else Step("press", raw))
        apply_step(call, step)
    return call


def explore(make_call: Callable[[], SimCall], *, depth: int = 2,
            max_calls: int = 300) -> Exploration:
    """Breadth-first over caller choices up to `depth` turns; calls still up are hung up by
    the caller at the end (which is never a problem)."""
    result = Exploration()
    queue: deque[list[str]] = deque([[]])
    while queue:
        if result.calls >= max_calls:
            result.truncated = True
            break
        path = queue.popleft()
        result.calls += 1
        try:
            call = _play(make_call, path)
        except (SimulatorError, CallEnded) as exc:
            result.findings.append(Finding(path, [f"simulator: {exc}".splitlines()[0]], ""))
            continue
        if call.problems or call.ended or len(path) >= depth:
            result.paths += 1
            if call.problems:
                result.findings.append(Finding(path, [p.describe() for p in call.problems],
                                               call.format_transcript()))
            call.hangup()
            continue
        for choice in options(call):
            queue.append([*path, choice])
        call.hangup()
    return result
