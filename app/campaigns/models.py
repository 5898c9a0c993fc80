"""Campaign tables: the campaign, its targeted contacts (the dial queue), each attempt.

`campaign_contacts` is the queue: one row per (campaign, contact) moving queued -> claimed ->
dialing -> in-call -> queued again (retry) or done/cancelled. A dialer owns a row only through
a conditional UPDATE (`status='queued'` -> `'claimed'` with its token), so several dialers
never take the same row. `campaign_attempts` keeps every attempt (also those consent refused)
with the stored decision id, the CallSid and the disposition. Pacing (calls per second per
campaign and per account) lives in app/outbound, which dials for every kind of outbound call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.campaigns.callkind import campaign_call_kind
from app.consent.offers import NormalOfferId
from app.db import Base, UTCDateTime, one_of

PURPOSES = ("sales", "survey", "charity", "political", "service")
STATUSES = ("draft", "running", "paused", "stopped", "completed")
MACHINE_POLICIES = ("message", "hangup")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Queue states of a targeted contact.
CONTACT_STATES = ("queued", "claimed", "dialing", "in-call", "done", "cancelled")
# States of one attempt (consent refused it, dialling, Twilio took it, it ended, it failed).
ATTEMPT_STATES = ("refused", "dialing", "placed", "ended", "error", "cancelled")
DISPOSITIONS = (
    "answered-human", "machine", "busy", "no-answer", "failed", "opted-out", "callback-booked",
    "completed", "refused", "invalid-number", "blocked", "unknown", "abandoned", "cancelled",
)


class Campaign(NormalOfferId, Base):
    __tablename__ = "campaigns"
    __table_args__ = (one_of("status", STATUSES), one_of("purpose", PURPOSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    offer_id: Mapped[str | None] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    # First language is the fallback when the callee's is not among them.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Why we call, per language; spoken in the opener as {reason}.
    reason: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Text the campaign's script speaks as {details} (a service notice), per language.
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    caller_id: Mapped[str | None] = mapped_column(String(32))
    # Spoken on answering machines; must accept do-not-call requests (FCC, Ofcom).
    callback_number: Mapped[str | None] = mapped_column(String(32))
    # On top of the legal windows, in the callee's local time.
    calling_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    calling_start: Mapped[str] = mapped_column(String(5), default="09:00")
    calling_end: Mapped[str] = mapped_column(String(5), default="20:00")
    cps: Mapped[float] = mapped_column(Float, default=1.0)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=5)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_busy_minutes: Mapped[int] = mapped_column(Integer, default=30)
    retry_no_answer_minutes: Mapped[int] = mapped_column(Integer, default=120)
    machine_policy: Mapped[str] = mapped_column(String(16), default="message")
    # Async AMD: the person hears the opener at answer; a machine is redirected later.
    amd_async: Mapped[bool] = mapped_column(Boolean, default=True)
    ring_timeout: Mapped[int] = mapped_column(Integer, default=25)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Bumped by every claim section: the UPDATE serialises claiming per campaign.
    claim_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


    @property
    def call_kind(self) -> str:
        """automated | live, from the flow and machine policy (app/campaigns/callkind.py)."""
        return self._kind().name

    @property
    def call_kind_reason(self) -> str:
        return self._kind().why

    def _kind(self) -> Any:

        return campaign_call_kind(current_app, self)


class CampaignContact(Base):
    __tablename__ = "campaign_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_contacts_queue", "campaign_id", "status", "next_attempt_at"),
        one_of("status", CONTACT_STATES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    e164: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    disposition: Mapped[str | None] = mapped_column(String(32))
    # The claiming dialer's token; only its holder may move the row on.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignAttempt(Base):
    __tablename__ = "campaign_attempts"
    __table_args__ = (one_of("status", ATTEMPT_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    campaign_contact_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_contacts.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    e164: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("consent_decisions.id"))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    consent_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("consent_attempts.id"))
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    disposition: Mapped[str | None] = mapped_column(String(32))
    answered_by: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    worker: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dialled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a person started hearing the opener: an answered human call without it is abandoned.
    opener_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

