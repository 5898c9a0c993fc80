"""Call-attempt history for the courtesy rules.

The callback dispatcher and the campaign dialer call `record_attempt` when they place a call (pass
the decision_id from check_call and, once known, the CallSid) and `finish_attempt` when it
ends; a receiver on app.signals.call_status_changed also finishes attempts by CallSid from
Twilio's final status, so a missed finish_attempt does not leave an attempt open forever.
Outcomes: Twilio's no-answer/busy/failed/canceled; "machine" (answering machine) and
"abandoned" (answered but dropped or silent); anything else (answered, completed, accepted,
declined, ...) means the person was reached.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signals
from app.consent.contacts import find_by_number
from app.consent.decide import ABANDONED, UNANSWERED, AttemptFact
from app.consent.models import PURPOSES, ContactAttempt
from app.models import TERMINAL_STATUSES


def record_attempt(
    session: Session,
    e164: str,
    *,
    at: datetime,
    purpose: str,
    campaign_id: str | int | None = None,
    offer_id: str | None = None,
    callback_id: str | int | None = None,
    call_sid: str | None = None,
    decision_id: int | None = None,
    outcome: str | None = None,
) -> ContactAttempt:
    """Record that we are calling (or called) this number."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose: {purpose!r} is not one of {', '.join(PURPOSES)}")
    contact = find_by_number(session, e164)
    attempt = ContactAttempt(
        e164=e164, contact_id=contact.id if contact else None, at=at, purpose=purpose,
        campaign_id=None if campaign_id is None else str(campaign_id), offer_id=offer_id,
        callback_id=None if callback_id is None else str(callback_id), call_sid=call_sid,
        decision_id=decision_id, outcome=outcome, finished_at=at if outcome else None,
    )
    session.add(attempt)
    session.flush()
    return attempt


def finish_attempt(session: Session, attempt: ContactAttempt | str, *, outcome: str,
                   at: datetime) -> ContactAttempt | None:
    """Set the outcome of an attempt (given itself or by CallSid); None when none matches."""
    if not outcome:
        raise ValueError("outcome: empty")
    if isinstance(attempt, str):
        found = session.scalars(select(ContactAttempt).where(ContactAttempt.call_sid == attempt)).first()
        if found is None:
            return None
        attempt = found
    attempt.outcome = outcome
    attempt.finished_at = at
    return attempt


def outcome_from_twilio(call_status: str | None, answered_by: str | None = None) -> str:
    """Map Twilio's final CallStatus and AnsweredBy to an attempt outcome."""
    if answered_by and (answered_by.startswith("machine") or answered_by == "fax"):
        return "machine"
    if call_status in UNANSWERED:
        return str(call_status)
    return "completed" if call_status == "completed" else str(call_status or "unknown")


def recent_attempts(session: Session, e164: str, *, since: datetime) -> tuple[AttemptFact, ...]:
    rows = session.execute(
        select(ContactAttempt.at, ContactAttempt.purpose, ContactAttempt.offer_id, ContactAttempt.outcome)
        .where(ContactAttempt.e164 == e164, ContactAttempt.at >= since)
        .order_by(ContactAttempt.at)
    )
    return tuple(AttemptFact(at=r.at, purpose=r.purpose, offer_id=r.offer_id, outcome=r.outcome) for r in rows)


def call_under_way(session: Session, e164: str, *, at: datetime, within: timedelta) -> datetime | None:
    """When our call to `e164` that has no outcome yet started (None when there is none): a
    person is never rung by a second call of ours while the first may still be ringing or
    talking. `within` bounds it, so a call whose final status was lost blocks no longer. An
    attempt stamped after `at` counts too: another server's clock may run a little ahead."""
    return session.scalar(
        select(ContactAttempt.at)
        .where(ContactAttempt.e164 == e164, ContactAttempt.outcome.is_(None), ContactAttempt.at >= at - within)
        .order_by(ContactAttempt.at.desc()).limit(1))


def history_window(cooldown_days: int) -> timedelta:
    """How much history the courtesy rules need (the longest of their look-backs)."""
    return timedelta(days=max(cooldown_days, 8))


def _on_call_status(_sender: Any, *, session: Session, call: Any, params: Any = None, **_: Any) -> None:
    if call.status not in TERMINAL_STATUSES:
        return
    for attempt in session.scalars(
        select(ContactAttempt).where(ContactAttempt.call_sid == call.call_sid, ContactAttempt.outcome.is_(None))
    ):
        attempt.outcome = outcome_from_twilio(call.status, call.answered_by)
        attempt.finished_at = call.ended_at or call.updated_at


def connect() -> None:
    """From app.consent.init_app: attempts are finished from Twilio's final status."""
    signals.call_status_changed.connect(_on_call_status)

__all__ = ["ABANDONED", "UNANSWERED", "finish_attempt", "outcome_from_twilio", "record_attempt"]
