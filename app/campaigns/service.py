"""Operator services: create a campaign, target contacts, start/pause/resume/stop it, stats.

A refusal is an Invalid naming its field (app/refusals.py): the CLI prints it, the console
shows it beside the field, the API answers 422. create_campaign raises every problem of a
submission at once (Refusals). Callers commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import phone
from app.campaigns.models import (
    Campaign,
    CampaignAttempt,
    CampaignContact,
)
from app.campaigns.schema import CampaignInput
from app.campaigns.states import FINAL, OPEN, transition
from app.config import PROJECT_ROOT
from app.consent import importer, offers
from app.consent.contacts import find_by_number
from app.consent.models import Contact
from app.db import affected
from app.flows.loader import load_flows
from app.flows.model import FlowSet
from app.outbound.models import Pacer
from app.refusals import Invalid, Reason, Refusal, reason_of, refuse_all

FLOWS_DIR = PROJECT_ROOT / "flows"
# Dispositions that mean a live person answered (the abandonment rate's denominator).
LIVE_DISPOSITIONS = frozenset({"answered-human", "opted-out", "callback-booked", "completed", "abandoned"})


def pacer_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


# --- create --------------------------------------------------------------------------------


def _flowset() -> FlowSet:
    """The flows the app runs (the loaded engine's), else those in FLOWS_DIR read afresh."""
    directory = Path(FLOWS_DIR)
    if has_app_context():
        engine = current_app.extensions.get("cortese.flows")
        if engine is not None:
            return cast("FlowSet", engine.flows)
        directory = Path(current_app.extensions["cortese.settings"].flows_dir)
    return load_flows(directory)


def campaign_flows() -> list[str]:
    """The flows written for campaigns (`placed_by: campaign`), the only ones a campaign may use."""
    return _flowset().placed_by("campaign")


def _flow_problems(name: str) -> list[Refusal]:
    """The flow must exist and be written for campaigns (its opener says the campaign's reason)."""
    flowset = _flowset()
    flow = flowset.get(name)
    choices = ", ".join(flowset.placed_by("campaign")) or "none"
    if flow is None:
        return [Invalid("flow", f"no flow named {name!r} in flows/ (campaign flows: {choices})",
                        code="campaign_flow_missing", flow=name, choices=choices)]
    if flow.kind != "outbound" or flow.placed_by != "campaign":
        # A callback's opener tells strangers they asked to be called; an inbound flow greets
        # a caller. Only a flow written for campaigns says the campaign's own reason.
        return [Invalid("flow", f"{name!r} is not written for campaigns; choose one of: {choices}",
                        code="campaign_flow_not_campaign", flow=name, choices=choices)]
    return []


def _name_problems(session: Session, name: str) -> list[Refusal]:
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        return [Invalid("name", f"a campaign called {name!r} exists already", code="campaign_name_taken",
                        name=name)]
    return []


def check_campaign(session: Session, fields: Mapping[str, Any]) -> CampaignInput:
    """The campaign `fields` describe, checked: the fields themselves (CampaignInput), then
    what needs the database and the flows. Raises every problem found together, in the
    order of the fields (Refusals; one problem alone as itself)."""
    spec, problems = CampaignInput.read(fields)
    failed = {problem.field.partition(".")[0] for problem in problems}
    if "name" not in failed:
        problems += _name_problems(session, str(fields.get("name") or "").strip())
    if "flow" not in failed:
        problems += _flow_problems(str(fields.get("flow") or "").strip())
    order = list(CampaignInput.model_fields)
    problems.sort(key=lambda p: order.index(f) if (f := p.field.partition(".")[0]) in order else len(order))
    refuse_all(problems)
    assert spec is not None  # no problem: the fields validated
    return spec


def create_campaign(session: Session, *, created_by: str, at: datetime, **fields: Any) -> Campaign:
    """Check everything (check_campaign) and store a draft campaign with its pacer. `fields`
    are CampaignInput's: the API, the console and the CLI pass what they were given."""
    spec = check_campaign(session, fields)
    # Every campaign belongs to an offer or appeal: the courtesy rule "not the same offer again
    # within N days" then holds for a survey or charity appeal run again by another campaign.
    offer_id = offers.campaign_offer(spec.purpose, spec.offer_id, spec.reason, spec.languages)
    details = {lang: text.strip() for lang, text in (spec.details or {}).items()
               if lang in spec.languages and text.strip()}
    campaign = Campaign(
        name=spec.name, purpose=spec.purpose, offer_id=offer_id, flow=spec.flow, languages=spec.languages,
        reason=spec.reason, details=details, caller_id=spec.caller_id, callback_number=spec.callback_number,
        calling_days=spec.calling_days, calling_start=spec.calling_start, calling_end=spec.calling_end,
        cps=spec.cps, max_concurrent=spec.max_concurrent, max_attempts=spec.max_attempts,
        retry_busy_minutes=spec.retry_busy_minutes, retry_no_answer_minutes=spec.retry_no_answer_minutes,
        machine_policy=spec.machine_policy, amd_async=spec.amd_async, ring_timeout=spec.ring_timeout,
        status="draft", claim_seq=0, created_by=created_by, created_at=at, updated_at=at,
    )
    session.add(campaign)
    session.flush()
    session.add(Pacer(key=pacer_key(campaign.id), next_us=0))
    session.flush()
    return campaign


def get_campaign(session: Session, ref: str | int) -> Campaign:
    """A campaign by id or name; ValueError when there is none."""
    campaign: Campaign | None = None
    text = str(ref).strip()
    if text.isdigit():
        campaign = session.get(Campaign, int(text))
    if campaign is None:
        campaign = session.scalars(select(Campaign).where(Campaign.name == text)).first()
    if campaign is None:
        raise Invalid("campaign", f"no campaign {text!r}")
    return campaign


def list_campaigns(session: Session, status: str | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.id)
    if status:
        query = query.where(Campaign.status == status)
    return list(session.scalars(query))


# --- contacts ------------------------------------------------------------------------------


@dataclass
class TargetReport:
    added: int = 0
    already: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (line or id, why)


def _target(session: Session, campaign: Campaign, contact: Contact, at: datetime, report: TargetReport) -> None:
    exists = session.scalar(select(CampaignContact.id).where(
        CampaignContact.campaign_id == campaign.id, CampaignContact.contact_id == contact.id))
    if exists is not None:
        report.already += 1
        return
    session.add(CampaignContact(
        campaign_id=campaign.id, contact_id=contact.id, e164=contact.e164, status="queued",
        next_attempt_at=at, attempts_made=0, created_at=at, updated_at=at,
    ))
    report.added += 1


def _check_open(campaign: Campaign) -> None:
    if campaign.status not in OPEN:
        raise Invalid("status", f"the campaign is {campaign.status}; contacts can no longer be added")


def add_contacts(session: Session, campaign: Campaign, contact_ids: Iterable[int], *, at: datetime) -> TargetReport:
    """Target existing contacts by id; unknown or erased ids are reported, the rest added."""
    _check_open(campaign)
    report = TargetReport()
    for contact_id in contact_ids:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.erased_at is not None:
            report.errors.append((str(contact_id), Reason("no_such_contact", "no such contact", id=str(contact_id))))
            continue
        if contact.simulated:
            report.errors.append((str(contact_id), Reason(
                "contact_simulated", "contact known only from simulated calls: never called", id=str(contact_id))))
            continue
        _target(session, campaign, contact, at, report)
    session.flush()
    return report


def _line(line: int) -> str:
    return Reason("line_ref", f"line {line}", line=str(line))


def add_numbers_csv(
    session: Session,
    campaign: Campaign,
    text: str,
    *,
    at: datetime,
    recorded_by: str,
    source: str | None = None,
    default_region: str | None = None,
) -> TargetReport:
    """Import a contacts CSV through consent's importer and target every row it accepted.

    A file with only a `number` column is accepted when `source` says where the numbers come
    from (the importer refuses scraped or directory sources). Bad lines are reported by line.
    """
    _check_open(campaign)
    text = _with_source(text, source)
    result = importer.import_contacts_text(session, text, at=at, recorded_by=recorded_by,
                                           default_region=default_region)
    report = TargetReport(errors=[(_line(line), why) for line, why in result.errors])
    failed = {line for line, _ in result.errors}
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lstrip("\ufeff").lower() for h in next(reader)]
    for row in reader:
        line = reader.line_num
        if line in failed or not any(c.strip() for c in row):
            continue
        values = dict(zip(header, (c.strip() for c in row)))
        region = (values.get("country") or default_region or "").upper() or None
        try:
            contact = find_by_number(session, phone.parse(values.get("number", ""), region).e164)
        except phone.InvalidNumber as exc:  # already reported by the importer; be safe anyway
            report.errors.append((_line(line), reason_of(exc)))
            continue
        if contact is not None:
            _target(session, campaign, contact, at, report)
    session.flush()
    return report


