"""The README as a newcomer reads it: an app reads its prompts and word files from its own
flows directory (FLOWS_DIR, app/flows/words.py), so no page may send them to the repository's
flows/ as if that were the only place; and the Operator desk section keeps the file's width."""

from __future__ import annotations

import re
from pathlib import Path

import app.i18n

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
WORD_FOLDERS = ("prompts", "times", "vocab", "faq", "anger")
FIXED = re.compile(rf"(?<![\w/])flows/({'|'.join(WORD_FOLDERS)})/")  # not app/flows/anger.py
WIDTH = 100  # the README is wrapped at about 95 characters; tables and code excepted


def _section(title: str) -> list[str]:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end].splitlines()


def test_the_readme_names_word_files_inside_the_flows_directory_not_at_a_fixed_place():
    fixed = [line.strip() for line in README.splitlines() if FIXED.search(line)]
    assert fixed == []


def test_the_i18n_module_says_where_machine_prompts_come_from():
    doc = app.i18n.__doc__ or ""
    assert not FIXED.search(doc) and "FLOWS_DIR" in doc and "prompts/<lang>.yaml" in doc
    assert not FIXED.search(app.i18n.prompt.__doc__ or "")


def test_the_operator_desk_section_keeps_the_files_width():
    long = [line for line in _section("Operator desk")
            if len(line) > WIDTH and not line.startswith(("|", "    "))]
    assert long == []
