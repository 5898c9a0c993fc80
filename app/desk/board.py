"""What the desk shows: who waits now (per queue), the screen pop of the caller an operator
talks to, and the figures per hour (service level, waits, callers who hung up waiting,
callers an operator of a fallback skill took).

Service level is the share of callers answered by an operator within SERVICE_LEVEL_SECONDS of
joining the queue, out of every caller who joined in the period, except those still waiting
and not yet past the threshold (they can still make it): the usual "80/20" measure of contact
centres, with abandoned callers counted against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.consent.contacts import find_by_number
from app.desk.models import (
    ABANDONED,
    ENTRY_WAITING,
    OFFER_ACCEPTED,
    OPERATOR_STATES,
    SKILL_FALLBACK_NOTE,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.models import Call, CallStep
from app.operators.models import OperatorUser
from app.support.models import WarrantyClaim
from app.support.services import open_tickets_for

SERVICE_LEVEL_SECONDS = 20
HOURS = 24


@dataclass
class Waiting:
    entry: QueueEntry
    position: int
    wait_seconds: int


@dataclass
class HourFigures:
    start: datetime
    joined: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    counted: int = 0  # the service level's denominator
    taken_by_fallback: int = 0  # answered by an operator of a fallback skill (pairing.FALLBACK_SKILLS)
    waits: list[int] = field(default_factory=list)

    @property
    def service_level(self) -> float | None:
        return self.answered_in_time / self.counted if self.counted else None

    @property
    def average_wait(self) -> float | None:
        return sum(self.waits) / len(self.waits) if self.waits else None

    @property
    def longest_wait(self) -> int | None:
        return max(self.waits) if self.waits else None


def waiting_now(session: Session, at: datetime) -> dict[str, list[Waiting]]:
    """Callers waiting (or being offered) per queue, in the order the desk serves them."""
    queues: dict[str, list[Waiting]] = {}
    entries = session.scalars(select(QueueEntry).where(QueueEntry.status.in_(ENTRY_WAITING))
                              .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id))
    for entry in entries:
        rows = queues.setdefault(entry.queue, [])
        rows.append(Waiting(entry, len(rows) + 1, _seconds(at - entry.enqueued_at)))
    return queues


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def wait_of(entry: QueueEntry, at: datetime) -> int:
    """How long the caller waited for a person: until answered, until they left, or until now."""
    end = entry.answered_at or entry.ended_at or at
    return _seconds(end - entry.enqueued_at)


def per_hour(session: Session, at: datetime, hours: int = HOURS) -> list[HourFigures]:
    start = at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    buckets = [HourFigures(start + timedelta(hours=i)) for i in range(hours)]
    threshold = timedelta(seconds=SERVICE_LEVEL_SECONDS)
    by_fallback = _taken_by_fallback(session, start)
    for entry in session.scalars(select(QueueEntry).where(QueueEntry.enqueued_at >= start)):
        index = int((entry.enqueued_at - start).total_seconds() // 3600)
        if not 0 <= index < hours:
            continue
        bucket = buckets[index]
        bucket.joined += 1
        bucket.waits.append(wait_of(entry, at))
        if entry.answered_at is not None:
            bucket.answered += 1
            bucket.answered_in_time += entry.answered_at - entry.enqueued_at <= threshold
        bucket.abandoned += entry.status == ABANDONED
        bucket.taken_by_fallback += entry.id in by_fallback
        still_can = entry.status in ENTRY_WAITING and at - entry.enqueued_at <= threshold
        bucket.counted += not still_can
    return buckets


def _taken_by_fallback(session: Session, since: datetime) -> set[int]:
    """Queue entries (joined since `since`) whose accepted offer was a skill fallback: an offer
    declined or still ringing took nobody."""
    return set(session.scalars(
        select(Offer.entry_id).join(QueueEntry, QueueEntry.id == Offer.entry_id)
        .where(QueueEntry.enqueued_at >= since, Offer.status == OFFER_ACCEPTED,
               Offer.note.startswith(SKILL_FALLBACK_NOTE, autoescape=True))))


def totals(hours: list[HourFigures]) -> HourFigures:
    total = HourFigures(hours[0].start if hours else datetime.min)
    for hour in hours:
        total.joined += hour.joined
        total.answered += hour.answered
        total.answered_in_time += hour.answered_in_time
        total.abandoned += hour.abandoned
        total.taken_by_fallback += hour.taken_by_fallback
        total.counted += hour.counted
        total.waits.extend(hour.waits)
    return total


@dataclass
class Summary:
    """The desk on the console dashboard: the last 24 hours' figures, hour by hour, and how
    many operators are in each state now."""

    hours: list[HourFigures]
    total: HourFigures
    waiting: int
    states: list[tuple[str, int]]  # every operator state, in OPERATOR_STATES order, with its count


def summary(session: Session, at: datetime, hours: int = HOURS) -> Summary:
    figures = per_hour(session, at, hours)
    counts = dict(session.execute(select(DeskOperator.state, func.count()).group_by(DeskOperator.state)).all())
    waiting = session.scalar(select(func.count()).select_from(QueueEntry)
                             .where(QueueEntry.status.in_(ENTRY_WAITING))) or 0
    return Summary(figures, totals(figures), waiting, [(state, int(counts.get(state, 0))) for state in OPERATOR_STATES])


def operators(session: Session) -> list[tuple[DeskOperator, OperatorUser]]:
    rows = session.execute(select(DeskOperator, OperatorUser).join(OperatorUser, OperatorUser.id == DeskOperator.user_id)
                           .order_by(OperatorUser.username))
    return [(op, user) for op, user in rows]


@dataclass
class ScreenPop:
    """What an operator needs to see about the caller they are talking to."""

    entry: QueueEntry
    call: Call | None
    contact: Any
    choices: list[CallStep]  # what the caller said or pressed in this call, in order
    tickets: list[Any]
    claims: list[Any]
    complaint_words: str | None
    fault: str | None


def screen_pop(session: Session, entry: QueueEntry) -> ScreenPop:
    call = session.scalar(select(Call).where(Call.call_sid == entry.call_sid))
    choices = list(session.scalars(select(CallStep).where(CallStep.call_id == call.id, CallStep.input.is_not(None))
                                   .order_by(CallStep.id))) if call else []
    tickets = open_tickets_for(session, entry.caller)
    claims = list(session.scalars(select(WarrantyClaim).where(WarrantyClaim.caller_number == entry.caller)
                                  .order_by(WarrantyClaim.created_at.desc()).limit(10)))
    details = entry.details or {}
    fault = details.get("fault_description") or next(
        (t.description for t in tickets if t.kind == "fault" and t.call_sid == entry.call_sid), None)
    words = details.get("anger_words") or next(
        ((t.details or {}).get("anger_words") for t in tickets if t.kind == "complaint"), None)
    return ScreenPop(entry, call, find_by_number(session, entry.caller), choices, tickets, claims,
                     words, fault)
