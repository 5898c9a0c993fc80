"""The campaign dialer: an APScheduler job that dials due contacts of running campaigns.

Per tick and campaign:
1. claim: one short transaction first bumps the campaign's `claim_seq` (serialising claims per
   campaign across processes), counts calls under way against `max_concurrent`, then moves due
   rows queued -> claimed with a conditional UPDATE carrying this dialer's token (plus FOR
   UPDATE SKIP LOCKED on PostgreSQL). A row is only ever claimed by one dialer.
2. per claimed row: the campaign's own hours in the callee's zone; a pacing slot from the DB
   (campaign CPS and account CPS); wait for the slot; then claimed -> dialing, again
   conditional on the token and on the campaign still running, so pause/stop/opt-out win over
   a claim that has not been dialled yet.
3. consent.check_call immediately before the call (stored decision); refused -> attempt with
   rule and reason, rescheduled at next_allowed_at when only a window/courtesy rule said no.
4. place the call through the gateway and record it (our attempt + consent's history); Twilio
   errors are handled by kind (invalid, blocked, rate limited/unavailable, ambiguous).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from app import scheduler
from app.campaigns import hours, pacing
from app.campaigns.callkind import campaign_call_kind
from app.campaigns.models import Campaign, CampaignAttempt, CampaignContact
from app.campaigns.service import cancel_number, pacer_key
from app.clock import Clock
from app.config import Settings
from app.consent import check_call, record_attempt
from app.consent.models import Contact
from app.db import affected, get_engine, session_scope
from app.i18n import COUNTRY_LANGUAGE
from app.phone import mask
from app.telephony import (
    AmbiguousRequestError,
    AuthenticationError,
    BlockedNumberError,
    InvalidNumberError,
    RateLimitedError,
    TelephonyError,
    TwilioUnavailableError,
)

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# A claim not dialled within this time belonged to a dialer that died: give it back.
STALE_CLAIM = timedelta(minutes=2)
# A row left in `dialing` this long may or may not have rung: never redial it blindly.
STALE_DIALING = timedelta(minutes=10)
# A placed call with no final status after this long: ask Twilio (status callbacks get lost).
STALE_CALL = timedelta(minutes=30)
RECONCILE_BATCH = 10
RECHECK_EVERY = timedelta(minutes=5)
# A slot "now" may be this far ahead (clock resolution); a dialer waits at most this many ticks
# for a slot before giving the row back.
SLOT_GRACE = timedelta(milliseconds=2)
SLOT_PATIENCE_TICKS = 5
# Slots are spaced 2% wider than 1/CPS: a thread wakes up a few ms late, and without the margin
# two calls could land closer than 1/CPS (CPS + 1 calls in one second).
PACING_MARGIN = 1.02
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
        self.sleep = sleep
        self.gateway = gateway or app.extensions["cortese.gateway"]
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tick_seconds = tick_seconds
        self.settings: Settings = app.extensions["cortese.settings"]
        self.clock: Clock = app.extensions["cortese.clock"]
        self.engine = get_engine(app)
        # CallSid -> when to ask Twilio again about a long call (per process; a restart only
        # means one early look).
        self._next_check: dict[str, datetime] = {}

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
            if outcome == "no-slot":
                report.released += self._release(claimed[index:])
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
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            claimed = []
            for row_id in session.scalars(query).all():
                done = session.execute(
                    update(CampaignContact).where(CampaignContact.id == row_id, CampaignContact.status == "queued")
                    .values(status="claimed", claimed_by=self.worker, claimed_at=now, updated_at=now)
                )
                if affected(done) == 1:
                    claimed.append(row_id)
            return claimed

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

    def _take(self, session: Session, row_id: int, now: datetime) -> bool:
        """claimed -> dialing, only with our token and while the campaign still runs."""
        running = exists().where(Campaign.id == CampaignContact.campaign_id, Campaign.status == "running")
        result = session.execute(
            update(CampaignContact)
            .where(CampaignContact.id == row_id, CampaignContact.status == "claimed",
                   CampaignContact.claimed_by == self.worker, running)
            .values(status="dialing", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return affected(result) == 1

    # --- one call --------------------------------------------------------------------------

    def dial(self, row_id: int) -> str:
        """Dial one claimed row. Returns dialled | refused | later | errors | lost | no-slot."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            row = session.get(CampaignContact, row_id)
            if row is None or row.status != "claimed" or row.claimed_by != self.worker:
                return "lost"
            campaign = session.get(Campaign, row.campaign_id)
            contact = session.get(Contact, row.contact_id)
            assert campaign is not None and contact is not None
            zones = contact.time_zones or ([contact.time_zone] if contact.time_zone else [])
            if not hours.inside(now, zones, campaign.calling_days, campaign.calling_start, campaign.calling_end):
                opening = hours.next_opening(now, zones, campaign.calling_days, campaign.calling_start,
                                             campaign.calling_end)
                self._requeue(row, opening or now + timedelta(days=1), now)
                return "later"
            rates = {pacer_key(campaign.id): campaign.cps / PACING_MARGIN,
                     pacing.ACCOUNT_KEY: self.settings.campaign_account_cps / PACING_MARGIN}
        if pacing.next_free(self.engine, list(rates)) >= now + timedelta(seconds=self.tick_seconds):
            return "no-slot"  # every slot of this tick is taken: leave the row to the next tick
        prepared = self._consent(row_id)
        if isinstance(prepared, str):
            return prepared
        attempt_id, call_args = prepared
        if not self._wait_for_slot(rates, row_id, attempt_id):
            return "lost"
        return self._place(row_id, attempt_id, call_args)

    def _consent(self, row_id: int) -> str | tuple[int, dict[str, Any]]:
        """claimed -> dialing, then consent.check_call; (attempt id, call arguments) when allowed."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            if not self._take(session, row_id, now):
                return "lost"  # paused, stopped, opted out or taken back since the claim
        with session_scope(self.app) as session:
            row = session.get(CampaignContact, row_id)
            assert row is not None
            campaign = session.get(Campaign, row.campaign_id)
            contact = session.get(Contact, row.contact_id)
            assert campaign is not None and contact is not None
            decision = check_call(session, contact, purpose=campaign.purpose, offer_id=campaign.offer_id, at=now,
                                  campaign_id=campaign.id, settings=self.settings,
                                  automated=campaign_call_kind(self.app, campaign).automated)
            attempt = CampaignAttempt(
                campaign_id=campaign.id, campaign_contact_id=row.id, number=row.attempts_made + 1,
                e164=row.e164, status="dialing", decision_id=decision.decision_id, rule_id=decision.rule_id,
                reason=decision.reason, language=self._language(campaign, contact), answers={},
                worker=self.worker, created_at=now,
            )
            session.add(attempt)
            if not decision.allowed:
                self._refused(row, attempt, decision.rule_id, decision.next_allowed_at, now)
                return "refused"
            session.flush()
            return attempt.id, self._call_args(campaign, attempt, row.e164)

    def _wait_for_slot(self, rates: dict[str, float], row_id: int, attempt_id: int) -> bool:
        """Wait for the next free pacing slot, make sure the call is still wanted (no pause, stop
        or opt-out meanwhile), then take the slot at this very moment: the slot is the last
        database write before the call, so the calls themselves stay 1/CPS apart whatever the
        consent check cost. False: do not call (the row and attempt are settled)."""
        deadline = self.clock.now() + timedelta(seconds=self.tick_seconds * SLOT_PATIENCE_TICKS)
        keys = list(rates)
        while True:
            wait = (pacing.next_free(self.engine, keys) - self.clock.now()).total_seconds()
            if wait > 0:
                self.sleep(wait)
            if not self._still_wanted(row_id, attempt_id):
                return False
            now = self.clock.now()
            if pacing.reserve(self.engine, rates, now=now, horizon=SLOT_GRACE) is not None:
                return True
            if now >= deadline:  # other dialers kept winning: give the row back for later
                return self._not_dialled(row_id, attempt_id, "no pacing slot came free in time")

    def _still_wanted(self, row_id: int, attempt_id: int) -> bool:
        """Still dialing (no opt-out) and the campaign still running (no pause, no stop)?"""
        with session_scope(self.app) as session:
            row = session.get(CampaignContact, row_id)
            campaign = session.get(Campaign, row.campaign_id) if row else None
            assert row is not None and campaign is not None
            if row.status == "dialing" and campaign.status == "running":
                return True
            status, disposition = campaign.status, row.disposition
        reason = (f"not dialled: the campaign is {status}" if status != "running"
                  else f"not dialled: {disposition or 'the contact was taken off the list'}")
        return self._not_dialled(row_id, attempt_id, reason)

    def _not_dialled(self, row_id: int, attempt_id: int, reason: str) -> bool:
        """Settle an attempt that consent allowed but that was never dialled; always False."""
        now = self.clock.now()
        with session_scope(self.app) as session:
            row = session.get(CampaignContact, row_id)
            attempt = session.get(CampaignAttempt, attempt_id)
            campaign = session.get(Campaign, row.campaign_id) if row else None
            assert row is not None and attempt is not None and campaign is not None
            attempt.status, attempt.disposition, attempt.ended_at, attempt.reason = "cancelled", "cancelled", now, reason
            if row.status == "dialing":
                if campaign.status in ("running", "paused"):
                    self._requeue(row, now, now)  # paused: waits for resume; running: next tick
                else:
                    self._finish_row(row, "cancelled", now)
                    row.status = "cancelled"
        return False

    def _refused(self, row: CampaignContact, attempt: CampaignAttempt, rule_id: str,
                 next_allowed_at: datetime | None, now: datetime) -> None:
        attempt.status, attempt.disposition, attempt.ended_at = "refused", "refused", now
        if next_allowed_at is not None and is_temporary(rule_id):
            self._requeue(row, next_allowed_at, now)
        else:
            self._finish_row(row, "refused", now)
        log.info("campaign %s: consent refused %s (%s)", row.campaign_id, mask(row.e164), rule_id)

    def _call_args(self, campaign: Campaign, attempt: CampaignAttempt, to: str) -> dict[str, Any]:
        base = self.settings.public_base_url
        return {
            "to": to,
            "url": f"{base}/voice/outbound?attempt={attempt.id}",
            "status_callback": f"{base}/voice/status",
            "from_": campaign.caller_id or None,
            # Leaving a message needs the beep; hanging up only needs to know it is a machine.
            "machine_detection": "DetectMessageEnd" if campaign.machine_policy == "message" else "Enable",
            "async_amd": bool(campaign.amd_async),
            "amd_status_callback": f"{base}/voice/amd?attempt={attempt.id}" if campaign.amd_async else None,
            "ring_timeout": campaign.ring_timeout,
        }

    def _place(self, row_id: int, attempt_id: int, call_args: dict[str, Any]) -> str:
        try:
            info = self.gateway.place_call(**call_args)
        except TelephonyError as exc:
            return self._failed_to_place(row_id, attempt_id, exc)
        now = self.clock.now()
        with session_scope(self.app) as session:
            attempt = session.get(CampaignAttempt, attempt_id)
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
        return "dialled"

    def _failed_to_place(self, row_id: int, attempt_id: int, exc: TelephonyError) -> str:
        now = self.clock.now()
        with session_scope(self.app) as session:
            attempt = session.get(CampaignAttempt, attempt_id)
            row = session.get(CampaignContact, row_id)
            assert attempt is not None and row is not None
            campaign = session.get(Campaign, row.campaign_id)
            assert campaign is not None
            attempt.status, attempt.error_code, attempt.ended_at = "error", exc.code, now
            attempt.reason = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("campaign %s: call to %s not placed: %s (code %s)", campaign.id, mask(row.e164),
                        type(exc).__name__, exc.code)
            if isinstance(exc, InvalidNumberError):
                attempt.disposition = "invalid-number"
                self._finish_row(row, "invalid-number", now)
            elif isinstance(exc, BlockedNumberError):
                attempt.disposition = "blocked"
                self._finish_row(row, "blocked", now)
                cancel_number(session, row.e164, at=now, disposition="blocked")
            elif isinstance(exc, (RateLimitedError, TwilioUnavailableError)):
                # Not the number's fault: give the row back and slow the whole account down.
                until = now + timedelta(seconds=self.settings.campaign_backoff_seconds)
                self._requeue(row, until, now)
                pacing.hold(self.engine, pacing.ACCOUNT_KEY, until)
            elif isinstance(exc, AmbiguousRequestError):
                # The call may exist: a blind retry could ring the person twice.
                attempt.disposition = "unknown"
                consent_row = record_attempt(session, row.e164, at=now, purpose=campaign.purpose,
                                             campaign_id=campaign.id, offer_id=campaign.offer_id,
                                             decision_id=attempt.decision_id, outcome="unknown")
                attempt.consent_attempt_id = consent_row.id
                row.attempts_made += 1
                self._finish_row(row, "unknown", now)
            elif isinstance(exc, AuthenticationError):
                # Configuration, not the callee: stop dialling until an operator fixes it.
                self._requeue(row, now, now)
                if campaign.status == "running":
                    campaign.status, campaign.updated_at = "paused", now
                    campaign.status_reason = f"Twilio rejected the credentials (code {exc.code}); fix and resume"
            else:
                attempt.disposition = "failed"
                self._finish_row(row, "failed", now)
        return "errors"

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _requeue(row: CampaignContact, at: datetime, now: datetime) -> None:
        row.status, row.next_attempt_at, row.claimed_by, row.claimed_at, row.updated_at = "queued", at, None, None, now

    @staticmethod
    def _finish_row(row: CampaignContact, disposition: str, now: datetime) -> None:
        row.status, row.disposition, row.claimed_by, row.updated_at = "done", disposition, None, now

    def _language(self, campaign: Campaign, contact: Contact) -> str:
        """The contact's own language, else their country's, else the campaign's first."""
        region = (contact.region or "").upper()
        country = COUNTRY_LANGUAGE.get(region) or ("en" if region in ENGLISH_REGIONS else None)
        for candidate in (contact.language, country):
            if candidate in campaign.languages:
                return str(candidate)
        return campaign.languages[0]

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
        self._recover_rows()
        self.reconcile()

    def reconcile(self) -> int:
        """Fetch calls placed long ago without a final status and apply what Twilio says, as
        if the status callback had arrived (so every receiver, consent's too, sees it)."""
        from app import calls, signals
        from app.models import TERMINAL_STATUSES

        now = self.clock.now()
        with session_scope(self.app) as session:
            stale: list[str] = [sid for sid in session.scalars(
                select(CampaignAttempt.call_sid).where(
                    CampaignAttempt.status == "placed", CampaignAttempt.ended_at.is_(None),
                    CampaignAttempt.call_sid.is_not(None), CampaignAttempt.dialled_at < now - STALE_CALL)
                .order_by(CampaignAttempt.dialled_at).limit(500)) if sid]
        stale = [sid for sid in stale if self._next_check.get(sid, now) <= now][:RECONCILE_BATCH]
        settled = 0
        for sid in stale:
            self._next_check[sid] = now + RECHECK_EVERY
            try:
                info = self.gateway.fetch_call(sid)
            except TelephonyError as exc:
                log.warning("cannot fetch call %s to reconcile it: %s", sid, exc)
                continue
            if info.status not in TERMINAL_STATUSES:
                continue
            params = {"CallSid": sid, "CallStatus": info.status, "Direction": info.direction,
                      "From": info.from_, "To": info.to, "AnsweredBy": str(info.raw.get("answered_by") or ""),
                      "CallDuration": str(info.raw.get("duration") or "")}
            with session_scope(self.app) as session:
                call = calls.record_status_callback(session, {k: v for k, v in params.items() if v}, now)
                signals.call_status_changed.send(self.app, session=session, call=call, params=params)
            self._next_check.pop(sid, None)
            settled += 1
        return settled

    def _recover_rows(self) -> None:
        now = self.clock.now()
        with session_scope(self.app) as session:
            session.execute(
                update(CampaignContact)
                .where(CampaignContact.status == "claimed", CampaignContact.claimed_at < now - STALE_CLAIM)
                .values(status="queued", claimed_by=None, claimed_at=None, updated_at=now)
            )
            stuck = list(session.scalars(select(CampaignContact).where(
                CampaignContact.status == "dialing", CampaignContact.updated_at < now - STALE_DIALING)))
            for row in stuck:
                for attempt in session.scalars(select(CampaignAttempt).where(
                        CampaignAttempt.campaign_contact_id == row.id, CampaignAttempt.status == "dialing")):
                    attempt.status, attempt.disposition, attempt.ended_at = "error", "unknown", now
                    attempt.reason = "the dialer stopped while placing this call; it may have rung once"
                self._finish_row(row, "unknown", now)


def _catch_up(session: Session, attempt: CampaignAttempt, now: datetime) -> None:
    """Apply a final status that arrived before we stored the CallSid (fast failures)."""
    from app.calls import get_call
    from app.campaigns.dispositions import apply_call_status

    call = get_call(session, attempt.call_sid or "")
    if call is not None:
        apply_call_status(session, attempt, call, {}, now)


def dialer_for(app: Flask) -> Dialer:
    dialer = app.extensions.get("cortese.campaigns.dialer")
    if dialer is None:
        dialer = app.extensions["cortese.campaigns.dialer"] = Dialer(app)
    return dialer


@scheduler.register_job("campaigns.dialer", seconds=TICK_SECONDS)
def dialer_job(app: Flask) -> None:
    dialer_for(app).tick()
