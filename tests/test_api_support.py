"""Tickets and warranty claims through the API and the console."""

from __future__ import annotations

from tests.console_support import BEARER, add_operator, login, page_csrf, seed_call, seed_ticket
from tests.test_support_scenarios import add_product, add_unit


def test_tickets_list_filters_and_pages(app, client):
    open_ref = seed_ticket(app, subject="Router")
    done_ref = seed_ticket(app, subject="Fatto", status="resolved", kind="complaint", flagged=True)
    everything = client.get("/api/tickets", headers=BEARER).get_json()
    assert everything["total"] == 2 and everything["next_offset"] is None
    assert {t["reference"] for t in everything["items"]} == {open_ref, done_ref}
    assert [t["reference"] for t in client.get("/api/tickets?open=true", headers=BEARER).get_json()["items"]] == [open_ref]
    assert [t["reference"] for t in client.get("/api/tickets?flagged=true", headers=BEARER).get_json()["items"]] == [done_ref]
    assert client.get("/api/tickets?kind=complaint&status=open", headers=BEARER).get_json()["total"] == 0
    page = client.get("/api/tickets?limit=1", headers=BEARER).get_json()
    assert len(page["items"]) == 1 and page["next_offset"] == 1


def test_ticket_by_reference_and_unknown_reference(app, client):
    ref = seed_ticket(app, subject="Router", description="Spia rossa")
    body = client.get(f"/api/tickets/{ref}", headers=BEARER).get_json()
    assert body["subject"] == "Router" and body["description"] == "Spia rossa" and body["status"] == "open"
    missing = client.get("/api/tickets/000", headers=BEARER)
    assert missing.status_code == 404 and missing.get_json()["title"] == "Not Found"


def test_bad_ticket_filters_are_422_with_the_field(client):
    resp = client.get("/api/tickets?status=lost", headers=BEARER)
    assert resp.status_code == 422 and resp.get_json()["field"] == "query.status"
    assert client.get("/api/claims?outcome=maybe", headers=BEARER).get_json()["field"] == "query.outcome"


def test_claims_list_empty_is_a_page(client):
    assert client.get("/api/claims", headers=BEARER).get_json() == {
        "items": [], "total": 0, "limit": 50, "offset": 0, "next_offset": None}
    assert client.get("/api/claims/123", headers=BEARER).status_code == 404


def test_console_tickets_pages_escape_and_filter(app, client):
    ref = seed_ticket(app, subject="<script>alert(1)</script>", description="<img src=x onerror=1>")
    seed_ticket(app, subject="chiuso", status="closed")
    add_operator(app)
    login(client)
    listing = client.get("/console/tickets?status=open").get_data(as_text=True)
    assert ref in listing and "chiuso" not in listing and "<script>alert(1)" not in listing
    detail = client.get(f"/console/tickets/{ref}").get_data(as_text=True)
    assert "&lt;img src=x onerror=1&gt;" in detail and "<img src=x" not in detail
    assert client.get("/console/tickets/nope").status_code == 404
    assert client.get("/console/tickets?status=bogus&flagged=maybe").status_code == 200
    assert client.get("/console/claims").status_code == 200
    assert 'id="open-tickets">1<' in client.get("/console/").get_data(as_text=True)


def test_call_page_links_the_tickets_made_on_the_call(app, client):
    sid = seed_call(app)
    ref = seed_ticket(app, subject="dal telefono", call_sid=sid)
    add_operator(app)
    login(client)
    assert f"/console/tickets/{ref}" in client.get(f"/console/calls/{sid}").get_data(as_text=True)


def test_console_ticket_status_form_keeps_the_history(app, client):
    ref = seed_ticket(app, subject="Router")
    add_operator(app)
    login(client)
    token = page_csrf(client, f"/console/tickets/{ref}")
    assert client.post(f"/console/tickets/{ref}/status", data={"status": "resolved"}).status_code == 400  # no CSRF
    client.post(f"/console/tickets/{ref}/status", data={"status": "resolved", "note": "<i>sostituito</i>", "csrf_token": token})
    html = client.get(f"/console/tickets/{ref}").get_data(as_text=True)
    assert "open → resolved" in html and "operator:olga" in html and "&lt;i&gt;sostituito&lt;/i&gt;" in html
    client.post(f"/console/tickets/{ref}/status", data={"status": "resolved", "csrf_token": token})
    assert "is resolved already" in client.get(f"/console/tickets/{ref}").get_data(as_text=True)
    client.post(f"/console/tickets/{ref}/status", data={"status": "eaten", "csrf_token": token})
    assert client.get(f"/api/tickets/{ref}", headers=BEARER).get_json()["status"] == "resolved"
    assert client.post("/console/tickets/nope/status", data={"status": "closed", "csrf_token": token}).status_code == 404


def test_a_real_calls_transcript_gives_the_caller_only_what_they_pressed(app, client, sim):
    add_unit(app, add_product(app, "ROUTER-T", months=36), "20250009")
    call = sim.inbound(from_="+393471234567", to="+390212345678")
    for keys in ("3", "20250009#", "15012025"):
        call.press(keys)
    call.hangup()
    body = client.get(f"/api/calls/{call.sid}", headers=BEARER).get_json()
    said_by_caller = [line["text"] for line in body["transcript"] if line["speaker"] == "caller"]
    assert said_by_caller == ["3", "20250009", "15012025"], said_by_caller
