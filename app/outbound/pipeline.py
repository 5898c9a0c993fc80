"""The one dialling sequence every outbound call goes through (see app/outbound/__init__.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from flask import Flask
from sqlalchemy import Select, update
from sqlalchemy.orm import Session

from app import calls, signals
from app.clock import Clock
from app.config import Settings
from app.consent import call_under_way
from app.db import affected, get_engine, session_scope
from app.models import TERMINAL_STATUSES
from app.outbound import numbers, pacing
from app.phone import mask
from app.telephony import (
    AmbiguousRequestError,
    AuthenticationError,
    BlockedNumberError,
    CallInfo,
    InvalidNumberError,
    RateLimitedError,
    SimulatedCallRefused,
    TelephonyError,
    TwilioUnavailableError,
)

log = logging.getLogger(__name__)

J = TypeVar("J")

# Slots are spaced 2% wider than 1/CPS: a thread wakes up a few ms late, and without the margin
# two calls could land closer than 1/CPS (CPS + 1 calls in one second).
PACING_MARGIN = 1.02
# A slot "now" may be this far ahead (clock resolution); how often a worker that keeps losing the
# next slot to others tries again before it gives the job back.
SLOT_GRACE = timedelta(milliseconds=2)
MAX_SLOT_TRIES = 50
# A job whose number another call holds tries again this much later (that call's attempt is
# recorded within seconds; consent then decides with it counted).
NUMBER_BUSY_RETRY = timedelta(seconds=15)
# One call of ours at a time per person: while a call to the number has no outcome (for at most
# this long, in case its final status was lost), another job for it waits UNDER_WAY_RETRY.
UNDER_WAY = timedelta(hours=1)
UNDER_WAY_RETRY = timedelta(minutes=1)
# A call with no final status this long after the last look is asked about again.
RECHECK_EVERY = timedelta(minutes=5)


class Outcome(StrEnum):
    """What became of one job handed to Pipeline.dial."""

    DIALLED = "dialled"    # Twilio accepted the call
    FAILED = "failed"      # Twilio refused the request or never answered it (the kind settled it)
    REFUSED = "refused"    # consent said no (the kind settled or moved the job)
    LATER = "later"        # the kind's own gate, or another call to the number: back in the queue
    LOST = "lost"          # not ours any more (paused, cancelled, taken back) or no longer wanted
    NO_SLOT = "no-slot"    # the calls-per-second budget is spent: back in the queue, stop this round


class Failure(StrEnum):
    """Twilio's answer to a dial request, by what it means for the job."""

    INVALID = "invalid"          # the number cannot be called: never again
    BLOCKED = "blocked"          # Twilio or the carrier blocks it: never again, anywhere
    THROTTLED = "throttled"      # 429 / 5xx after the gateway's retries: nothing created, later
    AMBIGUOUS = "ambiguous"      # no answer to the request: a call may exist, never redial blindly
    CREDENTIALS = "credentials"  # our configuration: stop until an operator fixes it
    SIMULATED = "simulated"      # booked on a simulated call: never dialled through Twilio
    OTHER = "other"              # any other refusal: nothing was created


def classify(exc: TelephonyError) -> Failure:
    if isinstance(exc, InvalidNumberError):
        return Failure.INVALID
    if isinstance(exc, BlockedNumberError):
        return Failure.BLOCKED
    if isinstance(exc, AmbiguousRequestError):
        return Failure.AMBIGUOUS
    if isinstance(exc, (RateLimitedError, TwilioUnavailableError)):
        return Failure.THROTTLED
    if isinstance(exc, AuthenticationError):
        return Failure.CREDENTIALS
    if isinstance(exc, SimulatedCallRefused):
        return Failure.SIMULATED
    return Failure.OTHER


@dataclass(frozen=True)
class Target:
    """Who a claimed job calls and which pacing keys (besides the account's) it spends."""

    e164: str
    label: str  # "callback 12": logs and the number claim's holder
    rates: dict[str, float] = field(default_factory=dict)  # pacing key -> calls per second


