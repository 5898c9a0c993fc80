"""The operator desk's records: operators (console users who take calls), the callers waiting
for them (one queue entry per call and queue), and each offer of a caller to an operator.

The routing decision lives in these tables: an offer exists only after one transaction moved
an operator from `available` and an entry from `waiting` with conditional UPDATEs (see
pairing.py), so however many app instances route at once, no caller is given to two operators
and no operator to two callers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, one_of

# Operator states. `offered`: the desk is ringing them with a caller (a claim, not a choice);
# `busy`: talking to a caller; `wrapup`: writing the outcome; `away`: not taking calls.
AVAILABLE, AWAY, WRAPUP, BUSY, OFFERED = "available", "away", "wrapup", "busy", "offered"
OPERATOR_STATES = (AVAILABLE, AWAY, WRAPUP, BUSY, OFFERED)
# What an operator may choose on the desk page; the others the desk sets.
CHOSEN_STATES = (AVAILABLE, AWAY, WRAPUP)

SKILLS = ("support", "complaints", "technician")

# Queue entry states.
WAITING = "waiting"      # in the Twilio queue, nobody ringing for them
RINGING = "ringing"      # an operator is being rung for them (claimed by one offer)
CONNECTED = "connected"  # talking to the operator
DONE = "done"            # the conversation ended
ABANDONED = "abandoned"  # hung up while waiting
LEFT = "left"            # left the queue (callback instead, timeout, back to the menu)
ENTRY_STATES = (WAITING, RINGING, CONNECTED, DONE, ABANDONED, LEFT)
ENTRY_OPEN = (WAITING, RINGING, CONNECTED)
ENTRY_WAITING = (WAITING, RINGING)

# Bridge job states: `pending` (accepted, nobody working on it yet), `working` (claimed until
# bridge_after; past it another worker retries), `done` (the customer dialled, or the caller
# taken out of the queue), `failed` (the operator was told and freed).
BRIDGE_PENDING, BRIDGE_WORKING, BRIDGE_DONE, BRIDGE_FAILED = "pending", "working", "done", "failed"
BRIDGE_STATES = (BRIDGE_PENDING, BRIDGE_WORKING, BRIDGE_DONE, BRIDGE_FAILED)
BRIDGE_OPEN = (BRIDGE_PENDING, BRIDGE_WORKING)

# Offer outcomes.
OFFER_RINGING, OFFER_ACCEPTED, OFFER_DECLINED = "ringing", "accepted", "declined"
OFFER_NO_ANSWER, OFFER_FAILED, OFFER_CANCELLED = "no-answer", "failed", "cancelled"
# The note on an offer routing made to an operator of a fallback skill (app.desk.pairing);
# the board counts the callers taken that way.
SKILL_FALLBACK_NOTE = "skill fallback"
OFFER_STATES = (OFFER_RINGING, OFFER_ACCEPTED, OFFER_DECLINED, OFFER_NO_ANSWER, OFFER_FAILED, OFFER_CANCELLED)


class DeskOperator(Base):
    """A console user who takes calls: where the desk rings them and what they can take."""

    __tablename__ = "desk_operators"
    __table_args__ = (one_of("state", OPERATOR_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_operators.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164: what the desk rings
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=AWAY)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    state_reason: Mapped[str | None] = mapped_column(String(200))
    # The queue entry the operator is ringing for or talking to (set with the claim).
    entry_id: Mapped[int | None] = mapped_column(Integer)
    wrapup_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Ring the console's browser phone (app/desk/browser_phone.py) instead of `phone`, which
    # stays required: unticking this, or DESK_BROWSER_PHONE off, rings the phone again.
    ring_browser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class QueueEntry(Base):
    """One caller waiting in (or taken from) an operator queue, with what the desk shows."""

    __tablename__ = "desk_queue_entries"
    __table_args__ = (Index("ix_desk_queue_entries_status_priority", "status", "priority", "enqueued_at"),
                      Index("ix_desk_queue_entries_bridge", "bridge_status", "bridge_after"),
                      one_of("status", ENTRY_STATES), one_of("bridge_status", BRIDGE_STATES))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    queue: Mapped[str] = mapped_column(String(64))
    queue_sid: Mapped[str | None] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    skill: Mapped[str] = mapped_column(String(16), default="support")
    reason: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    recognised: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An operator-first callback waiting for an operator (app/desk/callbacks.py): then the
    # customer has not been called yet and `call_sid` is a placeholder until they are.
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id", ondelete="SET NULL"), index=True)

    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    operator_id: Mapped[int | None] = mapped_column(Integer)
    offer_id: Mapped[int | None] = mapped_column(Integer)
    offers: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    end_reason: Mapped[str | None] = mapped_column(Text)
    # Bridging after the operator accepted (app/desk/bridge.py): a job done after the webhook's
    # answer, claimed with a lease (`bridge_after`) and retried by the routing pass.
    bridge_status: Mapped[str | None] = mapped_column(String(16))
    bridge_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bridge_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Offer(Base):
    """One ring of one operator for one caller, and how it ended."""

    __tablename__ = "desk_offers"
    __table_args__ = (one_of("status", OFFER_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("desk_queue_entries.id", ondelete="CASCADE"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("desk_operators.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default=OFFER_RINGING)
    operator_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

