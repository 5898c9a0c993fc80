"""The desk's voice webhooks: the operator's phone (whisper, accept, after the call) and the
caller's side of the bridge.

The bridge (README, *Operator desk*): the operator accepts on their own call, which joins the
conference `desk-<entry>`; then the Queue Members API takes exactly that caller out of the
queue into /voice/desk/join, which joins the same conference. Either side hanging up ends it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from app import calls
from app.callbacks import booking
from app.callbacks.dispatch import link_call
from app.callbacks.messages import machine_message
from app.callbacks.models import ANSWERED, DISPATCHING, PLACED, UNKNOWN, Callback
from app.callbacks.service import transition
from app.clock import now
from app.db import db_session
from app.desk import after_response, bridge, whisper
from app.desk.models import CONNECTED, OFFER_CANCELLED, OFFER_RINGING, RINGING, Offer, QueueEntry
from app.desk.states import accept_offer, conversation_ended, end_offer
from app.desk.urls import desk_url
from app.desk.whisper import operator_language
from app.flows.safety import voice_webhook
from app.telephony import Twiml

log = logging.getLogger(__name__)
bp = Blueprint("desk_voice", __name__)

ACCEPT_KEY = "1"


def _settings():  # type: ignore[no-untyped-def]
    return current_app.extensions["cortese.settings"]


def _offer(session: Session) -> Offer | None:
    raw = request.args.get("offer", "")
    offer = session.get(Offer, int(raw)) if raw.isdigit() else None
    if offer is None or offer.token != request.args.get("t"):
        return None
    return offer


@bp.post("/voice/desk/offer")
@voice_webhook
def offer_answered() -> Response:
    """The operator's phone answered (a person or a voicemail): whisper, then press 1."""
    session = db_session()
    at = now()
    calls.ensure_call(session, request.form, at)
    offer = _offer(session)
    if offer is None:
        session.commit()
        return Twiml(_settings().default_language).say(whisper.text("gone", _settings().default_language)).hangup().response()
    language = operator_language(session, offer.operator_id)
    entry = session.get(QueueEntry, offer.entry_id)
    if offer.status != OFFER_RINGING or entry is None or entry.status != RINGING or entry.offer_id != offer.id:
        if offer.status == OFFER_RINGING:
            end_offer(session, offer, OFFER_CANCELLED, at, note="the caller left before the operator answered")
            after_response.route_after_request()
        session.commit()
        return Twiml(language).say(whisper.text("gone", language)).hangup().response()
    session.commit()
    doc = Twiml(language)
    press = whisper.text("press_callback" if entry.callback_id else "press", language)
    doc.gather(desk_url("answer", offer=offer.id, t=offer.token), [whisper.summary(entry, language, at), press],
               input="dtmf", num_digits=1, timeout=6)
    # No key (a voicemail, or nobody deciding): the offer is not taken.
    return doc.redirect(desk_url("answer", offer=offer.id, t=offer.token, silent=1)).response()


@bp.post("/voice/desk/answer")
@voice_webhook
def offer_decided() -> Response:
    session = db_session()
    at = now()
    offer = _offer(session)
    language = operator_language(session, offer.operator_id) if offer else _settings().default_language
    if offer is None:
        return Twiml(language).say(whisper.text("gone", language)).hangup().response()
    digits = (request.form.get("Digits") or "").strip()
    if digits != ACCEPT_KEY:
        outcome = "no-answer" if request.args.get("silent") else "declined"
        ended = end_offer(session, offer, outcome, at, note="no key pressed" if outcome == "no-answer"
                          else f"declined (pressed {digits[:4]!r})")
        session.commit()
        if ended:
            after_response.route_after_request()
        return Twiml(language).say(whisper.text("declined", language)).hangup().response()
    entry = accept_offer(session, offer, at)
    if entry is None:
        session.commit()
        after_response.route_after_request()
        return Twiml(language).say(whisper.text("gone", language)).hangup().response()
    if entry.callback_id is None:
        call = calls.get_call(session, entry.call_sid)
        if call is not None:
            call.slots = {**(call.slots or {}), "desk_connected": True, "desk_entry": entry.id}
    # The REST work (taking the caller out of the queue, or dialling the customer through the
    # pacing of the outbound pipeline) is a job done once this answer is sent: the operator
    # waits in the conference, never in a webhook Twilio gives 15 s (app/desk/bridge.py).
    bridge.schedule(entry, at)
    session.commit()
    after_response.bridge_after_request(entry.id)
    say = "calling_customer" if entry.callback_id is not None else "connecting"
    doc = Twiml(language).say(whisper.text(say, language))
    return doc.dial_conference(f"desk-{entry.id}", action=desk_url("operator-done", entry=entry.id)).response()


