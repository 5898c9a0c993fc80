"""Spoken texts outside the flows (machine messages, goodbyes, the desk's whisper, callback
read-backs), one file per language: flows/prompts/<it|nl|en>.yaml, nested groups read as
dotted keys ("desk.operator.gone"). A translator edits those files; code asks by key.

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

from app.config import PROJECT_ROOT
from app.yamlfile import load_yaml

PROMPTS_DIR = PROJECT_ROOT / "flows" / "prompts"
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


def check(directory: Path | None = None) -> list[str]:
    """Problems with the prompts files: a key missing in a language, or placeholders that differ
    from the other languages' (a translation that drops {when} would say nothing there)."""
    catalogues: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for language in LANGUAGES:
        catalogues[language], found = read(directory or PROMPTS_DIR, language)
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


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The texts of one language (read once per process); raises PromptError when unusable."""
    texts, problems = read(PROMPTS_DIR, language)
    if problems:
        raise PromptError("; ".join(problems))
    return texts


def has(key: str) -> bool:
    return key in catalogue(FALLBACK)


def text(key: str, language: str, /, **values: Any) -> str:
    """The text for `key` in `language` (English when the language is not one we speak), with
    `values` filled in. An unknown key is a KeyError: it is a bug, and lint keeps files whole."""
    texts = catalogue(language) if language in LANGUAGES else catalogue(FALLBACK)
    said = texts[key]
    return said.format(**values) if values else said


def group(prefix: str, language: str) -> dict[str, str]:
    """The texts under a group, by their last key part: group("support.order_status", "it")."""
    texts = catalogue(language) if language in LANGUAGES else catalogue(FALLBACK)
    start = prefix + "."
    return {key[len(start):]: value for key, value in texts.items() if key.startswith(start)}
