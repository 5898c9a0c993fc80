"""The real APScheduler, in the app: it ticks at the configured intervals and a due callback is
dialled exactly once even with several app instances ticking against the same database."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from app import create_app
from app.callbacks.dispatch import JOB_ID
from app.callbacks.models import PLACED, Callback
from app.clock import FakeClock
from app.db import Base, get_engine, session_scope
from tests.callback_support import RecordingGateway, book

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)  # a Wednesday
DUE = NOW + timedelta(hours=1)


@pytest.fixture
def instances(settings, clock):
    """Three app instances (as three gunicorn workers or hosts would be) on one database, each
    with its own running scheduler, sharing one recording gateway."""
    clock.set(NOW)
    settings.update(SCHEDULER_ENABLED=True, CALLBACK_POLL_SECONDS=0.2)
    gateway = RecordingGateway()
    apps: list[Flask] = []
    try:
        for _ in range(3):
            apps.append(create_app(settings, clock=clock, gateway=gateway))
            Base.metadata.create_all(get_engine(apps[-1]))
        yield apps, gateway
    finally:
        for app in apps:
            scheduler = app.extensions.get("cortese.scheduler")
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            get_engine(app).dispose()


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_scheduler_ticks_at_the_configured_interval(instances):
    apps, _ = instances
    job = apps[0].extensions["cortese.scheduler"].get_job(JOB_ID)
    assert job is not None and job.trigger.interval == timedelta(seconds=0.2)


def test_a_due_callback_is_dialled_once_by_several_ticking_schedulers(instances, clock: FakeClock):
    apps, gateway = instances
    with session_scope(apps[0]) as session:
        cb_id = book(session, "+393471234567", DUE, at=NOW).id
    time.sleep(0.6)  # several ticks of every scheduler before it is due: nothing dials early
    assert gateway.dials == []
    clock.set(DUE + timedelta(seconds=1))
    assert _wait_for(lambda: gateway.dials), "no scheduler dialled the due callback"
    time.sleep(1.0)  # another five ticks of each of the three schedulers
    assert gateway.dialled_ids == [cb_id]
    with session_scope(apps[0]) as session:
        assert session.get(Callback, cb_id).status == PLACED
