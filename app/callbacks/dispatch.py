"""Callbacks, the adapter: exactly-once dispatch of due callbacks through app.outbound.

APScheduler only *triggers* `Dispatcher.run_once` every CALLBACK_POLL_SECONDS in every process
that runs a scheduler; the callbacks table decides who dials, and the outbound pipeline
(app/outbound) dials. What is particular to callbacks:

1. **Claim** one due row (`status='scheduled' AND due_at<=now`, most overdue first) with
   `outbound.take_rows`: SELECT ... FOR UPDATE SKIP LOCKED, then a conditional UPDATE to
   `dispatching` with a claim token and a lease (CALLBACK_LEASE_SECONDS).
2. **Consent** is asked with purpose "callback". A calling window or holiday moves the
   callback to the next lawful moment when that is at most CALLBACK_MAX_RESCHEDULE_HOURS late,
   otherwise it is refused. Dispatch never creates a contact: a number without one is
   decided about as an unsaved contact (an erased number stays erased and is refused).
3. **The dial marker** is `dial_started_at`, committed (conditionally on our claim token)
   before the REST request. A row found later in `dispatching` with an expired lease and no
   marker never reached Twilio and is dialled by whoever recovers it; a row *with* the marker
   may have created a call, so recovery looks for evidence (the CallSid linked by a status
   callback or by /voice/callback, or a Call row to that number since the marker) and never
   redials blindly: without evidence it becomes `unknown`.
4. **Twilio's answers**: invalid/blocked number -> failed for good; 429/5xx and other refusals
   -> claim released, due again after a backoff (failed after MAX_DISPATCH_ERRORS); a request
   that may have created a call -> `unknown`.
5. **Reconcile** `unknown` rows: status callbacks (we ask for `initiated`, sent as soon as
   Twilio creates a call) or the answered call's /voice/callback link them to their CallSid.
   After CALLBACK_RECONCILE_MINUTES without any trace the row becomes `failed` with an error
   asking an operator to check Twilio's call log; an operator may `move` it back.

Residual risk, honestly: Twilio has no idempotency key. If a call was created but every
webhook about it was lost (all instances down during the call and for the status callbacks),
a recovered `unknown` row is still never redialled automatically, so the risk we keep is a
*missed* callback an operator must look at, not a double call. The one window where a call can
be doubled is a worker whose lease expired while its REST request was still in flight (lease
CALLBACK_LEASE_SECONDS, default 180 s, is far longer than the gateway's bounded retries).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time as _time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from app import calls as call_records
from app.callbacks import service
from app.callbacks.models import (
    ANSWERED,
    CANCELLED,
    COMPLETED,
    DISPATCHING,
    FAILED,
    MISSED,
    PLACED,
    REFUSED,
    SCHEDULED,
    UNKNOWN,
    Callback,
    CallbackEvent,
)
from app.campaigns.callkind import callback_call_kind
from app.campaigns.models import Campaign
from app.clock import Clock, as_utc
from app.consent import (
    check_call,
    find_by_number,
    finish_attempt,
    outcome_from_twilio,
    record_attempt,
)
from app.consent.contacts import unsaved_contact
from app.consent.models import Contact, ContactAttempt
from app.db import affected, session_scope
from app.models import TERMINAL_STATUSES, Call
from app.outbound import Dial, Failure, Outcome, Patience, Pipeline, Target, take_rows
from app.scheduler import JobSpec
from app.telephony import TelephonyError

log = logging.getLogger(__name__)

JOB_ID = "callbacks.dispatch"
DEFAULT_POLL_SECONDS = 5.0
# After this many consecutive dispatch errors (429/5xx storms, configuration) a callback fails.
MAX_DISPATCH_ERRORS = 6
# Reschedules after the calling window closes on a refusal other than window/holiday are final.
MOVABLE_RULES = ("window", "holiday")
# A placed/answered callback without a final status for this long is checked with Twilio.
STALE_CALL = timedelta(hours=2)
# Longest wait for the account's next calls-per-second slot before a claim is given back (well
# inside the claim's lease, so the claim is still ours when the slot comes).
ACCOUNT_WAIT = timedelta(seconds=10)
# A call to the callee this soon before the marker is not ours (clock skew margin).
EVIDENCE_SLACK = timedelta(seconds=5)


@dataclass
class DispatchReport:
    placed: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    rescheduled: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    reconciled: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


Job = tuple[int, str]  # (callback id, this worker's claim token)


class CallbackKind:
    """The pipeline's adapter for callbacks: a claimed row of `callbacks` (id and claim token)
    calls its e164 with /voice/callback?cb=<id>; `dial_started_at` is the dial marker."""

    name = "callback"
    patience = Patience(peek=ACCOUNT_WAIT, reserve=ACCOUNT_WAIT)

    def __init__(self, dispatcher: Dispatcher, report: DispatchReport) -> None:
        self.dispatcher = dispatcher
        self.settings = dispatcher.settings
        self.worker = dispatcher.worker
        self.report = report

    def target(self, session: Session, job: Job, now: datetime) -> Target | Outcome:
        cb = _owned(session, *job)
        if cb is None:
            self.report.lost.append(job[0])
            return Outcome.LOST
        return Target(e164=cb.e164, label=f"callback {cb.id}")

    def consent(self, session: Session, job: Job, target: Target, now: datetime) -> Outcome | None:
        cb = _owned(session, *job)
        if cb is None:
            self.report.lost.append(job[0])
            return Outcome.LOST
        decision = check_call(session, _contact(session, cb, now), purpose="callback", offer_id=cb.offer_id,
                              at=now, campaign_id=cb.campaign_id, callback_id=cb.id, settings=self.settings,
                              automated=callback_call_kind(self.dispatcher.app).automated,
                              resumes_purpose=_campaign_purpose(session, cb.campaign_id))
        cb.decision_id = decision.decision_id
        if decision.allowed:
            return None
        self._refused(session, cb, decision, now)
        return Outcome.REFUSED

    def mark(self, session: Session, job: Job, now: datetime) -> Dial | None:
        cb_id, token = job
        marked = affected(session.execute(
            update(Callback)
            .where(Callback.id == cb_id, Callback.claim_token == token, Callback.status == DISPATCHING)
            .values(dial_started_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ))
        if marked != 1:
            self.report.lost.append(cb_id)
            return None
        base = self.settings.public_base_url
        e164, simulated = session.execute(select(Callback.e164, Callback.simulated)
                                          .where(Callback.id == cb_id)).one()
        return Dial(to=e164, url=f"{base}/voice/callback?cb={cb_id}", status_callback=f"{base}/voice/status",
                    # Twilio requests the Url only after a machine's greeting ends (a person is
                    # reported as soon as heard), so a voicemail records our whole message.
                    machine_detection="DetectMessageEnd", simulated=bool(simulated))

    def placed(self, session: Session, job: Job, info: Any, now: datetime) -> bool:
        cb_id, token = job
        cb = session.scalars(select(Callback).where(Callback.id == cb_id).with_for_update()).one()
        _ensure_call_row(session, info, cb.e164, cb.language, now)
        if cb.claim_token == token and cb.status == DISPATCHING:
            link_call(session, cb, info.sid, now, actor=self.worker, note="dialled")
        elif cb.call_sid is None:
            cb.call_sid = info.sid
            ensure_attempt(session, cb, info.sid, now)
            log.error("callback %s changed to %s while its call %s was being placed", cb_id, cb.status, info.sid)
        else:
            ensure_attempt(session, cb, info.sid, now)  # linked first by a status callback
        self.report.placed.append(cb_id)
        return cb.status == CANCELLED

    def failed(self, session: Session, job: Job, failure: Failure, exc: TelephonyError, now: datetime) -> None:
        cb = _owned(session, *job)
        if cb is None:
            return
        cb.lease_until = None
        if failure is Failure.AMBIGUOUS:
            cb.last_error = f"dial request unanswered, the call may exist: {exc}"
            if cb.status == DISPATCHING:
                service.transition(session, cb, UNKNOWN, at=now, actor=self.worker, note=cb.last_error)
            self.report.unknown.append(cb.id)
            return
        cb.errors += 1
        cb.last_error = f"twilio {exc.code or exc.status or ''}: {exc}".strip()
        cb.claim_token = None
        cb.dial_started_at = None  # Twilio answered with an error: no call was created
        if failure in (Failure.INVALID, Failure.BLOCKED, Failure.SIMULATED) or cb.errors >= MAX_DISPATCH_ERRORS:
            service.transition(session, cb, FAILED, at=now, actor=self.worker, note=cb.last_error)
            self.report.failed.append(cb.id)
            return
        backoff = timedelta(minutes=min(2 ** (cb.errors - 1), 60))
        cb.due_at = now + backoff
        service.transition(session, cb, SCHEDULED, at=now, actor=self.worker,
                           note=f"{cb.last_error}; retry in {backoff}")
        self.report.released.append(cb.id)

    def give_back(self, session: Session, job: Job, reason: str, now: datetime, *, retry_at: datetime | None,
                  decided: bool) -> None:
        cb = _unclaim(session, *job)
        if cb is not None:
            if retry_at is not None:
                cb.due_at = max(as_utc(cb.due_at), retry_at)
            service.transition(session, cb, SCHEDULED, at=now, actor=self.worker, note=reason)
            self.report.released.append(cb.id)

    def expired(self, now: datetime) -> Iterator[tuple[Job, bool]]:
        """Take over, one at a time, the rows whose lease expired while `dispatching`."""
        d = self.dispatcher
        while True:
            now = d.now()
            token = str(uuid.uuid4())
            with session_scope(d.app) as session:
                candidate = (select(Callback.id).where(Callback.status == DISPATCHING, Callback.lease_until < now)
                             .order_by(Callback.lease_until, Callback.id).limit(1))
                if session.scalars(candidate).first() is None:
                    return
                won = take_rows(session, candidate, Callback,
                                guard=[Callback.status == DISPATCHING, Callback.lease_until < now],
                                values=dict(claimed_by=self.worker, claim_token=token, updated_at=now,
                                            lease_until=now + timedelta(seconds=self.settings.callback_lease_seconds)))
                if not won:
                    continue  # another worker recovered it first
                cb_id = won[0]
                marker = session.scalar(select(Callback.dial_started_at).where(Callback.id == cb_id))
                session.add(CallbackEvent(callback_id=cb_id, at=now, from_status=DISPATCHING,
                                          to_status=DISPATCHING, actor=self.worker,
                                          note="lease expired: recovered" + (" after the dial marker" if marker else "")))
            self.report.recovered.append(cb_id)
            yield (cb_id, token), marker is not None

    def settle_marked(self, session: Session, job: Job, now: datetime) -> None:
        """The dead worker may have created the call: link it when there is evidence, else
        `unknown` (status callbacks may still link it; reconcile_unknown hands it on later)."""
        cb = _owned(session, *job)
        if cb is None:
            return
        sid = cb.call_sid or find_call_evidence(session, cb)
        if sid:
            self.dispatcher._link(session, cb, sid, now, note="recovered: the call exists")
            self.report.reconciled.append(cb.id)
        else:
            cb.lease_until = None
            cb.last_error = "worker stopped after sending the dial request; waiting for Twilio's status callbacks"
            service.transition(session, cb, UNKNOWN, at=now, actor=self.worker, note=cb.last_error)
            self.report.unknown.append(cb.id)

    def _refused(self, session: Session, cb: Callback, decision: Any, now: datetime) -> None:
        limit = timedelta(hours=self.settings.callback_max_reschedule_hours)
        later = decision.next_allowed_at
        cb.last_error = f"{decision.rule_id}: {decision.reason}"
        cb.lease_until = None
        cb.claim_token = None
        if decision.rule_id in MOVABLE_RULES and later is not None and later - as_utc(cb.due_at) <= limit:
            cb.due_at = later
            service.transition(session, cb, SCHEDULED, at=now, actor=self.worker,
                               note=f"moved to {later:%Y-%m-%d %H:%M} UTC (next lawful time): {decision.reason}")
            self.report.rescheduled.append(cb.id)
        else:
            service.transition(session, cb, REFUSED, at=now, actor=self.worker, note=cb.last_error)
            self.report.refused.append(cb.id)


class Dispatcher:
    """One worker's view of the dispatch loop. Safe to run in many threads and processes."""

    def __init__(self, app: Flask, *, gateway: Any = None, clock: Clock | None = None,
                 worker: str | None = None, pace: Callable[[float], None] | None = None) -> None:
        self.app = app
        self.settings = app.extensions["cortese.settings"]
        self.clock = clock or app.extensions["cortese.clock"]
        self.worker = (worker or worker_name())[:100]
        # Spacing between dials (CALLBACK_CALLS_PER_SECOND); tests and benches pass their own.
        self.pace = pace if pace is not None else _time.sleep
        self.pipeline: Pipeline[Job] = Pipeline(app, gateway=gateway, clock=self.clock, sleep=self.pace,
                                                worker=self.worker)
        self.gateway = self.pipeline.gateway
        s = self.settings
        slowest = s.twilio_max_attempts * s.twilio_timeout_seconds + (s.twilio_max_attempts - 1) * s.twilio_retry_max_seconds
        if s.callback_lease_seconds <= slowest:
            log.warning("CALLBACK_LEASE_SECONDS=%s is not above the gateway's slowest dial (%.0f s): a slow "
                        "dial could be recovered by another worker while in flight", s.callback_lease_seconds, slowest)

    # -- the loop ------------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> DispatchReport:
        """Recover, reconcile, then dial what is due (at most `limit`, default CPS x poll)."""
        report = DispatchReport()
        kind = CallbackKind(self, report)
        self.recover_expired(report)
        self.reconcile_unknown(report)
        self.settle_stale_calls(report)
        budget = limit if limit is not None else max(
            1, math.ceil(self.settings.callback_calls_per_second * self.settings.callback_poll_seconds))
        interval = 1.0 / self.settings.callback_calls_per_second
        dialled = 0
        while dialled < budget:
            claim = self.claim_next()
            if claim is None:
                break
            try:
                outcome = self.pipeline.dial(kind, claim)
            except Exception as exc:
                log.exception("callback %s: dispatch failed", claim[0])
                self._release_after_bug(*claim, exc, report=report)
                continue
            if outcome is Outcome.NO_SLOT:
                break  # the account's calls per second are booked: the rest waits for the next run
            if outcome in (Outcome.DIALLED, Outcome.FAILED):  # a REST request was sent
                dialled += 1
                if dialled < budget:
                    self.pace(interval)
        return report

    def process(self, cb_id: int, token: str, *, report: DispatchReport) -> bool:
        """Dial one claimed callback through the pipeline. True when a REST request was sent."""
        return self.pipeline.dial(CallbackKind(self, report), (cb_id, token)) in (Outcome.DIALLED, Outcome.FAILED)

    def _release_after_bug(self, cb_id: int, token: str, exc: Exception, *, report: DispatchReport) -> None:
        """Our own error before the dial marker: back off (then fail) instead of looping on it.
        After the marker the row is left to lease recovery, which never redials blindly."""
        now = self.now()
        with session_scope(self.app) as session:
            cb = _unclaim(session, cb_id, token)
            if cb is None:
                return
            cb.errors += 1
            cb.last_error = f"internal error: {type(exc).__name__}: {exc}"[:500]
            if cb.errors >= MAX_DISPATCH_ERRORS:
                service.transition(session, cb, FAILED, at=now, actor=self.worker, note=cb.last_error)
                report.failed.append(cb_id)
            else:
                cb.due_at = now + timedelta(minutes=min(2 ** (cb.errors - 1), 60))
                service.transition(session, cb, SCHEDULED, at=now, actor=self.worker, note=cb.last_error)
                report.released.append(cb_id)

    def now(self) -> datetime:
        return self.clock.now()

    # -- claiming ------------------------------------------------------------------------------

    def claim_next(self) -> tuple[int, str] | None:
        """Atomically take the most overdue scheduled callback; None when nothing is due."""
        for _ in range(5):  # another worker may win the row between our SELECT and UPDATE
            now = self.now()
            token = str(uuid.uuid4())
            with session_scope(self.app) as session:
                others = [~held(session) for held in self.app.extensions.get(HELD_ELSEWHERE_KEY, ())]
                candidate = (select(Callback.id).where(Callback.status == SCHEDULED, Callback.due_at <= now,
                                                       *others)
                             .order_by(Callback.due_at, Callback.id).limit(1))
                if session.scalars(candidate).first() is None:
                    return None
                won = take_rows(session, candidate, Callback, guard=[Callback.status == SCHEDULED], values=dict(
                    status=DISPATCHING, claimed_by=self.worker, claim_token=token, dial_started_at=None,
                    lease_until=now + timedelta(seconds=self.settings.callback_lease_seconds), updated_at=now))
                if won:
                    session.add(CallbackEvent(callback_id=won[0], at=now, from_status=SCHEDULED,
                                              to_status=DISPATCHING, actor=self.worker, note="claimed"))
                    return won[0], token
        return None

    def recover_expired(self, report: DispatchReport) -> None:
        """Rows whose worker died mid-dispatch (lease expired): the pipeline's one rule."""
        self.pipeline.recover(CallbackKind(self, report))

    def reconcile_unknown(self, report: DispatchReport) -> None:
        """`unknown` rows: link them when evidence arrived; give up (to an operator) when late."""
        now = self.now()
        deadline = timedelta(minutes=self.settings.callback_reconcile_minutes)
        with session_scope(self.app) as session:
            rows = session.scalars(select(Callback).where(Callback.status == UNKNOWN)
                                   .with_for_update(skip_locked=True).limit(100)).all()
            for cb in rows:
                if not _still(session, cb, UNKNOWN, now):
                    continue
                sid = cb.call_sid or find_call_evidence(session, cb)
                if sid:
                    self._link(session, cb, sid, now, note="reconciled: the call exists")
                    report.reconciled.append(cb.id)
                elif cb.dial_started_at is None or now - cb.dial_started_at >= deadline:
                    cb.last_error = (f"unreconciled: no trace of the call {deadline} after the dial request; "
                                     "check Twilio's call log, then move or cancel this callback")
                    service.transition(session, cb, FAILED, at=now, actor=self.worker, note=cb.last_error)
                    report.failed.append(cb.id)

    def settle_stale_calls(self, report: DispatchReport) -> None:
        """Placed/answered callbacks whose final status callback never came (lost webhook, app
        down at the time): ask Twilio how the call ended, so no callback stays open for ever."""
        now = self.now()
        with session_scope(self.app) as session:
            stale = {sid: cb_id for sid, cb_id in session.execute(
                select(Callback.call_sid, Callback.id)
                .where(Callback.status.in_((PLACED, ANSWERED)), Callback.updated_at < now - STALE_CALL,
                       Callback.call_sid.is_not(None))
                .order_by(Callback.updated_at).limit(20))}
        for sid in self.pipeline.ask_twilio([sid for sid in stale if sid], limit=20):
            report.reconciled.append(stale[sid])

    def _link(self, session: Session, cb: Callback, sid: str, now: datetime, *, note: str) -> None:
        link_call(session, cb, sid, now, actor=self.worker, note=note)
        call = call_records.get_call(session, sid)
        if call is None:
            try:
                info = self.gateway.fetch_call(sid)
                log.info("callback %s: Twilio says call %s is %s", cb.id, sid, info.status)
            except TelephonyError as exc:
                log.warning("callback %s: cannot fetch call %s: %s", cb.id, sid, exc)
        elif call.status in TERMINAL_STATUSES:
            apply_call_outcome(session, cb, call, now, settings=self.settings)


