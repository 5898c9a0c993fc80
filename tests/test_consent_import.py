"""Contacts CSV import (per-line errors, idempotent) and the consent CLI commands."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app import cli as root_cli
from app.clock import Clock
from app.consent import check_call
from app.consent import cli as consent_cli
from app.consent.contacts import find_by_number, get_or_create
from app.consent.importer import ImportRefused, import_contacts_csv, refused_source
from app.consent.models import ComplianceDecision, ConsentRecord, Contact, OwnedProduct
from app.consent.optouts import opted_out_at
from app.db import session_scope

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

GOOD_AND_BAD = """number,source,name,language,time_zone,country,last_purchase,products,consent_purposes,consent_at,consent_written
+12085550123,crm,Ann,en,America/Boise,,2025-11-02,tv;fiber,sales,2026-01-10,yes
347 123 4567,shop signup,Bea,it,,IT,,,,,
+1 212 555,crm,Bad Number,,,,,,,,
+12125550123,crm,Bad Date,,,,31/02/2025,,,,
+12125550124,crm,Too many,,,,,,,,,extra
+12125550125,,No Source,,,,,,,,
+12125550126,scraped from yellow pages,Scraped,,,,,,,,
+12125550127,crm,Bad zone,,Mars/Olympus,,,,,,
+12125550128,crm,Consent without date,,,,,,sales,,
+12125550129,crm,Bad purpose,,,,,,spam,2026-01-01,
"""


def _import(app, text: str, **kw):
    with session_scope(app) as session:
        return import_contacts_csv(session, io.StringIO(text), at=AT, recorded_by="test", **kw)


def test_bad_rows_are_reported_per_line_and_good_rows_import(app):
    report = _import(app, GOOD_AND_BAD)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    errors = dict(report.errors)
    assert sorted(errors) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert "invalid number" in errors[4]
    assert "bad date in last_purchase" in errors[5]
    assert "unknown column" in errors[6]
    assert "missing source" in errors[7]
    assert "refused" in errors[8] and "public directories" in errors[8]
    assert "time_zone" in errors[9]
    assert "consent_at" in errors[10]
    assert "spam" in errors[11]
    with session_scope(app) as session:
        ann = find_by_number(session, "+12085550123")
        assert ann.time_zones == ["America/Boise"]  # the explicit zone wins over Boise + Los Angeles
        assert ann.last_purchase_at == datetime(2025, 11, 2, tzinfo=UTC)
        assert sorted(session.scalars(select(OwnedProduct.offer_id).where(OwnedProduct.contact_id == ann.id))) == ["fiber", "tv"]
        consent = session.scalars(select(ConsentRecord).where(ConsentRecord.contact_id == ann.id)).one()
        assert (consent.purpose, consent.written, consent.recorded_by) == ("sales", True, "test")
        bea = find_by_number(session, "+393471234567")
        assert (bea.region, bea.language, bea.line_type) == ("IT", "it", "mobile")
        # Nothing half-imported from bad rows (each row runs in a savepoint).
        assert find_by_number(session, "+12125550128") is None
        assert session.scalar(select(func.count()).select_from(Contact)) == 2


def test_reimport_is_idempotent(app):
    _import(app, GOOD_AND_BAD)
    again = _import(app, GOOD_AND_BAD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 2
        assert session.scalar(select(func.count()).select_from(ConsentRecord)) == 1
        assert session.scalar(select(func.count()).select_from(OwnedProduct)) == 2
    changed = _import(app, "number,source,name\n+12085550123,crm,Ann Jones\n")
    assert (changed.created, changed.updated) == (0, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("number,name\n+12125550123,x\n", "missing required column(s) source"),
        ("number,source,favourite_colour\n+12125550123,crm,red\n", "unknown column(s) favourite_colour"),
        ("number,source,source\n+12125550123,crm,crm\n", "duplicated"),
    ],
)
def test_whole_file_refusals(app, text, message):
    with pytest.raises(ImportRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import(app, text)


@pytest.mark.parametrize(
    ("source", "refused"),
    [("crm", False), ("web form 2024", False), ("Pagine Bianche", True), ("web scraping", True),
     ("public directory", True), ("telefoonboek", True), ("", True)],
)
def test_refused_sources(source, refused):
    assert (refused_source(source) is not None) is refused


# --- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def run(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(root_cli.cli, list(args), catch_exceptions=False, input=input)

    return invoke


def test_cli_groups_are_registered():
    assert {"contacts", "registry", "optout"} <= set(root_cli.cli.commands)
    assert consent_cli.cli.name == "compliance"
    root_cli.cli.add_command(consent_cli.cli)


def test_cli_contacts_import_registry_optout_export_erase(run, tmp_path, app):
    root_cli.cli.add_command(consent_cli.cli)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("number,source,name\n+12125550123,crm,Ann\nnonsense,crm,Bad\n", encoding="utf-8")
    result = run("contacts", "import", str(contacts))
    assert result.exit_code == 1
    assert "1 created, 0 updated, 0 unchanged, 1 line(s) with errors" in result.output
    assert "line 3: invalid number" in result.output

    registry = tmp_path / "dnc.txt"
    registry.write_text("2125550123\n2125550124\nxx\n", encoding="utf-8")
    result = run("registry", "import", "us", str(registry), "--max-refused-percent", "50")
    assert result.exit_code == 0, result.output
    assert "US: 2 number(s) stored, 0 duplicate(s), 1 line(s) rejected" in result.output
    assert "ok" in run("registry", "status").output

    result = run("optout", "+12125550123", "--by", "operator ann")
    assert result.exit_code == 0 and "will not be called again" in result.output

    with app.app_context(), session_scope(app) as session:
        contact = find_by_number(session, "+12125550123")
        # The CLI ran with the wall clock, so the opt-out is "now", not at the fake clock's time.
        check_call(session, contact, purpose="survey", offer_id=None, at=Clock().now())
    out = tmp_path / "export.json"
    result = run("compliance", "export", "--format", "json", "-o", str(out))
    assert result.exit_code == 0
    rows = json.loads(out.read_text())
    assert rows[0]["rule_id"] == "optout.internal_dnc" and rows[0]["pack_version"].startswith("US-")
    csv_out = run("compliance", "export")
    assert csv_out.stdout.splitlines()[0].startswith("decision_id,decided_at,e164")

    exported = json.loads(run("contacts", "export", "+12125550123").output)
    assert exported["contact"]["name"] == "Ann" and exported["opt_outs"][0]["source"] == "operator"
    result = run("contacts", "erase", "+12125550123", "--by", "dpo", "--yes")
    assert result.exit_code == 0 and "suppressed" in result.output
    with session_scope(app) as session:
        assert find_by_number(session, "+12125550123") is None
        assert session.scalar(select(ComplianceDecision.e164)) != "+12125550123"

    bad = run("optout", "12", "--by", "x")
    assert bad.exit_code == 2 and "NUMBER" in bad.output


def test_cli_lifts_an_opt_out_only_with_the_persons_proof(run, app):
    root_cli.cli.add_command(consent_cli.cli)
    assert run("optout", "+12125550123", "--by", "ann").exit_code == 0
    no_proof = run("optout", "+12125550123", "--by", "ann", "--lift")
    assert no_proof.exit_code == 1 and "proof: say how the person asked to be called again" in no_proof.output
    lifted = run("optout", "+12125550123", "--by", "ann", "--lift", "--proof", "letter of 3 Dec")
    assert lifted.exit_code == 0 and "is off the do-not-call list" in lifted.output
    with app.app_context(), session_scope(app) as session:
        assert opted_out_at(session, "+12125550123") is None
        decision = check_call(session, get_or_create(session, "+12125550123", source="crm", at=Clock().now()),
                              purpose="survey", offer_id=None, at=Clock().now())
        # The ledger's withdrawal stays the latest word until the person's consent is recorded anew.
        assert decision.rule_id != "optout.internal_dnc"
    again = run("optout", "+12125550123", "--by", "ann", "--lift", "--proof", "x")
    assert again.exit_code == 1 and "is not on the do-not-call list" in again.output
