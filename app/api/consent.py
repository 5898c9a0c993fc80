"""Contacts, their consent history and opt-outs, registry imports and compliance decisions
(app/consent). Reads page through the tables; every change goes through
app.consent's services."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import available_timezones

from flask import Response, current_app, json, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, select

from app import phone
from app.api.core import (
    MAX_ID,
    PageMeta,
    PageQuery,
    Timestamp,
    actor,
    bp,
    id_ok,
    json_body,
    media_type,
    paginate,
    responses,
    service_errors,
    spec,
)
from app.api.problems import ApiProblem, invalid, not_found
from app.clock import now
from app.consent import contacts as contact_service
from app.consent import export as consent_export
from app.consent import gdpr, importer, ledger, optouts, registries
from app.consent.models import (
    PURPOSES,
    ComplianceDecision,
    ConsentRecord,
    Contact,
    OptOut,
    RegistryImport,
)
from app.consent.packs import line_type_refusal
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
    legal_person: bool
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
    legal_person: bool = Field(False, description="a company, foundation or association: not a sole trader "
                                                  "or partnership (natural persons under NL art. 11.7)")
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
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    lift_proof: str | None = None


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
    contact = db_session().get(Contact, contact_id) if id_ok(contact_id) else None
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
            parsed = phone.parse(body.e164)
        except phone.InvalidNumber as exc:
            raise invalid("body.e164", str(exc)) from None
        special = line_type_refusal(parsed.region, parsed.line_type)
        if special is not None:
            raise invalid("body.e164", f"{parsed.e164}: never called by policy: {special}")
        contact = contact_service.get_or_create(
            session, parsed.e164, source=(body.source or "").strip() or actor(), at=now(), **fields)
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
    status: str = Field(description="running, complete (in use), refused (implausible: the previous "
                                    "copy stays), abandoned (a newer file came first), superseded")
    numbers: int
    rejected_lines: int
    duplicates: int
    lines_read: int
    max_refused_percent: float
    note: str | None = Field(description="why the copy was refused or abandoned")
    formats: dict[str, Any] = Field(description="numbers stored per written format, with an example")
    refused_sample: list[Any] = Field(description="the first refused lines as [line, reason]")


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
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    campaign_id: str | None = Field(None, max_length=64)
    rule_id: str | None = Field(None, max_length=64)
    since: Timestamp | None = None
    until: Timestamp | None = None


class DecisionPage(PageMeta):
    items: list[DecisionOut]


class ExportQuery(BaseModel):
    """The whole record in a time window, no paging."""

    model_config = ConfigDict(extra="ignore")

    since: Timestamp | None = None
    until: Timestamp | None = None
    format: Literal["csv", "json"] = "csv"


def decision_filters(query: DecisionsQuery) -> Select[Any]:
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


def decisions_export(since: datetime | None, until: datetime | None, fmt: str) -> str:
    """The compliance record (decision + the attempt it led to) from app.consent.export."""
    out = io.StringIO()
    rows = consent_export.records(db_session(), since=since, until=until)
    consent_export.write(rows, out, fmt)  # CSV cells neutralised there (app.spreadsheet)
    return out.getvalue()


media_type("/api/compliance/decisions/export", "get", "text/csv")
media_type("/api/compliance/decisions/export", "get", "application/json", {"type": "array"})


@bp.get("/compliance/decisions/export")
@spec.validate(query=ExportQuery, resp=responses(None), tags=["compliance"])
def export_decisions() -> Response:
    """The compliance record (one row per decision with its attempt) as CSV or JSON."""
    query: ExportQuery = request.context.query  # type: ignore[attr-defined]
    body = decisions_export(query.since, query.until, query.format)
    return Response(body, mimetype="text/csv" if query.format == "csv" else "application/json",
                    headers={"Content-Disposition":
                             f"attachment; filename=compliance-decisions.{query.format}"})


# --- changes, each through app.consent's services -------------------------------------------------

class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["given", "withdrawn"]
    purpose: Literal[(*PURPOSES, "any")]  # type: ignore[valid-type]
    channel: Literal["voice", "automated_voice", "any"] = "voice"
    at: Timestamp | None = Field(None, description="when it was given (default: now)")
    source: str = Field(min_length=1, max_length=200, description="where it was given, e.g. 'web form 12'")
    proof: str | None = Field(None, max_length=2000)
    written: bool = False
    offer_ids: list[str] = Field(default_factory=list, max_length=50)
    valid_until: Timestamp | None = None


@bp.post("/contacts/<int:contact_id>/consents")
@spec.validate(json=ConsentIn, resp=responses(ConsentOut, status=201), tags=["consent"])
def add_consent(contact_id: int) -> tuple[ConsentOut, int]:
    """Append a consent given/withdrawn line to the contact's ledger."""
    body: ConsentIn = json_body()
    contact = load_contact(contact_id)
    if contact.erased_at is not None:
        raise invalid("path.contact_id", "this contact was erased")
    session = db_session()
    with service_errors():
        record = ledger.record_consent(
            session, contact, action=body.action, purpose=body.purpose, channel=body.channel,
            at=body.at or now(), source=body.source.strip() or actor(), recorded_by=actor(),
            proof=body.proof, written=body.written, offer_ids=body.offer_ids,
            valid_until=body.valid_until, recorded_at=now())
    session.commit()
    return ConsentOut.model_validate(record), 201


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    e164: str = Field(min_length=3, max_length=32)
    source: Literal[optouts.OPT_OUT_SOURCES] = "api"  # type: ignore[valid-type]


