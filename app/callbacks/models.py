"""Callbacks booked by the people we talk to, and the history of each one.

The `callbacks` table is the source of truth for dispatch: APScheduler only triggers, an
atomic claim on a row decides who dials (see dispatch.py). Times are stored in UTC together
with the callee's IANA zone and the wall time they chose, so an operator sees what was
promised ("Thursday 18:30 in Europe/Rome") and a change of zone rules cannot shift it silently.

Statuses and the transitions allowed between them live here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.consent.offers import NormalOfferId
from app.db import Base, UTCDateTime, one_of
from app.refusals import Refusal

SCHEDULED = "scheduled"      # waiting for its time
DISPATCHING = "dispatching"  # claimed by one worker (lease); dial_started_at set once the REST request goes out
UNKNOWN = "unknown"          # the dial request may or may not have created a call: reconcile, never redial
PLACED = "placed"            # Twilio accepted the call (call_sid known)
ANSWERED = "answered"        # someone (or a machine) picked up and heard us
COMPLETED = "completed"      # a person was reached
MISSED = "missed"            # busy / no answer / machine after every attempt
FAILED = "failed"            # cannot be dialled (invalid number, repeated errors, unreconciled)
REFUSED = "refused"          # consent said no at dispatch time (decision_id says why)
CANCELLED = "cancelled"      # opt-out, the callee, or an operator

STATUSES = (SCHEDULED, DISPATCHING, UNKNOWN, PLACED, ANSWERED, COMPLETED, MISSED, FAILED,
            REFUSED, CANCELLED)
TERMINAL = frozenset({COMPLETED, MISSED, FAILED, REFUSED, CANCELLED})
# Still going to ring (or ringing): what an opt-out cancels and what fills a slot's capacity.
PENDING = frozenset({SCHEDULED, DISPATCHING})
ACTIVE = frozenset({SCHEDULED, DISPATCHING, UNKNOWN, PLACED, ANSWERED})

# The state machine. Operators may put a missed/failed/refused/unknown callback back on the
# schedule (`move`): that is a human decision, recorded with who made it.
TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({SCHEDULED, DISPATCHING, CANCELLED}),
    DISPATCHING: frozenset({DISPATCHING, SCHEDULED, PLACED, UNKNOWN, FAILED, REFUSED, CANCELLED}),
    UNKNOWN: frozenset({PLACED, ANSWERED, SCHEDULED, FAILED, CANCELLED, COMPLETED, MISSED}),
    PLACED: frozenset({ANSWERED, COMPLETED, SCHEDULED, MISSED, FAILED, CANCELLED}),
    ANSWERED: frozenset({COMPLETED, SCHEDULED, MISSED}),
    COMPLETED: frozenset(),
    MISSED: frozenset({SCHEDULED}),
    FAILED: frozenset({SCHEDULED}),
    REFUSED: frozenset({SCHEDULED}),
    CANCELLED: frozenset(),
}

ORIGINS = ("call", "operator", "api", "campaign")


class IllegalTransition(Refusal):
    """A status change the state machine does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__("callback_transition", message)


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"status: a {current} callback cannot become {new}")


class Callback(NormalOfferId, Base):
    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due_at", "status", "due_at"), one_of("status", STATUSES),
                      one_of("origin", ORIGINS))

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(32), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The callee's wall time as booked, ISO without offset ("2026-11-26T18:30").
    local_due: Mapped[str] = mapped_column(String(32))

    # What the call is about: a reason code spoken by the opener (see booking.REASONS), an
    # optional free-text note for operators, and where the booking came from.
    reason: Mapped[str] = mapped_column(String(32), default="support")
    note: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="call")
    origin_call_sid: Mapped[str | None] = mapped_column(String(64))
    origin_flow: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    offer_id: Mapped[str | None] = mapped_column(String(64))
    booked_by: Mapped[str] = mapped_column(String(100))

    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # dials placed
    errors: Mapped[int] = mapped_column(Integer, default=0)  # consecutive dispatch errors
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Written and committed right before the REST request: the idempotency marker that tells
    # a recovering worker "a call may exist" (check, do not redial).
    dial_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("consent_decisions.id"))
    # Booked on a simulated call: the gateway refuses to dial it (app.telephony).
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallbackSlot(Base):
    """A 15-minute slot someone booked into. Booking with a capacity locks the slot's row
    before counting its callbacks, so counting and adding one cannot interleave between
    workers or processes: a slot never holds more than its capacity."""

    __tablename__ = "callback_slots"

    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)


class CallbackEvent(Base):
    """One status change of a callback, with who/what caused it and why (the operator's view)."""

    __tablename__ = "callback_events"
    __table_args__ = (one_of("from_status", STATUSES), one_of("to_status", STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    call_sid: Mapped[str | None] = mapped_column(String(64))

