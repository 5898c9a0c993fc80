"""Contacts, consent history, opt-outs, registries and compliance decisions via API and console."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.consent.models import ComplianceDecision
from app.db import session_scope
from tests.console_support import BEARER, add_operator, login


def _contact(client, **body):
    return client.post("/api/contacts", json={"e164": "+393471234567", **body}, headers=BEARER)


def test_create_contact_fills_number_facts_and_is_idempotent(client):
    resp = _contact(client, name="Maria Rossi", language="it")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["e164"] == "+393471234567" and body["region"] == "IT" and body["name"] == "Maria Rossi"
    assert body["source"] == "api-token"
    again = _contact(client, e164="+39 347 123 4567")
    assert again.get_json()["id"] == body["id"]


@pytest.mark.parametrize("body, field", [
    ({"e164": "not a number"}, "body.e164"),
    ({"e164": "+39"}, "body.e164"),
    ({"e164": "+393471234567", "language": "fr"}, "body.language"),
    ({"e164": "+393471234567", "time_zone": "Mars/Olympus"}, "body.time_zone"),
    ({"e164": "+393471234567", "colour": "blue"}, "body.colour"),
    ({}, "body.e164"),
])
def test_bad_contact_input_is_422_naming_the_field(client, body, field):
    resp = client.post("/api/contacts", json=body, headers=BEARER)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["field"] == field


def test_non_json_body_is_a_problem_not_a_crash(client):
    resp = client.post("/api/contacts", data="{not json", content_type="application/json", headers=BEARER)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"


def test_form_body_is_a_415_problem(client):
    resp = client.post("/api/contacts", data={"e164": "+393471234567"}, headers=BEARER)
    assert resp.status_code == 415 and resp.get_json()["field"] == "header.Content-Type"


def test_contacts_list_search_and_detail(client):
    maria = _contact(client, name="Maria Rossi").get_json()
    _contact(client, e164="+31612345678", name="Jan de Vries")
    assert client.get("/api/contacts", headers=BEARER).get_json()["total"] == 2
    found = client.get("/api/contacts?q=rossi", headers=BEARER).get_json()
    assert [c["id"] for c in found["items"]] == [maria["id"]]
    assert client.get("/api/contacts?region=NL", headers=BEARER).get_json()["total"] == 1
    detail = client.get(f"/api/contacts/{maria['id']}", headers=BEARER).get_json()
    assert detail["consents"] == [] and detail["opt_outs"] == [] and detail["recent_decisions"] == []
    assert client.get("/api/contacts/999999", headers=BEARER).status_code == 404
    assert client.get("/api/contacts?region=italy", headers=BEARER).get_json()["field"] == "query.region"


def _decisions(app, clock):
    # Seeded rows stand in for app.consent.check_call's output (C's service stores these).
    with session_scope(app) as session:
        for n, allowed in enumerate((True, False, False)):
            session.add(ComplianceDecision(
                at=clock.now() - timedelta(minutes=n), e164=f"+3934712345{n:02d}", purpose="sales",
                allowed=allowed, rule_id="ok" if allowed else "it.rpo", automated=False,
                reason="=HYPERLINK(\"http://evil\")" if n == 2 else "listed in the RPO",
                inputs={}))


def test_decisions_list_filter_and_csv_export(app, client, clock):
    _decisions(app, clock)
    denied = client.get("/api/compliance/decisions?allowed=false", headers=BEARER).get_json()
    assert denied["total"] == 2 and all(not d["allowed"] for d in denied["items"])
    resp = client.get("/api/compliance/decisions/export?allowed=false", headers=BEARER)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 2 and {r["rule_id"] for r in rows} == {"it.rpo"}
    assert any(r["reason"].startswith("'=HYPERLINK") for r in rows)  # no formula injection


def test_optouts_and_registry_imports_are_pages(client):
    for path in ("/api/optouts", "/api/registries/imports"):
        body = client.get(path, headers=BEARER).get_json()
        assert body["items"] == [] and body["total"] == 0, path


def test_console_contact_and_compliance_pages(app, client, clock):
    contact = _contact(client, name="<script>alert('maria')</script>").get_json()
    _decisions(app, clock)
    add_operator(app)
    login(client)
    html = client.get("/console/contacts").get_data(as_text=True)
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert client.get(f"/console/contacts/{contact['id']}").status_code == 200
    assert client.get("/console/contacts/424242").status_code == 404
    compliance = client.get("/console/compliance?allowed=false").get_data(as_text=True)
    assert compliance.count("it.rpo") == 2
    export = client.get("/console/compliance/export.csv?allowed=true")
    assert export.mimetype == "text/csv" and export.get_data(as_text=True).count("\r\n") == 2
    assert client.get("/console/registries").status_code == 200
    assert client.get("/console/compliance?allowed=perhaps&contact_id=x").status_code == 200