@bp.post("/voice/desk/customer")
@voice_webhook
def customer_answered() -> Response:
    """The customer of an operator-first callback answered: who is calling, then the operator."""
    session = db_session()
    at = now()
    call = calls.webhook_call(session, request.form, at)
    entry = _entry(session)
    cb = session.get(Callback, entry.callback_id) if entry is not None and entry.callback_id else None
    settings = _settings()
    if entry is None or cb is None:
        session.commit()
        language = settings.default_language
        return Twiml(language).say(whisper.caller_text("sorry", language)).hangup().response()
    call.language = cb.language
    if cb.call_sid is None or cb.status in (DISPATCHING, UNKNOWN):
        link_call(session, cb, call.call_sid, at, actor="twilio", note="answered (linked by /voice/desk/customer)")
    answered_by = (request.form.get("AnsweredBy") or "").strip()[:32]
    if answered_by:
        cb.answered_by = answered_by
    if cb.status == PLACED:
        transition(session, cb, ANSWERED, at=at, actor="twilio", call_sid=call.call_sid,
                   note=f"answered by {answered_by or 'unknown'} (operator-first)")
    about = booking.about_text(session, cb, cb.language)
    if answered_by.startswith("machine") or answered_by == "fax":
        text = machine_message(cb, about=about, company=settings.company_name, number=settings.twilio_caller_id,
                               at=at)
        session.commit()
        doc = Twiml(cb.language)
        if answered_by != "fax":
            doc.pause(1).say(text)
        return doc.hangup().response()
    if entry.status != CONNECTED:  # the operator has gone meanwhile
        session.commit()
        return Twiml(cb.language).say(whisper.caller_text("sorry", cb.language)).hangup().response()
    entry.details = {**(entry.details or {}), "joined": True}
    bridge.mark_joined(session, entry)
    session.commit()
    doc = Twiml(cb.language).say(whisper.caller_text("callback_hello", cb.language, company=settings.company_name,
                                                     about=about))
    return doc.dial_conference(f"desk-{entry.id}", action=desk_url("caller-done", entry=entry.id)).response()


def _entry(session: Session) -> QueueEntry | None:
    raw = request.args.get("entry", "")
    return session.get(QueueEntry, int(raw)) if raw.isdigit() else None


@bp.post("/voice/desk/join")
@voice_webhook
def caller_joins() -> Response:
    """The caller, taken out of the queue for the operator who accepted."""
    session = db_session()
    entry = _entry(session)
    language = entry.language if entry and entry.language in whisper.LANGUAGES else _settings().default_language
    if entry is None or entry.status != CONNECTED:
        return Twiml(language).say(whisper.caller_text("sorry", language)).hangup().response()
    bridge.mark_joined(session, entry)
    session.commit()
    doc = Twiml(language).say(whisper.caller_text("connecting", language))
    return doc.dial_conference(f"desk-{entry.id}", action=desk_url("caller-done", entry=entry.id)).response()


@bp.post("/voice/desk/caller-done")
@voice_webhook
def caller_done() -> Response:
    """The operator left the conversation; the caller is still on the line: a goodbye."""
    return _after(caller=True)


@bp.post("/voice/desk/operator-done")
@voice_webhook
def operator_done() -> Response:
    return _after(caller=False)


def _after(*, caller: bool) -> Response:
    session = db_session()
    at = now()
    entry = _entry(session)
    if entry is not None and conversation_ended(session, entry, at, wrapup_seconds=_settings().desk_wrapup_seconds):
        session.commit()
    if caller:
        language = entry.language if entry and entry.language in whisper.LANGUAGES else _settings().default_language
        return Twiml(language).say(whisper.caller_text("goodbye", language, company=_settings().company_name)
                                   ).hangup().response()
    language = (operator_language(session, entry.operator_id) if entry and entry.operator_id
                else _settings().default_language)
    return Twiml(language).say(whisper.text("ended", language)).hangup().response()