@dataclass(frozen=True)
class Dial:
    """The REST request (app.telephony.TwilioGateway.place_call's arguments)."""

    to: str
    url: str
    status_callback: str
    machine_detection: str | None = None
    from_: str | None = None
    async_amd: bool = False
    amd_status_callback: str | None = None
    ring_timeout: int | None = None
    simulated: bool = False  # for something a simulated call booked: the gateway refuses real Twilio

    def arguments(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Patience:
    """How far ahead a pacing slot may lie: `peek` before consent is asked (further: the job
    goes back untouched), `reserve` once consent said yes (further: the job goes back)."""

    peek: timedelta
    reserve: timedelta


class OutboundKind(Protocol[J]):
    """An adapter: what one kind of outbound call claims, dials and settles. Every hook that
    takes a session runs inside a transaction the pipeline commits right after it."""

    name: str
    patience: Patience

    def target(self, session: Session, job: J, now: datetime) -> Target | Outcome: ...

    def consent(self, session: Session, job: J, target: Target, now: datetime) -> Outcome | None: ...

    def mark(self, session: Session, job: J, now: datetime) -> Dial | None: ...

    def placed(self, session: Session, job: J, info: CallInfo, now: datetime) -> bool: ...

    def failed(self, session: Session, job: J, failure: Failure, exc: TelephonyError,
               now: datetime) -> None: ...

    def give_back(self, session: Session, job: J, reason: str, now: datetime, *,
                  retry_at: datetime | None, decided: bool) -> None: ...

    def expired(self, now: datetime) -> Iterator[tuple[J, bool]]: ...

    def settle_marked(self, session: Session, job: J, now: datetime) -> None: ...


class Pipeline(Generic[J]):
    """One worker's dialling machinery: pacing, number claims, the dial marker, Twilio's answers."""

    def __init__(self, app: Flask, *, gateway: Any = None, clock: Clock | None = None,
                 sleep: Callable[[float], None] = time.sleep, worker: str) -> None:
        self.app = app
        self.settings: Settings = app.extensions["cortese.settings"]
        self.gateway = gateway or app.extensions["cortese.gateway"]
        self.clock: Clock = clock or app.extensions["cortese.clock"]
        self.sleep = sleep
        self.worker = worker
        self.engine = get_engine(app)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def number_hold(self) -> timedelta:
        """How long a number claim outlives a holder that died (the claims' lease)."""
        return timedelta(seconds=self.settings.callback_lease_seconds)

    def account_rates(self, rates: dict[str, float]) -> dict[str, float]:
        return {**{k: v / PACING_MARGIN for k, v in rates.items()},
                pacing.ACCOUNT_KEY: self.settings.campaign_account_cps / PACING_MARGIN}

    # -- one job ---------------------------------------------------------------------------------

    def dial(self, kind: OutboundKind[J], job: J) -> Outcome:
        """Gate, pace, claim the number, ask consent, wait for the slot, mark, dial, record.

        Order matters: consent is asked only when a slot is near (no decision is stored for a
        call we cannot make), the number is held from before consent until the attempt is
        recorded, the slot is taken after consent at the moment it comes, right before the
        marker, and the marker is committed before the REST request."""
        now = self.now()
        with session_scope(self.app) as session:
            target = kind.target(session, job, now)
        if isinstance(target, Outcome):
            return target
        rates = self.account_rates(target.rates)
        if pacing.next_free(self.engine, list(rates)) >= now + kind.patience.peek:
            return self._give_back(kind, job, target, "the calls per second are taken", decided=False,
                                   outcome=Outcome.NO_SLOT, holding=False)
        holder = f"{self.worker}|{target.label}"
        if not numbers.take(self.engine, target.e164, holder=holder, job=target.label, now=now,
                            hold=self.number_hold):
            return self._give_back(kind, job, target, "another call to this number is being placed",
                                   decided=False, outcome=Outcome.LATER, holding=False,
                                   retry_at=now + NUMBER_BUSY_RETRY)
        try:
            with session_scope(self.app) as session:
                busy = call_under_way(session, target.e164, at=now, within=UNDER_WAY)
            if busy is not None:
                return self._give_back(kind, job, target, f"our call of {busy:%H:%M:%S} UTC to this number is "
                                       "still under way", decided=False, outcome=Outcome.LATER, holding=True,
                                       retry_at=now + UNDER_WAY_RETRY)
            with session_scope(self.app) as session:
                settled = kind.consent(session, job, target, self.now())
                if settled is not None:
                    numbers.release(session, target.e164, holder=holder)
                    return settled
            if not self._take_slot(rates, kind.patience.reserve):
                return self._give_back(kind, job, target, "no pacing slot came free in time", decided=True,
                                       outcome=Outcome.NO_SLOT, holding=True)
            with session_scope(self.app) as session:
                dial = kind.mark(session, job, self.now())
                if dial is None:
                    numbers.release(session, target.e164, holder=holder)
                    return Outcome.LOST
        except BaseException:
            self._release_number(target.e164, holder)
            raise
        # Committed: from here on a crash leaves a marked job that recovery never redials.
        return self._place(kind, job, target, dial, holder)

    def _take_slot(self, rates: dict[str, float], patience: timedelta) -> bool:
        """Wait for the next free slot, then take it at that very moment: the slot is the last
        thing before the marker and the call, so calls stay 1/CPS apart however late a thread
        wakes up. (A slot reserved ahead and then slept towards lets a late sleeper and an
        on-time one land closer than that.) False when others kept taking the slots."""
        deadline = self.now() + patience
        keys = list(rates)
        for _ in range(MAX_SLOT_TRIES):
            free = pacing.next_free(self.engine, keys)
            wait = (free - self.now()).total_seconds()
            if wait > 0:
                self.sleep(wait)
            # We waited until `free`: a clock that did not move meanwhile (a test's) counts as there.
            moment = max(self.now(), free)
            if pacing.reserve(self.engine, rates, now=moment, horizon=SLOT_GRACE) is not None:
                return True
            if moment >= deadline:
                return False
        return False

    def _place(self, kind: OutboundKind[J], job: J, target: Target, dial: Dial, holder: str) -> Outcome:
        try:
            info = self.gateway.place_call(**dial.arguments())
        except TelephonyError as exc:
            failure = classify(exc)
            log.warning("%s: dial to %s failed: %s (%s)", target.label, _masked(target.e164), failure, exc)
            if failure is Failure.THROTTLED:  # not the number's fault: slow the whole account down
                pacing.hold(self.engine, pacing.ACCOUNT_KEY,
                            self.now() + timedelta(seconds=self.settings.campaign_backoff_seconds))
            with session_scope(self.app) as session:
                kind.failed(session, job, failure, exc, self.now())
                if failure is not Failure.AMBIGUOUS:  # a call may exist: the claim runs out by itself
                    numbers.release(session, target.e164, holder=holder)
            return Outcome.FAILED
        with session_scope(self.app) as session:
            hang_up = kind.placed(session, job, info, self.now())
            numbers.release(session, target.e164, holder=holder)
        if hang_up:
            # Cancelled (an opt-out) between the consent check and the dial: stop the ringing.
            try:
                self.gateway.hang_up(info.sid)
            except TelephonyError as exc:
                log.warning("could not hang up cancelled call %s: %s", info.sid, exc)
        return Outcome.DIALLED

    def _give_back(self, kind: OutboundKind[J], job: J, target: Target, reason: str, *, decided: bool,
                   outcome: Outcome, holding: bool, retry_at: datetime | None = None) -> Outcome:
        with session_scope(self.app) as session:
            kind.give_back(session, job, reason, self.now(), retry_at=retry_at, decided=decided)
            if holding:
                numbers.release(session, target.e164, holder=f"{self.worker}|{target.label}")
        return outcome

    def _release_number(self, e164: str, holder: str) -> None:
        try:
            with session_scope(self.app) as session:
                numbers.release(session, e164, holder=holder)
        except Exception:  # the claim expires by itself; the original error matters more
            log.exception("could not release the claim on %s", _masked(e164))

    # -- jobs whose worker died -------------------------------------------------------------------

    def recover(self, kind: OutboundKind[J]) -> int:
        """Take over the jobs whose worker died (`kind.expired` yields each, already ours, with
        whether its dial marker is set). Without the marker the dead worker never reached
        Twilio: the job goes back to be dialled. With it a call may exist: the kind links it to
        evidence or settles it as unknown; it is never redialled blindly. Returns how many."""
        taken = 0
        for job, marked in kind.expired(self.now()):
            taken += 1
            with session_scope(self.app) as session:
                if marked:
                    kind.settle_marked(session, job, self.now())
                else:
                    kind.give_back(session, job, "its worker stopped before dialling", self.now(),
                                   retry_at=None, decided=False)
        return taken

    # -- after the dial: calls whose final status never came --------------------------------------

    def ask_twilio(self, sids: Iterable[str], *, limit: int = 10) -> list[str]:
        """Fetch calls whose final status callback never came and replay a final status as if
        Twilio had sent it (every receiver sees it: the kinds', consent's). Returns the CallSids
        settled; a call still going is asked about again after RECHECK_EVERY (per process)."""
        next_check: dict[str, datetime] = self.app.extensions.setdefault("cortese.outbound.next_check", {})
        now = self.now()
        due = [sid for sid in sids if next_check.get(sid, now) <= now][:limit]
        settled = []
        for sid in due:
            next_check[sid] = now + RECHECK_EVERY
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
            params = {k: v for k, v in params.items() if v}
            # Receivers run as they would for Twilio's own request: inside an app context.
            with self.app.app_context(), session_scope(self.app) as session:
                call = calls.record_status_callback(session, params, now)
                signals.call_status_changed.send(self.app, session=session, call=call, params=params)
            next_check.pop(sid, None)
            settled.append(sid)
        return settled


def take_rows(session: Session, candidates: Select[Any], model: Any, *, guard: Iterable[Any],
              values: dict[str, Any]) -> list[int]:
    """Claim rows: read candidate ids (skipping rows another worker has locked, on PostgreSQL),
    then move each with a conditional UPDATE whose `guard` re-states what made it a candidate.
    The conditional UPDATE is the guarantee: two workers never both get rowcount 1 for a row
    (SQLite serialises writers). One UPDATE per id, not `WHERE id IN (SELECT ... SKIP LOCKED)`:
    PostgreSQL's planner may re-run such a sub-select and claim every candidate at once."""
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    conditions = list(guard)
    won = []
    for row_id in session.scalars(candidates).all():
        done = session.execute(update(model).where(model.id == row_id, *conditions).values(**values)
                               .execution_options(synchronize_session=False))
        if affected(done) == 1:
            won.append(row_id)
    return won


def _masked(e164: str) -> str:
    return mask(e164)
