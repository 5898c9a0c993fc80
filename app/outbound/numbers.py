"""One call per number at a time: a claim per number in the database.

Consent reads the calls already made to a number (courtesy limits, "a call is under way").
Two dialers that each check before either has recorded its attempt would both be told yes
and ring one person twice within a second. So a dialer takes the number's claim before it
asks consent and keeps it until the attempt is recorded; whoever comes second waits for that
record and then gets consent's answer with the first call counted.

A claim is a row keyed by the number: taking it is an INSERT (the primary key lets only one
process win) or, when the row exists but its holder's time is over, a conditional UPDATE
(`until < now`, re-checked under the row lock on PostgreSQL, serialised on SQLite). Each is
committed at once, in its own transaction, so other processes see it before we read consent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import affected
from app.outbound.models import NumberClaim


def take(engine: Engine, e164: str, *, holder: str, job: str, now: datetime, hold: timedelta) -> bool:
    """Claim `e164` for `holder` until now + hold; False while someone else holds it."""
    values = {"holder": holder[:100], "job": job[:100], "taken_at": now, "until": now + hold}
    try:
        with engine.begin() as conn:
            conn.execute(insert(NumberClaim).values(e164=e164, **values))
        return True
    except IntegrityError:
        pass  # a claim exists: ours from a crash-free earlier step, expired, or someone else's
    with engine.begin() as conn:
        won = conn.execute(
            update(NumberClaim)
            .where(NumberClaim.e164 == e164, or_(NumberClaim.until < now, NumberClaim.holder == holder[:100]))
            .values(**values)
        )
        return affected(won) == 1


def release(session: Session, e164: str, *, holder: str) -> None:
    """Give the number back, in the caller's transaction (the one that records the attempt)."""
    session.execute(delete(NumberClaim).where(NumberClaim.e164 == e164, NumberClaim.holder == holder[:100]))


def holder_of(session: Session, e164: str, *, now: datetime) -> str | None:
    """Who holds a live claim on `e164` (None when nobody, or the claim has expired)."""
    claim = session.get(NumberClaim, e164)
    return claim.holder if claim is not None and claim.until >= now else None
