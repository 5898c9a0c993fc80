"""Word files: what callers say, per language, as data beside the flows (times/, faq/, anger/,
vocab/ of the flows directory, one <it|nl|en>.yaml each).

A kind of word file is a folder name and how one file becomes what the code looks words up
in (`parse`, raising ValueError naming the file). The package that reads a kind owns it and
registers it at `init_app` (`app.flows.register_words`); the flow loader reads every
registered kind from the app's flows directory (FLOWS_DIR) with the flows, once, at start, so
an app whose word file is broken or missing for a language does not start, and `cortese flows
lint` checks the same kinds (the composition root lists them, as it lists the flow actions).

Code asks `KIND.current()[language]`: the words of the current app, kept in its extensions,
so two apps in one process never hear each other's. Outside an app (a script, a unit test) the
repository's flows/ speak, as app.prompts does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from flask import Flask, current_app, has_app_context

from app.config import PROJECT_ROOT
from app.i18n import LANGUAGES
from app.yamlfile import load_yaml

REPOSITORY_FLOWS = PROJECT_ROOT / "flows"  # outside an app

T = TypeVar("T")


class WordsError(ValueError):
    """The repository's own word files are unusable (outside an app); one problem a line."""


class WordFiles(Generic[T]):
    """One kind of word file: `folder`/<lang>.yaml in a flows directory, each read by `parse`
    (the file's data, its language, its path for messages)."""

    def __init__(self, folder: str, parse: Callable[[Any, str, str], T]) -> None:
        self.folder = folder
        self.parse = parse
        self.key = f"cortese.words.{folder}"

    def __repr__(self) -> str:
        return f"WordFiles({self.folder!r})"

    def read(self, flows_dir: Path) -> tuple[dict[str, T], list[str]]:
        """Every language's words from `flows_dir`, and the problems found, each naming its file."""
        words: dict[str, T] = {}
        problems: list[str] = []
        for language in LANGUAGES:
            path = flows_dir / self.folder / f"{language}.yaml"
            try:
                raw = load_yaml(path.read_text(encoding="utf-8"))
                words[language] = self.parse(raw, language, str(path))
            except FileNotFoundError:
                problems.append(f"{path}: missing (every language needs its {self.folder} file)")
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: not valid YAML: {exc}")
            except ValueError as exc:
                problems.append(str(exc))
        return words, problems

    def use(self, app: Flask, words: Mapping[str, T]) -> None:
        """`app` hears these words (read by the loader at start)."""
        app.extensions[self.key] = words

    def current(self) -> Mapping[str, T]:
        """The current app's words by language, or the repository's outside an app."""
        if has_app_context():
            found: Mapping[str, T] | None = current_app.extensions.get(self.key)
            if found is not None:
                return found
        return _repository(self)


@cache
def _repository(files: WordFiles[Any]) -> Mapping[str, Any]:
    words, problems = files.read(REPOSITORY_FLOWS)
    if problems:
        raise WordsError("\n".join(problems))
    return words
