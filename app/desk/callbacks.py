"""Operator-first callbacks: a callback whose promise is a person reaches one at once.

While the desk is in use (an operator has a phone to ring), a due callback booked to talk to a
person (`PERSON_REASONS`) is not dialled by the callbacks dispatcher: the desk claims it (the
callbacks' own claim: `dispatching`, a token, a lease) and puts it among the waiting callers,
first in line (it was promised for this time). Routing rings an operator matching its language
and skill with a whisper ("a callback, the customer speaks Italian, about a complaint, press 1
to call them now"). Only when the operator accepted does the outbound pipeline dial the
customer (`OperatorFirstKind`, the callbacks' adapter with another Url): consent and the
calling window are re-checked right then, the number claimed, the account paced. The customer
who answers hears who is calling and joins the operator's conference: no queue.

Nobody free within DESK_CALLBACK_WAIT_SECONDS: the callback goes back on the schedule
(`RETRY_MINUTES` later, noted in its history); after `MAX_WAITS` such waits it is `failed`
with the reason, where the console's callbacks page shows it for a person to move. If every
instance stopped, the claim's lease runs out and the callbacks dispatcher recovers the row as
usual (it then rings the customer itself), so a callback is never dropped.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from app.callbacks import service as callbacks
from app.callbacks.dispatch import CallbackKind, Dispatcher, DispatchReport, Job
from app.callbacks.models import DISPATCHING, FAILED, SCHEDULED, Callback, CallbackEvent
from app.db import session_scope
from app.desk.models import LEFT, WAITING, DeskOperator, QueueEntry
from app.outbound import Dial, Outcome, Patience, take_rows

log = logging.getLogger(__name__)

ACTOR = "operator desk"
# Callbacks that promised a person: the customer asked for an operator, waited too long for
# one, complained, or reported a fault (a technician calls back).
PERSON_REASONS = ("operator", "queue_timeout", "complaint", "fault")
RETRY_MINUTES = 10
MAX_WAITS = 3
LEASE_MARGIN = timedelta(minutes=10)  # the claim outlives the wait: the dispatcher keeps off


def desk_in_use(session: Session) -> bool:
    return session.scalar(select(func.count(DeskOperator.id)).where(DeskOperator.phone.is_not(None))) != 0


def held_by_desk(session: Session) -> ColumnElement[bool]:
    """The callbacks the dispatcher must leave to the desk (none while no operator is set up)."""
    return Callback.reason.in_(PERSON_REASONS) if desk_in_use(session) else false()


def skill_of(reason: str) -> str:
    return {"complaint": "complaints", "fault": "technician"}.get(reason, "support")


def take_due(app: Flask, now: datetime, *, limit: int = 20) -> list[int]:
    """Claim due person callbacks for the desk and put them in line; returns their entry ids."""
    settings = app.extensions["cortese.settings"]

    taken: list[int] = []
    with session_scope(app) as session:
        if not desk_in_use(session):
            return taken
        for _ in range(limit):
            token = str(uuid.uuid4())
            candidate = (select(Callback.id).where(Callback.status == SCHEDULED, Callback.due_at <= now,
                                                   Callback.reason.in_(PERSON_REASONS))
                         .order_by(Callback.due_at, Callback.id).limit(1))
            lease = now + timedelta(seconds=settings.desk_callback_wait_seconds) + LEASE_MARGIN
            won = take_rows(session, candidate, Callback, guard=[Callback.status == SCHEDULED], values=dict(
                status=DISPATCHING, claimed_by=ACTOR, claim_token=token, dial_started_at=None, lease_until=lease,
                updated_at=now))
            if not won:
                break
            cb = session.get(Callback, won[0])
            assert cb is not None
            session.refresh(cb)
            session.add(CallbackEvent(callback_id=cb.id, at=now, from_status=SCHEDULED, to_status=DISPATCHING,
                                      actor=ACTOR, note="claimed: waiting for a free operator (operator-first)"))
            entry = QueueEntry(
                call_sid=f"callback-{cb.id}-{token[:8]}", queue="callbacks", caller=cb.e164,
                language=cb.language, skill=skill_of(cb.reason), reason=cb.reason, priority=True,
                complaint=cb.reason == "complaint", recognised=cb.contact_id is not None,
                details={"token": token, "note": cb.note} if cb.note else {"token": token},
                callback_id=cb.id, status=WAITING, offers=0, enqueued_at=now)
            session.add(entry)
            session.flush()
            taken.append(entry.id)
    return taken


def expire_waits(app: Flask, now: datetime) -> list[int]:
    """Callbacks nobody could take in time: back on the schedule, or to the console at last."""
    settings = app.extensions["cortese.settings"]
    limit = now - timedelta(seconds=settings.desk_callback_wait_seconds)
    expired: list[int] = []
    with session_scope(app) as session:
        entries = session.scalars(select(QueueEntry).where(QueueEntry.callback_id.is_not(None),
                                                           QueueEntry.status == WAITING,
                                                           QueueEntry.enqueued_at < limit)
                                  .with_for_update(skip_locked=True).limit(50)).all()
        for entry in entries:
            entry.status, entry.ended_at, entry.end_reason = LEFT, now, "no operator free in time"
            cb = session.scalars(select(Callback).where(Callback.id == entry.callback_id,
                                                        Callback.claim_token == entry.details.get("token"))
                                 .with_for_update()).first()
            if cb is None or cb.status != DISPATCHING or cb.dial_started_at is not None:
                continue
            waits = session.scalar(select(func.count(QueueEntry.id)).where(QueueEntry.callback_id == cb.id)) or 0
            cb.claim_token, cb.lease_until = None, None
            minutes = settings.desk_callback_wait_seconds // 60
            if waits >= MAX_WAITS:
                cb.last_error = (f"no operator was free in {waits} waits of {minutes} min: call the customer or "
                                 "move this callback")
                callbacks.transition(session, cb, FAILED, at=now, actor=ACTOR, note=cb.last_error)
            else:
                cb.due_at = now + timedelta(minutes=RETRY_MINUTES)
                callbacks.transition(session, cb, SCHEDULED, at=now, actor=ACTOR,
                                     note=f"no operator free within {minutes} min: again at "
                                          f"{cb.due_at:%H:%M} UTC")
            expired.append(entry.id)
    return expired


class OperatorFirstKind(CallbackKind):
    """The callbacks' adapter, dialling the customer into the operator's conference."""

    name = "operator-first callback"
    # The operator waits alone in the conference (the dial runs after their webhook's answer,
    # app/desk/bridge.py, on a web worker's thread): a pacing slot further off than this gives
    # the callback back (rescheduled) rather than keep the operator and the worker waiting.
    patience = Patience(peek=timedelta(seconds=3), reserve=timedelta(seconds=3))

    def __init__(self, dispatcher: Dispatcher, report: DispatchReport, entry_id: int) -> None:
        super().__init__(dispatcher, report)
        self.entry_id = entry_id

    def mark(self, session: Session, job: Job, now: datetime) -> Dial | None:
        dial = super().mark(session, job, now)
        if dial is None:
            return None
        base = self.settings.public_base_url
        return Dial(**{**dial.arguments(), "url": f"{base}/voice/desk/customer?entry={self.entry_id}"})

    def placed(self, session: Session, job: Job, info: Any, now: datetime) -> bool:
        entry = session.get(QueueEntry, self.entry_id)
        if entry is not None:
            entry.call_sid = info.sid  # the desk follows the customer's call from now on
        return super().placed(session, job, info, now)


def dial_customer(app: Flask, entry: QueueEntry) -> Outcome:
    """The operator accepted: dial the customer through the outbound pipeline (consent,
    window, number claim and pacing checked again now)."""
    dispatcher = Dispatcher(app, worker=ACTOR)
    kind = OperatorFirstKind(dispatcher, DispatchReport(), entry.id)
    assert entry.callback_id is not None
    return dispatcher.pipeline.dial(kind, (entry.callback_id, str(entry.details.get("token"))))