@bp.post("/optouts")
@spec.validate(json=OptOutIn, resp=responses(OptOutOut, status=201), tags=["consent"])
def add_optout() -> tuple[OptOutOut, int]:
    """Put a number on the internal do-not-call list (callbacks and queued calls are cancelled)."""
    body: OptOutIn = json_body()
    session = db_session()
    with service_errors():
        try:
            record = optouts.record_opt_out(session, body.e164, at=now(), source=body.source, by=actor())
        except phone.InvalidNumber as exc:
            raise invalid("body.e164", str(exc)) from None
    session.commit()
    return OptOutOut.model_validate(record), 201


class OptOutLiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    e164: str = Field(min_length=3, max_length=32)
    proof: str = Field(min_length=1, max_length=2000, description="how the person asked to be called again")


class OptOutLiftOut(BaseModel):
    lifted: list[OptOutOut]


@bp.post("/optouts/lift")
@spec.validate(json=OptOutLiftIn, resp=responses(OptOutLiftOut), tags=["consent"])
def lift_optout() -> OptOutLiftOut:
    """Take a number off the internal do-not-call list at the person's own later request: its
    opt-outs are kept, marked lifted with who did it and the proof."""
    body: OptOutLiftIn = json_body()
    session = db_session()
    with service_errors():
        try:
            lifted = optouts.lift_opt_out(session, body.e164, at=now(), by=actor(), proof=body.proof)
        except phone.InvalidNumber as exc:
            raise invalid("body.e164", str(exc)) from None
    session.commit()
    return OptOutLiftOut(lifted=[OptOutOut.model_validate(o) for o in lifted])


class ErasureOut(BaseModel):
    contact_id: int | None
    consent_records: int
    owned_products: int
    opt_outs: int
    attempts_masked: int
    decisions_masked: int


@bp.post("/contacts/<int:contact_id>/erase")
@spec.validate(resp=responses(ErasureOut), tags=["contacts"])
def erase_contact(contact_id: int) -> ErasureOut:
    """GDPR erasure: personal data removed, the number kept only as a keyed hash (never called)."""
    contact = load_contact(contact_id)
    if contact.erased_at is not None:
        raise ApiProblem(409, "Conflict", f"contact {contact_id} was already erased", slug="conflict")
    session = db_session()
    with service_errors():
        report = gdpr.erase_contact(session, contact.e164, at=now(), by=actor(),
                                    settings=current_app.extensions["cortese.settings"])
    session.commit()
    return ErasureOut(**dataclasses.asdict(report))


