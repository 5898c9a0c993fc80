"""The one CSV writer for files people open in a spreadsheet (exports from the API, the console
and the CLI).

A cell starting with = + - @ (or a tab or carriage return, which some spreadsheets skip before
reading such a sign) is read as a formula: a caller's words or a contact's name could then run
one on the operator's machine (OWASP "CSV injection"). Such cells get a leading apostrophe,
which spreadsheets show as text. Numbers and times (+39..., -1, 2026-03-02T09:00+01:00) stay
as they are: they are read as values, not formulas.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBERISH = re.compile(r"^[+-]?[0-9][0-9 .:T+-]*$")


def safe_cell(value: Any) -> Any:
    """`value`, with an apostrophe in front when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBERISH.match(value):
        return "'" + value
    return value


def write_csv(out: IO[str], fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Header plus one line per row, every cell neutralised; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
        count += 1
    return count
