"""Who takes which caller: the routing decision, made in the database.

A pass (`Router.run_once`) first tidies up (offers rung too long count as no answer, wrap-ups
past their time end), then pairs callers with operators until no pair is left:

- callers in order: priority first (upset callers, the priority queue), then the longest wait;
- for each, the available operators who speak the caller's language and have the skill the
  call needs (complaints for priority callers, technician for fault reports, else support),
  the one idle longest first;
- **skill fallback**: a caller who has waited DESK_SKILL_FALLBACK_SECONDS with no operator of
  the needed skill free may be taken by an operator of a fallback skill (FALLBACK_SKILLS: a
  general support operator) who speaks their language; a specialist still goes first when one
  is free. The language never falls back (nobody could understand each other): a caller whose
  language nobody free speaks keeps waiting, and QUEUE_MAX_WAIT_SECONDS offers a callback;
- the pair is **claimed** in one transaction with two conditional UPDATEs:
  ``UPDATE desk_operators SET state='offered' WHERE id=:op AND state='available'`` and
  ``UPDATE desk_queue_entries SET status='ringing' WHERE id=:e AND status='waiting'``. Both
  must match one row or the transaction is rolled back. On PostgreSQL a concurrent UPDATE of
  the same row waits for ours and then re-checks its WHERE, so two instances can never both
  win an operator or a caller (tests/test_desk_postgres.py runs two processes at it).
- then the operator's phone is rung through app/telephony.py (`/voice/desk/offer`): a short
  whisper and "press 1 to accept". The caller stays in Twilio's queue, hearing the wait music,
  until the operator accepted; a refusal, no answer or a voicemail puts the operator `away`
  and the caller back to `waiting` with their original place (enqueued_at).

Triggers: a caller joining a queue, an operator becoming available, a wrap-up ending (all
three run a pass at once) and the scheduler's `desk.route` job every DESK_POLL_SECONDS.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import affected, session_scope
from app.desk import browser_phone, callbacks
from app.desk.models import (
    AVAILABLE,
    AWAY,
    BUSY,
    CONNECTED,
    DONE,
    OFFER_ACCEPTED,
    OFFER_CANCELLED,
    OFFER_FAILED,
    OFFER_RINGING,
    OFFERED,
    RINGING,
    WAITING,
    WRAPUP,
    DeskOperator,
    Offer,
    QueueEntry,
)
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


@dataclass(frozen=True)
class Claim:
    offer_id: int
    token: str
    phone: str


# Who may take a caller whose skill no free operator has, once they waited long enough: a
# fault report or an upset caller is better served by a general support operator (who hears
# in the whisper why the caller waits) than by more waiting. Support has no fallback.
FALLBACK_SKILLS: dict[str, tuple[str, ...]] = {"technician": ("support",), "complaints": ("support",)}


def matches(operator: DeskOperator, entry: QueueEntry, *, fallback: bool = False) -> bool:
    """The operator speaks the caller's language and has the skill the call needs, or (with
    `fallback`) one of that skill's fallback skills."""
    skills = set(operator.skills or ())
    wanted = set(FALLBACK_SKILLS.get(entry.skill, ())) if fallback else {entry.skill}
    return entry.language in (operator.languages or ()) and bool(skills & wanted)


