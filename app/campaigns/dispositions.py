"""How attempts end: status callbacks, answering machines, flow outcomes and opt-outs.

Receivers on app.signals run inside the webhook's transaction. A disposition set during the
call (machine, opted-out, callback-booked, completed) is kept when the final status arrives;
otherwise the final status decides: busy / no-answer are retried per the campaign's policy,
an answered call whose callee never heard the opener is `abandoned` (Ofcom's definition).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signals
from app.campaigns.models import Campaign, CampaignAttempt, CampaignContact
from app.campaigns.service import LIVE_DISPOSITIONS, cancel_number
from app.consent.attempts import finish_attempt
from app.consent.models import ContactAttempt
from app.consent.optouts import is_opted_out
from app.models import TERMINAL_STATUSES, Call

RETRYABLE = {"busy": "retry_busy_minutes", "no-answer": "retry_no_answer_minutes"}
# Outcome for consent's call history (its courtesy rules read them).
CONSENT_OUTCOME = {"machine": "machine", "abandoned": "abandoned", "busy": "busy", "no-answer": "no-answer",
                   "failed": "failed"}


def is_machine(answered_by: str | None) -> bool:
    if not answered_by:
        return False
    return answered_by.startswith("machine") or answered_by == "fax"


def attempt_for_call(session: Session, call_sid: str) -> CampaignAttempt | None:
    if not call_sid:
        return None
    return session.scalars(select(CampaignAttempt).where(CampaignAttempt.call_sid == call_sid)).first()


def record_outcome(session: Session, attempt: CampaignAttempt, disposition: str, at: datetime) -> None:
    """The script's outcome for `attempt`. Usually its call is still live and the final status
    keeps it; on a callback the callee booked, the attempt ended long ago (callback-booked), and
    its contact's row follows it to the outcome the callback reached."""
    attempt.disposition = disposition
    if disposition in LIVE_DISPOSITIONS and attempt.answered_at is None:
        attempt.answered_at = at
    if attempt.ended_at is not None:
        row = session.get(CampaignContact, attempt.campaign_contact_id)
        if row is not None and row.status == "done":
            row.disposition, row.updated_at = disposition, at


def revive_unknown(session: Session, attempt: CampaignAttempt, call_sid: str, at: datetime) -> None:
    """An attempt settled as `unknown` (Twilio's answer to the create never came) turns out to
    be a real call: link it and let the call's own outcome settle it."""
    if attempt.status != "error" or attempt.disposition != "unknown":
        return
    attempt.status, attempt.disposition, attempt.ended_at = "placed", None, None
    attempt.dialled_at = attempt.dialled_at or attempt.created_at
    row = session.get(CampaignContact, attempt.campaign_contact_id)
    if row is not None and row.status == "done" and row.disposition == "unknown":
        row.status, row.disposition, row.updated_at = "in-call", None, at
    if attempt.consent_attempt_id:
        consent_row = session.get(ContactAttempt, attempt.consent_attempt_id)
        if consent_row is not None and consent_row.call_sid is None:
            consent_row.call_sid, consent_row.outcome, consent_row.finished_at = call_sid, None, None


def apply_call_status(session: Session, attempt: CampaignAttempt, call: Call, params: Mapping[str, str],
                      at: datetime) -> None:
    answered_by = params.get("AnsweredBy") or call.answered_by
    if answered_by and not attempt.answered_by:
        attempt.answered_by = answered_by[:32]
    if call.status in ("in-progress", "answered") and attempt.answered_at is None:
        attempt.answered_at = at
    if call.status in TERMINAL_STATUSES and attempt.ended_at is None:
        _finish(session, attempt, call, at)


def _final_disposition(attempt: CampaignAttempt, call: Call) -> str:
    if attempt.disposition:
        return attempt.disposition
    if call.status in ("busy", "no-answer", "failed"):
        return str(call.status)
    if call.status == "canceled":
        return "no-answer"
    if is_machine(attempt.answered_by):
        return "machine"
    if (call.slots or {}).get("callback_id"):
        return "callback-booked"  # set by the callback_booking flow once a time was saved
    # Answered by a person (or AMD was unsure): did they hear the opener?
    return "answered-human" if attempt.opener_at else "abandoned"


def _finish(session: Session, attempt: CampaignAttempt, call: Call, at: datetime) -> None:
    disposition = _final_disposition(attempt, call)
    attempt.disposition, attempt.status, attempt.ended_at = disposition, "ended", call.ended_at or at
    if disposition in LIVE_DISPOSITIONS and attempt.answered_at is None:
        attempt.answered_at = call.ended_at or at
    row = session.get(CampaignContact, attempt.campaign_contact_id)
    campaign = session.get(Campaign, attempt.campaign_id)
    if row is not None and campaign is not None and row.status in ("dialing", "in-call"):
        delay_field = RETRYABLE.get(disposition)
        row.disposition, row.claimed_by, row.updated_at = disposition, None, at
        if is_opted_out(session, row.e164):
            # They opted out (elsewhere) while this call rang: nothing more for this number.
            row.status, row.disposition = "cancelled", "opted-out"
        elif delay_field and row.attempts_made < campaign.max_attempts and campaign.status in ("running", "paused"):
            row.status = "queued"
            row.next_attempt_at = at + timedelta(minutes=getattr(campaign, delay_field))
        else:
            row.status = "done"
    if attempt.consent_attempt_id:
        consent_row = session.get(ContactAttempt, attempt.consent_attempt_id)
        if consent_row is not None:
            finish_attempt(session, consent_row, outcome=CONSENT_OUTCOME.get(disposition, "completed"), at=at)


def _on_call_status(_sender: Any, *, session: Session, call: Call, params: Mapping[str, str] | None = None,
                    **_: Any) -> None:
    attempt = attempt_for_call(session, call.call_sid)
    if attempt is not None:
        apply_call_status(session, attempt, call, params or {}, call.updated_at)


def _on_opt_out(_sender: Any, *, session: Session, e164: str, at: datetime, **_: Any) -> None:
    """Stop calling the number at once: queued/claimed rows cancelled, a live call marked."""
    cancel_number(session, e164, at=at, disposition="opted-out")
    # The call the person is on (they heard the opener): its disposition is the opt-out. A call
    # still ringing elsewhere keeps its own outcome (its row is settled when it ends).
    for attempt in session.scalars(select(CampaignAttempt).where(
            CampaignAttempt.e164 == e164, CampaignAttempt.ended_at.is_(None),
            CampaignAttempt.status == "placed", CampaignAttempt.opener_at.is_not(None))):
        attempt.disposition = "opted-out"


def connect() -> None:
    """From app.campaigns.init_app: attempts settle on status callbacks; opt-outs stop calls."""
    signals.call_status_changed.connect(_on_call_status)
    signals.opt_out_recorded.connect(_on_opt_out)
