"""A campaign's script on a call: the slots its flow reads, on the call we placed and on a
callback the callee booked from it ("later"), where the script goes on from its `resume:` node.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app import signals
from app.campaigns.dispositions import attempt_for_call
from app.campaigns.models import Campaign, CampaignAttempt

# A paused or stopped campaign is an operator's decision to stop the script: a person takes the
# callback instead. A completed one has only run out of numbers to dial.
RESUMABLE = frozenset({"running", "completed"})


def script_slots(campaign: Campaign, attempt: CampaignAttempt) -> dict[str, Any]:
    """What the campaign's flow reads: why we call (in the attempt's language), the campaign
    and the attempt its answers are stored on."""
    language = attempt.language or ""
    return {
        "reason": campaign.reason.get(language, "") or next(iter(campaign.reason.values()), ""),
        "details": campaign.details.get(language, ""),
        "campaign_id": campaign.id, "campaign_attempt_id": attempt.id, "campaign_purpose": campaign.purpose,
        "offer_id": campaign.offer_id or "",
    }


def attempt_of(session: Session, call_sid: str, slots: dict[str, Any]) -> CampaignAttempt | None:
    """The attempt a script's answers belong to: the call's own, or on a callback the attempt
    whose call booked it (named in the slots, and only if it is that campaign's)."""
    attempt = attempt_for_call(session, call_sid)
    if attempt is not None:
        return attempt
    attempt_id, campaign_id = slots.get("campaign_attempt_id"), slots.get("campaign_id")
    if not isinstance(attempt_id, int) or campaign_id in (None, ""):
        return None
    found = session.get(CampaignAttempt, attempt_id)
    return found if found is not None and str(found.campaign_id) == str(campaign_id) else None


def _resume(_sender: Any, *, session: Session, campaign_id: str | None, origin_call_sid: str | None,
            **_: Any) -> dict[str, Any] | None:
    if not campaign_id or not str(campaign_id).isdigit() or not origin_call_sid:
        return None
    campaign = session.get(Campaign, int(campaign_id))
    attempt = attempt_for_call(session, origin_call_sid)
    if campaign is None or campaign.status not in RESUMABLE or attempt is None or attempt.campaign_id != campaign.id:
        return None
    return {**script_slots(campaign, attempt), "campaign_flow": campaign.flow}


def connect() -> None:
    """From app.campaigns.init_app: a callback resumes the campaign's script."""
    signals.campaign_resume.connect(_resume)
