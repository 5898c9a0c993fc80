"""flows/hotlines.yaml with mistakes: every mistake is named at once, with the file and the path
of the key, by the loader, `cortese flows lint` and start-up alike (README: Support hotline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.flows.cli import cli as flows_cli
from app.flows.hotlines import HotlineError, load_hotlines

REPO_FLOWS = Path(__file__).resolve().parent.parent / "flows"
FLOWS = {"support_hotline", "support_menu"}
NL = "hotlines.+31201234567"


@pytest.fixture
def hotlines(tmp_path: Path) -> Path:
    path = tmp_path / "hotlines.yaml"
    shutil.copy(REPO_FLOWS / "hotlines.yaml", path)
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(path: Path) -> list[str]:
    with pytest.raises(HotlineError) as caught:
        load_hotlines(path, company="Cortese", flows=FLOWS)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_repository_hotlines_answer_their_numbers_and_the_rest_gets_the_defaults(hotlines):
    loaded = load_hotlines(hotlines, company="Cortese", flows=FLOWS)
    dutch = loaded.for_number("+31201234567")
    assert (dutch.name, dutch.language, dutch.time_zone, dutch.country, dutch.flow, dutch.company) == (
        "Klantenservice Nederland", "nl", "Europe/Amsterdam", "NL", "support_hotline", "Cortese")
    assert dutch.operator == {"queue": "support", "max_queue": 10, "hours": {
        "mon": "08:30-17:30", "tue": "08:30-17:30", "wed": "08:30-17:30", "thu": "08:30-17:30",
        "fri": "08:30-17:30", "sat": "closed", "sun": "closed"}}
    other = loaded.for_number("+390299999999")
    assert (other.number, other.name, other.time_zone, other.country, other.operator) == (
        None, "default", "Europe/Rome", "IT", None)


def test_a_misspelt_key_is_named_with_its_path_and_the_key_meant(hotlines):
    edit(hotlines, "language: nl", "langauge: nl")
    [problem] = problems(hotlines)
    assert problem.startswith(f"hotlines.yaml: {NL}.langauge: unknown key (did you mean 'language'?)")


def test_a_misspelt_top_level_key_is_named(hotlines):
    edit(hotlines, "hotlines:", "hotline:")
    [problem] = problems(hotlines)
    assert problem.startswith("hotlines.yaml: hotline: unknown key (did you mean 'hotlines'?)")


def test_text_where_a_number_belongs_is_named(hotlines):
    edit(hotlines, "max_queue: 10\n      hours: {mon: \"08:30", "max_queue: ten\n      hours: {mon: \"08:30")
    assert problems(hotlines) == [f"hotlines.yaml: {NL}.operator.max_queue: 'ten' is not a whole number"]


def test_a_language_we_do_not_speak_is_named_with_those_we_do(hotlines):
    edit(hotlines, "language: nl", "language: fr")
    assert problems(hotlines) == [f"hotlines.yaml: {NL}.language: 'fr' is not one of it, nl, en"]


def test_a_time_zone_that_is_not_an_iana_zone_is_named(hotlines):
    edit(hotlines, "time_zone: Europe/Amsterdam", "time_zone: Europe/Amsterdm")
    assert problems(hotlines) == [f"hotlines.yaml: {NL}.time_zone: 'Europe/Amsterdm' is not an IANA time zone"]


def test_a_misspelt_day_of_the_opening_hours_is_named(hotlines):
    edit(hotlines, "sat: closed, sun: closed}", "sat: closed, son: closed}")
    [problem] = problems(hotlines)
    assert problem.startswith(f"hotlines.yaml: {NL}.operator.hours.son: unknown key (did you mean 'sun'?)")


def test_opening_hours_that_cannot_be_read_are_named(hotlines):
    edit(hotlines, 'fri: "08:30-17:30"', 'fri: "8.30-17.30"')
    assert problems(hotlines) == [
        f"hotlines.yaml: {NL}.operator.hours.fri: cannot read '8.30-17.30' (write it as 09:00-18:00)"]


@pytest.mark.parametrize(("number", "why"), [
    ("+3902", "'+3902': "),
    # Ofcom keeps 020 7946 0000-0999 for TV and radio drama: nobody answers there.
    ("+442079460123", "'+442079460123' is reserved for TV and radio drama: no line answers it"),
])
def test_an_operator_number_no_one_can_answer_is_named(hotlines, number, why):
    edit(hotlines, "queue: support\n      max_queue: 10\n      hours: {mon: \"08:30",
         f"queue: support\n      number: \"{number}\"\n      max_queue: 10\n      hours: {{mon: \"08:30")
    [problem] = problems(hotlines)
    assert problem.startswith(f"hotlines.yaml: {NL}.operator.number: {why}")


def test_a_flow_that_does_not_exist_is_named_once_where_it_is_written(hotlines):
    edit(hotlines, "flow: support_hotline", "flow: support_hotlines")
    assert problems(hotlines) == ["hotlines.yaml: defaults.flow: 'support_hotlines' does not exist"]


def test_a_number_that_is_not_a_phone_number_is_named(hotlines):
    edit(hotlines, '"+442071234567":', '"+44207":')
    [problem] = problems(hotlines)
    assert problem.startswith("hotlines.yaml: hotlines.+44207: ")


def test_every_problem_is_named_at_once_in_the_order_of_the_file(hotlines):
    edit(hotlines, "language: it", "language: italiano")
    edit(hotlines, "time_zone: Europe/Amsterdam", "time_zone: Amsterdam")
    edit(hotlines, "max_queue: 10\n      hours: {mon: \"09:00-17:30", "max_queue: lots\n      hours: {mon: \"09:00-17:30")
    assert [p.split(": ")[1] for p in problems(hotlines)] == [
        "hotlines.+390212345678.language",
        f"{NL}.time_zone",
        "hotlines.+442071234567.operator.max_queue",
    ]


def test_a_mistake_in_one_hotline_does_not_hide_those_of_the_others(hotlines):
    edit(hotlines, "time_zone: Europe/Amsterdam", "time_zone: Amsterdam")
    edit(hotlines, 'mon: "09:00-17:30"', 'mon: "9-17.30"')
    edit(hotlines, "hotlines:", "hotline_numbers: 3\nhotlines:")
    assert problems(hotlines) == [
        "hotlines.yaml: hotline_numbers: unknown key (did you mean 'hotlines'?); known: defaults, hotlines",
        f"hotlines.yaml: {NL}.time_zone: 'Amsterdam' is not an IANA time zone",
        "hotlines.yaml: hotlines.+442071234567.operator.hours.mon: cannot read '9-17.30' (write it as 09:00-18:00)",
    ]


def test_lint_lists_each_hotline_problem_on_its_own_line(tmp_path):
    directory = tmp_path / "flows"
    shutil.copytree(REPO_FLOWS, directory)
    edit(directory / "hotlines.yaml", "language: nl", "langauge: nl")
    edit(directory / "hotlines.yaml", "time_zone: Europe/London", "time_zone: London")
    result = CliRunner().invoke(flows_cli, ["lint", "--dir", str(directory)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"hotlines.yaml: {NL}.langauge: unknown key") for line in lines)
    assert "hotlines.yaml: hotlines.+442071234567.time_zone: 'London' is not an IANA time zone" in lines
    assert lines[-1] == f"2 problem(s) in {directory}"
