"""Every CSV export goes through one writer (app.spreadsheet) that neutralises formula cells:
a cell a spreadsheet would evaluate (OWASP "CSV injection": leading = + - @, tab or CR) is
prefixed with an apostrophe, whether the file comes from the API, the console or the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from app.consent.cli import cli
from app.consent.models import ComplianceDecision
from app.db import session_scope
from app.spreadsheet import safe_cell
from tests.console_support import BEARER, add_operator, login

HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _seed(app) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with session_scope(app) as session:
        for n, text in enumerate(HOSTILE):
            session.add(ComplianceDecision(at=at, e164=f"+3934712345{n:02d}", purpose="sales", allowed=False,
                                           rule_id="it.rpo", automated=False, reason=text, offer_id=text,
                                           inputs={}))


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _assert_neutral(rows: list[dict[str, str]]) -> None:
    assert len(rows) == len(HOSTILE)
    assert sorted(r["reason"] for r in rows) == sorted("'" + h for h in HOSTILE)
    assert all(r["offer_id"].startswith("'") for r in rows)
    assert all(r["e164"].startswith("+39") for r in rows)  # a number is a value, not a formula


def test_the_cli_compliance_export_neutralises_formulas(app, settings, tmp_path, monkeypatch):
    _seed(app)
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    out = tmp_path / "decisions.csv"
    result = CliRunner().invoke(cli, ["export", "--format", "csv", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _assert_neutral(_cells(out.read_bytes().decode("utf-8")))


def test_the_api_and_console_exports_neutralise_formulas(app, client):
    _seed(app)
    _assert_neutral(_cells(client.get("/api/compliance/decisions/export", headers=BEARER).get_data(as_text=True)))
    add_operator(app)
    login(client)
    _assert_neutral(_cells(client.get("/console/compliance/export.csv").get_data(as_text=True)))


@pytest.mark.parametrize(("value", "expected"), [
    ("+393471234567", "+393471234567"), ("-1", "-1"), ("2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00+01:00"),
    ("Giulia", "Giulia"), ("=1+1", "'=1+1"), ("@x", "'@x"), (7, 7), (None, None),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected
