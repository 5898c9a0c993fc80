"""The API's filters and pagination on PostgreSQL (LIKE escaping, ILIKE, counts over subqueries)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.db import get_engine
from tests.console_support import BEARER, seed_call, seed_callback, seed_campaign, seed_ticket

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(settings, pg_url):  # type: ignore[no-untyped-def]
    settings["DATABASE_URL"] = pg_url
    return settings


def test_lists_filter_and_page_on_postgres(app, client):
    with get_engine(app).connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1 and conn.dialect.name == "postgresql"
    for n in range(3):
        seed_call(app, sid=f"CA{n:032d}", from_=f"+3934712345{n:02d}")
    page = client.get("/api/calls?limit=2&number=34712345", headers=BEARER).get_json()
    assert page["total"] == 3 and page["next_offset"] == 2
    # LIKE wildcards in the search are literal characters, not patterns.
    assert client.get("/api/calls?number=%25", headers=BEARER).get_json()["total"] == 0
    seed_ticket(app, subject="Router")
    assert client.get("/api/tickets?open=true", headers=BEARER).get_json()["total"] == 1
    created = client.post("/api/contacts", json={"e164": "+393471234567", "name": "Maria ROSSI"},
                          headers=BEARER)
    assert created.status_code == 201
    assert client.get("/api/contacts?q=rossi", headers=BEARER).get_json()["total"] == 1


def test_callbacks_and_campaigns_on_postgres(app, client):

    soon = seed_callback(app, due_in=timedelta(hours=1))
    missed = seed_callback(app, status="missed")
    assert [c["id"] for c in client.get("/api/callbacks?view=missed", headers=BEARER).get_json()["items"]] == [missed]
    assert client.get("/api/callbacks?view=due_today", headers=BEARER).get_json()["total"] == 2
    moved = client.post(f"/api/callbacks/{soon}/move", headers=BEARER, json={"local_due": "2026-03-03T18:30"})
    assert moved.status_code == 200 and moved.get_json()["history"][-1]["actor"] == "api-token"
    for big in (2**31, 2**62 - 1):
        assert client.get(f"/api/callbacks/{big}", headers=BEARER).status_code == 404
        assert client.get(f"/api/campaigns/{big}", headers=BEARER).status_code == 404
        assert client.get(f"/api/contacts/{big}", headers=BEARER).status_code == 404
    assert client.get("/api/compliance/decisions?contact_id=2147483648", headers=BEARER).status_code == 422
    cid = seed_campaign(app, numbers=("+393471234567", "+31612345678"))
    started = client.post(f"/api/campaigns/{cid}/start", headers=BEARER)
    assert started.status_code == 200 and started.get_json()["stats"]["contacts"] == {"queued": 2}
    assert client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER,
                       json={"contact_ids": [2**31 - 1]}).get_json()["errors"][0]["message"] == "no such contact"
