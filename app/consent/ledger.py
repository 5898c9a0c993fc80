"""The append-only consent ledger, the business relationship and products a contact owns.

Ledger rows are never updated or deleted through the ORM (mapper events refuse it); a change
of mind is a new row. Only GDPR erasure removes them, with a bulk statement (gdpr.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import signals
from app.consent import offers as offer_codes
from app.consent.models import (
    CHANNELS,
    CONSENT_ACTIONS,
    PURPOSES,
    ConsentRecord,
    Contact,
    OwnedProduct,
)
from app.refusals import Refusal


class LedgerError(Refusal):
    """Bad input for the ledger; the message says which field."""

    def __init__(self, message: str) -> None:
        super().__init__("consent_ledger", message)


@event.listens_for(ConsentRecord, "before_update")
def _refuse_update(_mapper: object, _connection: object, target: ConsentRecord) -> None:
    raise LedgerError(f"consent record {target.id} is append-only: record a new line instead")


@event.listens_for(ConsentRecord, "before_delete")
def _refuse_delete(_mapper: object, _connection: object, target: ConsentRecord) -> None:
    raise LedgerError(f"consent record {target.id} is append-only: it cannot be deleted")


def record_consent(
    session: Session,
    contact: Contact,
    *,
    action: str,
    purpose: str,
    at: datetime,
    source: str,
    recorded_by: str,
    channel: str = "voice",
    proof: str | None = None,
    written: bool = False,
    offer_ids: Iterable[str] = (),
    valid_until: datetime | None = None,
    recorded_at: datetime | None = None,
) -> ConsentRecord:
    """Append one consent given/withdrawn line; identical lines are not duplicated (re-imports)."""
    if action not in CONSENT_ACTIONS:
        raise LedgerError(f"action: {action!r} is not one of {', '.join(CONSENT_ACTIONS)}")
    if purpose not in (*PURPOSES, "any"):
        raise LedgerError(f"purpose: {purpose!r} is not one of {', '.join(PURPOSES)} or any")
    if channel not in CHANNELS:
        raise LedgerError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if not source or not recorded_by:
        raise LedgerError("source and recorded_by are required: consent must be provable")
    if valid_until is not None and valid_until <= at:
        raise LedgerError("valid_until: must be after the consent was given")
    existing = session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.contact_id == contact.id, ConsentRecord.action == action,
            ConsentRecord.purpose == purpose, ConsentRecord.channel == channel,
            ConsentRecord.at == at, ConsentRecord.source == source,
        )
    ).first()
    if existing is not None:
        return existing
    record = ConsentRecord(
        contact_id=contact.id, action=action, channel=channel, purpose=purpose, written=written,
        offer_ids=sorted(set(offer_ids)), valid_until=valid_until, at=at, source=source,
        proof=proof, recorded_by=recorded_by, recorded_at=recorded_at or at,
    )
    session.add(record)
    session.flush()
    return record


def consent_history(session: Session, contact_id: int) -> list[ConsentRecord]:
    return list(
        session.scalars(
            select(ConsentRecord).where(ConsentRecord.contact_id == contact_id).order_by(ConsentRecord.at, ConsentRecord.id)
        )
    )


def record_relationship(
    contact: Contact,
    *,
    at: datetime,
    purchase_at: datetime | None = None,
    inquiry_at: datetime | None = None,
    customer: bool | None = None,
    customer_until: datetime | None = None,
) -> None:
    """Existing business relationship facts; dates only move forward."""
    if purchase_at and (contact.last_purchase_at is None or purchase_at > contact.last_purchase_at):
        contact.last_purchase_at = purchase_at
    if inquiry_at and (contact.last_inquiry_at is None or inquiry_at > contact.last_inquiry_at):
        contact.last_inquiry_at = inquiry_at
    if customer is not None:
        contact.is_customer = customer
    if customer_until is not None:
        contact.customer_until = customer_until
    contact.updated_at = at


def add_owned_product(session: Session, contact: Contact, offer_id: str, *, source: str,
                      since: datetime | None = None) -> OwnedProduct:
    """Record that the contact already has `offer_id` (idempotent)."""
    try:
        normal = offer_codes.normalise(offer_id)
    except offer_codes.OfferCodeError as exc:
        raise LedgerError(str(exc)) from None
    if not normal:
        raise LedgerError("offer_id: empty")
    offer_id = normal
    existing = session.scalars(
        select(OwnedProduct).where(OwnedProduct.contact_id == contact.id, OwnedProduct.offer_id == offer_id)
    ).first()
    if existing is not None:
        return existing
    owned = OwnedProduct(contact_id=contact.id, offer_id=offer_id, since=since, source=source)
    session.add(owned)
    session.flush()
    return owned


def owned_offers(session: Session, contact: Contact) -> frozenset[str]:
    """Offers the contact has: recorded here, or known to other packages by their number."""
    owned = set(session.scalars(select(OwnedProduct.offer_id).where(OwnedProduct.contact_id == contact.id)))
    for _receiver, offers in signals.offers_owned.send(None, session=session, e164=contact.e164):
        owned.update(offers or ())
    # Other packages name products their own way (support SKUs are upper case): one form.
    return frozenset(code for code in map(offer_codes.lenient, owned) if code)


def has_product(session: Session, contact: Contact, offer_id: str) -> bool:
    """Whether the contact already has this offer/product (never pitch it to them)."""
    return offer_codes.lenient(offer_id) in owned_offers(session, contact)