def _with_source(text: str, source: str | None) -> str:
    """Add a `source` column to a CSV that has none, when the operator named one."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise Invalid("csv", "the file is empty (expected a header row with at least `number`)")
    header = [h.strip().lstrip("\ufeff").lower() for h in rows[0]]
    if "source" in header:
        return text
    if not source:
        raise Invalid("source", "the CSV has no source column; say where the numbers come from")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*rows[0], "source"])
    for row in rows[1:]:
        writer.writerow([*row, source] if any(c.strip() for c in row) else row)
    return out.getvalue()


# --- status --------------------------------------------------------------------------------


def _set_status(campaign: Campaign, event: str, at: datetime, reason: str | None) -> None:
    campaign.status = transition(campaign.status, event)
    campaign.status_reason = reason
    campaign.updated_at = at
    if campaign.status == "running" and campaign.started_at is None:
        campaign.started_at = at
    if campaign.status in FINAL:
        campaign.finished_at = at


def start(session: Session, campaign: Campaign, *, at: datetime, reason: str | None = None) -> Campaign:
    targeted = session.scalar(select(func.count()).where(CampaignContact.campaign_id == campaign.id))
    if campaign.status == "draft" and not targeted:
        raise Invalid("contacts", "the campaign targets nobody yet; add contacts first")
    _set_status(campaign, "start", at, reason)
    session.flush()
    return campaign


def resume(session: Session, campaign: Campaign, *, at: datetime, reason: str | None = None) -> Campaign:
    _set_status(campaign, "resume", at, reason)
    session.flush()
    return campaign


def pause(session: Session, campaign: Campaign, *, at: datetime, reason: str | None = None) -> Campaign:
    """Pause: nothing more is dialled, including contacts a dialer claimed but has not dialled."""
    _set_status(campaign, "pause", at, reason)
    _release_claims(session, campaign.id, at)
    session.flush()
    return campaign


def stop(session: Session, campaign: Campaign, *, at: datetime, reason: str | None = None) -> Campaign:
    """Stop for good: every contact not in a call is cancelled; calls under way finish."""
    _set_status(campaign, "stop", at, reason)
    session.execute(
        update(CampaignContact)
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.status.in_(("queued", "claimed")))
        .values(status="cancelled", disposition="cancelled", claimed_by=None, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return campaign


def _release_claims(session: Session, campaign_id: int, at: datetime) -> None:
    # The dialer moves claimed -> dialing only while the campaign runs and its token still
    # holds (a conditional UPDATE), so taking the claim back here is enough to stop it.
    session.execute(
        update(CampaignContact)
        .where(CampaignContact.campaign_id == campaign_id, CampaignContact.status == "claimed")
        .values(status="queued", claimed_by=None, claimed_at=None, updated_at=at)
        .execution_options(synchronize_session=False)
    )


def cancel_number(session: Session, e164: str, *, at: datetime, disposition: str = "opted-out") -> int:
    """Cancel every queued, claimed or about-to-be-dialled contact row for this number in every
    campaign (a dialer re-checks its row right before the call); returns how many."""
    result = session.execute(
        update(CampaignContact)
        .where(CampaignContact.e164 == e164, CampaignContact.status.in_(("queued", "claimed", "dialing")))
        .values(status="cancelled", disposition=disposition, claimed_by=None, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return affected(result)


# --- stats ---------------------------------------------------------------------------------


def abandonment(session: Session, campaign_id: int, *, since: datetime | None = None) -> tuple[int, int]:
    """(abandoned, live) calls: live = answered by a person (or AMD unsure); abandoned = of those,
    the ones where no opener followed (Ofcom counts them against the 3% limit)."""
    query = select(CampaignAttempt.disposition, func.count()).where(
        CampaignAttempt.campaign_id == campaign_id, CampaignAttempt.disposition.in_(LIVE_DISPOSITIONS)
    )
    if since is not None:
        query = query.where(CampaignAttempt.answered_at >= since)
    counts = dict(session.execute(query.group_by(CampaignAttempt.disposition)).all())
    live = sum(counts.values())
    return int(counts.get("abandoned", 0)), int(live)


def stats(session: Session, campaign: Campaign, *, at: datetime) -> dict[str, Any]:
    contacts = dict(session.execute(
        select(CampaignContact.status, func.count()).where(CampaignContact.campaign_id == campaign.id)
        .group_by(CampaignContact.status)).all())
    dispositions = dict(session.execute(
        select(CampaignAttempt.disposition, func.count()).where(CampaignAttempt.campaign_id == campaign.id)
        .group_by(CampaignAttempt.disposition)).all())
    dialled = session.scalar(select(func.count()).where(
        CampaignAttempt.campaign_id == campaign.id, CampaignAttempt.dialled_at.is_not(None))) or 0
    abandoned, live = abandonment(session, campaign.id)
    abandoned_24h, live_24h = abandonment(session, campaign.id, since=at - timedelta(hours=24))
    abandoned_30d, live_30d = abandonment(session, campaign.id, since=at - timedelta(days=30))
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "status_reason": campaign.status_reason,
        "purpose": campaign.purpose,
        "contacts": {k: int(v) for k, v in contacts.items()},
        "attempts": {(k or "pending"): int(v) for k, v in dispositions.items()},
        "dialled": int(dialled),
        "live_answered": live,
        "abandoned": abandoned,
        "abandonment_rate": rate(abandoned, live),
        # Ofcom (GB) counts per 24 hours, the FCC (US) per 30 days; both cap it at 3%.
        "abandonment_rate_24h": rate(abandoned_24h, live_24h),
        "abandonment_rate_30d": rate(abandoned_30d, live_30d),
    }


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