def pick_operator(operators: list[DeskOperator], entry: QueueEntry, at: datetime,
                  fallback_after: timedelta) -> tuple[DeskOperator, bool] | None:
    """The operator for this caller among `operators` (idle longest first), and whether it is
    a fallback: a specialist first; a fallback skill only once the caller waited `fallback_after`."""
    exact = next((op for op in operators if matches(op, entry)), None)
    if exact is not None:
        return exact, False
    if at - entry.enqueued_at < fallback_after:
        return None
    other = next((op for op in operators if matches(op, entry, fallback=True)), None)
    return (other, True) if other is not None else None


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
        from app.desk import bridge  # noqa: PLC0415 - desk ring: routing <-> bridge, callers; routes above

        report = RoutingReport()
        report.bridged = bridge.retry_due(self.app, self.now())
        report.callbacks = callbacks.take_due(self.app, self.now())
        report.expired.extend(callbacks.expire_waits(self.app, self.now()))
        self.close_gone_callers(report)
        self.expire_offers(report)
        self.end_wrapups(report)
        for _ in range(limit):
            claim = self.claim_next()
            if claim is None:
                break
            self.ring(claim, report)
        return report

    # -- claiming ------------------------------------------------------------------------------

    def claim_next(self) -> Claim | None:
        """Pair the first waiting caller that an available operator can take; None when none."""
        for _ in range(10):  # another instance may win a row between our read and our UPDATE
            with session_scope(self.app) as session:
                outcome = self._try_claim(session)
                if outcome is None:
                    return None
                if isinstance(outcome, Claim):
                    return outcome
                session.rollback()  # lost a race: nothing of ours is kept; look again
        return None

    def _try_claim(self, session: Session) -> Claim | bool | None:
        operators = list(session.scalars(
            select(DeskOperator).where(DeskOperator.state == AVAILABLE, DeskOperator.phone.is_not(None))
            .order_by(DeskOperator.state_since, DeskOperator.id)))
        if not operators:
            return None
        entries = session.scalars(
            select(QueueEntry).where(QueueEntry.status == WAITING)
            .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id).limit(200))
        now = self.now()
        fallback_after = timedelta(seconds=self.settings.desk_skill_fallback_seconds)
        for entry in entries:
            picked = pick_operator(operators, entry, now, fallback_after)
            if picked is None:
                continue
            operator, fallback = picked
            note = f"skill fallback: no {entry.skill} operator free" if fallback else None
            return self._claim_pair(session, operator, entry, note=note)
        return None

    def _claim_pair(self, session: Session, operator: DeskOperator, entry: QueueEntry, *,
                    note: str | None = None) -> Claim | bool:
        now = self.now()
        won_operator = affected(session.execute(
            update(DeskOperator).where(DeskOperator.id == operator.id, DeskOperator.state == AVAILABLE)
            .values(state=OFFERED, state_since=now, entry_id=entry.id, state_reason=None)
            .execution_options(synchronize_session=False)))
        if won_operator != 1:
            return False
        won_entry = affected(session.execute(
            update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.status == WAITING)
            .values(status=RINGING, operator_id=operator.id, offers=QueueEntry.offers + 1)
            .execution_options(synchronize_session=False)))
        if won_entry != 1:
            return False
        token = str(uuid.uuid4())
        offer = Offer(entry_id=entry.id, operator_id=operator.id, token=token, status=OFFER_RINGING,
                      created_at=now, note=note)
        session.add(offer)
        session.flush()
        session.execute(update(QueueEntry).where(QueueEntry.id == entry.id).values(offer_id=offer.id)
                        .execution_options(synchronize_session=False))
        return Claim(offer.id, token, browser_phone.destination(operator, self.settings))

    # -- ringing -------------------------------------------------------------------------------

    def ring(self, claim: Claim, report: RoutingReport) -> None:
        base = self.settings.public_base_url
        try:
            info = self.gateway.place_call(
                claim.phone, f"{base}/voice/desk/offer?offer={claim.offer_id}&t={claim.token}",
                status_callback=f"{base}/voice/status", ring_timeout=self.settings.desk_ring_seconds,
            )
        except AmbiguousRequestError:
            # The phone may be ringing: the offer stays ringing until its webhooks or its expiry.
            log.warning("desk offer %s: the ring request may or may not have reached Twilio", claim.offer_id)
            report.offered.append(claim.offer_id)
            return
        except TelephonyError as exc:
            log.warning("desk offer %s: cannot ring the operator: %s", claim.offer_id, exc)
            with session_scope(self.app) as session:
                offer = session.get(Offer, claim.offer_id)
                if offer is not None:
                    end_offer(session, offer, OFFER_FAILED, self.now(),
                              note=f"the operator's phone could not be rung: {exc}"[:200])
            report.failed.append(claim.offer_id)
            return
        with session_scope(self.app) as session:
            session.execute(update(Offer).where(Offer.id == claim.offer_id, Offer.operator_call_sid.is_(None))
                            .values(operator_call_sid=info.sid))
        report.offered.append(claim.offer_id)

    # -- tidying -------------------------------------------------------------------------------

    def close_gone_callers(self, report: RoutingReport) -> None:
        """Waiting callers whose call has ended (its status callback was lost, or came while
        this instance was down): nobody must be rung for them."""
        from app.desk.callers import caller_left  # noqa: PLC0415 - desk ring: routing <-> bridge, callers; routes above

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


