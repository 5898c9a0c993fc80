"""Company data kept in the flows directory beside the flows (FLOWS_DIR): the offer catalogue
(offers.yaml) and the warranty terms (warranty.yaml). They are the company's, not the law's or
the code's: a deployment with its own FLOWS_DIR brings its own, as it brings its own prompts.

Each app reads its files once, at start (`use`), and refuses to start when one cannot be used;
outside an app (a script, a unit test) the repository's flows/ is read. `problems` is what
`cortese flows lint` and the start-up check say about a directory's file.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from flask import Flask, current_app, has_app_context

from app.config import PROJECT_ROOT

T = TypeVar("T")
REPOSITORY_FLOWS = PROJECT_ROOT / "flows"
# Every data file a flows directory may hold: the flow loader does not read them as flows.
NAMES = frozenset({"offers.yaml", "warranty.yaml"})


class DataFileError(ValueError):
    """A data file that cannot be used: every problem, each naming the file (and the key)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DataFile(Generic[T]):
    """One file of company data in a flows directory, read by `read` (which raises
    DataFileError naming every problem; a file that is not there is read as `read` decides)."""

    def __init__(self, name: str, read: Callable[[Path], T]) -> None:
        if name not in NAMES:
            raise ValueError(f"{name}: not one of the data files a flows directory may hold (NAMES)")
        self.name = name
        self.key = f"cortese.data.{name}"
        self._read = read

    def read(self, flows_dir: Path) -> T:
        return self._read(flows_dir / self.name)

    def problems(self, flows_dir: Path) -> list[str]:
        try:
            self.read(flows_dir)
        except DataFileError as exc:
            return exc.problems
        return []

    def use(self, app: Flask, flows_dir: Path) -> None:
        """`app` uses this file of `flows_dir`; raises DataFileError when it cannot be used."""
        app.extensions[self.key] = self.read(flows_dir)

    def current(self) -> T:
        """The current app's data, or the repository's outside an app."""
        if has_app_context() and self.key in current_app.extensions:
            found: T = current_app.extensions[self.key]
            return found
        return _repository(self)


@cache
def _repository(file: DataFile[T]) -> T:
    return file.read(REPOSITORY_FLOWS)
