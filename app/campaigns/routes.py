"""Campaign call webhooks (contract 6).

/voice/outbound?attempt=N   the Url of every campaign call: a person hears the opener at once
                            (start_flow); a machine (synchronous AMD) gets the campaign's policy.
/voice/amd?attempt=N        AsyncAmdStatusCallback: a machine detected after the opener began
                            is redirected to the machine message, or hung up on.
/voice/outbound/machine     the machine message: identity, why we called, a number to call back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from app import calls, phone, prompts
from app.campaigns.dispositions import is_machine, revive_unknown
from app.campaigns.models import Campaign, CampaignAttempt
from app.campaigns.scripts import script_slots
from app.clock import now
from app.config import Settings
from app.consent.contacts import find_by_number
from app.db import db_session
from app.flows import engine as flow_engine
from app.flows.engine import get_engine
from app.flows.render import courtesy, number_zone
from app.flows.safety import goodbye, voice_webhook
from app.i18n import language_for
from app.models import Call
from app.telephony import TelephonyError, Twiml

log = logging.getLogger(__name__)
bp = Blueprint("campaigns", __name__)



def _settings() -> Settings:
    return current_app.extensions["cortese.settings"]


def _attempt(session: Session, call: Call) -> CampaignAttempt | None:
    """The attempt named in ?attempt=, only if this call is that attempt's call."""
    attempt_id = request.args.get("attempt", type=int)
    attempt = session.get(CampaignAttempt, attempt_id) if attempt_id else None
    if attempt is None:
        return None
    if attempt.call_sid and attempt.call_sid != call.call_sid:
        log.warning("attempt %s belongs to another call", attempt.id)
        return None
    if attempt.call_sid is None:
        # Twilio can fetch the Url before the dialer stored the CallSid: check the number.
        called = phone.parse_caller(request.form.get("To"))
        if called is None or called.e164 != attempt.e164:
            log.warning("attempt %s fetched for a different number", attempt.id)
            return None
        attempt.call_sid = call.call_sid
        revive_unknown(session, attempt, call.call_sid, now())
    return attempt


def _company(call: Call) -> str:
    engine = current_app.extensions.get("cortese.flows")
    if engine is not None:
        return str(engine.hotline_of(call).company)
    return _settings().company_name


def _zone(attempt: CampaignAttempt, session: Session) -> str | None:
    contact = find_by_number(session, attempt.e164)
    return (contact.time_zone if contact else None) or number_zone(attempt.e164)


def machine_message(session: Session, campaign: Campaign, attempt: CampaignAttempt, call: Call, at: datetime) -> str:
    language = attempt.language or campaign.languages[0]
    number = campaign.callback_number or campaign.caller_id or _settings().twilio_caller_id
    return prompts.text(
        "campaign.machine_message", language, **courtesy(language, at, _zone(attempt, session)), company=_company(call),
        reason=campaign.reason.get(language, ""), number=" ".join(number.lstrip("+")),
    )


def _machine_twiml(session: Session, campaign: Campaign, attempt: CampaignAttempt, call: Call, at: datetime) -> Twiml:
    language = attempt.language or campaign.languages[0]
    doc = Twiml(language)
    # A fax machine cannot take a spoken message: hang up whatever the policy.
    if campaign.machine_policy == "message" and attempt.answered_by != "fax":
        doc.say(machine_message(session, campaign, attempt, call, at))
    return doc.hangup()


def _goodbye(call: Call) -> Response:
    party = phone.parse_caller(call.to_number)

    language = language_for(party.region if party else None, default=_settings().default_language)
    return Twiml(language).say(goodbye(language, now(), party.e164 if party else None)).hangup().response()


@bp.post("/voice/outbound")
@voice_webhook
def outbound() -> Response:
    """Answered campaign call: the opener at once for a person, the policy for a machine."""
    session = db_session()
    at = now()
    call = calls.webhook_call(session, request.form, at)
    attempt = _attempt(session, call)
    if attempt is None:
        session.commit()
        return _goodbye(call)
    campaign = session.get(Campaign, attempt.campaign_id)
    assert campaign is not None
    answered_by = request.form.get("AnsweredBy")
    if answered_by:
        attempt.answered_by = answered_by[:32]
        call.answered_by = call.answered_by or answered_by[:32]
    if is_machine(answered_by):
        attempt.disposition = "machine"
        doc = _machine_twiml(session, campaign, attempt, call, at)
    elif call.flow and call.node:
        # Twilio retried this request: go on where the call is, never restart the opener.

        doc = get_engine().resume_retried_start(session, call, now=at, params=request.form)
    else:
        attempt.answered_at = attempt.answered_at or at
        attempt.opener_at = attempt.opener_at or at
        doc = flow_engine.start_flow(session, call, campaign.flow, language=attempt.language, slots=script_slots(campaign, attempt),
                         params=request.form, contact=find_by_number(session, attempt.e164), now=at)
    session.commit()
    return doc.response()


@bp.post("/voice/amd")
@voice_webhook
def amd() -> Response:
    """Asynchronous AMD result: a machine is taken out of the flow (message or hang-up)."""
    session = db_session()
    at = now()
    call = calls.ensure_call(session, request.form, at)
    attempt = _attempt(session, call)
    answered_by = (request.form.get("AnsweredBy") or "")[:32]
    if attempt is None or not answered_by:
        session.commit()
        return Response(status=204)
    attempt.answered_by = answered_by
    call.answered_by = call.answered_by or answered_by
    if is_machine(answered_by) and attempt.ended_at is None:
        attempt.disposition = "machine"
        campaign = session.get(Campaign, attempt.campaign_id)
        assert campaign is not None
        session.commit()
        _steer_machine(campaign, attempt)
        return Response(status=204)
    session.commit()
    return Response(status=204)


def _steer_machine(campaign: Campaign, attempt: CampaignAttempt) -> None:
    gateway = current_app.extensions["cortese.gateway"]
    try:
        if campaign.machine_policy == "message" and attempt.answered_by != "fax":
            gateway.update_call(attempt.call_sid,
                                url=f"{_settings().public_base_url}/voice/outbound/machine?attempt={attempt.id}")
        else:
            gateway.hang_up(attempt.call_sid)
    except TelephonyError as exc:
        # The call may have ended meanwhile (the machine hung up): nothing left to steer.
        log.warning("could not steer machine-answered call %s: %s", attempt.call_sid, exc)


@bp.post("/voice/outbound/machine")
@voice_webhook
def machine() -> Response:
    session = db_session()
    at = now()
    call = calls.ensure_call(session, request.form, at)
    attempt = _attempt(session, call)
    if attempt is None:
        session.commit()
        return _goodbye(call)
    campaign = session.get(Campaign, attempt.campaign_id)
    assert campaign is not None
    attempt.disposition = "machine"
    doc = _machine_twiml(session, campaign, attempt, call, at)
    session.commit()
    return doc.response()