@bp.get("/contacts/<int:contact_id>/export")
@spec.validate(resp=responses(None), tags=["contacts"])
def export_contact(contact_id: int) -> Response:
    """GDPR access: everything held about the contact's number, as JSON."""
    contact = load_contact(contact_id)
    if contact.erased_at is not None:
        raise ApiProblem(409, "Conflict", f"contact {contact_id} was erased", slug="conflict")
    data = gdpr.export_contact(db_session(), contact.e164)
    return Response(json.dumps(data, default=str), mimetype="application/json")


media_type("/api/contacts/{contact_id}/export", "get", "application/json", {"type": "object"})


class ContactImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(min_length=1, max_length=100_000, description="CSV text with a header row")
    default_region: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class RowProblem(BaseModel):
    line: int
    message: str


class ContactImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    imported: int
    errors: list[RowProblem]


@bp.post("/contacts/import")
@spec.validate(json=ContactImportIn, resp=responses(ContactImportOut), tags=["contacts"])
def import_contacts() -> ContactImportOut:
    """Import contacts (and their consent columns) from CSV; bad rows are reported, good rows kept."""
    body: ContactImportIn = json_body()
    session = db_session()
    try:
        report = importer.import_contacts_text(session, body.csv, at=now(), recorded_by=actor(),
                                               default_region=body.default_region,
                                               commit_every=importer.COMMIT_EVERY)
    except importer.ImportRefused as exc:
        session.rollback()
        raise invalid("body.csv", str(exc)) from None
    session.commit()
    return ContactImportOut(created=report.created, updated=report.updated, unchanged=report.unchanged,
                            imported=report.imported,
                            errors=[RowProblem(line=n, message=m) for n, m in report.errors])


class RegistryImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Literal[tuple(registries.REGISTRY_NAMES)]  # type: ignore[valid-type]
    content: str = Field(min_length=1, max_length=100_000, description="the registry file's text")
    file_name: str = Field("upload", min_length=1, max_length=255)
    obtained_at: Timestamp | None = Field(None, description="when the copy was downloaded; not after now")
    max_refused_percent: float = Field(
        registries.DEFAULT_MAX_REFUSED_PERCENT, ge=0, le=100,
        description="the copy is refused (the one in use stays) when more lines than this do not parse")


class RegistryImportResult(RegistryImportOut):
    sample_errors: list[RowProblem]


@bp.post("/registries/imports")
@spec.validate(json=RegistryImportIn, resp=responses(RegistryImportResult, status=201), tags=["consent"])
def import_registry() -> tuple[RegistryImportResult, int]:
    """Import a do-not-call registry copy (small files; large ones with `cortese registry import`).
    An implausible copy (empty, or too many refused lines) is refused with 422 and the copy in
    use stays; its record (with the refused lines) is listed under GET /registries/imports."""
    body: RegistryImportIn = json_body()
    session = db_session()
    with service_errors():
        report = registry_upload(session, body.country, body.content.encode("utf-8"),
                                 file_name=body.file_name, obtained_at=body.obtained_at,
                                 max_refused_percent=body.max_refused_percent)
    session.commit()
    if report.status != "complete":
        raise invalid("body.content", f"import {report.import_id} refused: {report.note}; the copy in use stays")
    record = session.get(RegistryImport, report.import_id)
    return RegistryImportResult(
        **RegistryImportOut.model_validate(record).model_dump(),
        sample_errors=[RowProblem(line=n, message=m) for n, m in report.errors]), 201


def registry_upload(session: Any, country: str, content: bytes, *, file_name: str,
                    obtained_at: datetime | None,
                    max_refused_percent: float = registries.DEFAULT_MAX_REFUSED_PERCENT,
                    ) -> registries.RegistryImportReport:
    """Shared by the API and the console's upload form."""
    return registries.import_registry(session, country, io.BytesIO(content), at=now(),
                                      obtained_at=obtained_at, file_name=file_name,
                                      max_refused_percent=max_refused_percent)