def _contact(session: Session, cb: Callback, now: datetime) -> Contact:
    """Who consent decides about: the callback's contact, else the live contact with its number,
    else a contact that is never stored. Dispatch never creates contacts: an erased number
    stays erased (its hash on the suppression list refuses the call)."""
    contact = session.get(Contact, cb.contact_id) if cb.contact_id else None
    if contact is None or contact.erased_at is not None:
        contact = find_by_number(session, cb.e164)
    return contact if contact is not None else unsaved_contact(cb.e164, at=now, time_zone=cb.time_zone)


def _still(session: Session, cb: Callback, status: str, now: datetime) -> bool:
    """Lock the row in this transaction if it still has `status` (SQLite has no FOR UPDATE:
    a conditional UPDATE takes the write lock and re-reads, so two workers never both act)."""
    return affected(session.execute(
        update(Callback).where(Callback.id == cb.id, Callback.status == status)
        .values(updated_at=now).execution_options(synchronize_session=False)
    )) == 1


def _unclaim(session: Session, cb_id: int, token: str) -> Callback | None:
    """Our claim, cleared, when it is still ours and nothing was dialled; else None."""
    cb = _owned(session, cb_id, token)
    if cb is None or cb.status != DISPATCHING or cb.dial_started_at is not None:
        return None
    cb.claim_token = None
    cb.lease_until = None
    return cb


