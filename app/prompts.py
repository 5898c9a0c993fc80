"""Spoken texts outside the flows (machine messages, goodbyes, the desk's whisper, callback
read-backs), one file per language: prompts/<it|nl|en>.yaml inside the app's flows directory
(FLOWS_DIR), nested groups read as dotted keys ("desk.operator.gone"). A translator edits
those files; code asks by key.

Each app reads the prompts of its own flows directory once, at start (`init_app`): a
deployment with its own FLOWS_DIR speaks its own texts, and two apps in one process never
hear each other's. Outside an app (a script, a unit test) the repository's flows/prompts speak.

`check` is what `cortese flows lint` runs: every key in every language, the same
{placeholders} in each language's text, only strings as leaves.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, current_app, has_app_context

from app.config import PROJECT_ROOT
from app.yamlfile import load_yaml

FOLDER = "prompts"  # inside a flows directory
PROMPTS_DIR = PROJECT_ROOT / "flows" / FOLDER  # the repository's: outside an app, and lint's default
EXTENSION = "cortese.prompts"
LANGUAGES = ("it", "nl", "en")  # app.i18n.LANGUAGES; not imported: i18n reads its prompts here
FALLBACK = "en"


class PromptError(ValueError):
    """A prompts file that cannot be used: missing, not YAML, or not a mapping of texts."""


def _flatten(node: Any, prefix: str, out: dict[str, str], problems: list[str], file: str) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{file}: {prefix or 'the top level'} must be a mapping of groups and texts")
        return
    for key, value in node.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            _flatten(value, dotted, out, problems, file)
        else:
            _leaf(dotted, value, out, problems, file)


def _leaf(key: str, value: Any, out: dict[str, str], problems: list[str], file: str) -> None:
    if isinstance(value, str) and value.strip():
        out[key] = value
    else:
        problems.append(f"{file}: {key}: a text must be a non-empty string, not {value!r}")


def read(directory: Path, language: str) -> tuple[dict[str, str], list[str]]:
    """One language's texts by dotted key, and the problems found reading them."""
    path = directory / f"{language}.yaml"
    texts: dict[str, str] = {}
    problems: list[str] = []
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return texts, [f"{path}: missing (every language needs its prompts file)"]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return texts, [f"{path}: not valid YAML: {exc}"]
    _flatten(raw or {}, "", texts, problems, path.name)
    return texts, problems


def placeholders(text: str) -> frozenset[str]:
    """The {names} a text fills in ("{when}", "{n}")."""
    try:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)
    except ValueError:
        return frozenset({"<unbalanced braces>"})


def check(directory: Path = PROMPTS_DIR) -> list[str]:
    """Problems with the prompts files in `directory`: a file missing, a key missing in a
    language, or placeholders that differ from the other languages' (a translation that drops
    {when} would say nothing there)."""
    catalogues: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for language in LANGUAGES:
        catalogues[language], found = read(directory, language)
        problems += found
    keys = sorted(set().union(*(c.keys() for c in catalogues.values())))
    for key in keys:
        missing = [lang for lang in LANGUAGES if key not in catalogues[lang]]
        if missing:
            problems.append(f"{key}: no text in {', '.join(m + '.yaml' for m in missing)}")
            continue
        shapes = {lang: placeholders(catalogues[lang][key]) for lang in LANGUAGES}
        if len(set(shapes.values())) > 1:
            said = "; ".join(f"{lang}: {{{', '.join(sorted(names))}}}" for lang, names in shapes.items())
            problems.append(f"{key}: placeholders differ between languages ({said})")
    return problems


class Catalogue:
    """Every language's texts from one prompts directory, read and checked when made."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._texts: dict[str, dict[str, str]] = {}
        problems: list[str] = []
        for language in LANGUAGES:
            self._texts[language], found = read(directory, language)
            problems += found
        if problems:
            raise PromptError("; ".join(problems))

    def texts(self, language: str) -> Mapping[str, str]:
        """One language's texts; English when the language is not one we speak."""
        return self._texts[language if language in LANGUAGES else FALLBACK]


def init_app(app: Flask, flows_dir: Path) -> None:
    """The app speaks the prompts of `flows_dir`; raises PromptError when they are unusable."""
    app.extensions[EXTENSION] = Catalogue(flows_dir / FOLDER)


@cache
def _repository() -> Catalogue:
    return Catalogue(PROMPTS_DIR)


def current() -> Catalogue:
    """The current app's prompts, or the repository's outside an app."""
    if has_app_context() and EXTENSION in current_app.extensions:
        app_prompts: Catalogue = current_app.extensions[EXTENSION]
        return app_prompts
    return _repository()


def catalogue(language: str) -> Mapping[str, str]:
    """The texts of one language (see `current`); raises PromptError when unusable."""
    return current().texts(language)


def has(key: str) -> bool:
    return key in catalogue(FALLBACK)


def text(key: str, language: str, /, **values: Any) -> str:
    """The text for `key` in `language` (English when the language is not one we speak), with
    `values` filled in. An unknown key is a KeyError: it is a bug, and lint keeps files whole."""
    said = catalogue(language)[key]
    return said.format(**values) if values else said


def group(prefix: str, language: str) -> dict[str, str]:
    """The texts under a group, by their last key part: group("support.order_status", "it")."""
    start = prefix + "."
    return {key[len(start):]: value for key, value in catalogue(language).items() if key.startswith(start)}
