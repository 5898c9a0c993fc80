"""Bridging an accepted offer, out of the operator's webhook.

When the operator presses 1, /voice/desk/answer answers at once: the operator joins the
conference `desk-<entry>` and hears "connecting" (or "calling the customer"). The REST work
that brings the other side in is a job on the queue entry, done here once the answer has been
sent (after_response.bridge_after_request), through the app's one Twilio gateway:

- a caller waiting in a queue: the Queue Members API takes exactly them out into
  /voice/desk/join, which joins the conference;
- an operator-first callback: the outbound pipeline dials the customer (consent, window,
  number claim and pacing, whose wait no longer holds a webhook Twilio gives 15 s).

The job is claimed with one conditional UPDATE and a lease (`bridge_after`), so however many
processes look at it, one works on it at a time; a worker that died mid-job leaves it to the
routing pass (scheduler job desk.route), which retries it once the lease ran out. Twilio being
unreachable is retried a few times; when the other side cannot be brought in, the operator
is told on their call and freed, and the entry ends with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import affected, session_scope
from app.desk import whisper
from app.desk.callbacks import dial_customer
from app.desk.models import (
    ABANDONED,
    AVAILABLE,
    BRIDGE_DONE,
    BRIDGE_FAILED,
    BRIDGE_OPEN,
    BRIDGE_PENDING,
    BRIDGE_WORKING,
    BUSY,
    CONNECTED,
    LEFT,
    Offer,
    QueueEntry,
)
from app.desk.states import set_state
from app.desk.urls import desk_url
from app.outbound import Outcome
from app.telephony import AmbiguousRequestError, TelephonyError, Twiml

log = logging.getLogger(__name__)

# A worker holds the job this long (longer than the gateway's own retries of one request);
# past it, the routing pass may take it over.
LEASE = timedelta(seconds=30)
# Twilio unreachable or the answer lost: try again this much later, this many times in all.
RETRY_AFTER = timedelta(seconds=2)
MAX_ATTEMPTS = 4


def schedule(entry: QueueEntry, at: datetime) -> None:
    """The operator accepted: the bridge is due now (in the accepting transaction)."""
    entry.bridge_status, entry.bridge_after, entry.bridge_attempts = BRIDGE_PENDING, at, 0


def mark_joined(session: Session, entry: QueueEntry) -> None:
    """The other side reached the conference: whatever a retry would do is done."""
    session.execute(update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.bridge_status.in_(BRIDGE_OPEN))
                    .values(bridge_status=BRIDGE_DONE, bridge_after=None)
                    .execution_options(synchronize_session=False))


def claim(session: Session, entry_id: int, now: datetime) -> bool:
    won = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == entry_id, QueueEntry.status == CONNECTED,
                                 QueueEntry.bridge_status.in_(BRIDGE_OPEN), QueueEntry.bridge_after <= now)
        .values(bridge_status=BRIDGE_WORKING, bridge_after=now + LEASE,
                bridge_attempts=QueueEntry.bridge_attempts + 1)
        .execution_options(synchronize_session=False)))
    return won == 1


def run(app: Flask, entry_id: int) -> str | None:
    """Do the bridge job of one entry if it is due and nobody holds it; its new state, or None
    when it was not ours to do. BRIDGE_FAILED frees the operator: whoever ran the job runs a
    routing pass then (after_response.py; a routing pass goes on to pair them itself)."""
    with app.app_context():  # the webhooks' URLs and the operator's language need the app
        return _run(app, entry_id)


def _run(app: Flask, entry_id: int) -> str | None:
    now = app.extensions["cortese.clock"].now()
    with session_scope(app) as session:
        if not claim(session, entry_id, now):
            return None
    with session_scope(app) as session:
        entry = session.get(QueueEntry, entry_id)
        assert entry is not None
        callback = entry.callback_id is not None
    return _dial_customer(app, entry_id) if callback else _take_caller(app, entry_id)


def retry_due(app: Flask, now: datetime, *, limit: int = 20) -> list[int]:
    """Bridge jobs due again (a retry's time came, or a worker died holding one)."""
    with session_scope(app) as session:
        due = session.scalars(select(QueueEntry.id).where(
            QueueEntry.status == CONNECTED, QueueEntry.bridge_status.in_(BRIDGE_OPEN),
            QueueEntry.bridge_after <= now).order_by(QueueEntry.bridge_after).limit(limit)).all()
    return [entry_id for entry_id in due if run(app, entry_id) is not None]


def _take_caller(app: Flask, entry_id: int) -> str:
    with session_scope(app) as session:
        entry = session.get(QueueEntry, entry_id)
        assert entry is not None
        queue_sid, call_sid, attempts = entry.queue_sid, entry.call_sid, entry.bridge_attempts
    try:
        if not queue_sid:
            raise TelephonyError("the caller's queue is not known yet")
        app.extensions["cortese.gateway"].dequeue_member(queue_sid, call_sid, desk_url("join", entry=entry_id))
    except TelephonyError as exc:
        # A first refusal means the caller left the queue (hung up a moment ago). After an
        # attempt whose answer was lost, a refusal may mean that attempt worked: wait for the
        # caller's /voice/desk/join before giving up.
        unsure = attempts > 1 or exc.retryable or _ambiguous(exc)
        if unsure and attempts < MAX_ATTEMPTS:
            return _later(app, entry_id, f"taking the caller out of the queue: {exc}")
        return _fail(app, entry_id, ABANDONED, f"dequeue failed: {exc}", "gone")
    return _done(app, entry_id)


def _dial_customer(app: Flask, entry_id: int) -> str:
    with session_scope(app) as session:
        entry = session.get(QueueEntry, entry_id)
        assert entry is not None
        session.expunge(entry)
    if not entry.call_sid.startswith("callback-"):
        return _done(app, entry_id)  # an earlier attempt placed the call (placed() set its sid)
    outcome = dial_customer(app, entry)
    if outcome is Outcome.DIALLED:
        return _done(app, entry_id)
    # The pipeline settled the callback itself (rescheduled, refused, failed): exactly once.
    return _fail(app, entry_id, LEFT, f"customer not dialled: {outcome}", "cannot_call")


def _ambiguous(exc: TelephonyError) -> bool:
    return isinstance(exc, AmbiguousRequestError)


def _done(app: Flask, entry_id: int) -> str:
    with session_scope(app) as session:
        session.execute(update(QueueEntry).where(QueueEntry.id == entry_id,
                                                 QueueEntry.bridge_status == BRIDGE_WORKING)
                        .values(bridge_status=BRIDGE_DONE, bridge_after=None)
                        .execution_options(synchronize_session=False))
    return BRIDGE_DONE


def _later(app: Flask, entry_id: int, why: str) -> str:
    log.warning("desk entry %s: %s; trying again", entry_id, why)
    now = app.extensions["cortese.clock"].now()
    with session_scope(app) as session:
        session.execute(update(QueueEntry).where(QueueEntry.id == entry_id,
                                                 QueueEntry.bridge_status == BRIDGE_WORKING)
                        .values(bridge_after=now + RETRY_AFTER).execution_options(synchronize_session=False))
    return BRIDGE_WORKING


def _fail(app: Flask, entry_id: int, status: str, reason: str, say: str) -> str:
    """The other side cannot be brought in: the entry ends with the reason, the operator
    (waiting alone in the conference) hears why and is available again."""
    log.warning("desk entry %s: %s", entry_id, reason)
    now = app.extensions["cortese.clock"].now()
    with session_scope(app) as session:
        entry = session.get(QueueEntry, entry_id)
        if entry is None or entry.bridge_status != BRIDGE_WORKING or entry.status != CONNECTED:
            return BRIDGE_DONE if entry is not None and entry.bridge_status == BRIDGE_DONE else BRIDGE_FAILED
        entry.status, entry.ended_at, entry.end_reason = status, now, reason[:200]
        entry.bridge_status, entry.bridge_after = BRIDGE_FAILED, None
        offer = session.get(Offer, entry.offer_id) if entry.offer_id else None
        operator_id = entry.operator_id
        if operator_id is not None:
            set_state(session, operator_id, AVAILABLE, now, expect=BUSY)
        operator_call = offer.operator_call_sid if offer else None
    if operator_call and operator_id is not None:
        _tell_operator(app, operator_id, operator_call, say)
    return BRIDGE_FAILED


def _tell_operator(app: Flask, operator_id: int, call_sid: str, key: str) -> None:
    with session_scope(app) as session:
        language = whisper.operator_language(session, operator_id)
    doc = Twiml(language).say(whisper.text(key, language)).hangup()
    try:
        app.extensions["cortese.gateway"].update_call(call_sid, twiml=doc.xml())
    except TelephonyError as exc:  # they hear the conference end when they hang up themselves
        log.warning("desk: could not tell operator call %s why: %s", call_sid, exc)
