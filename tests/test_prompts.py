"""Spoken texts outside the flows live in flows/prompts/<lang>.yaml, checked like the flows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import prompts
from app.flows.cli import cli as flows_cli

APP = Path(__file__).resolve().parent.parent / "app"


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


def test_lint_reports_a_broken_prompts_file(tmp_path, monkeypatch):
    _write(tmp_path, "it", "x: Ciao {name}\n")
    _write(tmp_path, "nl", "x: Hallo\n")
    _write(tmp_path, "en", "x: Hello {name}\n")
    monkeypatch.setattr(prompts, "PROMPTS_DIR", tmp_path)
    result = CliRunner().invoke(flows_cli, ["lint"])
    assert result.exit_code == 1
    assert "flows/prompts: x: placeholders differ" in result.output


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
