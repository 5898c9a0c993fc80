"""The API's filters and pagination on PostgreSQL (LIKE escaping, ILIKE, counts over subqueries)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db import get_engine
from tests.console_support import BEARER, seed_call, seed_ticket

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