def _owned(session: Session, cb_id: int, token: str) -> Callback | None:
    """The row if we still hold its claim (locked on PostgreSQL)."""
    return session.scalars(select(Callback).where(Callback.id == cb_id, Callback.claim_token == token)
                           .with_for_update()).first()


def _ensure_call_row(session: Session, info: Any, e164: str, language: str, now: datetime) -> None:
    call = call_records.ensure_call(session, {
        "CallSid": info.sid, "Direction": "outbound-api", "From": info.from_ or "", "To": e164,
    }, now)
    if call.language is None:
        call.language = language


def ensure_attempt(session: Session, cb: Callback, sid: str, now: datetime) -> None:
    """The consent ledger's ContactAttempt for this call, once, however the call was linked
    (dial answer, status callback, /voice/callback, recovery), so courtesy limits count it."""
    if session.scalar(select(ContactAttempt.id).where(ContactAttempt.call_sid == sid).limit(1)) is None:
        record_attempt(session, cb.e164, at=cb.dial_started_at or now, purpose="callback", callback_id=cb.id,
                       call_sid=sid, decision_id=cb.decision_id, campaign_id=cb.campaign_id)


def link_call(session: Session, cb: Callback, sid: str, now: datetime, *, actor: str, note: str) -> None:
    """Attach a CallSid to a callback that was being (or may have been) dialled."""
    cb.call_sid = sid
    cb.lease_until = None
    ensure_attempt(session, cb, sid, now)
    if cb.status in (DISPATCHING, UNKNOWN):
        cb.attempts += 1
        cb.errors = 0
        cb.last_error = None
        service.transition(session, cb, PLACED, at=now, actor=actor, note=note, call_sid=sid)


