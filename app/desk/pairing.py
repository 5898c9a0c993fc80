"""Who takes which caller: the routing decision, claimed in the database.

- callers in order: priority first (upset callers, the priority queue), then the longest wait;
- for each, the available operators who speak the caller's language and have the skill the
  call needs (complaints for priority callers, technician for fault reports, else support),
  the one idle longest first;
- **skill fallback**: a caller who has waited DESK_SKILL_FALLBACK_SECONDS with no operator of
  the needed skill free may be taken by an operator of a fallback skill (FALLBACK_SKILLS: a
  general support operator) who speaks their language; a specialist still goes first when one
  is free. The language never falls back (nobody could understand each other): a caller whose
  language nobody free speaks keeps waiting, and QUEUE_MAX_WAIT_SECONDS offers a callback;
- the pair is **claimed** in one transaction with two conditional UPDATEs:
  ``UPDATE desk_operators SET state='offered' WHERE id=:op AND state='available'`` and
  ``UPDATE desk_queue_entries SET status='ringing' WHERE id=:e AND status='waiting'``. Both
  must match one row or the transaction is rolled back. On PostgreSQL a concurrent UPDATE of
  the same row waits for ours and then re-checks its WHERE, so two instances can never both
  win an operator or a caller (tests/test_desk_postgres.py runs two processes at it).

Ringing the operator and everything else a routing pass does is routing.py's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.callbacks.models import Callback
from app.calls import is_simulated
from app.clock import Clock
from app.db import affected, session_scope
from app.desk import browser_phone
from app.desk.models import (
    AVAILABLE,
    OFFER_RINGING,
    OFFERED,
    RINGING,
    SKILL_FALLBACK_NOTE,
    WAITING,
    DeskOperator,
    Offer,
    QueueEntry,
)

# Who may take a caller whose skill no free operator has, once they waited long enough: a
# fault report or an upset caller is better served by a general support operator (who hears
# in the whisper why the caller waits) than by more waiting. Support has no fallback.
FALLBACK_SKILLS: dict[str, tuple[str, ...]] = {"technician": ("support",), "complaints": ("support",)}


@dataclass(frozen=True)
class Claim:
    """A pair won: the offer made for it, and what to dial to ring the operator."""

    offer_id: int
    token: str
    phone: str
    # For a simulated caller (or a callback booked on a simulated call) the gateway refuses to
    # ring through Twilio: only the simulator's own REST API may (app.telephony).
    simulated: bool = False


def matches(operator: DeskOperator, entry: QueueEntry, *, fallback: bool = False) -> bool:
    """The operator speaks the caller's language and has the skill the call needs, or (with
    `fallback`) one of that skill's fallback skills."""
    skills = set(operator.skills or ())
    wanted = set(FALLBACK_SKILLS.get(entry.skill, ())) if fallback else {entry.skill}
    return entry.language in (operator.languages or ()) and bool(skills & wanted)


def pick_operator(operators: list[DeskOperator], entry: QueueEntry, at: datetime,
                  fallback_after: timedelta) -> tuple[DeskOperator, bool] | None:
    """The operator for this caller among `operators` (idle longest first), and whether it is
    a fallback: a specialist first; a fallback skill only once the caller waited `fallback_after`."""
    exact = next((op for op in operators if matches(op, entry)), None)
    if exact is not None:
        return exact, False
    if at - entry.enqueued_at < fallback_after:
        return None
    other = next((op for op in operators if matches(op, entry, fallback=True)), None)
    return (other, True) if other is not None else None


def claim_next(app: Flask, clock: Clock) -> Claim | None:
    """Pair the first waiting caller that an available operator can take; None when none."""
    settings = app.extensions["cortese.settings"]
    for _ in range(10):  # another instance may win a row between our read and our UPDATE
        with session_scope(app) as session:
            outcome = _try_claim(session, settings, clock)
            if outcome is None:
                return None
            if isinstance(outcome, Claim):
                return outcome
            session.rollback()  # lost a race: nothing of ours is kept; look again
    return None


def _try_claim(session: Session, settings: Any, clock: Clock) -> Claim | bool | None:
    operators = list(session.scalars(
        select(DeskOperator).where(DeskOperator.state == AVAILABLE, DeskOperator.phone.is_not(None))
        .order_by(DeskOperator.state_since, DeskOperator.id)))
    if not operators:
        return None
    entries = session.scalars(
        select(QueueEntry).where(QueueEntry.status == WAITING)
        .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id).limit(200))
    now = clock.now()
    fallback_after = timedelta(seconds=settings.desk_skill_fallback_seconds)
    for entry in entries:
        picked = pick_operator(operators, entry, now, fallback_after)
        if picked is None:
            continue
        operator, fallback = picked
        note = f"{SKILL_FALLBACK_NOTE}: no {entry.skill} operator free" if fallback else None
        return _claim_pair(session, operator, entry, clock.now(), settings, note=note)
    return None


def _claim_pair(session: Session, operator: DeskOperator, entry: QueueEntry, now: datetime, settings: Any, *,
                note: str | None = None) -> Claim | bool:
    won_operator = affected(session.execute(
        update(DeskOperator).where(DeskOperator.id == operator.id, DeskOperator.state == AVAILABLE)
        .values(state=OFFERED, state_since=now, entry_id=entry.id, state_reason=None)
        .execution_options(synchronize_session=False)))
    if won_operator != 1:
        return False
    won_entry = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.status == WAITING)
        .values(status=RINGING, operator_id=operator.id, offers=QueueEntry.offers + 1)
        .execution_options(synchronize_session=False)))
    if won_entry != 1:
        return False
    token = str(uuid.uuid4())
    offer = Offer(entry_id=entry.id, operator_id=operator.id, token=token, status=OFFER_RINGING,
                  created_at=now, note=note)
    session.add(offer)
    session.flush()
    session.execute(update(QueueEntry).where(QueueEntry.id == entry.id).values(offer_id=offer.id)
                    .execution_options(synchronize_session=False))
    return Claim(offer.id, token, browser_phone.destination(operator, settings), _simulated(session, entry))


def _simulated(session: Session, entry: QueueEntry) -> bool:
    """Whether the caller the operator is rung for came from the simulator."""
    if entry.callback_id is not None:
        return bool(session.scalar(select(Callback.simulated).where(Callback.id == entry.callback_id)))
    return is_simulated(session, entry.call_sid)
