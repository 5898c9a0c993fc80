"""A routing pass: the desk's work loop, run by many threads and processes at once.

A pass (`Router.run_once`) first does what was left undone (bridge jobs due again, operator-first
callbacks due, callbacks nobody could take in time), tidies up (callers whose call has ended,
offers rung too long count as no answer, wrap-ups past their time end), then pairs callers with
operators (pairing.py: who takes whom, claimed in the database) until no pair is left, and
rings each operator's phone through app/telephony.py (`/voice/desk/offer`): a short whisper and
"press 1 to accept". The caller stays in Twilio's queue, hearing the wait music, until the
operator accepted; a refusal, no answer or a voicemail puts the operator `away` and the caller
back to `waiting` with their original place (enqueued_at).

Triggers: a caller joining or leaving a queue, an operator becoming available, a wrap-up
ending, a bridge that failed (each runs a pass at once; a webhook's once its answer is sent,
after_response.py) and the scheduler's `desk.route` job every DESK_POLL_SECONDS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from app.clock import Clock
from app.db import session_scope
from app.desk import bridge, browser_phone, callbacks
from app.desk.callers import caller_left
from app.desk.models import (
    AVAILABLE,
    OFFER_FAILED,
    OFFER_RINGING,
    WAITING,
    WRAPUP,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.desk.pairing import Claim, claim_next
from app.desk.states import end_offer, set_state
from app.models import TERMINAL_STATUSES, Call
from app.scheduler import JobSpec
from app.telephony import AmbiguousRequestError, TelephonyError

log = logging.getLogger(__name__)

JOB_ID = "desk.route"
# An offer still ringing this long after the ring timeout lost its webhooks: count it unanswered.
OFFER_GRACE = timedelta(seconds=30)


@dataclass
class RoutingReport:
    offered: list[int] = field(default_factory=list)  # offer ids rung
    failed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    wrapped_up: list[int] = field(default_factory=list)  # operator ids back to available
    gone: list[int] = field(default_factory=list)  # entries whose call ended unseen
    callbacks: list[int] = field(default_factory=list)  # entries made for due operator-first callbacks
    bridged: list[int] = field(default_factory=list)  # entries whose bridge job was retried


class Router:
    """One worker's routing pass. Safe to run in many threads and processes at once."""

    def __init__(self, app: Flask, *, gateway: Any = None, clock: Clock | None = None) -> None:
        self.app = app
        self.settings = app.extensions["cortese.settings"]
        self.gateway = gateway or app.extensions["cortese.gateway"]
        self.clock = clock or app.extensions["cortese.clock"]

    def now(self) -> datetime:
        return self.clock.now()

    def run_once(self, limit: int = 50) -> RoutingReport:
        report = RoutingReport()
        report.bridged = bridge.retry_due(self.app, self.now())
        report.callbacks = callbacks.take_due(self.app, self.now())
        report.expired.extend(callbacks.expire_waits(self.app, self.now()))
        self.close_gone_callers(report)
        self.expire_offers(report)
        self.end_wrapups(report)
        for _ in range(limit):
            claim = claim_next(self.app, self.clock)
            if claim is None:
                break
            self.ring(claim, report)
        return report

    # -- ringing -------------------------------------------------------------------------------

    def ring(self, claim: Claim, report: RoutingReport) -> None:
        base = self.settings.public_base_url
        refused = browser_phone.never_rung(claim.phone)
        if refused is not None:
            self._failed(claim, refused, report)
            return
        try:
            info = self.gateway.place_call(
                claim.phone, f"{base}/voice/desk/offer?offer={claim.offer_id}&t={claim.token}",
                status_callback=f"{base}/voice/status", ring_timeout=self.settings.desk_ring_seconds,
                simulated=claim.simulated,
            )
        except AmbiguousRequestError:
            # The phone may be ringing: the offer stays ringing until its webhooks or its expiry.
            log.warning("desk offer %s: the ring request may or may not have reached Twilio", claim.offer_id)
            report.offered.append(claim.offer_id)
            return
        except TelephonyError as exc:
            log.warning("desk offer %s: cannot ring the operator: %s", claim.offer_id, exc)
            self._failed(claim, f"the operator's phone could not be rung: {exc}", report)
            return
        with session_scope(self.app) as session:
            session.execute(update(Offer).where(Offer.id == claim.offer_id, Offer.operator_call_sid.is_(None))
                            .values(operator_call_sid=info.sid))
        report.offered.append(claim.offer_id)

    def _failed(self, claim: Claim, why: str, report: RoutingReport) -> None:
        """The operator could not be rung: the caller waits on, the operator is away with why."""
        with session_scope(self.app) as session:
            offer = session.get(Offer, claim.offer_id)
            if offer is not None:
                end_offer(session, offer, OFFER_FAILED, self.now(), note=why[:200])
        report.failed.append(claim.offer_id)

    # -- tidying -------------------------------------------------------------------------------

    def close_gone_callers(self, report: RoutingReport) -> None:
        """Waiting callers whose call has ended (its status callback was lost, or came while
        this instance was down): nobody must be rung for them."""
        with session_scope(self.app) as session:
            gone = session.execute(
                select(QueueEntry.id, QueueEntry.call_sid).join(Call, Call.call_sid == QueueEntry.call_sid)
                .where(QueueEntry.status == WAITING, Call.status.in_(TERMINAL_STATUSES)).limit(100)).all()
            for entry_id, call_sid in gone:
                if caller_left(session, call_sid, "hangup", self.now()) is not None:
                    report.gone.append(entry_id)

    def expire_offers(self, report: RoutingReport) -> None:
        """Offers ringing well past the ring timeout: their webhooks were lost; no answer."""
        limit = self.now() - timedelta(seconds=self.settings.desk_ring_seconds) - OFFER_GRACE
        with session_scope(self.app) as session:
            stale = session.scalars(select(Offer).where(Offer.status == OFFER_RINGING, Offer.created_at < limit)
                                    .with_for_update(skip_locked=True).limit(50)).all()
            for offer in stale:
                if end_offer(session, offer, "no-answer", self.now(), note="no answer in time"):
                    report.expired.append(offer.id)

    def end_wrapups(self, report: RoutingReport) -> None:
        now = self.now()
        with session_scope(self.app) as session:
            ids = session.scalars(select(DeskOperator.id).where(
                DeskOperator.state == WRAPUP, DeskOperator.wrapup_until.is_not(None),
                DeskOperator.wrapup_until <= now)).all()
            for op_id in ids:
                if set_state(session, op_id, AVAILABLE, now, expect=WRAPUP):
                    report.wrapped_up.append(op_id)


def route_now(app: Flask) -> RoutingReport | None:
    """A routing pass at once (a trigger); errors are logged, never raised into a call."""
    try:
        return Router(app).run_once()
    except Exception:
        log.exception("desk routing pass failed")
        return None


def scheduled_route(app: Flask) -> None:
    Router(app).run_once()


JOB = JobSpec(JOB_ID, scheduled_route, 3.0, setting="desk_poll_seconds")
