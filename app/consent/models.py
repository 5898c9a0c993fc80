"""Contacts, the consent ledger, opt-outs, registries, attempts and stored decisions.

Numbers are E.164 strings everywhere except in registry entries, which hold the E.164 digits
as a 64-bit integer: a 10M-number registry then costs 8 bytes a number plus its index, and
screening is an integer index lookup (registry copies are licensed lists, not our contacts).
Erased contacts stay as tombstones (`erased_at` set, personal fields emptied) so other
packages' references keep working; their number lives on only as an HMAC in
`consent_suppressions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.consent.offers import ComparableOfferId, NormalOfferId, normalise_all
from app.db import Base, UTCDateTime, one_of

PURPOSES = ("sales", "survey", "charity", "political", "service", "callback")
CONSENT_ACTIONS = ("given", "withdrawn")
CHANNELS = ("voice", "automated_voice", "any")


class Contact(Base):
    """A person we may call."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique; an erased contact keeps a placeholder "erased:<id>" so the column stays unique.
    e164: Mapped[str] = mapped_column(String(32), unique=True)
    region: Mapped[str | None] = mapped_column(String(2))
    line_type: Mapped[str | None] = mapped_column(String(20))
    # The zone used for greetings; decisions use every zone in `time_zones`.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Candidate zones of the number, or just the explicit zone when one was given.
    time_zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(200))
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # A business line (CA: business consumers are exempt from the National DNCL).
    is_business: Mapped[bool] = mapped_column(Boolean, default=False)
    # A legal person (company, foundation, association): not a sole trader or partnership,
    # who are natural persons under Telecommunicatiewet art. 11.7 whatever the line is used for.
    legal_person: Mapped[bool] = mapped_column(Boolean, default=False)
    # Existing business relationship: registry exemptions (US/CA) and NL customer exception.
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_inquiry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a contract ended (None with `is_customer` = still active).
    customer_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Known only from simulated calls (the softphone may use any number): never dialled through
    # Twilio (app.telephony), never targeted by a campaign. A real source of the number clears it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ConsentRecord(Base):
    """One line of the append-only consent ledger: never updated, never deleted (except erasure)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # given | withdrawn
    channel: Mapped[str] = mapped_column(String(20))  # voice | automated_voice | any
    purpose: Mapped[str] = mapped_column(String(20))  # one of PURPOSES, or "any"
    # Prior express *written* consent (US automated marketing, registry exemption).
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    # NL: consent must be specific about products and period.
    offer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(200))
    # Text version shown, recording URL/SID or form id: what proves it.
    proof: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @validates("offer_ids")
    def _normal_offer_ids(self, _key: str, value: list[str] | None) -> list[str]:
        return normalise_all(value)


class OwnedProduct(NormalOfferId, Base):
    """An offer/product a contact already has: never pitch it to them."""

    __tablename__ = "consent_owned_products"
    __table_args__ = (UniqueConstraint("contact_id", "offer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    offer_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(200))


class OptOut(Base):
    """Internal do-not-call list: a number that asked not to be called. Effective at once."""

    __tablename__ = "consent_optouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(32), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))  # voice | dtmf | api | operator | import
    recorded_by: Mapped[str] = mapped_column(String(100))
    call_sid: Mapped[str | None] = mapped_column(String(64))
    # Lifted at the person's own later request (optouts.lift_opt_out): who took it and its proof.
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lift_proof: Mapped[str | None] = mapped_column(Text)


class Suppression(Base):
    """HMAC-keyed hash of a number that must never be called (erased objectors)."""

    __tablename__ = "consent_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# running | complete | refused (implausible: the previous copy stays) | abandoned (a newer file
# came first) | superseded (a newer copy became complete)
IMPORT_STATES = ("running", "complete", "refused", "abandoned", "superseded")


class RegistryImport(Base):
    """One imported copy of a national do-not-call registry (a full snapshot)."""

    __tablename__ = "consent_registry_imports"
    __table_args__ = (one_of("status", IMPORT_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    registry_name: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    # When the copy was obtained from the regulator (max-age rules count from here).
    obtained_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    numbers: Mapped[int] = mapped_column(Integer, default=0)
    rejected_lines: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    # Progress, committed with each chunk of numbers: where a resumed import goes on.
    lines_read: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    # Per written format: {"national": {"count": n, "example": "02 1234 5678 -> +390212345678"}}.
    formats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The first refused lines as [line number, reason].
    refused_sample: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Most refused lines (percent of non-blank lines) a copy may have and still replace the last.
    max_refused_percent: Mapped[float] = mapped_column(Float, default=1.0)
    # Why the copy was refused or abandoned.
    note: Mapped[str | None] = mapped_column(Text)


class RegistryEntry(Base):
    """A number in a registry import; the composite primary key is the screening index."""

    __tablename__ = "consent_registry_entries"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("consent_registry_imports.id", ondelete="CASCADE"), primary_key=True
    )
    # E.164 digits without "+" (at most 15 digits: fits a signed 64-bit integer).
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ContactAttempt(ComparableOfferId, Base):
    """One outbound call attempt to a number, for courtesy rules (recorded by E/F via attempts.py)."""

    __tablename__ = "consent_attempts"
    __table_args__ = (Index("ix_consent_attempts_e164_at", "e164", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    purpose: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    offer_id: Mapped[str | None] = mapped_column(String(64))
    callback_id: Mapped[str | None] = mapped_column(String(64))
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_decisions.id"), index=True
    )
    # None while the call is under way; see attempts.OUTCOMES.
    outcome: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplianceDecision(ComparableOfferId, Base):
    """Every yes/no given for a call, with the rule pack version and the facts it saw."""

    __tablename__ = "consent_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    e164: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    purpose: Mapped[str] = mapped_column(String(20))
    offer_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    callback_id: Mapped[str | None] = mapped_column(String(64))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed: Mapped[bool] = mapped_column(Boolean)
    rule_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    next_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pack_version: Mapped[str | None] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
