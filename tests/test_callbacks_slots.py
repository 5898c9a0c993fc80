"""A 15-minute callback slot never holds more than CALLBACK_SLOT_CAPACITY callbacks, however
many callers confirm the same time at once (several workers and processes, one database).

Counting a slot and then adding a callback used to interleave: every caller saw a free seat,
all were booked. The booking now locks the slot before it counts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app import create_app
from app.callbacks import service
from app.callbacks.models import Callback
from app.clock import FakeClock
from app.db import Base, get_engine, session_scope
from app.refusals import Refusal
from tests.conftest import base_settings

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)  # Thursday 17:30 in Rome
CAPACITY = 3
CALLERS = 10


def _booking(n: int, due: datetime = DUE) -> service.Booking:
    return service.Booking(e164=f"+39347{3000000 + n}", due_at=due, time_zone="Europe/Rome", language="it")


def _confirm_together(app: Any) -> tuple[list[int], list[str]]:
    """CALLERS callers each see a free seat, wait for one another, then confirm at once."""
    barrier = threading.Barrier(CALLERS)
    booked: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def caller(n: int) -> None:
        try:
            with session_scope(app) as session:
                seen = service.slot_load(session, DUE)
                barrier.wait(30)
                assert seen < CAPACITY  # what the caller was told: there is room
                cb = service.book(session, _booking(n), at=NOW, by=f"call:{n}", capacity=CAPACITY)
                booked.append(cb.id)
        except Refusal as refusal:
            refused.append(refusal.code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return booked, refused


def _in_slot(app: Any) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Callback)
                                  .where(Callback.due_at >= service.slot_start(DUE),
                                         Callback.due_at < service.slot_start(DUE) + timedelta(minutes=15))) or 0)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_callers_confirming_at_once_never_overfill_a_slot(request, tmp_path, database):
    settings = base_settings(tmp_path)
    if database == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("pg_url")
    app = create_app(settings, clock=FakeClock(NOW))
    Base.metadata.create_all(get_engine(app))
    try:
        booked, refused = _confirm_together(app)
        assert len(booked) == CAPACITY and refused == ["slot_full"] * (CALLERS - CAPACITY)
        assert _in_slot(app) == CAPACITY
    finally:
        get_engine(app).dispose()


def test_a_full_slot_refuses_a_booking_and_a_move_but_an_operator_may_overbook(app):
    with session_scope(app) as session:
        for n in range(CAPACITY):
            service.book(session, _booking(n), at=NOW, by="test", capacity=CAPACITY)
        elsewhere = service.book(session, _booking(9, DUE + timedelta(hours=1)), at=NOW, by="test",
                                 capacity=CAPACITY)
    with pytest.raises(Refusal) as full, session_scope(app) as session:
        service.book(session, _booking(7), at=NOW, by="test", capacity=CAPACITY)
    assert full.value.code == "slot_full"
    with pytest.raises(Refusal) as moved, session_scope(app) as session:
        service.move(session, elsewhere.id, DUE, at=NOW, by="call:x", capacity=CAPACITY)
    assert moved.value.code == "slot_full"
    with session_scope(app) as session:  # an operator's move is theirs to decide
        service.move(session, elsewhere.id, DUE, at=NOW, by="operator:anna")
    assert _in_slot(app) == CAPACITY + 1
