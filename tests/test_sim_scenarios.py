"""Every scenario in tests/scenarios/ (happy and unhappy calls through the shipped inbound
flows) plays green through the simulator; the scenario loader refuses broken files."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import pytest

from app.sim import Simulator
from app.sim.scenario import ScenarioError, fresh_number, load, play

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(sim: Simulator, path: Path) -> None:
    outcome = play(load(path), sim)
    assert outcome.ok, outcome.report()


def test_every_inbound_flow_has_a_scenario() -> None:
    names = " ".join(p.stem for p in SCENARIOS)
    for flow in ("support_hotline", "support_menu", "faq", "fault_report", "warranty",
                 "delivery", "operator", "complaint", "callback_booking"):
        assert names.count(flow) >= 2, f"{flow}: needs a happy and an unhappy scenario"


@pytest.mark.parametrize("text,error", [
    ("steps: 3\n", "list of steps"),
    ("steps: [{dance: 1}]\n", "unknown step"),
    ("steps: [fly]\n", "unknown step"),
    ("steps: [1]\nqueue: {outcome: lost}\n", "queue outcome"),
    ("steps: [[1, 2]]\n", "one-key mapping"),
    ("steps: [\n", "not YAML"),
])
def test_broken_scenarios_are_refused(tmp_path: Path, text: str, error: str) -> None:
    file = tmp_path / "x.yaml"
    file.write_text(text)
    with pytest.raises(ScenarioError, match=error):
        load(file)


def test_a_failing_scenario_reports_what_was_said(sim: Simulator, tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("name: wrong\nsteps: [{expect: zebra}]\n")
    outcome = play(load(file), sim)
    assert not outcome.ok
    assert "expected to hear 'zebra'" in outcome.report() and "APP say" in outcome.report()


def test_unexpected_problems_fail_the_scenario(sim: Simulator, tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("steps: [hangup]\nproblems: [silence]\nended: false\n")
    report = play(load(file), sim).report()
    assert "should not have ended" in report and "problems: expected ['silence'], got []" in report


def test_fresh_callers_keep_the_country() -> None:

    numbers = {fresh_number("+447911123456") for _ in range(40)}
    assert all(n.startswith("+447911") and len(n) == 13 for n in numbers) and len(numbers) > 1
    # Half of +447911xxxxxx is unallocated: a fresh caller must still be a real UK mobile,
    # or the app rightly treats it as no number at all.
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers)
    assert fresh_number("anonymous") == "anonymous"


def test_a_near_miss_shows_the_closest_words(sim: Simulator, tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text('to: "+390212345678"\nsteps: [{expect: grazie per aver chiamato il servizio}]\n')
    report = play(load(file), sim).report()
    assert "closest: 'grazie di aver chiamato il servizio'" in report
