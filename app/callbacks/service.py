"""Callback services for operators, the CLI and the API: list, get, book, move, cancel.

Every status change goes through `transition()`, which enforces models.TRANSITIONS and writes
a CallbackEvent. Errors for bad input are ValueError('field: message') (the API turns them
into 422 problems naming the field).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from app import phone
from app.callbacks.models import (
    ACTIVE,
    CANCELLED,
    DISPATCHING,
    ORIGINS,
    PENDING,
    SCHEDULED,
    STATUSES,
    Callback,
    CallbackEvent,
    CallbackSlot,
    check_transition,
)
from app.calls import is_simulated
from app.clock import as_utc
from app.db import insert_skipping_duplicates
from app.refusals import Invalid, Refusal

log = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
LANGUAGES = ("it", "nl", "en")


def transition(session: Session, cb: Callback, new: str, *, at: datetime, actor: str,
               note: str | None = None, call_sid: str | None = None) -> None:
    """Move `cb` to status `new` (raises IllegalTransition) and record why."""
    check_transition(cb.status, new)
    session.add(CallbackEvent(callback_id=cb.id, at=at, from_status=cb.status, to_status=new,
                              actor=actor[:100], note=note, call_sid=call_sid))
    cb.status = new
    cb.updated_at = at
    if new in (SCHEDULED, DISPATCHING):
        cb.finished_at = None
    elif new in ("completed", "missed", "failed", "refused", CANCELLED):
        cb.finished_at = at


def log_event(session: Session, cb: Callback, *, at: datetime, actor: str, note: str,
              call_sid: str | None = None) -> None:
    """A history line without a status change (e.g. a reschedule inside `scheduled`)."""
    session.add(CallbackEvent(callback_id=cb.id, at=at, from_status=cb.status, to_status=cb.status,
                              actor=actor[:100], note=note, call_sid=call_sid))


def slot_start(moment: datetime) -> datetime:
    moment = as_utc(moment)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def slot_load(session: Session, moment: datetime, *, exclude_id: int | None = None) -> int:
    """How many live callbacks fall in the 15-minute slot of `moment`."""
    start = slot_start(moment)
    query = select(func.count(Callback.id)).where(
        Callback.due_at >= start, Callback.due_at < start + SLOT, Callback.status.in_(ACTIVE)
    )
    if exclude_id is not None:
        query = query.where(Callback.id != exclude_id)
    return int(session.scalar(query) or 0)


def take_seat(session: Session, moment: datetime, *, capacity: int, exclude_id: int | None = None) -> None:
    """Make sure the slot of `moment` has room for one more callback, and keep it so until the
    transaction ends: the slot's row is locked (a row lock on PostgreSQL, the write lock on
    SQLite) before its callbacks are counted, so two bookings never both see the last seat."""
    start = slot_start(moment)
    session.execute(insert_skipping_duplicates(session, cast(Table, CallbackSlot.__table__)).values(start=start))
    session.execute(update(CallbackSlot).where(CallbackSlot.start == start).values(start=start))
    if slot_load(session, moment, exclude_id=exclude_id) >= capacity:
        raise Refusal("slot_full", "due_at: that time is fully booked", at=start.isoformat())


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("time_zone", f"{name!r} is not an IANA time zone") from None


@dataclass(frozen=True)
class Booking:
    e164: str
    due_at: datetime
    time_zone: str
    language: str
    reason: str = "support"
    note: str | None = None
    origin: str = "call"
    origin_call_sid: str | None = None
    origin_flow: str | None = None
    campaign_id: int | None = None
    offer_id: str | None = None
    contact_id: int | None = None


def book(session: Session, booking: Booking, *, at: datetime, by: str, capacity: int | None = None) -> Callback:
    """Store a callback. Lawfulness is the caller's business (booking.py checks it with the
    person on the line). With a `capacity` the slot is guarded by `take_seat` (Refusal
    "slot_full"); without one an operator may overbook on purpose."""
    if booking.language not in LANGUAGES:
        raise Invalid("language", f"{booking.language!r} is not one of {', '.join(LANGUAGES)}")
    if booking.origin not in ORIGINS:
        raise Invalid("origin", f"{booking.origin!r} is not one of {', '.join(ORIGINS)}")
    try:
        e164 = phone.parse(booking.e164).e164
    except phone.InvalidNumber as exc:
        raise Invalid("e164", f"{exc.reason}") from None
    zone = zone_of(booking.time_zone)
    due = as_utc(booking.due_at)
    if capacity is not None:
        take_seat(session, due, capacity=capacity)
    cb = Callback(
        e164=e164, contact_id=booking.contact_id, time_zone=booking.time_zone,
        language=booking.language, due_at=due,
        local_due=due.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        reason=(booking.reason or "support")[:32], note=booking.note, origin=booking.origin,
        origin_call_sid=booking.origin_call_sid, origin_flow=booking.origin_flow,
        campaign_id=booking.campaign_id, offer_id=booking.offer_id, booked_by=by[:100],
        status=SCHEDULED, attempts=0, errors=0, created_at=at, updated_at=at,
        simulated=is_simulated(session, booking.origin_call_sid),
    )
    session.add(cb)
    session.flush()
    session.add(CallbackEvent(callback_id=cb.id, at=at, from_status=None, to_status=SCHEDULED,
                              actor=by[:100], note=f"booked for {cb.local_due} {cb.time_zone}",
                              call_sid=booking.origin_call_sid))
    return cb


def get(session: Session, callback_id: int) -> Callback:
    cb = session.get(Callback, callback_id)
    if cb is None:
        raise LookupError(f"id: no callback {callback_id}")
    return cb


def list_callbacks(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    e164: str | None = None,
    due_from: datetime | None = None,
    due_until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Callback], int]:
    """A page of callbacks (soonest first) and the total matching."""
    for value in status or ():
        if value not in STATUSES:
            raise Invalid("status", f"{value!r} is not one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 1000:
        raise Invalid("limit", "between 1 and 1000")
    query = select(Callback)
    if status:
        query = query.where(Callback.status.in_(list(status)))
    if e164:
        try:
            query = query.where(Callback.e164 == phone.parse(e164).e164)
        except phone.InvalidNumber as exc:
            raise Invalid("e164", f"{exc.reason}") from None
    if due_from is not None:
        query = query.where(Callback.due_at >= as_utc(due_from))
    if due_until is not None:
        query = query.where(Callback.due_at < as_utc(due_until))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(Callback.due_at, Callback.id).limit(limit).offset(offset)).all()
    return list(rows), total


def history(session: Session, callback_id: int) -> list[CallbackEvent]:
    return list(session.scalars(
        select(CallbackEvent).where(CallbackEvent.callback_id == callback_id).order_by(CallbackEvent.id)
    ))


def move(session: Session, callback_id: int, due_at: datetime, *, at: datetime, by: str,
         note: str | None = None, capacity: int | None = None) -> Callback:
    """Put a callback at a new time (UTC or any aware datetime). A scheduled one just moves;
    a missed/failed/refused/unknown one goes back on the schedule (an operator's decision:
    for `unknown`, they checked Twilio's call log first). Consent is checked again at dispatch."""
    if due_at.tzinfo is None:
        raise Refusal("due_without_zone", "due_at: give a time zone (e.g. 2026-11-26T18:30+01:00)")
    if as_utc(due_at) < at - timedelta(minutes=1):
        raise Refusal("due_in_past", "due_at: is in the past")
    if not by:
        raise Refusal("who_missing", "by: say who moves the callback")
    cb = _locked(session, callback_id)
    if cb.status not in (SCHEDULED, "missed", "failed", "refused", "unknown"):
        raise Refusal("callback_not_movable", f"status: a {cb.status} callback cannot be moved", status=cb.status)
    if capacity is not None:
        take_seat(session, as_utc(due_at), capacity=capacity, exclude_id=cb.id)
    old = cb.local_due
    cb.due_at = as_utc(due_at)
    cb.local_due = cb.due_at.astimezone(zone_of(cb.time_zone)).strftime("%Y-%m-%dT%H:%M")
    text = f"moved from {old} to {cb.local_due} {cb.time_zone}" + (f": {note}" if note else "")
    if cb.status == SCHEDULED:
        cb.updated_at = at
        log_event(session, cb, at=at, actor=by, note=text)
    else:
        cb.errors = 0
        cb.dial_started_at = None
        cb.claim_token = None
        cb.claimed_by = None
        cb.lease_until = None
        if cb.attempts >= 1:
            cb.attempts = 0  # a fresh set of tries, decided by a person
        transition(session, cb, SCHEDULED, at=at, actor=by, note=text)
    session.flush()
    return cb


def cancel(session: Session, callback_id: int, *, at: datetime, by: str, reason: str) -> Callback:
    """Cancel a callback that has not rung yet."""
    if not by:
        raise Refusal("who_missing", "by: say who cancels the callback")
    if not reason or not reason.strip():
        raise Refusal("reason_missing", "reason: say why the callback is cancelled")
    cb = _locked(session, callback_id)
    if cb.status not in PENDING:
        raise Refusal("callback_not_cancellable", f"status: a {cb.status} callback cannot be cancelled",
                      status=cb.status)
    transition(session, cb, CANCELLED, at=at, actor=by, note=reason.strip())
    session.flush()
    return cb


def cancel_pending_for_number(session: Session, e164: str, *, at: datetime, by: str,
                              reason: str) -> list[Callback]:
    """Cancel every callback to `e164` that has not rung yet (opt-out, the callee's request)."""
    rows = session.scalars(
        select(Callback).where(Callback.e164 == e164, Callback.status.in_(PENDING))
        .with_for_update()
    ).all()
    for cb in rows:
        transition(session, cb, CANCELLED, at=at, actor=by, note=reason)
    session.flush()
    return list(rows)


def pending_for_number(session: Session, e164: str) -> Callback | None:
    """The next scheduled callback to this number, if any."""
    return session.scalars(
        select(Callback).where(Callback.e164 == e164, Callback.status == SCHEDULED)
        .order_by(Callback.due_at).limit(1)
    ).first()


def _locked(session: Session, callback_id: int) -> Callback:
    cb = session.scalars(select(Callback).where(Callback.id == callback_id).with_for_update()).first()
    if cb is None:
        raise LookupError(f"id: no callback {callback_id}")
    return cb
