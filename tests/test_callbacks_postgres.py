"""Exactly-once dispatch on PostgreSQL: several threads and several processes, one database.

The claim is `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) AND status='scheduled'`;
whatever the interleaving, every due callback is dialled once and only once.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app import create_app
from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import PLACED, Callback
from app.clock import FakeClock
from app.db import Base, get_engine, session_scope
from tests.callback_support import RecordingGateway, book, no_pause
from tests.conftest import base_settings

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wednesday 15:00 in Rome


def _app(settings: dict[str, Any]):
    return create_app(settings, clock=FakeClock(NOW + timedelta(hours=1)))


def dispatch_in_a_process(settings: dict[str, Any], worker: str, start: Any) -> list[int]:
    """Runs in a child process: its own app, engine and dispatcher; returns what it dialled."""
    app = _app(settings)
    gateway = RecordingGateway()
    dispatcher = Dispatcher(app, gateway=gateway, worker=worker, pace=no_pause)
    start.wait(60)  # everybody starts together
    while dispatcher.run_once(limit=7).placed:
        pass
    get_engine(app).dispose()
    return gateway.dialled_ids


@pytest.fixture
def pg_settings(pg_url, tmp_path) -> dict[str, Any]:
    settings = base_settings(tmp_path)
    settings["DATABASE_URL"] = pg_url
    # The clock stands still: at 1 CPS ninety dials would book the account's slots far beyond
    # the dispatcher's wait. These tests are about exactly-once, not pacing.
    settings["CAMPAIGN_ACCOUNT_CPS"] = 100
    return settings


def test_threads_and_processes_dial_each_callback_exactly_once(pg_settings):
    app = _app(pg_settings)
    Base.metadata.create_all(get_engine(app))
    with session_scope(app) as session:
        ids = [book(session, f"+39347{2000000 + i}", NOW + timedelta(minutes=30), at=NOW).id for i in range(90)]

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(3)
        children = pool.starmap_async(dispatch_in_a_process, [(pg_settings, "p1", start),
                                                              (pg_settings, "p2", start)])
        gateway = RecordingGateway()
        threads = [threading.Thread(target=lambda n=n: _loop(app, gateway, n)) for n in ("t1", "t2", "t3")]
        start.wait(60)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        from_children = children.get(timeout=180)

    dialled = gateway.dialled_ids + [cb for child in from_children for cb in child]
    assert len(dialled) == len(set(dialled)), "a callback was dialled twice"
    assert sorted(dialled) == ids
    assert any(from_children) and gateway.dialled_ids, "every worker should have taken part"
    with session_scope(app) as session:
        placed = session.scalar(select(func.count()).select_from(Callback).where(Callback.status == PLACED))
        assert placed == len(ids)
    get_engine(app).dispose()


def _loop(app, gateway: RecordingGateway, worker: str) -> None:
    dispatcher = Dispatcher(app, gateway=gateway, worker=worker, pace=no_pause)
    while dispatcher.run_once(limit=3).placed:
        pass
