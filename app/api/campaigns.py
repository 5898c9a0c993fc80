"""Campaigns (app/campaigns): create, list, get, target contacts, start, pause,
resume, stop, and live statistics with the abandonment rate.

Validation (app.campaigns.schema, every problem at once) and the state machine live in
app.campaigns; a refusal becomes a 422 naming each field, a refused status change a 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select

from app.api.core import (
    MAX_ID,
    PageMeta,
    PageQuery,
    actor,
    bp,
    id_ok,
    json_body,
    page_of,
    paginate,
    responses,
    service_errors,
    spec,
)
from app.api.problems import ApiProblem, not_found
from app.campaigns import hours
from app.campaigns import service as campaigns
from app.campaigns.models import (
    DISPOSITIONS,
    MACHINE_POLICIES,
    PURPOSES,
    STATUSES,
    Campaign,
    CampaignAttempt,
)
from app.clock import now
from app.consent import importer
from app.db import db_session
from app.refusals import Invalid

Purpose = Literal[PURPOSES]  # type: ignore[valid-type]
CampaignStatus = Literal[STATUSES]  # type: ignore[valid-type]
MachinePolicy = Literal[MACHINE_POLICIES]  # type: ignore[valid-type]
Language = Literal["it", "nl", "en"]
# The schema lists the codes; CampaignInput checks them (with ranges and any case) and says
# which one is wrong, so a typo is a 422 naming calling_days like every other field.
DayCode = Annotated[str, Field(json_schema_extra={"enum": list(hours.DAYS)})]
MAX_DAYS_TEXT = 64
ACTIONS = {"start": campaigns.start, "pause": campaigns.pause, "resume": campaigns.resume,
           "stop": campaigns.stop}


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    purpose: Purpose  # type: ignore[valid-type]
    flow: str = Field(min_length=1, max_length=64,
                      description="a flow written for campaigns (placed_by: campaign) in flows/")
    languages: list[Language] = Field(min_length=1, max_length=3)
    reason: dict[Language, str] = Field(description="why we call, per language (spoken in the opener)")
    offer_id: str | None = Field(None, max_length=64, description="required for sales campaigns")
    details: dict[Language, str] | None = None
    caller_id: str | None = Field(None, max_length=32)
    callback_number: str | None = Field(None, max_length=32)
    calling_days: Annotated[str, Field(json_schema_extra={"maxLength": MAX_DAYS_TEXT})] | list[DayCode] = Field(
        "mon-fri", description='a string ("mon-fri", "mon,wed,sat") or a list of day codes (["mon", "wed"])')
    calling_hours: str = Field("09:00-20:00", max_length=11, description="local time range")
    cps: float = Field(1.0, description="calls per second (above 0, at most 100)")
    # Bounds here only keep numbers sane for the database; the service says what is allowed.
    max_concurrent: int = Field(5, ge=-2**31, le=2**31)
    max_attempts: int = Field(3, ge=-2**31, le=2**31)
    retry_busy_minutes: int = Field(30, ge=-2**31, le=2**31)
    retry_no_answer_minutes: int = Field(120, ge=-2**31, le=2**31)
    machine_policy: MachinePolicy = "message"  # type: ignore[valid-type]
    amd_async: bool = True
    ring_timeout: int = Field(25, ge=-2**31, le=2**31, description="seconds to let it ring (15 to 60)")

    @field_validator("calling_days", mode="before")
    @classmethod
    def _days_shape(cls, value: Any) -> Any:
        """Either form, or one problem named calling_days (not one per form tried); a list's
        items go on as text so a wrong one is refused by name with the other day checks."""
        if isinstance(value, list):
            return [str(item) for item in value]
        if not isinstance(value, str):
            raise ValueError('a string like "mon-fri" or a list of day codes like ["mon", "wed"]')
        if len(value) > MAX_DAYS_TEXT:
            raise ValueError(f"at most {MAX_DAYS_TEXT} characters")
        return value


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    purpose: str
    offer_id: str | None
    flow: str
    languages: list[str]
    reason: dict[str, str]
    details: dict[str, str]
    caller_id: str | None
    callback_number: str | None
    calling_days: list[str]
    calling_start: str
    calling_end: str
    cps: float
    max_concurrent: int
    max_attempts: int
    retry_busy_minutes: int
    retry_no_answer_minutes: int
    machine_policy: str
    # automated (artificial voice: an opener read by text-to-speech or a spoken machine
    # message) or live, derived from the flow and machine policy; and why.
    call_kind: str
    call_kind_reason: str
    amd_async: bool
    ring_timeout: int
    status: str
    status_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CampaignPage(PageMeta):
    items: list[CampaignOut]


class CampaignsQuery(PageQuery):
    status: CampaignStatus | None = None  # type: ignore[valid-type]


class StatsOut(BaseModel):
    id: int
    name: str
    status: str
    status_reason: str | None
    purpose: str
    contacts: dict[str, int] = Field(description="targeted contacts per queue state")
    attempts: dict[str, int] = Field(description="attempts per disposition ('pending' while under way)")
    dialled: int
    live_answered: int = Field(description="calls a person (or an unsure AMD) answered")
    abandoned: int = Field(description="of those, calls where no opener followed")
    abandonment_rate: float = Field(description="abandoned / live_answered over the campaign (0..1)")
    abandonment_rate_24h: float = Field(description="the same over the last 24 hours")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int = Field(description="1 for the first try at this contact, 2 for the retry...")
    e164: str
    status: str
    disposition: str | None
    answered_by: str | None
    rule_id: str | None = Field(description="the consent rule that refused the call, if one did")
    reason: str | None
    decision_id: int | None
    call_sid: str | None
    error_code: int | None
    language: str | None
    answers: dict[str, Any]
    created_at: datetime
    dialled_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None


class AttemptPage(PageMeta):
    items: list[AttemptOut]


class AttemptsQuery(PageQuery):
    disposition: Literal[DISPOSITIONS] | None = None  # type: ignore[valid-type]


class CampaignDetail(CampaignOut):
    stats: StatsOut


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500, description="why (kept as the status reason)")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, min_length=1, max_length=10_000,
                                          description="existing contacts to target")
    csv: str | None = Field(None, min_length=1, max_length=100_000,
                            description="or a contacts CSV (imported through consent's importer)")
    source: str | None = Field(None, max_length=200,
                               description="where the CSV's numbers come from, if it has no source column")
    default_region: str | None = Field(None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _one_source(self) -> TargetIn:
        if (self.contact_ids is None) == (self.csv is None):
            raise ValueError("give exactly one of contact_ids or csv")
        return self


class TargetError(BaseModel):
    item: str = Field(description="the contact id or CSV line")
    message: str


class TargetOut(BaseModel):
    added: int
    already: int = Field(description="targeted before: left as they were")
    errors: list[TargetError]


@contextmanager
def campaign_errors() -> Iterator[None]:
    """A refused status change is a 409 Conflict; other bad input a 422 naming the field."""
    try:
        with service_errors():
            yield
    except ApiProblem as problem:
        if problem.field == "body.status":
            raise ApiProblem(409, "Conflict", problem.detail.removeprefix("body.status: "),
                             field="status", slug="conflict") from None
        raise


def load(campaign_id: int) -> Campaign:
    row = db_session().get(Campaign, campaign_id) if id_ok(campaign_id) else None
    if row is None:
        raise not_found("campaign", campaign_id)
    return row


def stats_of(row: Campaign) -> StatsOut:
    return StatsOut(**campaigns.stats(db_session(), row, at=now()))


def detail(row: Campaign) -> CampaignDetail:
    return CampaignDetail(**CampaignOut.model_validate(row).model_dump(), stats=stats_of(row))


def abandonment_by_campaign(session: Any, limit: int = 12) -> list[tuple[str, float]]:
    """(name, abandonment rate) of the campaigns that had live calls, most recent first."""
    ids = session.scalars(
        select(CampaignAttempt.campaign_id).where(CampaignAttempt.disposition.in_(campaigns.LIVE_DISPOSITIONS))
        .group_by(CampaignAttempt.campaign_id).order_by(func.max(CampaignAttempt.id).desc()).limit(limit)
    ).all()
    rows = []
    for campaign_id in ids:
        campaign = session.get(Campaign, campaign_id)
        abandoned, live = campaigns.abandonment(session, campaign_id)
        rows.append((campaign.name, campaigns.rate(abandoned, live)))
    return rows


@bp.get("/campaigns")
@spec.validate(query=CampaignsQuery, resp=responses(CampaignPage), tags=["campaigns"])
def list_campaigns() -> CampaignPage:
    """Campaigns, oldest first, optionally by status."""
    query: CampaignsQuery = request.context.query  # type: ignore[attr-defined]
    rows = campaigns.list_campaigns(db_session(), query.status)
    items, meta = page_of(rows, query)
    return CampaignPage(items=[CampaignOut.model_validate(r) for r in items], **meta.model_dump())


@bp.post("/campaigns")
@spec.validate(json=CampaignIn, resp=responses(CampaignDetail, status=201), tags=["campaigns"])
def create_campaign() -> tuple[CampaignDetail, int]:
    """Create a draft campaign (checked: purpose, outbound flow, reasons per language, hours,
    pacing, ring time). Target contacts, then start it."""
    body: CampaignIn = json_body()
    session = db_session()
    fields = body.model_dump()
    with campaign_errors():
        row = campaigns.create_campaign(session, created_by=actor(), at=now(), **fields)
    session.commit()
    return detail(row), 201


@bp.get("/campaigns/<int:campaign_id>")
@spec.validate(resp=responses(CampaignDetail), tags=["campaigns"])
def get_campaign(campaign_id: int) -> CampaignDetail:
    """One campaign with its live statistics."""
    return detail(load(campaign_id))


@bp.get("/campaigns/<int:campaign_id>/stats")
@spec.validate(resp=responses(StatsOut), tags=["campaigns"])
def campaign_stats(campaign_id: int) -> StatsOut:
    """Progress: contacts per queue state, attempts per disposition, abandonment rate."""
    return stats_of(load(campaign_id))


@bp.get("/campaigns/<int:campaign_id>/attempts")
@spec.validate(query=AttemptsQuery, resp=responses(AttemptPage), tags=["campaigns"])
def campaign_attempts(campaign_id: int) -> AttemptPage:
    """Every attempt, newest first: consent refusals with their rule, dispositions, CallSids and
    the answers a script collected."""
    query: AttemptsQuery = request.context.query  # type: ignore[attr-defined]
    row = load(campaign_id)
    stmt = select(CampaignAttempt).where(CampaignAttempt.campaign_id == row.id)
    if query.disposition:
        stmt = stmt.where(CampaignAttempt.disposition == query.disposition)
    rows, meta = paginate(db_session(), stmt.order_by(CampaignAttempt.id.desc()), query)
    return AttemptPage(items=[AttemptOut.model_validate(r) for r in rows], **meta.model_dump())


@bp.post("/campaigns/<int:campaign_id>/contacts")
@spec.validate(json=TargetIn, resp=responses(TargetOut), tags=["campaigns"])
def add_contacts(campaign_id: int) -> TargetOut:
    """Target contacts (by id, or a CSV imported through consent's importer). Consent is checked
    again at dial time for every call."""
    body: TargetIn = json_body()
    row = load(campaign_id)
    session = db_session()
    with campaign_errors():
        if body.contact_ids is not None:
            report = campaigns.add_contacts(session, row, body.contact_ids, at=now())
        else:
            report = _add_csv(session, row, body)
    session.commit()
    return TargetOut(added=report.added, already=report.already,
                     errors=[TargetError(item=item, message=why) for item, why in report.errors])


def _add_csv(session: Any, row: Campaign, body: TargetIn) -> Any:
    try:
        return campaigns.add_numbers_csv(session, row, str(body.csv), at=now(), recorded_by=actor(),
                                         source=body.source, default_region=body.default_region)
    except importer.ImportRefused as exc:
        session.rollback()
        raise Invalid("csv", f"{exc}") from None


def _action(campaign_id: int, name: str) -> CampaignDetail:
    row = load(campaign_id)
    # The body is optional; one that is not JSON gets the 415 every JSON endpoint gives.
    body = request.context.json if request.is_json else None  # type: ignore[attr-defined]
    if body is None and (request.content_length or request.mimetype):
        raise ApiProblem(415, "Unsupported Media Type",
                         "send a JSON object with 'Content-Type: application/json' (or no body)",
                         field="header.Content-Type", slug="unsupported-media-type")
    reason = body.reason if body is not None else None
    session = db_session()
    with campaign_errors():
        ACTIONS[name](session, row, at=now(), reason=reason)
    session.commit()
    return detail(row)


@bp.post("/campaigns/<int:campaign_id>/start")
@spec.validate(json=ActionIn, resp=responses(CampaignDetail), tags=["campaigns"])
def start_campaign(campaign_id: int) -> CampaignDetail:
    """Start a draft campaign (it must target someone). The body is optional."""
    return _action(campaign_id, "start")


@bp.post("/campaigns/<int:campaign_id>/pause")
@spec.validate(json=ActionIn, resp=responses(CampaignDetail), tags=["campaigns"])
def pause_campaign(campaign_id: int) -> CampaignDetail:
    """Pause: nothing more is dialled; calls under way finish."""
    return _action(campaign_id, "pause")


@bp.post("/campaigns/<int:campaign_id>/resume")
@spec.validate(json=ActionIn, resp=responses(CampaignDetail), tags=["campaigns"])
def resume_campaign(campaign_id: int) -> CampaignDetail:
    """Resume a paused campaign."""
    return _action(campaign_id, "resume")


@bp.post("/campaigns/<int:campaign_id>/stop")
@spec.validate(json=ActionIn, resp=responses(CampaignDetail), tags=["campaigns"])
def stop_campaign(campaign_id: int) -> CampaignDetail:
    """Stop for good: queued contacts are cancelled, calls under way finish."""
    return _action(campaign_id, "stop")
