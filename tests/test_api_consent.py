"""Contacts, consent history, opt-outs, registries and compliance decisions via API and console."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.consent.models import ComplianceDecision
from app.db import session_scope
from tests.console_support import BEARER, add_operator, login, page_csrf


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


def test_decisions_list_filter_and_export(app, client, clock):
    _decisions(app, clock)
    denied = client.get("/api/compliance/decisions?allowed=false", headers=BEARER).get_json()
    assert denied["total"] == 2 and all(not d["allowed"] for d in denied["items"])
    resp = client.get("/api/compliance/decisions/export", headers=BEARER)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 3 and {r["rule_id"] for r in rows} == {"ok", "it.rpo"}
    assert any(r["reason"].startswith("'=HYPERLINK") for r in rows)  # no formula injection
    assert all(r["e164"].startswith("+39") for r in rows)  # numbers are not mangled
    window = client.get("/api/compliance/decisions/export", headers=BEARER, query_string={
        "format": "json", "since": (clock.now() - timedelta(seconds=30)).isoformat()})
    assert window.mimetype == "application/json" and len(window.get_json()) == 1


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
    export = client.get("/console/compliance/export.csv")
    assert export.mimetype == "text/csv" and len(export.get_data(as_text=True).splitlines()) == 4
    assert client.get("/console/registries").status_code == 200
    assert client.get("/console/compliance?allowed=perhaps&contact_id=x").status_code == 200


CSV_TEXT = """number,source,name,language,consent_purposes,consent_at
+393471234567,shop signup,Bea,it,sales,2026-01-10
+1 212 555,crm,Bad Number,,,
"""


def test_contacts_import_keeps_good_rows_and_reports_bad_ones(client):
    body = client.post("/api/contacts/import", json={"csv": CSV_TEXT}, headers=BEARER).get_json()
    assert body["created"] == 1 and body["imported"] == 1
    assert [e["line"] for e in body["errors"]] == [3]
    contact = client.get("/api/contacts?q=Bea", headers=BEARER).get_json()["items"][0]
    history = client.get(f"/api/contacts/{contact['id']}", headers=BEARER).get_json()["consents"]
    assert [(c["action"], c["purpose"]) for c in history] == [("given", "sales")]


def test_contacts_import_refuses_a_file_without_header(client):
    resp = client.post("/api/contacts/import", json={"csv": "hello,world\n1,2\n"}, headers=BEARER)
    assert resp.status_code == 422 and resp.get_json()["field"] == "body.csv"


def test_consent_ledger_append_and_bad_lines(client):
    contact = _contact(client).get_json()
    url = f"/api/contacts/{contact['id']}/consents"
    ok = client.post(url, json={"action": "given", "purpose": "survey", "source": "web form 12",
                                "at": "2026-02-01T10:00:00+01:00"}, headers=BEARER)
    assert ok.status_code == 201 and ok.get_json()["recorded_by"] == "api-token"
    bad = client.post(url, json={"action": "given", "purpose": "survey", "source": "x",
                                 "at": "2026-02-01T10:00:00+00:00",
                                 "valid_until": "2026-01-01T00:00:00+00:00"}, headers=BEARER)
    assert bad.status_code == 422 and bad.get_json()["field"] == "body.valid_until"
    assert client.post(url, json={"action": "maybe", "purpose": "survey", "source": "x"},
                       headers=BEARER).get_json()["field"] == "body.action"
    assert client.post("/api/contacts/999/consents", json={"action": "given", "purpose": "sales",
                                                           "source": "x"}, headers=BEARER).status_code == 404


def test_opt_out_then_erase_then_export_refused(client):
    contact = _contact(client, name="Maria").get_json()
    optout = client.post("/api/optouts", json={"e164": "+39 347 123 4567"}, headers=BEARER)
    assert optout.status_code == 201 and optout.get_json()["contact_id"] == contact["id"]
    assert client.post("/api/optouts", json={"e164": "12"}, headers=BEARER).get_json()["field"] == "body.e164"
    detail = client.get(f"/api/contacts/{contact['id']}", headers=BEARER).get_json()
    assert len(detail["opt_outs"]) == 1 and detail["consents"][-1]["action"] == "withdrawn"
    export = client.get(f"/api/contacts/{contact['id']}/export", headers=BEARER).get_json()
    assert export["contact"]["name"] == "Maria" and len(export["opt_outs"]) == 1
    erased = client.post(f"/api/contacts/{contact['id']}/erase", headers=BEARER)
    assert erased.status_code == 200 and erased.get_json()["contact_id"] == contact["id"]
    assert client.post(f"/api/contacts/{contact['id']}/erase", headers=BEARER).status_code == 409
    assert client.get(f"/api/contacts/{contact['id']}/export", headers=BEARER).status_code == 409
    assert client.get("/api/contacts?q=Maria", headers=BEARER).get_json()["total"] == 0


def test_registry_import_through_the_api(client):
    resp = client.post("/api/registries/imports", json={
        "country": "IT", "content": "+393471234567\n+393471111111\nnot a number\n", "file_name": "rpo.txt",
        "max_refused_percent": 50},
        headers=BEARER)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "complete" and body["numbers"] == 2 and body["rejected_lines"] == 1
    listed = client.get("/api/registries/imports?country=IT", headers=BEARER).get_json()
    assert listed["total"] == 1 and listed["items"][0]["file_name"] == "rpo.txt"
    assert client.post("/api/registries/imports", json={"country": "NL", "content": "x"},
                       headers=BEARER).get_json()["field"] == "body.country"


def test_console_contact_actions_and_imports(app, client):
    contact = _contact(client, name="Maria").get_json()
    add_operator(app)
    login(client)
    token = page_csrf(client, f"/console/contacts/{contact['id']}")
    assert client.post(f"/console/contacts/{contact['id']}/optout").status_code == 400  # no CSRF
    client.post(f"/console/contacts/{contact['id']}/optout", data={"csrf_token": token})
    page = client.get(f"/console/contacts/{contact['id']}").get_data(as_text=True)
    assert "operator:olga" in page and "opt-out:operator" in page
    upload = client.post("/console/contacts/import", data={
        "csrf_token": token, "file": (io.BytesIO(CSV_TEXT.replace("+393471234567", "+393479999999").encode()),
                                      "c.csv")}, content_type="multipart/form-data", follow_redirects=True)
    html = upload.get_data(as_text=True)
    assert "Imported: 1 new" in html and "Line 3" in html
    reg = client.post("/console/registries/import", data={
        "csrf_token": token, "country": "IT", "file": (io.BytesIO(b"+393471234567\n"), "rpo.txt")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Registry imported: 1 numbers" in reg.get_data(as_text=True)
    erase = client.post(f"/console/contacts/{contact['id']}/erase", data={"csrf_token": token},
                        follow_redirects=True)
    assert "Personal data erased." in erase.get_data(as_text=True)
    assert client.post(f"/console/contacts/{contact['id']}/erase",
                       data={"csrf_token": token}).status_code == 404


def test_an_over_long_contacts_csv_is_a_422_naming_the_field_even_json_escaped(client):
    long = client.post("/api/contacts/import", headers={"Authorization": "Bearer test-admin-token-0123456789"},
                       json={"csv": "\U0001F600" * 100_001})
    assert long.status_code == 422 and long.get_json()["field"] == "body.csv"


def test_an_opt_out_is_lifted_only_at_the_persons_request_with_proof(client):
    contact = _contact(client, name="Maria").get_json()
    assert client.post("/api/optouts", json={"e164": "+393471234567"}, headers=BEARER).status_code == 201
    no_proof = client.post("/api/optouts/lift", json={"e164": "+393471234567", "proof": " "}, headers=BEARER)
    assert no_proof.status_code == 422 and no_proof.get_json()["field"] == "body.proof"
    lifted = client.post("/api/optouts/lift", json={"e164": "+39 347 123 4567",
                                                    "proof": "she called on 5 Dec asking for our offers again"},
                         headers=BEARER)
    assert lifted.status_code == 200, lifted.get_data(as_text=True)
    [row] = lifted.get_json()["lifted"]
    assert row["lifted_by"] == "api-token" and row["lift_proof"].startswith("she called") and row["lifted_at"]
    # Kept, marked lifted; lifting again says there is nothing left to lift.
    again = client.post("/api/optouts/lift", json={"e164": "+393471234567", "proof": "x"}, headers=BEARER)
    assert again.status_code == 422 and "not on the do-not-call list" in again.get_json()["detail"]
    detail = client.get(f"/api/contacts/{contact['id']}", headers=BEARER).get_json()
    assert len(detail["opt_outs"]) == 1
