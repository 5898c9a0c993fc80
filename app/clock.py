"""The only `now()` in the code base. Tests move a FakeClock instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context


class Clock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that only moves when told to; thread-safe so scheduler threads can read it."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware datetime")
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now


_system_clock = Clock()


def get_clock() -> Clock:
    """The clock of the current Flask app, or the system clock outside an app context."""
    if has_app_context():
        return current_app.extensions.get("cortese.clock", _system_clock)
    return _system_clock


def now() -> datetime:
    return get_clock().now()


def as_utc(moment: datetime) -> datetime:
    """Normalise a datetime read back from a DB that drops tzinfo (SQLite) to aware UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
