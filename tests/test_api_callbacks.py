"""Callbacks through the API: list with filters and views, history, move and cancel through
app.callbacks' service (state machine, validation, history lines)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.consent.contacts import get_or_create
from app.db import session_scope
from tests.console_support import BEARER, add_operator, login, page_csrf, seed_callback


def _ids(body):
    return [item["id"] for item in body["items"]]


def test_list_filters_views_and_pages(app, client, clock):
    later = seed_callback(app, due_in=timedelta(hours=3))
    soon = seed_callback(app, due_in=timedelta(hours=1), e164="+31612345678", language="nl",
                         time_zone="Europe/Amsterdam")
    tomorrow = seed_callback(app, due_in=timedelta(days=1, hours=2))
    missed = seed_callback(app, due_in=timedelta(minutes=30), status="missed")
    body = client.get("/api/callbacks", headers=BEARER).get_json()
    assert body["total"] == 4 and _ids(body) == [missed, soon, later, tomorrow]  # soonest first
    assert _ids(client.get("/api/callbacks?view=missed", headers=BEARER).get_json()) == [missed]
    today = client.get("/api/callbacks?view=due_today", headers=BEARER).get_json()
    assert set(_ids(today)) == {missed, soon, later}  # 09:00 UTC + 1 day is tomorrow in Rome
    assert _ids(client.get("/api/callbacks?view=pending&limit=1", headers=BEARER).get_json()) == [soon]
    assert _ids(client.get("/api/callbacks", query_string={"number": "+31 6 1234 5678"}, headers=BEARER).get_json()) == [soon]
    assert _ids(client.get("/api/callbacks?status=missed&view=pending", headers=BEARER).get_json()) == []
    since = (clock.now() + timedelta(hours=2)).isoformat()
    assert _ids(client.get("/api/callbacks", query_string={"due_from": since}, headers=BEARER).get_json()) == [later, tomorrow]
    page = client.get("/api/callbacks?limit=3", headers=BEARER).get_json()
    assert page["next_offset"] == 3 and len(page["items"]) == 3


@pytest.mark.parametrize("query, field", [
    ("status=lost", "query.status"), ("view=yesterday", "query.view"), ("number=12", "query.number"),
    ("due_from=tomorrow", "query.due_from"), ("limit=500", "query.limit"),
    ("due_from=0001-01-01T00:00:00%2B14:00", "query.due_from"), ("due_until=9999-12-31T23:59:00Z", "query.due_until"),
])
def test_bad_filters_are_422_naming_the_field(client, query, field):
    resp = client.get(f"/api/callbacks?{query}", headers=BEARER)
    assert resp.status_code == 422 and resp.get_json()["field"] == field


def test_one_callback_with_its_history(app, client):
    cb = seed_callback(app, note="<b>cliente</b> preferisce la sera")
    body = client.get(f"/api/callbacks/{cb}", headers=BEARER).get_json()
    assert body["note"] == "<b>cliente</b> preferisce la sera" and body["status"] == "scheduled"
    assert [e["to_status"] for e in body["history"]] == ["scheduled"]
    assert client.get("/api/callbacks/999", headers=BEARER).status_code == 404
    assert client.get("/api/callbacks/0", headers=BEARER).status_code == 404


def test_move_by_utc_time_and_by_the_callees_wall_time(app, client, clock):
    cb = seed_callback(app)
    target = clock.now() + timedelta(days=1)
    moved = client.post(f"/api/callbacks/{cb}/move", headers=BEARER,
                        json={"due_at": target.isoformat(), "note": "chiesto dal cliente"})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    body = moved.get_json()
    assert body["due_at"].startswith("2026-03-03T09:00") and body["local_due"] == "2026-03-03T10:00"
    assert "chiesto dal cliente" in body["history"][-1]["note"]
    assert body["history"][-1]["actor"] == "api-token"
    local = client.post(f"/api/callbacks/{cb}/move", headers=BEARER,
                        json={"local_due": "2026-03-04T18:30"}).get_json()
    assert local["local_due"] == "2026-03-04T18:30" and local["due_at"].startswith("2026-03-04T17:30")


def test_a_missed_callback_goes_back_on_the_schedule(app, client, clock):
    cb = seed_callback(app, status="missed")
    body = client.post(f"/api/callbacks/{cb}/move", headers=BEARER,
                       json={"due_at": (clock.now() + timedelta(hours=5)).isoformat()}).get_json()
    assert body["status"] == "scheduled"
    assert [e["to_status"] for e in body["history"]][-1] == "scheduled"


@pytest.mark.parametrize("payload, field", [
    ({}, "body"), ({"due_at": "2026-03-03T10:00:00+00:00", "local_due": "2026-03-03T10:00"}, "body"),
    ({"due_at": "2026-03-01T10:00:00+00:00"}, "body.due_at"),  # in the past (clock: 2026-03-02)
    ({"due_at": "2026-03-03T10:00"}, "body.due_at"), ({"local_due": "soon"}, "body.local_due"),
    ({"local_due": "2026-02-30T10:00"}, "body.local_due"),
    ({"due_at": "9999-12-31T23:59:00+00:00"}, "body.due_at"), ({"due_at": "0001-01-01T00:00:00+14:00"}, "body.due_at"),
    ({"local_due": "0001-01-01T00:00"}, "body.local_due"), ({"local_due": "9999-12-31T23:59"}, "body.local_due"),
    ({"due_at": "2026-03-03T10:00:00+00:00", "surprise": 1}, "body.surprise"),
])
def test_bad_moves_are_422_naming_the_field(app, client, payload, field):
    cb = seed_callback(app)
    resp = client.post(f"/api/callbacks/{cb}/move", headers=BEARER, json=payload)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["field"] == field


def test_moving_or_cancelling_a_finished_callback_is_a_conflict(app, client, clock):
    cb = seed_callback(app, status="completed")
    moved = client.post(f"/api/callbacks/{cb}/move", headers=BEARER,
                        json={"due_at": (clock.now() + timedelta(hours=5)).isoformat()})
    assert moved.status_code == 409 and "completed" in moved.get_json()["detail"]
    cancelled = client.post(f"/api/callbacks/{cb}/cancel", headers=BEARER, json={"reason": "x"})
    assert cancelled.status_code == 409
    assert client.post("/api/callbacks/12345/cancel", headers=BEARER, json={"reason": "x"}).status_code == 404


def test_cancel_needs_a_reason_and_keeps_it(app, client):
    cb = seed_callback(app)
    assert client.post(f"/api/callbacks/{cb}/cancel", headers=BEARER, json={"reason": ""}).get_json()["field"] == "body.reason"
    body = client.post(f"/api/callbacks/{cb}/cancel", headers=BEARER, json={"reason": "il cliente ha già chiamato"}).get_json()
    assert body["status"] == "cancelled" and body["history"][-1]["note"] == "il cliente ha già chiamato"


def test_writes_refuse_form_bodies_and_anonymous_callers(app, client):
    cb = seed_callback(app)
    assert client.post(f"/api/callbacks/{cb}/cancel", headers=BEARER, data={"reason": "x"}).status_code == 415
    for method, path in (("get", "/api/callbacks"), ("get", f"/api/callbacks/{cb}"),
                         ("post", f"/api/callbacks/{cb}/move"), ("post", f"/api/callbacks/{cb}/cancel")):
        assert getattr(client, method)(path, json={"reason": "x"}).status_code == 401


def test_operator_session_moves_with_the_csrf_header_only(app, client, clock):
    cb = seed_callback(app)
    add_operator(app)
    login(client)
    payload = {"due_at": (clock.now() + timedelta(hours=6)).isoformat()}
    assert client.post(f"/api/callbacks/{cb}/move", json=payload).status_code == 403
    ok = client.post(f"/api/callbacks/{cb}/move", json=payload, headers={"X-CSRFToken": page_csrf(client)})
    assert ok.status_code == 200 and ok.get_json()["history"][-1]["actor"] == "operator:olga"


def test_moves_are_checked_like_a_booking_and_slots_are_offered(app, client):
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        get_or_create(session, "+393471234567", source="crm", at=clock.now())
    cb = seed_callback(app, due_in=timedelta(hours=3))
    slots = client.get(f"/api/callbacks/{cb}/slots", headers=BEARER).get_json()
    assert slots["time_zone"] == "Europe/Rome" and 1 <= len(slots["local"]) <= 3
    assert len(slots["slots"]) == len(slots["local"])
    night = client.post(f"/api/callbacks/{cb}/move", headers=BEARER, json={"local_due": "2026-03-03T03:00"})
    assert night.status_code == 422
    body = night.get_json()
    assert body["field"] == "body.local_due" and "calls are not allowed then" in body["detail"]
    assert "nearest lawful free times (Europe/Rome):" in body["detail"]
    # The times offered are near the one asked for (Thursday night), not the old due time.
    thursday = client.post(f"/api/callbacks/{cb}/move", headers=BEARER, json={"local_due": "2026-03-05T03:00"})
    offered = thursday.get_json()["detail"].split("(Europe/Rome): ")[1].split(" (or send")[0].split(", ")
    assert offered and all(t[:10] in ("2026-03-04", "2026-03-05") for t in offered), offered
    forced = client.post(f"/api/callbacks/{cb}/move", headers=BEARER,
                         json={"local_due": "2026-03-03T03:00", "force": True})
    assert forced.status_code == 200 and forced.get_json()["local_due"] == "2026-03-03T03:00"
    lawful = client.post(f"/api/callbacks/{cb}/move", headers=BEARER, json={"local_due": slots["local"][0]})
    assert lawful.status_code == 200 and lawful.get_json()["local_due"] == slots["local"][0]
    assert client.get("/api/callbacks/999/slots", headers=BEARER).status_code == 404
    stranger = seed_callback(app, e164="+31612345678")
    assert client.get(f"/api/callbacks/{stranger}/slots", headers=BEARER).get_json()["slots"] == []  # no contact
