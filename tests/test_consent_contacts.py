"""Contacts: lookup and creation by number (contract 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import phone
from app.consent.contacts import find_by_number, get_or_create
from app.db import session_scope

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_get_or_create_fills_number_facts_and_is_idempotent(app):
    with session_scope(app) as session:
        first = get_or_create(session, "+1 212 555 0123", source="crm", at=AT, name="Ann")
        again = get_or_create(session, "+12125550123", source="crm", at=AT, name="Other")
        assert first.id == again.id
        assert first.e164 == "+12125550123"
        assert first.region == "US"
        assert first.time_zones == ["America/New_York"]
        assert first.time_zone == "America/New_York"
        assert first.name == "Ann"  # an existing name is not overwritten
    with session_scope(app) as session:
        assert find_by_number(session, "+12125550123").name == "Ann"
        assert find_by_number(session, "+12125550199") is None


def test_explicit_time_zone_wins_over_candidates(app):
    with session_scope(app) as session:
        contact = get_or_create(session, "+18005550100", source="crm", at=AT, time_zone="America/Denver")
        assert contact.time_zones == ["America/Denver"]


@pytest.mark.parametrize(
    ("number", "source", "error"),
    [("12", "crm", phone.InvalidNumber), ("+12125550123", " ", ValueError)],
)
def test_get_or_create_refuses_bad_input(app, number, source, error):
    with session_scope(app) as session, pytest.raises(error):
        get_or_create(session, number, source=source, at=AT)


def test_get_or_create_refuses_unknown_fields(app):
    with session_scope(app) as session, pytest.raises(TypeError, match="favourite_colour"):
        get_or_create(session, "+12125550123", source="crm", at=AT, favourite_colour="red")
