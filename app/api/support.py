"""Tickets and warranty claims (app/support): list, filter, get.

Tickets are created by calls (and `cortese support`); operators move them through their
statuses here (app.support offers no status service, so `set_ticket_status` is the thin write,
keeping who changed what in the ticket's details).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy import Select, select

from app.api.core import (
    PageMeta,
    PageQuery,
    actor,
    bp,
    json_body,
    paginate,
    responses,
    spec,
)
from app.api.problems import ApiProblem, not_found
from app.clock import now
from app.db import db_session
from app.refusals import Invalid, Refusal
from app.support import orders
from app.support import services as support
from app.support.models import CLAIM_OUTCOMES, TICKET_KINDS, TICKET_STATUSES, Ticket, WarrantyClaim

TicketStatus = Literal[TICKET_STATUSES]  # type: ignore[valid-type]
TicketKind = Literal[TICKET_KINDS]  # type: ignore[valid-type]
ClaimOutcome = Literal[CLAIM_OUTCOMES]  # type: ignore[valid-type]


class TicketsQuery(PageQuery):
    status: TicketStatus | None = None  # type: ignore[valid-type]
    kind: TicketKind | None = None  # type: ignore[valid-type]
    open: bool | None = Field(None, description="only open (open, in_progress) tickets")
    flagged: bool | None = None
    caller: str | None = Field(None, max_length=32, description="part of the caller's number")
    language: Literal["it", "nl", "en"] | None = Field(None, description="the language of the call")
    call_sid: str | None = Field(None, max_length=64, description="the call that made the ticket")


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    kind: str
    status: str
    priority: str
    flagged: bool
    caller_number: str | None
    contact_id: int | None
    language: str | None
    hotline: str | None
    # A subject we word ourselves reads in English here; its code and values say what it means.
    subject: str | None = Field(validation_alias=AliasChoices("subject_english", "subject"))
    subject_code: str | None = None
    subject_values: dict[str, Any] | None = None
    description: str | None
    recording_url: str | None
    call_sid: str | None
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TicketPage(PageMeta):
    items: list[TicketOut]


class ClaimsQuery(PageQuery):
    outcome: ClaimOutcome | None = None  # type: ignore[valid-type]
    caller: str | None = Field(None, max_length=32)
    language: Literal["it", "nl", "en"] | None = Field(None, description="the language of the call")
    call_sid: str | None = Field(None, max_length=64, description="the call that made the claim")


class ClaimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    serial: str
    purchased_on: date | None
    outcome: str
    reason: str
    covered_until: date | None
    caller_number: str | None
    contact_id: int | None
    language: str | None
    call_sid: str | None
    created_at: datetime


class ClaimPage(PageMeta):
    items: list[ClaimOut]


def ticket_filters(query: TicketsQuery) -> Select[Any]:
    stmt = select(Ticket)
    if query.status:
        stmt = stmt.where(Ticket.status == query.status)
    if query.kind:
        stmt = stmt.where(Ticket.kind == query.kind)
    if query.open is not None:
        is_open = Ticket.status.in_(support.OPEN_STATUSES)
        stmt = stmt.where(is_open if query.open else ~is_open)
    if query.flagged is not None:
        stmt = stmt.where(Ticket.flagged.is_(query.flagged))
    if query.caller:
        stmt = stmt.where(Ticket.caller_number.contains(query.caller.strip(), autoescape=True))
    if query.language:
        stmt = stmt.where(Ticket.language == query.language)
    if query.call_sid:
        stmt = stmt.where(Ticket.call_sid == query.call_sid.strip())
    return stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def claim_filters(query: ClaimsQuery) -> Select[Any]:
    stmt = select(WarrantyClaim)
    if query.outcome:
        stmt = stmt.where(WarrantyClaim.outcome == query.outcome)
    if query.caller:
        stmt = stmt.where(WarrantyClaim.caller_number.contains(query.caller.strip(), autoescape=True))
    if query.language:
        stmt = stmt.where(WarrantyClaim.language == query.language)
    if query.call_sid:
        stmt = stmt.where(WarrantyClaim.call_sid == query.call_sid.strip())
    return stmt.order_by(WarrantyClaim.created_at.desc(), WarrantyClaim.id.desc())


@bp.get("/tickets")
@spec.validate(query=TicketsQuery, resp=responses(TicketPage), tags=["tickets"])
def list_tickets() -> TicketPage:
    """Support tickets, newest first."""
    query: TicketsQuery = request.context.query  # type: ignore[attr-defined]
    rows, meta = paginate(db_session(), ticket_filters(query), query)
    return TicketPage(items=[TicketOut.model_validate(r) for r in rows], **meta.model_dump())


@bp.get("/tickets/<string:reference>")
@spec.validate(resp=responses(TicketOut), tags=["tickets"])
def get_ticket(reference: str) -> TicketOut:
    """One ticket by its reference."""
    ticket = support.find_ticket(db_session(), reference[:32])
    if ticket is None:
        raise not_found("ticket", reference)
    return TicketOut.model_validate(ticket)


@bp.get("/claims")
@spec.validate(query=ClaimsQuery, resp=responses(ClaimPage), tags=["tickets"])
def list_claims() -> ClaimPage:
    """Warranty claims, newest first."""
    query: ClaimsQuery = request.context.query  # type: ignore[attr-defined]
    rows, meta = paginate(db_session(), claim_filters(query), query)
    return ClaimPage(items=[ClaimOut.model_validate(r) for r in rows], **meta.model_dump())


@bp.get("/claims/<string:reference>")
@spec.validate(resp=responses(ClaimOut), tags=["tickets"])
def get_claim(reference: str) -> ClaimOut:
    """One warranty claim by its reference."""
    claim = support.find_claim(db_session(), reference[:32])
    if claim is None:
        raise not_found("warranty claim", reference)
    return ClaimOut.model_validate(claim)


# Operators set these; `draft` is the system's (a fault report cut off mid-call).
SETTABLE_STATUSES = tuple(s for s in TICKET_STATUSES if s != "draft")
SettableStatus = Literal[SETTABLE_STATUSES]  # type: ignore[valid-type]


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: SettableStatus  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=500, description="kept in the ticket's status history")


def set_ticket_status(ticket: Ticket, status: str, *, at: datetime, by: str, note: str | None) -> None:
    """Change the status and append {at, from, to, by, note} to details["status_history"]."""
    if status not in SETTABLE_STATUSES:
        raise Invalid("status", f"{status!r} is not one of {', '.join(SETTABLE_STATUSES)}")
    if status == ticket.status:
        raise Refusal("ticket_status_same", f"status: the ticket is {status} already", status=status)
    details = dict(ticket.details or {})
    history = list(details.get("status_history") or [])
    history.append({"at": at.isoformat(), "from": ticket.status, "to": status, "by": by,
                    "note": note or None})
    details["status_history"] = history
    ticket.details = details  # a new dict, so the JSON column is seen as changed
    ticket.status = status
    ticket.updated_at = at


@bp.patch("/tickets/<string:reference>")
@spec.validate(json=TicketUpdate, resp=responses(TicketOut), tags=["tickets"])
def update_ticket(reference: str) -> TicketOut:
    """Move a ticket to another status (open, in_progress, resolved, closed)."""
    body: TicketUpdate = json_body()
    session = db_session()
    ticket = support.find_ticket(session, reference[:32])
    if ticket is None:
        raise not_found("ticket", reference)
    try:
        set_ticket_status(ticket, body.status, at=now(), by=actor(), note=body.note)
    except Refusal as exc:  # the only one left once the body validated: no change to make
        raise ApiProblem(409, "Conflict", exc.message, field="body.status",
                         slug="conflict") from None
    session.commit()
    return TicketOut.model_validate(ticket)


# --- orders: the shop pushes its orders here (the same upsert as `cortese support import-orders`)


class OrderIn(BaseModel):
    number: str = Field(min_length=1, max_length=64, description="as the customer types it: 4711, A-4711")
    status: str = Field(max_length=32, description="received, processing, shipped, out_for_delivery, "
                        "delivered, cancelled, returned (or a common synonym: dispatched, in_transit...)")
    customer_number: str | None = Field(None, max_length=32, description="the customer's phone number")
    customer_name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=300)
    carrier: str | None = Field(None, max_length=64)
    tracking: str | None = Field(None, max_length=64)
    ordered_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD or DD/MM/YYYY")
    expected_on: str | None = Field(None, max_length=10, description="the date promised to the customer")
    delivered_on: str | None = Field(None, max_length=10)
    country: str | None = Field(None, max_length=2, description="to read a national customer_number")


class OrdersIn(BaseModel):
    orders: list[OrderIn] = Field(min_length=1, max_length=5000)


class OrderError(BaseModel):
    index: int = Field(description="position of the order in the list, from 0")
    message: str


class OrdersImported(BaseModel):
    created: int
    updated: int
    errors: list[OrderError]


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    status: str
    customer_number: str | None
    customer_name: str | None
    description: str | None
    carrier: str | None
    tracking: str | None
    ordered_on: date | None
    expected_on: date | None
    delivered_on: date | None
    updated_at: datetime


@bp.post("/orders")
@spec.validate(json=OrdersIn, resp=responses(OrdersImported), tags=["orders"])
def import_orders() -> OrdersImported:
    """Create or update orders (matched by number; only the fields sent change an existing
    order); a bad order is reported by its index, the rest are imported."""
    body: OrdersIn = json_body()
    session = db_session()
    # Only the fields sent change an existing order (a status update need not resend the rest).
    records = [o.model_dump(exclude_unset=True) for o in body.orders]
    report = orders.import_records(session, records, now(), first_line=0)
    session.commit()
    return OrdersImported(created=report.created, updated=report.updated,
                          errors=[OrderError(index=i, message=m) for i, m in report.errors])


@bp.get("/orders/<string:number>")
@spec.validate(resp=responses(OrderOut), tags=["orders"])
def get_order(number: str) -> OrderOut:
    """One order by its number (as callers key it in: punctuation and case do not matter)."""
    order = orders.find_order(db_session(), number[:64])
    if order is None:
        raise not_found("order", number)
    return OrderOut.model_validate(order)
