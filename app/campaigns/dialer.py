"""Campaigns, the adapter: an APScheduler job that dials due contacts of running campaigns
through the outbound pipeline (app/outbound), which paces, holds the number, asks consent,
marks, dials and classifies Twilio's answers. What is particular to campaigns:

1. claim: one short transaction first bumps the campaign's `claim_seq` (serialising claims per
   campaign across processes), counts calls under way against `max_concurrent`, then moves due
   rows queued -> claimed with `outbound.take_rows` carrying this dialer's token. A row is
   only ever claimed by one dialer.
2. per claimed row (`CampaignKind`): the campaign's own hours in the callee's zone (else the
   row waits for the next opening); pacing keys: the campaign's CPS besides the account's;
   claimed -> dialing conditional on the token and on the campaign still running, with the
   consent decision and the attempt row; refused -> attempt with rule and reason, rescheduled
   at next_allowed_at when only a window/courtesy rule said no. After the pacing wait, a pause,
   stop or opt-out meanwhile still wins (the attempt is cancelled, nothing is dialled).
3. Twilio's answers: invalid -> done; blocked -> done in every campaign; throttled -> back in
   the queue for CAMPAIGN_BACKOFF_SECONDS; ambiguous -> unknown (never redialled; consent
   counts the attempt); credentials -> the campaign pauses.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from app import scheduler
from app.calls import get_call
from app.campaigns import hours
from app.campaigns.callkind import campaign_call_kind
from app.campaigns.dispositions import apply_call_status
from app.campaigns.models import Campaign, CampaignAttempt, CampaignContact
from app.campaigns.service import cancel_number, pacer_key
from app.clock import Clock
from app.config import Settings
from app.consent import check_call, record_attempt
from app.consent.models import Contact
from app.db import affected, session_scope
from app.i18n import COUNTRY_LANGUAGE
from app.outbound import Dial, Failure, Outcome, Patience, Pipeline, Target, take_rows
from app.phone import mask
from app.telephony import CallInfo, TelephonyError

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# A claim not dialled within this time belonged to a dialer that died: give it back.
STALE_CLAIM = timedelta(minutes=2)
# A row left in `dialing` this long may or may not have rung: never redial it blindly.
STALE_DIALING = timedelta(minutes=10)
# A placed call with no final status after this long: ask Twilio (status callbacks get lost).
STALE_CALL = timedelta(minutes=30)
RECONCILE_BATCH = 10
# A dialer waits at most this many ticks for a pacing slot before giving the row back.
SLOT_PATIENCE_TICKS = 5
LIVE_STATES = ("claimed", "dialing", "in-call")
# Countries where English is the language to open with (Italian and Dutch ones: app.i18n).
ENGLISH_REGIONS = frozenset({"GB", "IE", "US", "CA", "AU", "NZ", "MT", "GG", "JE", "IM", "GI"})
# Refusals that only say "not now": the contact is rescheduled at next_allowed_at.
TEMPORARY_RULES = ("window", "holiday", "courtesy.")


def is_temporary(rule_id: str) -> bool:
    return any(rule_id == r or (r.endswith(".") and rule_id.startswith(r)) for r in TEMPORARY_RULES)


@dataclass
class TickReport:
    claimed: int = 0
    dialled: int = 0
    refused: int = 0
    later: int = 0
    errors: int = 0
    released: int = 0
    completed: list[int] = field(default_factory=list)


class Dialer:
    """One per process; `worker` is this dialer's claim token."""

    def __init__(self, app: Flask, *, sleep: Callable[[float], None] = time.sleep,
                 gateway: Any | None = None, worker: str | None = None,
                 tick_seconds: float = TICK_SECONDS) -> None:
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tick_seconds = tick_seconds
        self.settings: Settings = app.extensions["cortese.settings"]
        self.clock: Clock = app.extensions["cortese.clock"]
        self.pipeline: Pipeline[int] = Pipeline(app, gateway=gateway, clock=self.clock, sleep=sleep,
                                                worker=self.worker)

    # --- the tick --------------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        self.recover()
        with session_scope(self.app) as session:
            running = list(session.scalars(select(Campaign.id).where(Campaign.status == "running")
                                           .order_by(Campaign.id)))
        for campaign_id in running:
            self._run_campaign(campaign_id, report)
        return report

    def _run_campaign(self, campaign_id: int, report: TickReport) -> None:
        claimed = self.claim(campaign_id)
        report.claimed += len(claimed)
        if not claimed:
            if self._maybe_complete(campaign_id):
                report.completed.append(campaign_id)
            return
        for index, row_id in enumerate(claimed):
            outcome = self.dial(row_id)
            if outcome == "no-slot":  # this row went back; so do the others, for the next tick
                report.released += 1 + self._release(claimed[index + 1:])
                return
            if outcome in ("dialled", "refused", "later", "errors"):
                setattr(report, outcome, getattr(report, outcome) + 1)

    # --- claiming --------------------------------------------------------------------------

    def claim(self, campaign_id: int) -> list[int]:
        """Claim due contacts of one running campaign for this dialer; returns their row ids."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            locked = session.execute(
                update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "running")
                .values(claim_seq=Campaign.claim_seq + 1)
            )
            if affected(locked) != 1:
                return []
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            live = session.scalar(select(func.count()).where(
                CampaignContact.campaign_id == campaign_id, CampaignContact.status.in_(LIVE_STATES))) or 0
            batch = min(campaign.max_concurrent - live, max(1, math.ceil(campaign.cps * self.tick_seconds)))
            if batch <= 0:
                return []
            query = (select(CampaignContact.id)
                     .where(CampaignContact.campaign_id == campaign_id, CampaignContact.status == "queued",
                            CampaignContact.next_attempt_at <= now)
                     .order_by(CampaignContact.next_attempt_at, CampaignContact.id).limit(batch))
            return take_rows(session, query, CampaignContact, guard=[CampaignContact.status == "queued"],
                             values=dict(status="claimed", claimed_by=self.worker, claimed_at=now, updated_at=now))

    def _release(self, row_ids: list[int]) -> int:
        now = self.clock.now()
        with session_scope(self.app) as session:
            result = session.execute(
                update(CampaignContact)
                .where(CampaignContact.id.in_(row_ids), CampaignContact.status == "claimed",
                       CampaignContact.claimed_by == self.worker)
                .values(status="queued", claimed_by=None, claimed_at=None, updated_at=now)
            )
            return affected(result)

    # --- one call --------------------------------------------------------------------------

    def dial(self, row_id: int) -> str:
        """Dial one claimed row. Returns dialled | refused | later | errors | lost | no-slot."""
        outcome = self.pipeline.dial(CampaignKind(self), row_id)
        return "errors" if outcome is Outcome.FAILED else str(outcome)

    # --- helpers ---------------------------------------------------------------------------

    def _maybe_complete(self, campaign_id: int) -> bool:
        """A running campaign with nobody left to call (or in a call) is completed."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            left = session.scalar(select(func.count()).where(
                CampaignContact.campaign_id == campaign_id,
                CampaignContact.status.in_(("queued", *LIVE_STATES)))) or 0
            if left:
                return False
            done = session.execute(
                update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "running")
                .values(status="completed", finished_at=now, updated_at=now,
                        status_reason="every contact was reached or settled")
            )
            return affected(done) == 1

    def recover(self) -> None:
        """Give back claims of dead dialers; settle rows stuck in `dialing` as unknown; ask
        Twilio about calls whose final status callback never came."""
        self.pipeline.recover(CampaignKind(self))
        self.reconcile()

    def reconcile(self) -> int:
        """Ask Twilio about calls placed long ago without a final status (the pipeline replays
        a final status as if the status callback had arrived, so every receiver sees it)."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            stale: list[str] = [sid for sid in session.scalars(
                select(CampaignAttempt.call_sid).where(
                    CampaignAttempt.status == "placed", CampaignAttempt.ended_at.is_(None),
                    CampaignAttempt.call_sid.is_not(None), CampaignAttempt.dialled_at < now - STALE_CALL)
                .order_by(CampaignAttempt.dialled_at).limit(500)) if sid]
        return len(self.pipeline.ask_twilio(stale, limit=RECONCILE_BATCH))


class CampaignKind:
    """The pipeline's adapter for campaigns: a claimed `campaign_contacts` row calls its e164
    with /voice/outbound?attempt=<id>. The row moves claimed -> dialing together with the
    consent decision and its `campaign_attempts` row: `dialing` is the dial marker (a row left
    there by a dead dialer is settled as unknown, never redialled)."""

    name = "campaign"

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer
        self.settings = dialer.settings
        self.worker = dialer.worker
        tick = timedelta(seconds=dialer.tick_seconds)
        # A slot further than one tick: the row waits for the next tick before consent is asked;
        # once consent said yes, up to SLOT_PATIENCE_TICKS.
        self.patience = Patience(peek=tick, reserve=tick * SLOT_PATIENCE_TICKS)
        self.attempts: dict[int, int] = {}  # row id -> the attempt consent allowed

    def target(self, session: Session, row_id: int, now: datetime) -> Target | Outcome:
        row = session.get(CampaignContact, row_id)
        if row is None or row.status != "claimed" or row.claimed_by != self.worker:
            return Outcome.LOST
        campaign = session.get(Campaign, row.campaign_id)
        contact = session.get(Contact, row.contact_id)
        assert campaign is not None and contact is not None
        zones = contact.time_zones or ([contact.time_zone] if contact.time_zone else [])
        if not hours.inside(now, zones, campaign.calling_days, campaign.calling_start, campaign.calling_end):
            opening = hours.next_opening(now, zones, campaign.calling_days, campaign.calling_start,
                                         campaign.calling_end)
            _requeue(row, opening or now + timedelta(days=1), now)
            return Outcome.LATER
        return Target(e164=row.e164, label=f"campaign {campaign.id} contact {row.id}",
                      rates={pacer_key(campaign.id): campaign.cps})

    def consent(self, session: Session, row_id: int, target: Target, now: datetime) -> Outcome | None:
        """claimed -> dialing (only with our token, while the campaign runs), then consent."""
        if not _take(session, row_id, self.worker, now):
            return Outcome.LOST  # paused, stopped, opted out or taken back since the claim
        row = session.get(CampaignContact, row_id)
        assert row is not None
        campaign = session.get(Campaign, row.campaign_id)
        contact = session.get(Contact, row.contact_id)
        assert campaign is not None and contact is not None
        decision = check_call(session, contact, purpose=campaign.purpose, offer_id=campaign.offer_id, at=now,
                              campaign_id=campaign.id, settings=self.settings,
                              automated=campaign_call_kind(self.dialer.app, campaign).automated)
        attempt = CampaignAttempt(
            campaign_id=campaign.id, campaign_contact_id=row.id, number=row.attempts_made + 1,
            e164=row.e164, status="dialing", decision_id=decision.decision_id, rule_id=decision.rule_id,
            reason=decision.reason, language=_language(campaign, contact), answers={},
            worker=self.worker, created_at=now,
        )
        session.add(attempt)
        if not decision.allowed:
            _refused(row, attempt, decision.rule_id, decision.next_allowed_at, now)
            return Outcome.REFUSED
        session.flush()
        self.attempts[row_id] = attempt.id
        return None

    def mark(self, session: Session, row_id: int, now: datetime) -> Dial | None:
        """Still dialing (no opt-out) and the campaign still running (no pause, no stop)?"""
        row = session.get(CampaignContact, row_id)
        campaign = session.get(Campaign, row.campaign_id) if row else None
        attempt = session.get(CampaignAttempt, self.attempts[row_id])
        assert row is not None and campaign is not None and attempt is not None
        if row.status == "dialing" and campaign.status == "running":
            contact = session.get(Contact, row.contact_id)
            return _call(self.settings, campaign, attempt, row.e164,
                         simulated=bool(contact and contact.simulated))
        reason = (f"not dialled: the campaign is {campaign.status}" if campaign.status != "running"
                  else f"not dialled: {row.disposition or 'the contact was taken off the list'}")
        _not_dialled(row, attempt, campaign, reason, now)
        return None

    def placed(self, session: Session, row_id: int, info: CallInfo, now: datetime) -> bool:
        attempt = session.get(CampaignAttempt, self.attempts.pop(row_id))
        row = session.get(CampaignContact, row_id)
        campaign = session.get(Campaign, row.campaign_id) if row else None
        assert attempt is not None and row is not None and campaign is not None
        attempt.call_sid = attempt.call_sid or info.sid
        attempt.status = "placed" if attempt.status == "dialing" else attempt.status
        attempt.dialled_at = now
        consent_row = record_attempt(session, row.e164, at=now, purpose=campaign.purpose,
                                     campaign_id=campaign.id, offer_id=campaign.offer_id,
                                     call_sid=info.sid, decision_id=attempt.decision_id)
        attempt.consent_attempt_id = consent_row.id
        row.attempts_made += 1
        if row.status == "dialing":
            row.status, row.updated_at = "in-call", now
        _catch_up(session, attempt, now)
        return False  # an opt-out meanwhile keeps the call's outcome (dispositions settles it)

    def failed(self, session: Session, row_id: int, failure: Failure, exc: TelephonyError, now: datetime) -> None:
        attempt = session.get(CampaignAttempt, self.attempts.pop(row_id))
        row = session.get(CampaignContact, row_id)
        assert attempt is not None and row is not None
        campaign = session.get(Campaign, row.campaign_id)
        assert campaign is not None
        attempt.status, attempt.error_code, attempt.ended_at = "error", exc.code, now
        attempt.reason = f"{type(exc).__name__}: {exc}"[:500]
        if failure is Failure.INVALID:
            attempt.disposition = "invalid-number"
            _finish_row(row, "invalid-number", now)
        elif failure is Failure.BLOCKED:
            attempt.disposition = "blocked"
            _finish_row(row, "blocked", now)
            cancel_number(session, row.e164, at=now, disposition="blocked")
        elif failure is Failure.THROTTLED:
            # Not the number's fault: the pipeline slowed the account down; the row waits as long.
            _requeue(row, now + timedelta(seconds=self.settings.campaign_backoff_seconds), now)
        elif failure is Failure.AMBIGUOUS:
            # The call may exist: a blind retry could ring the person twice.
            attempt.disposition = "unknown"
            consent_row = record_attempt(session, row.e164, at=now, purpose=campaign.purpose,
                                         campaign_id=campaign.id, offer_id=campaign.offer_id,
                                         decision_id=attempt.decision_id, outcome="unknown")
            attempt.consent_attempt_id = consent_row.id
            row.attempts_made += 1
            _finish_row(row, "unknown", now)
        elif failure is Failure.CREDENTIALS:
            # Configuration, not the callee: stop dialling until an operator fixes it.
            _requeue(row, now, now)
            if campaign.status == "running":
                campaign.status, campaign.updated_at = "paused", now
                campaign.status_reason = f"Twilio rejected the credentials (code {exc.code}); fix and resume"
        else:
            attempt.disposition = "failed"
            _finish_row(row, "failed", now)

    def give_back(self, session: Session, row_id: int, reason: str, now: datetime, *,
                  retry_at: datetime | None, decided: bool) -> None:
        row = session.get(CampaignContact, row_id)
        assert row is not None
        attempt_id = self.attempts.pop(row_id, None)
        if decided and attempt_id is not None:
            attempt = session.get(CampaignAttempt, attempt_id)
            campaign = session.get(Campaign, row.campaign_id)
            assert attempt is not None and campaign is not None
            _not_dialled(row, attempt, campaign, f"not dialled: {reason}", now, retry_at=retry_at)
        elif row.status == "claimed" and row.claimed_by == self.worker:
            _requeue(row, retry_at or row.next_attempt_at, now)


    def expired(self, now: datetime) -> Iterator[tuple[int, bool]]:
        """Rows of dialers that died: claimed but not taken on (STALE_CLAIM: no marker), or
        left in `dialing` (STALE_DIALING: the marker, a call may exist). Taken over first."""
        claimed = [CampaignContact.status == "claimed", CampaignContact.claimed_at < now - STALE_CLAIM]
        dialing = [CampaignContact.status == "dialing", CampaignContact.updated_at < now - STALE_DIALING]
        with session_scope(self.dialer.app) as session:
            stale = take_rows(session, select(CampaignContact.id).where(*claimed), CampaignContact, guard=claimed,
                              values=dict(claimed_by=self.worker, claimed_at=now, updated_at=now))
            stuck = take_rows(session, select(CampaignContact.id).where(*dialing), CampaignContact, guard=dialing,
                              values=dict(claimed_by=self.worker, updated_at=now))
        yield from ((row_id, False) for row_id in stale)
        yield from ((row_id, True) for row_id in stuck)

    def settle_marked(self, session: Session, row_id: int, now: datetime) -> None:
        row = session.get(CampaignContact, row_id)
        if row is None or row.status != "dialing" or row.claimed_by != self.worker:
            return
        for attempt in session.scalars(select(CampaignAttempt).where(
                CampaignAttempt.campaign_contact_id == row.id, CampaignAttempt.status == "dialing")):
            attempt.status, attempt.disposition, attempt.ended_at = "error", "unknown", now
            attempt.reason = "the dialer stopped while placing this call; it may have rung once"
        _finish_row(row, "unknown", now)


def _take(session: Session, row_id: int, worker: str, now: datetime) -> bool:
    """claimed -> dialing, only with our token and while the campaign still runs."""
    running = exists().where(Campaign.id == CampaignContact.campaign_id, Campaign.status == "running")
    result = session.execute(
        update(CampaignContact)
        .where(CampaignContact.id == row_id, CampaignContact.status == "claimed",
               CampaignContact.claimed_by == worker, running)
        .values(status="dialing", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1


def _not_dialled(row: CampaignContact, attempt: CampaignAttempt, campaign: Campaign, reason: str, now: datetime,
                 *, retry_at: datetime | None = None) -> None:
    """Settle an attempt that consent allowed but that was never dialled."""
    attempt.status, attempt.disposition, attempt.ended_at, attempt.reason = "cancelled", "cancelled", now, reason
    if row.status == "dialing":
        if campaign.status in ("running", "paused"):
            _requeue(row, retry_at or now, now)  # paused: waits for resume; running: next tick
        else:
            _finish_row(row, "cancelled", now)
            row.status = "cancelled"


def _refused(row: CampaignContact, attempt: CampaignAttempt, rule_id: str, next_allowed_at: datetime | None,
             now: datetime) -> None:
    attempt.status, attempt.disposition, attempt.ended_at = "refused", "refused", now
    if next_allowed_at is not None and is_temporary(rule_id):
        _requeue(row, next_allowed_at, now)
    else:
        _finish_row(row, "refused", now)
    log.info("campaign %s: consent refused %s (%s)", row.campaign_id, mask(row.e164), rule_id)


def _call(settings: Settings, campaign: Campaign, attempt: CampaignAttempt, to: str, *,
          simulated: bool) -> Dial:
    base = settings.public_base_url
    return Dial(
        to=to, url=f"{base}/voice/outbound?attempt={attempt.id}", status_callback=f"{base}/voice/status",
        from_=campaign.caller_id or None,
        # Leaving a message needs the beep; hanging up only needs to know it is a machine.
        machine_detection="DetectMessageEnd" if campaign.machine_policy == "message" else "Enable",
        async_amd=bool(campaign.amd_async),
        amd_status_callback=f"{base}/voice/amd?attempt={attempt.id}" if campaign.amd_async else None,
        ring_timeout=campaign.ring_timeout,
        # A contact known only from the softphone: the gateway refuses to dial it on real Twilio.
        simulated=simulated,
    )


def _requeue(row: CampaignContact, at: datetime, now: datetime) -> None:
    row.status, row.next_attempt_at, row.claimed_by, row.claimed_at, row.updated_at = "queued", at, None, None, now


def _finish_row(row: CampaignContact, disposition: str, now: datetime) -> None:
    row.status, row.disposition, row.claimed_by, row.updated_at = "done", disposition, None, now


def _language(campaign: Campaign, contact: Contact) -> str:
    """The contact's own language, else their country's, else the campaign's first."""
    region = (contact.region or "").upper()
    country = COUNTRY_LANGUAGE.get(region) or ("en" if region in ENGLISH_REGIONS else None)
    for candidate in (contact.language, country):
        if candidate in campaign.languages:
            return str(candidate)
    return campaign.languages[0]


def _catch_up(session: Session, attempt: CampaignAttempt, now: datetime) -> None:
    """Apply a final status that arrived before we stored the CallSid (fast failures)."""
    call = get_call(session, attempt.call_sid or "")
    if call is not None:
        apply_call_status(session, attempt, call, {}, now)


def dialer_for(app: Flask) -> Dialer:
    dialer = app.extensions.get("cortese.campaigns.dialer")
    if dialer is None:
        dialer = app.extensions["cortese.campaigns.dialer"] = Dialer(app)
    return dialer


def dialer_job(app: Flask) -> None:
    dialer_for(app).tick()


JOB = scheduler.JobSpec("campaigns.dialer", dialer_job, TICK_SECONDS)
