"""GDPR: erase a contact on request (keeping a keyed hash so the number is never called again)
and export everything we hold about a number (access request).

The suppression hash is HMAC-SHA256 with SUPPRESSION_HASH_KEY: a plain hash of a phone number
is trivially brute-forced, a keyed one is not without the key (ICO guidance on suppression).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import phone, signals
from app.config import Settings
from app.consent.models import (
    ComplianceDecision,
    ConsentRecord,
    Contact,
    ContactAttempt,
    OptOut,
    OwnedProduct,
    Suppression,
)
from app.db import affected


def suppression_key(settings: Settings | None = None) -> bytes:
    """The HMAC key: SUPPRESSION_HASH_KEY, or (development/test only) one derived from SECRET_KEY."""
    settings = settings or current_app.extensions["cortese.settings"]
    if settings.suppression_hash_key:
        return settings.suppression_hash_key.encode()
    if settings.cortese_env == "production":  # Settings refuses this; belt and braces.
        raise RuntimeError("SUPPRESSION_HASH_KEY is required in production")
    return hmac.new(settings.secret_key.encode(), b"cortese-suppression-dev", hashlib.sha256).digest()


def number_hash(e164: str, key: bytes) -> str:
    return hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()


def is_suppressed(session: Session, e164: str, settings: Settings | None = None) -> bool:
    digest = number_hash(e164, suppression_key(settings))
    return session.scalars(select(Suppression.id).where(Suppression.number_hash == digest)).first() is not None


def suppress(session: Session, e164: str, *, at: datetime, reason: str,
             settings: Settings | None = None) -> Suppression:
    """Add a number's keyed hash to the suppression list (idempotent)."""
    digest = number_hash(phone.parse(e164).e164, suppression_key(settings))
    existing = session.scalars(select(Suppression).where(Suppression.number_hash == digest)).first()
    if existing is not None:
        return existing
    row = Suppression(number_hash=digest, reason=reason, at=at)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ErasureReport:
    contact_id: int | None
    consent_records: int
    owned_products: int
    opt_outs: int
    attempts_masked: int
    decisions_masked: int


def erase_contact(session: Session, e164: str, *, at: datetime, by: str,
                  settings: Settings | None = None) -> ErasureReport:
    """Erase a number's personal data; its keyed hash stays on the suppression list, and
    whatever was pending for it (callbacks) is cancelled through app.signals.number_erased.

    The contact row stays as a tombstone (other packages may reference its id). Attempts and
    decisions keep their legal record (TSR: 5 years) with the number masked and inputs dropped.
    """
    number = phone.parse(e164).e164
    suppress(session, number, at=at, reason=f"erased by {by}"[:64], settings=settings)
    # Before the number is masked below: receivers find what is pending by the number.
    signals.number_erased.send("app.consent", session=session, e164=number, at=at, by=by)
    contact = session.scalars(select(Contact).where(Contact.e164 == number)).first()
    counts = {"consent_records": 0, "owned_products": 0}
    if contact is not None:
        # Bulk statements: the ledger refuses ORM deletes, erasure is the one lawful exception.
        counts["consent_records"] = affected(session.execute(
            delete(ConsentRecord).where(ConsentRecord.contact_id == contact.id)))
        counts["owned_products"] = affected(session.execute(
            delete(OwnedProduct).where(OwnedProduct.contact_id == contact.id)))
        _tombstone(contact, at)
    masked = phone.mask(number)
    opt_outs = affected(session.execute(delete(OptOut).where(OptOut.e164 == number)))
    attempts = affected(session.execute(
        update(ContactAttempt).where(ContactAttempt.e164 == number).values(e164=masked)))
    decisions = affected(session.execute(
        update(ComplianceDecision).where(ComplianceDecision.e164 == number)
        .values(e164=masked, inputs={"erased": True})))
    session.flush()
    return ErasureReport(contact.id if contact else None, counts["consent_records"],
                         counts["owned_products"], opt_outs, attempts, decisions)


def _tombstone(contact: Contact, at: datetime) -> None:
    contact.e164 = f"erased:{contact.id}"
    for name in ("name", "customer_ref", "time_zone", "language", "last_purchase_at",
                 "last_inquiry_at", "customer_until"):
        setattr(contact, name, None)
    contact.time_zones = []
    contact.source = "erased"
    contact.erased_at = at
    contact.updated_at = at


def export_contact(session: Session, e164: str) -> dict[str, Any]:
    """Everything held about a number (GDPR access request), JSON-friendly."""
    number = phone.parse(e164).e164
    contact = session.scalars(select(Contact).where(Contact.e164 == number)).first()
    out: dict[str, Any] = {"number": number, "contact": None, "consent": [], "owned_products": [],
                           "opt_outs": [], "attempts": [], "decisions": []}
    if contact is not None:
        out["contact"] = _row(contact, exclude=("id",))
        out["consent"] = [_row(r, exclude=("id", "contact_id")) for r in session.scalars(
            select(ConsentRecord).where(ConsentRecord.contact_id == contact.id).order_by(ConsentRecord.at))]
        out["owned_products"] = [_row(r, exclude=("id", "contact_id")) for r in session.scalars(
            select(OwnedProduct).where(OwnedProduct.contact_id == contact.id))]
    out["opt_outs"] = [_row(r, exclude=("id", "contact_id")) for r in session.scalars(
        select(OptOut).where(OptOut.e164 == number).order_by(OptOut.at))]
    out["attempts"] = [_row(r, exclude=("id", "contact_id", "decision_id")) for r in session.scalars(
        select(ContactAttempt).where(ContactAttempt.e164 == number).order_by(ContactAttempt.at))]
    out["decisions"] = [_row(r, exclude=("contact_id", "inputs")) for r in session.scalars(
        select(ComplianceDecision).where(ComplianceDecision.e164 == number).order_by(ComplianceDecision.at))]
    return out


def _row(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    data = {}
    for column in obj.__table__.columns:
        if column.key in exclude:
            continue
        value = getattr(obj, column.key)
        data[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return data
