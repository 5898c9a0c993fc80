"""Two app instances routing on one PostgreSQL database never give one caller to two
operators, nor one operator two callers (issue 18, "Routing and scale")."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from app.clock import FakeClock
from app.db import Base, get_engine, session_scope
from app.desk import bridge
from app.desk.models import (
    BRIDGE_DONE,
    BUSY,
    CONNECTED,
    OFFERED,
    RINGING,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.desk.routing import Router
from tests.conftest import base_settings
from tests.desk_support import RingingGateway, operator, waiting

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OPERATORS, CALLERS = 40, 70


def _app(settings: dict[str, Any]):
    return create_app(settings, clock=FakeClock(NOW))


def route_in_a_process(settings: dict[str, Any], start: Any) -> list[tuple[str, int]]:
    """A child process: its own app, engine and router; returns whom it rang for which offer."""
    app = _app(settings)
    gateway = RingingGateway()
    router = Router(app, gateway=gateway)
    start.wait(60)
    while router.run_once(limit=3).offered:
        pass
    get_engine(app).dispose()
    return gateway.rings


def test_two_processes_and_threads_never_double_assign(pg_url, tmp_path):
    settings = base_settings(tmp_path)
    settings["DATABASE_URL"] = pg_url
    app = _app(settings)
    Base.metadata.create_all(get_engine(app))
    with session_scope(app) as s:
        for i in range(OPERATORS):
            operator(s, f"op{i}", phone=f"+3933311{i:05d}", languages=("it", "en"),
                     skills=("support", "complaints"), since=NOW - timedelta(minutes=i))
        for i in range(CALLERS):
            waiting(s, at=NOW - timedelta(seconds=i), priority=i % 7 == 0, language="it" if i % 2 else "en",
                    caller=f"+3934712{i:05d}")

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(3)
        children = pool.starmap_async(route_in_a_process, [(settings, start), (settings, start)])
        gateway = RingingGateway()
        router = Router(app, gateway=gateway)

        def loop() -> None:
            while router.run_once(limit=2).offered:
                pass

        threads = [threading.Thread(target=loop) for _ in range(2)]
        start.wait(60)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        rings = gateway.rings + [ring for child in children.get(timeout=180) for ring in child]

    with session_scope(app) as s:
        offers = s.scalars(select(Offer)).all()
        by_operator = Counter(o.operator_id for o in offers)
        by_entry = Counter(o.entry_id for o in offers)
        assert len(offers) == OPERATORS, "every operator should have been offered exactly one caller"
        assert max(by_operator.values()) == 1, "an operator was given two callers"
        assert max(by_entry.values()) == 1, "a caller was given to two operators"
        assert len(rings) == len(offers) and len({offer for _, offer in rings}) == len(offers)
        ringing = s.scalars(select(QueueEntry).where(QueueEntry.status == RINGING)).all()
        assert {e.offer_id for e in ringing} == {o.id for o in offers}
        operators = s.scalars(select(DeskOperator)).all()
        assert all(op.state == OFFERED for op in operators)
        assert {op.entry_id for op in operators} == {o.entry_id for o in offers}
        # Every priority caller was served before any other caller.
        served = {o.entry_id for o in offers}
        priority = {e.id for e in s.scalars(select(QueueEntry).where(QueueEntry.priority.is_(True)))}
        assert priority <= served
    get_engine(app).dispose()


class CountingGateway:
    """Counts Queue Members requests per caller (threads share it)."""

    def __init__(self) -> None:
        self.dequeued: Counter[str] = Counter()
        self._lock = threading.Lock()

    def dequeue_member(self, _queue_sid: str, call_sid: str, _url: str) -> None:
        with self._lock:
            self.dequeued[call_sid] += 1


def test_each_accepted_callers_bridge_is_done_once_whoever_looks_at_it(pg_url, tmp_path):
    """Accepted offers whose bridge job is due (their webhook's worker died, say): four routing
    threads on PostgreSQL take each caller out of the queue exactly once."""
    settings = base_settings(tmp_path)
    settings["DATABASE_URL"] = pg_url
    app = _app(settings)
    Base.metadata.create_all(get_engine(app))
    gateway = CountingGateway()
    app.extensions["cortese.gateway"] = gateway
    with session_scope(app) as s:
        for i in range(30):
            op = operator(s, f"op{i}", phone=f"+3933311{i:05d}", state=BUSY, since=NOW)
            entry = waiting(s, at=NOW - timedelta(minutes=1), caller=f"+3934712{i:05d}")
            entry.status, entry.operator_id, entry.answered_at = CONNECTED, op.id, NOW
            bridge.schedule(entry, NOW)
    start = threading.Barrier(4)

    def look() -> None:
        start.wait(30)
        for _ in range(3):
            bridge.retry_due(app, NOW)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with session_scope(app) as s:
        entries = s.scalars(select(QueueEntry)).all()
        assert {e.bridge_status for e in entries} == {BRIDGE_DONE}
        assert gateway.dequeued == Counter({e.call_sid: 1 for e in entries})
    get_engine(app).dispose()