def find_call_evidence(session: Session, cb: Callback) -> str | None:
    """A call to the callee since our dial marker that no other callback claims."""
    if cb.dial_started_at is None:
        return None
    taken = select(Callback.call_sid).where(Callback.call_sid.is_not(None))
    return session.scalars(
        select(Call.call_sid)
        .where(Call.to_number == cb.e164, Call.direction.like("outbound%"),
               Call.started_at >= cb.dial_started_at - EVIDENCE_SLACK, Call.call_sid.not_in(taken))
        .order_by(Call.started_at).limit(1)
    ).first()


def apply_call_outcome(session: Session, cb: Callback, call: Call, now: datetime, *, settings: Any) -> None:
    """A final status for the callback's call: completed, or retry/missed per the policy."""
    # Only the callback's current call decides (not a late or repeated status of an earlier one).
    if cb.status not in (PLACED, ANSWERED) or cb.call_sid != call.call_sid:
        return
    if call.status not in TERMINAL_STATUSES:
        return
    outcome = outcome_from_twilio(call.status, call.answered_by or cb.answered_by)
    finish_attempt(session, call.call_sid, outcome=outcome, at=call.ended_at or now)
    if outcome == "completed":
        service.transition(session, cb, COMPLETED, at=now, actor="twilio", call_sid=call.call_sid,
                           note=f"reached ({call.duration_seconds or 0} s)")
        return
    note = f"{outcome} (attempt {cb.attempts} of {settings.callback_max_attempts})"
    cb.last_error = outcome
    if cb.attempts < settings.callback_max_attempts and outcome != "canceled":
        minutes = settings.callback_retry_minutes
        delay = timedelta(minutes=max(1, minutes // 3) if outcome == "busy" else minutes)
        cb.due_at = now + delay
        cb.call_sid = None  # the next dial gets its own; this one stays in the history
        cb.claim_token = None
        cb.claimed_by = None
        cb.dial_started_at = None
        cb.answered_by = None
        service.transition(session, cb, SCHEDULED, at=now, actor="twilio", call_sid=call.call_sid,
                           note=f"{note}: retry at {cb.due_at:%Y-%m-%d %H:%M} UTC")
    else:
        service.transition(session, cb, MISSED, at=now, actor="twilio", call_sid=call.call_sid, note=note)


def on_call_status(session: Session, call: Call, now: datetime, settings: Any) -> None:
    """Status callback receiver body: link an unlinked call, then apply a final status."""
    cb = session.scalars(select(Callback).where(Callback.call_sid == call.call_sid)).first()
    if cb is None:
        if not (call.direction or "").startswith("outbound"):
            return
        cb = session.scalars(
            select(Callback).where(Callback.e164 == call.to_number, Callback.call_sid.is_(None),
                                   Callback.status.in_((DISPATCHING, UNKNOWN)),
                                   Callback.dial_started_at.is_not(None),
                                   Callback.dial_started_at <= call.started_at + EVIDENCE_SLACK)
            .order_by(Callback.dial_started_at).limit(1)
        ).first()
        if cb is None:
            return
        link_call(session, cb, call.call_sid, now, actor="twilio", note=f"status callback ({call.status})")
    if cb.status in (DISPATCHING, UNKNOWN):
        link_call(session, cb, call.call_sid, now, actor="twilio", note=f"status callback ({call.status})")
    if call.answered_by and not cb.answered_by:
        cb.answered_by = call.answered_by[:32]
    apply_call_outcome(session, cb, call, now, settings=settings)




HELD_ELSEWHERE_KEY = "cortese.callbacks.held_elsewhere"


def leave_to_others(app: Flask, held: Callable[[Session], ColumnElement[bool]]) -> None:
    """A package above this one dials some callbacks its own way (the desk: those that promised
    a person): the dispatcher leaves the callbacks `held` selects."""
    app.extensions.setdefault(HELD_ELSEWHERE_KEY, []).append(held)


def _campaign_purpose(session: Session, campaign_id: int | str | None) -> str | None:
    """The purpose of the campaign a callback was booked from (None: not from a campaign)."""
    if campaign_id is None or not str(campaign_id).isdigit():
        return None
    return session.scalar(select(Campaign.purpose).where(Campaign.id == int(campaign_id)))


# --- the scheduled job ---------------------------------------------------------------------------


def dispatch_job(app: Flask) -> None:
    """APScheduler's tick (every CALLBACK_POLL_SECONDS): run the dispatcher once in this process."""
    report = Dispatcher(app).run_once()
    if report.placed or report.refused or report.failed or report.unknown:
        log.info("callbacks: placed %d, refused %d, moved %d, released %d, failed %d, unknown %d",
                 len(report.placed), len(report.refused), len(report.rescheduled),
                 len(report.released), len(report.failed), len(report.unknown))


JOB = JobSpec(JOB_ID, dispatch_job, DEFAULT_POLL_SECONDS, setting="callback_poll_seconds")
