"""GDPR erasure (art. 17) stops every call still planned to the person, keeping the history of
why: a pending callback to an erased number would call someone who asked to be forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import CANCELLED, COMPLETED, SCHEDULED, Callback, CallbackEvent
from app.consent import gdpr, get_or_create
from app.db import session_scope
from tests.callback_support import RecordingGateway, book, no_pause
from tests.console_support import BEARER

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)  # Wednesday 15:00 in Rome
ERASED, OTHER = "+393471234567", "+393479876543"


def _callbacks(app) -> dict[int, tuple[str, str]]:
    with session_scope(app) as session:
        return {cb.id: (cb.e164, cb.status) for cb in session.scalars(select(Callback))}


def _seed(app, clock) -> tuple[int, int, int, int]:
    clock.set(NOW)
    with session_scope(app) as session:
        get_or_create(session, ERASED, source="crm", at=NOW - timedelta(days=30), name="Giulia")
        first = book(session, ERASED, NOW + timedelta(hours=1), at=NOW).id
        second = book(session, ERASED, NOW + timedelta(days=1), at=NOW).id
        done = book(session, ERASED, NOW + timedelta(hours=2), at=NOW)
        done.status = COMPLETED
        other = book(session, OTHER, NOW + timedelta(hours=1), at=NOW).id
        return first, second, done.id, other


def test_erasure_cancels_the_numbers_pending_callbacks_with_why_and_by_whom(app, clock):
    first, second, done, other = _seed(app, clock)
    with app.app_context(), session_scope(app) as session:
        gdpr.erase_contact(session, ERASED, at=NOW + timedelta(minutes=5), by="dpo anna")
    statuses = {cb_id: status for cb_id, (_, status) in _callbacks(app).items()}
    assert statuses == {first: CANCELLED, second: CANCELLED, done: COMPLETED, other: SCHEDULED}
    with session_scope(app) as session:
        event = session.scalars(select(CallbackEvent).where(CallbackEvent.callback_id == first)
                                .order_by(CallbackEvent.id.desc())).first()
        assert (event.from_status, event.to_status, event.actor) == (SCHEDULED, CANCELLED, "erasure:dpo anna")
        assert "erased on request" in (event.note or "")
    clock.set(NOW + timedelta(days=2))
    gateway = RecordingGateway()
    Dispatcher(app, gateway=gateway, worker="w1", pace=no_pause).run_once()
    assert [cb for cb, _ in gateway.dials] == [other]


def test_erasure_through_the_api_cancels_them_too(app, client, clock):
    first, second, _done, other = _seed(app, clock)
    contact_id = client.get(f"/api/contacts?q={ERASED}", headers=BEARER).get_json()["items"][0]["id"]
    assert client.post(f"/api/contacts/{contact_id}/erase", headers=BEARER).status_code == 200
    statuses = {cb_id: status for cb_id, (_, status) in _callbacks(app).items()}
    assert statuses[first] == statuses[second] == CANCELLED and statuses[other] == SCHEDULED
