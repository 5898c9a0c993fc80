"""REST API basics: authentication, problem details, pagination, calls with steps and transcript."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.console_support import BEARER, add_operator, login, page_csrf, seed_call

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _problem(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    return body


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": "Basic abc"},
    {"Authorization": "Bearer "}, {"Authorization": "test-admin-token-0123456789"},
])
def test_api_refuses_requests_without_a_valid_token_or_session(client, headers):
    body = _problem(client.get("/api/calls", headers=headers), 401)
    assert "Bearer" in body["detail"]


def test_unauthenticated_detail_and_unknown_paths_are_problems_too(client):
    _problem(client.get("/api/calls/CA123"), 401)
    _problem(client.get("/api/no-such-thing", headers=BEARER), 404)
    resp = client.delete("/api/calls", headers=BEARER)
    _problem(resp, 405)
    assert "GET" in resp.headers["Allow"]


def test_bearer_token_lists_calls_with_pagination(app, client, clock):
    for n in range(5):
        seed_call(app, sid=f"CA{n:032d}", at=clock.now() - timedelta(minutes=n))
    first = client.get("/api/calls?limit=2", headers=BEARER).get_json()
    assert first["total"] == 5 and first["next_offset"] == 2 and len(first["items"]) == 2
    assert first["items"][0]["call_sid"] == f"CA{0:032d}"  # newest first
    last = client.get("/api/calls?limit=2&offset=4", headers=BEARER).get_json()
    assert last["next_offset"] is None and [c["call_sid"] for c in last["items"]] == [f"CA{4:032d}"]


def test_call_filters(app, client, clock):
    seed_call(app, sid="CA" + "a" * 32, status="completed", from_="+393471111111")
    seed_call(app, sid="CA" + "b" * 32, status="no-answer", from_="+31612345678")
    done = client.get("/api/calls?status=completed", headers=BEARER).get_json()
    assert [c["call_sid"] for c in done["items"]] == ["CA" + "a" * 32]
    dutch = client.get("/api/calls?number=3161", headers=BEARER).get_json()
    assert [c["call_sid"] for c in dutch["items"]] == ["CA" + "b" * 32]
    since = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.get("/api/calls", query_string={"since": since}, headers=BEARER).get_json()["total"] == 0


@pytest.mark.parametrize("query, field", [
    ("limit=0", "query.limit"), ("limit=abc", "query.limit"), ("offset=-1", "query.offset"),
    ("status=sleeping", "query.status"), ("since=yesterday", "query.since"),
    ("since=2026-03-02T10:00:00", "query.since"),  # no offset: ambiguous, refused
])
def test_bad_query_is_a_422_naming_the_field(client, query, field):
    body = _problem(client.get(f"/api/calls?{query}", headers=BEARER), 422)
    assert body["field"] == field
    assert body["detail"].startswith(field)


def test_an_empty_time_window_is_an_empty_page_not_an_error(client):
    body = client.get("/api/calls", headers=BEARER, query_string={
        "since": "2026-03-02T10:00:00+00:00", "until": "2026-03-02T09:00:00+00:00"}).get_json()
    assert body["total"] == 0 and body["items"] == []


def test_one_call_with_steps_path_and_transcript(app, client):
    sid = seed_call(app, steps=[
        {"kind": "say", "node": "welcome", "said": "Buongiorno, sono l'assistente di Cortese."},
        {"kind": "ask", "node": "menu", "said": "Per un guasto prema 2."},
        {"kind": "input", "node": "menu", "input": "2", "outcome": "fault"},
        {"kind": "ask", "node": "fault", "said": "Mi descriva il problema."},
        {"kind": "input", "node": "fault", "input": "il router non si accende"},
        {"kind": "support.ticket", "node": "fault", "input": "1774492", "outcome": "fault_created"},
    ])
    body = client.get(f"/api/calls/{sid}", headers=BEARER).get_json()
    assert body["status"] == "completed"
    assert body["path"] == ["inbound:welcome", "inbound:menu", "inbound:fault"]
    assert [(line["speaker"], line["text"]) for line in body["transcript"]] == [
        ("system", "Buongiorno, sono l'assistente di Cortese."),
        ("system", "Per un guasto prema 2."),
        ("caller", "2"),
        ("system", "Mi descriva il problema."),
        ("caller", "il router non si accende"),
    ]  # the ticket's reference is ours, never put in the caller's mouth
    assert [e["status"] for e in body["events"]] == []  # status set directly, no callbacks stored
    assert len(body["steps"]) == 6


def test_unknown_call_is_404_problem(client):
    body = _problem(client.get("/api/calls/CAnope", headers=BEARER), 404)
    assert "CAnope" in body["detail"]


def test_operator_session_is_accepted_instead_of_a_token(app, client):
    add_operator(app)
    login(client)
    assert client.get("/api/calls").status_code == 200
    client.post("/console/logout", data={"csrf_token": page_csrf(client)})
    _problem(client.get("/api/calls"), 401)


def test_openapi_document_is_generated_and_public(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/calls" in doc["paths"] and "/api/calls/{call_sid}" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    listing = doc["paths"]["/api/calls"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"limit", "offset", "status"}
    assert {"200", "401", "422"} <= set(listing["responses"])


def test_api_responses_carry_security_headers(client):
    resp = client.get("/api/calls", headers=BEARER)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_session_writes_need_the_csrf_header(app, client):
    add_operator(app)
    login(client)
    body = {"e164": "+393471234567"}
    refused = client.post("/api/contacts", json=body)
    assert refused.status_code == 403 and refused.get_json()["field"] == "header.X-CSRFToken"
    forged = client.post("/api/contacts", json=body, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403
    ok = client.post("/api/contacts", json=body, headers={"X-CSRFToken": page_csrf(client)})
    assert ok.status_code == 201
    # A bearer token needs no CSRF header: it is never sent by a browser on its own.
    assert client.post("/api/contacts", json=body, headers=BEARER).status_code == 201


def test_a_repeated_query_parameter_is_refused_not_reduced_to_its_first_value(client):
    response = client.get("/api/claims?caller=a&caller=b",
                          headers={"Authorization": "Bearer test-admin-token-0123456789"})
    assert response.status_code == 422 and response.get_json()["field"] == "query.caller"
    anonymous = client.get("/api/claims?caller=a&caller=b")
    assert anonymous.status_code == 401


def test_a_body_that_is_not_json_says_so_not_field_required(client):
    resp = client.post("/api/campaigns", headers={**BEARER, "Content-Type": "application/json"},
                       data='{"name": "x", "purpose": ')
    problem = resp.get_json()
    assert resp.status_code == 422 and problem["field"] == "body"
    assert problem["detail"].startswith("body: not valid JSON (") and "Field required" not in resp.get_data(as_text=True)
