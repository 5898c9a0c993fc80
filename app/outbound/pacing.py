"""Calls-per-second pacing shared by every dialer process, kept in the database.

Each pacing key (a campaign, the Twilio account) has the next free dialling moment. Taking a
slot locks the keys' rows (an UPDATE first: a row lock on PostgreSQL, the write lock on SQLite),
reads them, and moves each forward by its interval, all in one short transaction of its own.
So two calls of one key are always at least 1/cps apart, whichever processes place them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.outbound.models import Pacer

ACCOUNT_KEY = "account"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _ensure(engine: Engine, keys: list[str]) -> None:
    with engine.connect() as conn:
        known = set(conn.scalars(select(Pacer.key).where(Pacer.key.in_(keys))))
    for key in keys:
        if key in known:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(insert(Pacer).values(key=key, next_us=0))
        except IntegrityError:
            pass  # another process created it first


def reserve(engine: Engine, rates: dict[str, float], *, now: datetime, horizon: timedelta) -> datetime | None:
    """Take one dialling slot across every key in `rates` (key -> calls per second).

    Returns the moment to dial (>= now, < now + horizon), or None when every slot in the
    horizon is taken (nothing is reserved then).
    """
    keys = sorted(rates)
    _ensure(engine, keys)
    with engine.begin() as conn:
        for key in keys:  # lock in a fixed order: no deadlock between processes
            conn.execute(update(Pacer).where(Pacer.key == key)
                         .values(next_us=Pacer.next_us))
        current = dict(conn.execute(select(Pacer.key, Pacer.next_us)
                                    .where(Pacer.key.in_(keys))).all())
        slot = max([to_us(now), *current.values()])
        if slot >= to_us(now + horizon):
            return None
        for key in keys:
            interval = round(1_000_000 / rates[key])
            conn.execute(update(Pacer).where(Pacer.key == key).values(next_us=slot + interval))
    return from_us(slot)


def next_free(engine: Engine, keys: list[str]) -> datetime:
    """The earliest moment a slot could be taken for all `keys` (no reservation is made)."""
    with engine.connect() as conn:
        values = list(conn.scalars(select(Pacer.next_us).where(Pacer.key.in_(keys))))
    return from_us(max(values, default=0))


def hold(engine: Engine, key: str, until: datetime) -> None:
    """Push a key's next slot to at least `until` (back-off after Twilio said 429 or 5xx)."""
    _ensure(engine, [key])
    with engine.begin() as conn:
        conn.execute(update(Pacer).where(Pacer.key == key, Pacer.next_us < to_us(until))
                     .values(next_us=to_us(until)))
