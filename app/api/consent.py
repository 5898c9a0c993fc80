"""Contacts, their consent history and opt-outs, registry imports and compliance decisions
(engineer C's app/consent). Reads page through the tables; every change goes through
app.consent's services."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import available_timezones

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, select

from app import phone
from app.api.core import (
    PageMeta,
    PageQuery,
    Timestamp,
    actor,
    bp,
    json_body,
    media_type,
    paginate,
    responses,
    service_errors,
    spec,
)
from app.api.problems import invalid, not_found
from app.clock import now
from app.consent import contacts as contact_service
from app.consent.models import (
    PURPOSES,
    ComplianceDecision,
    ConsentRecord,
    Contact,
    OptOut,
    RegistryImport,
)
from app.db import db_session

Purpose = Literal[PURPOSES]  # type: ignore[valid-type]
Language = Literal["it", "nl", "en"]


# --- contacts -------------------------------------------------------------------------------

class ContactsQuery(PageQuery):
    q: str | None = Field(None, max_length=64, description="part of the number, name or customer ref")
    region: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    include_erased: bool = False


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    e164: str
    region: str | None
    line_type: str | None
    time_zone: str | None
    time_zones: list[str]
    name: str | None
    language: str | None
    source: str
    customer_ref: str | None
    is_business: bool
    is_customer: bool
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None


class ContactPage(PageMeta):
    items: list[ContactOut]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    e164: str = Field(min_length=3, max_length=32, description="the number, E.164 preferred")
    name: str | None = Field(None, max_length=200)
    language: Language | None = None
    time_zone: str | None = Field(None, max_length=64)
    customer_ref: str | None = Field(None, max_length=64)
    is_business: bool = False
    source: str | None = Field(None, max_length=200, description="where the number came from")


    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("must be an IANA time zone such as Europe/Rome")
        return value


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    channel: str
    purpose: str
    written: bool
    offer_ids: list[str]
    valid_until: datetime | None
    at: datetime
    source: str
    proof: str | None
    recorded_by: str
    recorded_at: datetime


class OptOutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    e164: str
    contact_id: int | None
    at: datetime
    source: str
    recorded_by: str
    call_sid: str | None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    contact_id: int | None
    e164: str
    country: str | None
    purpose: str
    offer_id: str | None
    campaign_id: str | None
    callback_id: str | None
    automated: bool
    allowed: bool
    rule_id: str
    reason: str
    next_allowed_at: datetime | None
    pack_version: str | None


class ContactDetail(ContactOut):
    consents: list[ConsentOut]
    opt_outs: list[OptOutOut]
    recent_decisions: list[DecisionOut]


def contact_filters(query: ContactsQuery) -> Select[Any]:
    stmt = select(Contact)
    if not query.include_erased:
        stmt = stmt.where(Contact.erased_at.is_(None))
    if query.region:
        stmt = stmt.where(Contact.region == query.region)
    if query.q:
        text = query.q.strip()
        stmt = stmt.where(Contact.e164.contains(text, autoescape=True)
                          | Contact.name.icontains(text, autoescape=True)
                          | Contact.customer_ref.contains(text, autoescape=True))
    return stmt.order_by(Contact.id.desc())


def contact_detail(contact: Contact) -> ContactDetail:
    session = db_session()
    consents = session.scalars(select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                               .order_by(ConsentRecord.at, ConsentRecord.id)).all()
    opt_outs = session.scalars(select(OptOut).where(OptOut.contact_id == contact.id)
                               .order_by(OptOut.at)).all()
    decisions = session.scalars(select(ComplianceDecision)
                                .where(ComplianceDecision.contact_id == contact.id)
                                .order_by(ComplianceDecision.at.desc()).limit(50)).all()
    return ContactDetail(
        **ContactOut.model_validate(contact).model_dump(),
        consents=[ConsentOut.model_validate(c) for c in consents],
        opt_outs=[OptOutOut.model_validate(o) for o in opt_outs],
        recent_decisions=[DecisionOut.model_validate(d) for d in decisions],
    )


def load_contact(contact_id: int) -> Contact:
    contact = db_session().get(Contact, contact_id) if 0 < contact_id < 2**62 else None
    if contact is None:
        raise not_found("contact", contact_id)
    return contact


@bp.get("/contacts")
@spec.validate(query=ContactsQuery, resp=responses(ContactPage), tags=["contacts"])
def list_contacts() -> ContactPage:
    """Contacts, newest first; erased ones only when asked."""
    query: ContactsQuery = request.context.query  # type: ignore[attr-defined]
    rows, meta = paginate(db_session(), contact_filters(query), query)
    return ContactPage(items=[ContactOut.model_validate(r) for r in rows], **meta.model_dump())


@bp.post("/contacts")
@spec.validate(json=ContactIn, resp=responses(ContactOut, status=201), tags=["contacts"])
def create_contact() -> tuple[ContactOut, int]:
    """Create a contact (or return the existing one for that number, filling its blanks)."""
    body: ContactIn = json_body()
    session = db_session()
    fields = body.model_dump(exclude={"e164", "source"}, exclude_none=True)
    with service_errors():
        try:
            contact = contact_service.get_or_create(
                session, body.e164, source=(body.source or "").strip() or actor(), at=now(), **fields)
        except phone.InvalidNumber as exc:
            raise invalid("body.e164", str(exc)) from None
    session.commit()
    return ContactOut.model_validate(contact), 201


@bp.get("/contacts/<int:contact_id>")
@spec.validate(resp=responses(ContactDetail), tags=["contacts"])
def get_contact(contact_id: int) -> ContactDetail:
    """One contact with its consent ledger, opt-outs and latest compliance decisions."""
    return contact_detail(load_contact(contact_id))


# --- opt-outs and registries ------------------------------------------------------------------

class OptOutPage(PageMeta):
    items: list[OptOutOut]


class OptOutsQuery(PageQuery):
    number: str | None = Field(None, max_length=32)


@bp.get("/optouts")
@spec.validate(query=OptOutsQuery, resp=responses(OptOutPage), tags=["consent"])
def list_optouts() -> OptOutPage:
    """Opt-outs (the internal do-not-call list), newest first."""
    query: OptOutsQuery = request.context.query  # type: ignore[attr-defined]
    stmt = select(OptOut)
    if query.number:
        stmt = stmt.where(OptOut.e164.contains(query.number.strip(), autoescape=True))
    rows, meta = paginate(db_session(), stmt.order_by(OptOut.at.desc(), OptOut.id.desc()), query)
    return OptOutPage(items=[OptOutOut.model_validate(r) for r in rows], **meta.model_dump())


class RegistryImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    country: str
    registry_name: str
    file_name: str
    obtained_at: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    numbers: int
    rejected_lines: int


class RegistryImportPage(PageMeta):
    items: list[RegistryImportOut]


class RegistriesQuery(PageQuery):
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


@bp.get("/registries/imports")
@spec.validate(query=RegistriesQuery, resp=responses(RegistryImportPage), tags=["consent"])
def list_registry_imports() -> RegistryImportPage:
    """Do-not-call registry imports with their status and counts, newest first."""
    query: RegistriesQuery = request.context.query  # type: ignore[attr-defined]
    stmt = select(RegistryImport)
    if query.country:
        stmt = stmt.where(RegistryImport.country == query.country)
    rows, meta = paginate(db_session(), stmt.order_by(RegistryImport.started_at.desc(),
                                                      RegistryImport.id.desc()), query)
    return RegistryImportPage(items=[RegistryImportOut.model_validate(r) for r in rows],
                              **meta.model_dump())


# --- compliance decisions -----------------------------------------------------------------------

class DecisionsQuery(PageQuery):
    allowed: bool | None = None
    purpose: Purpose | None = None  # type: ignore[valid-type]
    contact_id: int | None = Field(None, ge=1, le=2**62)
    campaign_id: str | None = Field(None, max_length=64)
    rule_id: str | None = Field(None, max_length=64)
    since: Timestamp | None = None
    until: Timestamp | None = None


class DecisionPage(PageMeta):
    items: list[DecisionOut]


class ExportQuery(BaseModel):
    """The same filters as the list, without paging: the whole record."""

    model_config = ConfigDict(extra="ignore")

    allowed: bool | None = None
    purpose: Purpose | None = None  # type: ignore[valid-type]
    contact_id: int | None = Field(None, ge=1, le=2**62)
    campaign_id: str | None = Field(None, max_length=64)
    rule_id: str | None = Field(None, max_length=64)
    since: Timestamp | None = None
    until: Timestamp | None = None


def decision_filters(query: DecisionsQuery | ExportQuery) -> Select[Any]:
    stmt = select(ComplianceDecision)
    if query.allowed is not None:
        stmt = stmt.where(ComplianceDecision.allowed.is_(query.allowed))
    for column, value in ((ComplianceDecision.purpose, query.purpose),
                          (ComplianceDecision.contact_id, query.contact_id),
                          (ComplianceDecision.campaign_id, query.campaign_id),
                          (ComplianceDecision.rule_id, query.rule_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since:
        stmt = stmt.where(ComplianceDecision.at >= query.since)
    if query.until:
        stmt = stmt.where(ComplianceDecision.at < query.until)
    return stmt.order_by(ComplianceDecision.at.desc(), ComplianceDecision.id.desc())


@bp.get("/compliance/decisions")
@spec.validate(query=DecisionsQuery, resp=responses(DecisionPage), tags=["compliance"])
def list_decisions() -> DecisionPage:
    """Every stored allow/deny decision with the rule and the reason, newest first."""
    query: DecisionsQuery = request.context.query  # type: ignore[attr-defined]
    rows, meta = paginate(db_session(), decision_filters(query), query)
    return DecisionPage(items=[DecisionOut.model_validate(r) for r in rows], **meta.model_dump())


EXPORT_COLUMNS = list(DecisionOut.model_fields)
EXPORT_LIMIT = 100_000


def decisions_csv(query: ExportQuery) -> str:
    """The decisions matching `query` as CSV (one row per decision, UTC ISO times)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows = db_session().scalars(decision_filters(query).limit(EXPORT_LIMIT))
    for row in rows:
        record = DecisionOut.model_validate(row).model_dump(mode="json")
        # Spreadsheet formula injection: a cell must never start with = + - @.
        writer.writerow({k: _cell(v) for k, v in record.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


media_type("/api/compliance/decisions/export", "get", "text/csv")


@bp.get("/compliance/decisions/export")
@spec.validate(query=ExportQuery, resp=responses(None), tags=["compliance"])
def export_decisions() -> Response:
    """The decisions as a CSV download (the same filters as the list, no paging)."""
    query: ExportQuery = request.context.query  # type: ignore[attr-defined]
    return Response(decisions_csv(query), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=compliance-decisions.csv"})
