"""Tickets and warranty claims: creation with short references, drafts, look-ups per caller.

Actions (actions.py), the CLI and the console all go through these functions, so a ticket made
on a call and one made by hand look the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import signals
from app.calls import is_simulated
from app.refusals import Invalid
from app.support import warranty
from app.support.models import (
    PRIORITIES,
    TICKET_KINDS,
    TICKET_STATUSES,
    CustomerProduct,
    Product,
    Ticket,
    WarrantyClaim,
)
from app.support.references import new_reference
from app.support.subjects import SUBJECTS

OPEN_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class CallerRef:
    """Who a ticket is about: the caller's number (as sent, or E.164), contact, call, language."""

    number: str | None = None
    contact_id: int | None = None
    call_sid: str | None = None
    language: str | None = None
    hotline: str | None = None


def create_ticket(
    session: Session,
    *,
    kind: str,
    at: datetime,
    caller: CallerRef,
    status: str = "open",
    priority: str = "normal",
    flagged: bool = False,
    subject: str | None = None,
    subject_code: str | None = None,
    subject_values: dict[str, Any] | None = None,
    description: str | None = None,
    recording_url: str | None = None,
    product_id: int | None = None,
    customer_product_id: int | None = None,
    order_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Ticket:
    if kind not in TICKET_KINDS:
        raise Invalid("kind", f"{kind!r} is not one of {', '.join(TICKET_KINDS)}")
    if status not in TICKET_STATUSES:
        raise Invalid("status", f"{status!r} is not one of {', '.join(TICKET_STATUSES)}")
    if priority not in PRIORITIES:
        raise Invalid("priority", f"{priority!r} is not one of {', '.join(PRIORITIES)}")
    if subject_code is not None and subject_code not in SUBJECTS:
        raise Invalid("subject_code", f"{subject_code!r} is not one of {', '.join(SUBJECTS)}")
    ticket = Ticket(
        reference=new_reference(session),
        kind=kind,
        status=status,
        priority=priority,
        flagged=flagged,
        caller_number=caller.number,
        contact_id=caller.contact_id,
        call_sid=caller.call_sid,
        simulated=is_simulated(session, caller.call_sid),
        language=caller.language,
        hotline=caller.hotline,
        subject=(subject or "")[:200] or None,
        subject_code=subject_code,
        subject_values=dict(subject_values) if subject_values else None,
        description=description,
        recording_url=recording_url,
        product_id=product_id,
        customer_product_id=customer_product_id,
        order_id=order_id,
        details=dict(details or {}),
        created_at=at,
        updated_at=at,
    )
    session.add(ticket)
    session.flush()
    return ticket


def ticket_for_call(session: Session, call_sid: str, kind: str) -> Ticket | None:
    """The ticket of this kind already made on this call (a retried webhook must not make two)."""
    return session.scalar(
        select(Ticket).where(Ticket.call_sid == call_sid, Ticket.kind == kind).order_by(Ticket.id.desc())
    )


def find_ticket(session: Session, reference: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.reference == (reference or "").strip()))


def find_claim(session: Session, reference: str) -> WarrantyClaim | None:
    return session.scalar(select(WarrantyClaim).where(WarrantyClaim.reference == (reference or "").strip()))


# Built once: caller recognition runs these on every inbound call.
_OPEN_TICKETS = (
    select(Ticket)
    .where(Ticket.caller_number == bindparam("number"), Ticket.status.in_(OPEN_STATUSES))
    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
)
_PRODUCTS_OF = (
    select(CustomerProduct)
    .where(CustomerProduct.owner_number == bindparam("number"))
    .order_by(CustomerProduct.purchased_on.desc().nulls_last(), CustomerProduct.id)
)


def open_tickets_for(session: Session, number: str | None) -> list[Ticket]:
    if not number:
        return []
    return list(session.scalars(_OPEN_TICKETS, {"number": number}))


def products_of(session: Session, number: str | None) -> list[CustomerProduct]:
    if not number:
        return []
    return list(session.scalars(_PRODUCTS_OF, {"number": number}))


def _owned_skus(_sender: object, *, session: Session, e164: str, **_: object) -> set[str]:
    """Consent asks before a pitch: a product registered to the number counts as owned."""
    return {unit.product.sku for unit in products_of(session, e164)}


def connect() -> None:
    """From app.support.init_app: consent hears of the products a number owns."""
    signals.offers_owned.connect(_owned_skus, weak=False)


def catalogue(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.id)))


def find_unit(session: Session, serial: str) -> CustomerProduct | None:
    text = "".join(ch for ch in (serial or "") if ch.isalnum()).upper()
    return session.scalar(select(CustomerProduct).where(CustomerProduct.serial == text)) if text else None


@dataclass(frozen=True)
class ClaimResult:
    claim: WarrantyClaim
    decision: warranty.WarrantyDecision | None


def make_claim(
    session: Session,
    *,
    serial: str,
    purchased_on: date | None,
    at: datetime,
    today: date,
    caller: CallerRef,
    default_country: str | None = None,
    terms: warranty.WarrantyTerms | None = None,
) -> ClaimResult:
    """Decide and store a claim. Unknown serials and missing dates are stored too, for review:
    the caller always leaves with a reference."""
    unit = find_unit(session, serial)
    decision: warranty.WarrantyDecision | None = None
    if unit is None:
        outcome, reason, until = "needs_review", warranty.REASON_UNKNOWN_SERIAL, None
    else:
        bought = purchased_on or unit.purchased_on
        if bought is None:
            outcome, reason, until = "needs_review", warranty.REASON_NO_DATE, None
        else:
            # Our own sales record beats what the caller remembers.
            if unit.purchased_on is not None:
                bought = unit.purchased_on
            decision = warranty.decide(
                purchased_on=bought, today=today, country=unit.country or default_country,
                sku=unit.product.sku, product_months=unit.product.warranty_months,
                category=unit.product.category, terms=terms,
            )
            outcome, reason, until = decision.outcome, decision.reason, decision.covered_until
            purchased_on = bought
    claim = WarrantyClaim(
        reference=new_reference(session),
        serial=(unit.serial if unit else "".join(ch for ch in serial if ch.isalnum()).upper())[:64],
        customer_product_id=unit.id if unit else None,
        product_id=unit.product_id if unit else None,
        purchased_on=purchased_on,
        outcome=outcome,
        reason=reason,
        covered_until=until,
        caller_number=caller.number,
        contact_id=caller.contact_id,
        language=caller.language,
        call_sid=caller.call_sid,
        created_at=at,
    )
    session.add(claim)
    session.flush()
    return ClaimResult(claim, decision)
