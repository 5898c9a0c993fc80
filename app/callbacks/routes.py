"""/voice/callback: the Url of every callback call we place (?cb=<id>).

Twilio fetches it when the callee answers; with MachineDetection=Enable the request carries
AnsweredBy. A person hears flow `callback_opener` (identity, "you asked us to call you back
about ...", good time?); an answering machine hears a short message with who we are and the
number to call, and the callback is retried per policy when the call ends (see dispatch.py).
A callback cancelled while its call was already ringing gets a brief apology, nothing more.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from app import calls, prompts
from app.callbacks import booking
from app.callbacks.dispatch import link_call
from app.callbacks.messages import machine_message
from app.callbacks.models import (
    ANSWERED,
    CANCELLED,
    DISPATCHING,
    PLACED,
    REFUSED,
    UNKNOWN,
    Callback,
)
from app.callbacks.service import transition
from app.clock import now
from app.db import db_session
from app.flows import engine as flow_engine
from app.flows.render import courtesy, number_zone
from app.flows.safety import voice_webhook
from app.telephony import Twiml

log = logging.getLogger(__name__)
bp = Blueprint("callbacks_voice", __name__)

@bp.post("/voice/callback")
@voice_webhook
def callback_answered() -> Response:
    session = db_session()
    at = now()
    call = calls.webhook_call(session, request.form, at)
    settings = current_app.extensions["cortese.settings"]
    cb_id = request.args.get("cb", "")
    cb = session.get(Callback, int(cb_id)) if cb_id.isdigit() else None
    company = settings.company_name
    if cb is None:
        log.error("callback call %s names unknown callback %r", call.call_sid, cb_id)
        language = call.language or settings.default_language
        words = courtesy(language, at, number_zone(call.to_number))
        doc = Twiml(language).say(prompts.text("callback.no_longer", language, company=company, **words)).hangup()
        session.commit()
        return doc.response()
    call.language = cb.language
    if cb.call_sid is None or cb.status in (DISPATCHING, UNKNOWN):
        link_call(session, cb, call.call_sid, at, actor="twilio", note="answered (linked by /voice/callback)")
    elif cb.call_sid != call.call_sid:
        log.error("callback %s answered on call %s but was dialled as %s", cb.id, call.call_sid, cb.call_sid)
    words = courtesy(cb.language, at, cb.time_zone)
    if cb.status in (CANCELLED, REFUSED):
        doc = Twiml(cb.language).say(prompts.text("callback.no_longer", cb.language, company=company, **words)).hangup()
        session.commit()
        return doc.response()
    answered_by = (request.form.get("AnsweredBy") or "").strip()[:32]
    if answered_by:
        cb.answered_by = answered_by
    if cb.status == PLACED:
        transition(session, cb, ANSWERED, at=at, actor="twilio", call_sid=call.call_sid,
                   note=f"answered by {answered_by or 'unknown'}")
    about = booking.about_text(session, cb, cb.language)
    if answered_by == "fax":  # a fax cannot take a spoken message; the retry rules still apply
        session.commit()
        return Twiml(cb.language).hangup().response()
    if answered_by.startswith("machine"):
        text = machine_message(cb, about=about, company=company, number=settings.twilio_caller_id, at=at)
        doc = Twiml(cb.language).pause(1).say(text).hangup()
        session.commit()
        return doc.response()

    twiml = flow_engine.start_flow(session, call, "callback_opener", language=cb.language, params=request.form,
                       slots={"callback_id": cb.id, "callback_reason": cb.reason, "callback_about": about,
                              "offer_id": cb.offer_id, "campaign_id": cb.campaign_id})
    session.commit()
    return twiml.response()