# -- state changes shared by routes, pages and the router ---------------------------------------


def set_state(session: Session, operator_id: int, state: str, at: datetime, *, expect: str | None = None,
              reason: str | None = None, wrapup_until: datetime | None = None) -> bool:
    """Move an operator to `state` (only from `expect` when given); False when they were not."""
    query = update(DeskOperator).where(DeskOperator.id == operator_id)
    if expect is not None:
        query = query.where(DeskOperator.state == expect)
    values: dict[str, Any] = {"state": state, "state_since": at, "state_reason": reason,
                              "wrapup_until": wrapup_until}
    if state in (AVAILABLE, AWAY):
        values["entry_id"] = None
    return affected(session.execute(query.values(**values).execution_options(synchronize_session=False))) == 1


def end_offer(session: Session, offer: Offer, outcome: str, at: datetime, *, note: str | None = None) -> bool:
    """A ringing offer ends without a conversation: the caller goes back to waiting (same place),
    the operator to away (declined, no answer, phone failing) or available (the caller left)."""
    won = affected(session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == OFFER_RINGING)
        .values(status=outcome, ended_at=at, note=note).execution_options(synchronize_session=False)))
    if won != 1:
        return False
    session.execute(
        update(QueueEntry).where(QueueEntry.id == offer.entry_id, QueueEntry.status == RINGING,
                                 QueueEntry.offer_id == offer.id)
        .values(status=WAITING, operator_id=None, offer_id=None).execution_options(synchronize_session=False))
    back = AVAILABLE if outcome == OFFER_CANCELLED else AWAY
    reason = None if back == AVAILABLE else (note or outcome)
    session.execute(
        update(DeskOperator).where(DeskOperator.id == offer.operator_id, DeskOperator.state == OFFERED,
                                   DeskOperator.entry_id == offer.entry_id)
        .values(state=back, state_since=at, entry_id=None, state_reason=reason)
        .execution_options(synchronize_session=False))
    session.expire_all()
    return True


def accept_offer(session: Session, offer: Offer, at: datetime) -> QueueEntry | None:
    """The operator pressed 1: the caller is theirs if still waiting for this offer; None when
    the caller has gone meanwhile (the operator is then available again)."""
    won = affected(session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == OFFER_RINGING)
        .values(status=OFFER_ACCEPTED, ended_at=at).execution_options(synchronize_session=False)))
    if won != 1:
        session.expire_all()
        return None
    taken = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == offer.entry_id, QueueEntry.status == RINGING,
                                 QueueEntry.offer_id == offer.id)
        .values(status=CONNECTED, answered_at=at).execution_options(synchronize_session=False)))
    session.expire_all()
    if taken != 1:
        offer.status, offer.note = OFFER_CANCELLED, "the caller left before the operator accepted"
        set_state(session, offer.operator_id, AVAILABLE, at, expect=OFFERED)
        return None
    set_state(session, offer.operator_id, BUSY, at, expect=OFFERED)
    return session.get(QueueEntry, offer.entry_id)


def conversation_ended(session: Session, entry: QueueEntry, at: datetime, *, wrapup_seconds: int) -> bool:
    """Either side left the bridge: the entry is done and its operator goes to wrap-up."""
    won = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.status == CONNECTED)
        .values(status=DONE, ended_at=at).execution_options(synchronize_session=False)))
    if won != 1:
        return False
    if entry.operator_id is not None:
        session.execute(
            update(DeskOperator).where(DeskOperator.id == entry.operator_id, DeskOperator.state == BUSY,
                                       DeskOperator.entry_id == entry.id)
            .values(state=WRAPUP, state_since=at, wrapup_until=at + timedelta(seconds=wrapup_seconds))
            .execution_options(synchronize_session=False))
    session.expire_all()
    return True


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
