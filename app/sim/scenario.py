"""Scenario files: a simulated call written down, played by `cortese sim run` and by pytest.

```yaml
name: FAQ by keys, then the caller stays silent
from: "+393471234567"          # default +393331234567
to: "+390212345678"            # default: our Twilio number
queue: {outcome: bridged, after_loops: 1}   # optional <Enqueue> script
dial: [busy]                   # optional <Dial> outcomes, in order
steps:
  - expect: buongiorno          # heard so far (case-insensitive substring)
  - press: "1"                  # or the short forms: "1", "say:...", silence, hangup
  - say: il modem non funziona
  - silence
  - expect_not: errore
  - hangup
ended: true                    # optional: the call must (not) be over at the end
problems: []                   # the problems expected (default: none at all)
live: false                    # optional: the outcome depends on the time of day, so the
                               # scenario runs under the simulated clock (SIMULATED_START) in
                               # process and in tests, and is skipped against a live server
```
"""

from __future__ import annotations

import difflib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from app.sim.call import QueuePlan, SimCall
from app.sim.script import Step, apply_step, parse_step
from app.sim.simulator import DEFAULT_CALLER, Simulator
from app.yamlfile import load_yaml

# When `live: false` scenarios happen: Monday 2 March 2026, 10:00 in Rome (operators in, a
# working day), the moment the test suite's clock starts at too.
SIMULATED_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_KEYS = {"press": "press", "say": "speak", "speak": "speak", "record": "speak",
         "expect": "expect", "expect_not": "expect_not"}


class ScenarioError(ValueError):
    """The scenario file itself is wrong (not the call)."""


@dataclass
class Scenario:
    name: str
    steps: list[Step]
    from_: str = DEFAULT_CALLER
    to: str | None = None
    queue: QueuePlan | None = None
    dial: list[str] = field(default_factory=list)
    ended: bool | None = None
    problems: list[str] = field(default_factory=list)
    path: str = ""
    live: bool = True


@dataclass
class Outcome:
    scenario: Scenario
    call: SimCall | None
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        head = f"{'PASS' if self.ok else 'FAIL'} {self.scenario.name} ({self.scenario.path})"
        if self.ok:
            return head
        lines = [head] + [f"  - {f}" for f in self.failures]
        if self.call is not None:
            lines += ["  transcript:"] + ["    " + ln for ln in self.call.format_transcript()
                                         .splitlines()]
        return "\n".join(lines)


def _step(item: Any) -> Step:
    if isinstance(item, str):
        return parse_step(item)
    if isinstance(item, dict) and len(item) == 1:
        key, value = next(iter(item.items()))
        action = _KEYS.get(str(key))
        if action is None:
            raise ScenarioError(f"unknown step {key!r}: use {sorted(_KEYS)}, silence or hangup")
        value = str(value)
        if action == "press":
            return parse_step(value)
        return Step(action, value)
    raise ScenarioError(f"a step is a string or a one-key mapping, got {item!r}")


def load(path: str | Path) -> Scenario:
    file = Path(path)
    try:
        data = load_yaml(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ScenarioError(f"{file}: needs a mapping with a list of steps")
    try:
        queue = QueuePlan(**data["queue"]) if data.get("queue") else None
        steps = [_step(item) for item in data["steps"]]
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{file}: {exc}") from None
    return Scenario(
        name=str(data.get("name") or file.stem), steps=steps,
        from_=str(data.get("from") or DEFAULT_CALLER),
        to=str(data["to"]) if data.get("to") else None, queue=queue,
        dial=[str(d) for d in data.get("dial") or []],
        ended=data.get("ended"), problems=[str(p) for p in data.get("problems") or []],
        path=str(file), live=bool(data.get("live", True)),
    )


def fresh_number(number: str) -> str:
    """The caller's number with its last six digits replaced at random: same country and
    kind of line, but a caller the app has never seen (no open tickets, no language kept)."""
    if not number.startswith("+") or len(number) < 10:
        return number
    try:
        original = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    kind = phonenumbers.number_type(original)
    for _ in range(200):  # most random tails are valid; some ranges are half empty (+447911...)
        candidate = number[:-6] + f"{secrets.randbelow(10**6):06d}"
        parsed = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) == kind:
            return candidate
    return number


def play(scenario: Scenario, simulator: Simulator, *, fresh_caller: bool = False) -> Outcome:
    """Run a scenario; failures are collected as readable lines, never raised.

    `fresh_caller`: call from a never-seen number, for databases that outlive one scenario
    (a live server), where an earlier run's ticket or language choice would change the call.
    """
    caller = fresh_number(scenario.from_) if fresh_caller else scenario.from_
    call = simulator.inbound(from_=caller, to=scenario.to, queue=scenario.queue,
                             dial=scenario.dial)
    failures: list[str] = []
    for number, step in enumerate(scenario.steps, 1):
        failure = _check_step(call, step)
        if failure:
            failures.append(f"step {number} ({step}): {failure}")
            break
    if not failures:
        failures += _check_end(scenario, call)
    return Outcome(scenario, call, failures)


def _check_step(call: SimCall, step: Step) -> str | None:
    if step.action == "expect_not":
        return f"heard {step.value!r}, which must not be said" if call.heard(step.value) else None
    if step.action == "expect":
        if call.heard(step.value):
            return None
        return (f"expected to hear {step.value!r}; closest: {_closest(call, step.value)!r}; "
                f"last said: {call.last_said!r}")
    try:
        apply_step(call, step)
    except AssertionError as exc:  # CallEnded
        return str(exc).splitlines()[0]
    return None


def _closest(call: SimCall, wanted: str) -> str:
    """The stretch of anything said that looks most like what the scenario expected."""
    best, best_ratio = "", 0.0
    target = wanted.lower()
    for said in call.said:
        words = said.split()
        size = max(1, len(target.split()))
        for start in range(max(1, len(words) - size + 1)):
            window = " ".join(words[start:start + size])
            ratio = difflib.SequenceMatcher(None, target, window.lower()).ratio()
            if ratio > best_ratio:
                best, best_ratio = window, ratio
    return best


def _check_end(scenario: Scenario, call: SimCall) -> list[str]:
    failures = []
    if scenario.ended is not None and call.ended != scenario.ended:
        failures.append(f"the call should {'' if scenario.ended else 'not '}have ended")
    got = sorted(str(p) for p in call.problems)
    if got != sorted(scenario.problems):
        detail = "; ".join(p.describe() for p in call.problems) or "none"
        failures.append(f"problems: expected {sorted(scenario.problems)}, got {got} ({detail})")
    return failures


def run_files(paths: list[Path], make_simulator: Callable[[], Simulator]) -> list[Outcome]:
    outcomes = []
    for path in paths:
        outcomes.append(play(load(path), make_simulator()))
    return outcomes
