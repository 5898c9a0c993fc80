"""`cortese support ...` against the test app's database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from app.db import session_scope
from app.support import services
from app.support.cli import cli
from app.support.orders import find_order

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def run(app, settings, tmp_path, monkeypatch):
    """Invoke `cortese support ...` with the same settings (and database) as the `app` fixture."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_import_orders_prints_counts_and_line_errors(run, tmp_path, app):
    path = tmp_path / "orders.csv"
    path.write_text("number,status,customer_number,expected_on\n4711,shipped,+393471234567,2026-02-25\n"
                    "4712,lost,,\n", encoding="utf-8")
    result = run("import-orders", str(path))
    assert result.exit_code == 1
    assert "1 created, 0 updated, 1 line(s) with errors" in result.output
    assert "line 3: status" in result.output
    with session_scope(app) as session:
        assert find_order(session, "4711").customer_number == "+393471234567"


def test_import_units_creates_products_by_sku(run, tmp_path, app):
    path = tmp_path / "units.csv"
    path.write_text("sku,serial,name,category,warranty_months,owner_number,purchased_on,country\n"
                    "FIBRA-BOX-X2,SN-1001,Router Fibra X2,router,24,+393471234567,2025-10-01,IT\n"
                    "FIBRA-BOX-X2,SN-1002,,,,,01/02/2024,IT\n"
                    "TV-55,,Smart TV,tv,,,,\n", encoding="utf-8")
    result = run("import-units", str(path))
    assert "2 created, 0 updated, 1 line(s) with errors" in result.output
    with session_scope(app) as session:
        unit = services.find_unit(session, "SN1002")
        assert unit.product.sku == "FIBRA-BOX-X2" and unit.product.warranty_months == 24


def test_a_bad_owner_number_is_named_as_the_column_it_came_from(run, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("sku,serial,owner_number\nTV-55,SN-2001,12\n", encoding="utf-8")
    result = run("import-units", str(path))
    assert "owner_number:" in result.output and "customer_number" not in result.output, result.output


def test_tickets_claims_and_show(run, app):
    caller = services.CallerRef(number="+393471234567", call_sid="CA" + "1" * 32, language="it")
    with session_scope(app) as session:
        fault = services.create_ticket(session, kind="fault", at=AT, caller=caller,
                                       subject="Router", description="non si accende")
        complaint = services.create_ticket(session, kind="complaint", at=AT, caller=caller,
                                           flagged=True, priority="high", description="vergogna")
        claim = services.make_claim(session, serial="SN404", purchased_on=None, at=AT,
                                    today=AT.date(), caller=caller).claim
        refs = fault.reference, complaint.reference, claim.reference
    listed = run("tickets")
    assert refs[0] in listed.output and refs[1] in listed.output
    assert "+39 3** *** **67" in listed.output and "+393471234567" not in listed.output
    flagged = run("tickets", "--flagged")
    assert refs[1] in flagged.output and refs[0] not in flagged.output
    assert refs[0] in run("tickets", "--kind", "fault", "--full-numbers", "--caller", "+393471234567").output
    claims = run("claims")
    assert refs[2] in claims.output and "unknown_serial" in claims.output
    shown = run("show", refs[0])
    assert "non si accende" in shown.output and "fault" in shown.output and "it" in shown.output
    assert "needs_review" in run("show", refs[2]).output
    missing = run("show", "0000000")
    assert missing.exit_code == 1
