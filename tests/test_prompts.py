"""Spoken texts outside the flows live in prompts/<lang>.yaml inside the app's flows directory
(FLOWS_DIR; the repository's flows/prompts by default), checked like the flows."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app, prompts
from app.flows.cli import cli as flows_cli
from app.flows.loader import FlowError
from tests.conftest import base_settings

APP = Path(__file__).resolve().parent.parent / "app"
FLOWS = APP.parent / "flows"
GB_CALLER, GB_LINE = "+447400123456", "+442071234567"


def _write(directory: Path, language: str, body: str) -> None:
    (directory / f"{language}.yaml").write_text(body, encoding="utf-8")


def test_the_repository_prompts_are_whole():
    assert prompts.check() == []
    assert set(prompts.catalogue("it")) == set(prompts.catalogue("nl")) == set(prompts.catalogue("en"))


def test_a_key_missing_in_one_language_is_named(tmp_path):
    _write(tmp_path, "it", "desk:\n  gone: Il cliente ha riagganciato.\n  known: Cliente riconosciuto.\n")
    _write(tmp_path, "nl", "desk:\n  gone: De klant heeft opgehangen.\n")
    _write(tmp_path, "en", "desk:\n  gone: The caller hung up.\n  known: A known customer.\n")
    assert prompts.check(tmp_path) == ["desk.known: no text in nl.yaml"]


def test_a_translation_that_drops_a_placeholder_is_named(tmp_path):
    _write(tmp_path, "it", "queue: Lei è il numero {position} in coda.\n")
    _write(tmp_path, "nl", "queue: U bent de volgende in de wachtrij.\n")  # {position} forgotten
    _write(tmp_path, "en", "queue: You are number {position} in the queue.\n")
    [problem] = prompts.check(tmp_path)
    assert problem.startswith("queue: placeholders differ") and "nl: {}" in problem


def test_empty_texts_lists_and_missing_files_are_named(tmp_path):
    _write(tmp_path, "it", "a: ''\nb: [uno, due]\n")
    _write(tmp_path, "en", "a: Hello\nb: one\n")
    problems = prompts.check(tmp_path)
    assert any("it.yaml: a: a text must be a non-empty string" in p for p in problems)
    assert any("it.yaml: b: a text must be a non-empty string" in p for p in problems)
    assert any(p.endswith("nl.yaml: missing (every language needs its prompts file)") for p in problems)


def test_an_unknown_language_hears_english_and_values_are_filled_in():
    assert prompts.text("support.ahead.many", "fr", n=3) == prompts.text("support.ahead.many", "en", n=3)
    assert "3" in prompts.text("support.ahead.many", "it", n=3)


def _copy_of_flows(directory: Path) -> Path:
    shutil.copytree(FLOWS, directory)
    return directory


def _reword(flows: Path, language: str, old: str, new: str) -> None:
    path = flows / "prompts" / f"{language}.yaml"
    body = path.read_text(encoding="utf-8")
    assert old in body
    path.write_text(body.replace(old, new), encoding="utf-8")


def test_lint_reports_a_broken_prompts_file_of_the_directory_it_lints(tmp_path):
    flows = _copy_of_flows(tmp_path / "flows")
    _reword(flows, "nl", "U bent nummer {position} in de wachtrij.", "U staat in de wachtrij.")
    result = CliRunner().invoke(flows_cli, ["lint", "--dir", str(flows)])
    assert result.exit_code == 1
    assert "flows/prompts: machine.queue_position: placeholders differ" in result.output
    assert CliRunner().invoke(flows_cli, ["lint"]).exit_code == 0  # the repository's are untouched


@pytest.fixture
def own_flows(tmp_path, settings) -> Path:
    """A deployment's own FLOWS_DIR: a copy of flows/ where the English afternoon greeting is
    worded differently."""
    flows = _copy_of_flows(tmp_path / "own-flows")
    _reword(flows, "en", "afternoon: Good afternoon", "afternoon: A very good afternoon")
    settings["FLOWS_DIR"] = str(flows)
    return flows


def test_a_call_speaks_the_prompts_of_the_flows_directory_the_app_was_given(own_flows, sim, clock):
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # 15:00 in London: the afternoon
    call = sim.inbound(from_=GB_CALLER, to=GB_LINE)
    assert call.said[0].startswith("A very good afternoon, welcome to")


def test_two_apps_in_one_process_keep_their_own_prompts(tmp_path):
    own = _copy_of_flows(tmp_path / "own")
    _reword(own, "en", "afternoon: Good afternoon", "afternoon: A very good afternoon")
    theirs = create_app({**base_settings(tmp_path), "FLOWS_DIR": str(own)})
    ours = create_app(base_settings(tmp_path))
    for app, greeting in ((theirs, "A very good afternoon"), (ours, "Good afternoon"), (theirs, "A very good afternoon")):
        with app.app_context():
            assert prompts.text("time.greeting.afternoon", "en") == greeting
    assert prompts.text("time.greeting.afternoon", "en") == "Good afternoon"  # outside an app


def test_a_flows_directory_without_a_language_s_prompts_does_not_start(tmp_path):
    flows = _copy_of_flows(tmp_path / "flows")
    (flows / "prompts" / "nl.yaml").unlink()
    with pytest.raises(FlowError) as failed:
        create_app({**base_settings(tmp_path), "FLOWS_DIR": str(flows)})
    assert f"{flows / 'prompts' / 'nl.yaml'}: missing (every language needs its prompts file)" in str(failed.value)


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=lambda p: str(p.relative_to(APP)))
def test_every_key_the_code_names_exists(path):
    """A literal key in prompts.text("...") or i18n.prompt("...") that no file has would be a
    KeyError on a live call."""
    source = path.read_text(encoding="utf-8")
    known = prompts.catalogue("en")
    for key in re.findall(r'prompts\.text\(\s*"([a-z_.]+)"', source):
        assert key in known, f"{path.name}: {key}"
    for key in re.findall(r'i18n\.prompt\(\s*"([a-z_]+)"', source):
        assert f"machine.{key}" in known, f"{path.name}: machine.{key}"
    for prefix in re.findall(r'prompts\.group\(\s*"([a-z_.]+)"', source):
        assert prompts.group(prefix, "en"), f"{path.name}: no texts under {prefix}"
