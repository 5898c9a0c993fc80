"""The desk listens to calls: a caller joining or leaving a queue, and the final status of a
caller's or an operator's call. Each change that frees a caller or an operator runs a routing
pass once the webhook's transaction is committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import signals
from app.clock import now
from app.desk import callers, whisper
from app.desk.after_response import after_response, route_after_request
from app.desk.models import CONNECTED, OFFER_RINGING, Offer, QueueEntry
from app.desk.states import conversation_ended, end_offer
from app.models import TERMINAL_STATUSES, Call
from app.telephony import TelephonyError, Twiml

log = logging.getLogger(__name__)

# The operator's phone did not take the call: how the desk records the offer.
UNANSWERED = {"busy": "busy", "no-answer": "no-answer", "failed": "failed", "canceled": "no-answer",
              "completed": "no-answer"}


def _on_waiting(_sender: Flask, *, session: Session, call: Call, params: Mapping[str, str], **_: Any) -> None:
    if callers.note_waiting(session, call, params, now()) is not None:
        route_after_request()


def _on_left(_sender: Flask, *, session: Session, call: Call, result: str, **_: Any) -> None:
    if result in ("bridged", "bridging-in-process"):
        return
    if callers.caller_left(session, call.call_sid, result, now()) is not None:
        route_after_request()


def _on_status(_sender: Flask, *, session: Session, call: Call, params: Mapping[str, str], **_: Any) -> None:
    if call.status not in TERMINAL_STATUSES:
        return
    at = now()
    settings = current_app.extensions["cortese.settings"]
    freed = False
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.call_sid))
    if entry is not None:
        if entry.status == CONNECTED:
            freed = conversation_ended(session, entry, at, wrapup_seconds=settings.desk_wrapup_seconds)
            if entry.callback_id and not (entry.details or {}).get("joined"):
                _tell_operator_no_answer(session, entry)
        else:
            freed = callers.caller_left(session, call.call_sid, "hangup", at) is not None
    offer = session.scalar(select(Offer).where(Offer.operator_call_sid == call.call_sid))
    if offer is not None:
        if offer.status == OFFER_RINGING:
            freed = end_offer(session, offer, UNANSWERED.get(call.status, "no-answer"), at,
                              note=f"operator's phone: {call.status}") or freed
        else:
            taken = session.get(QueueEntry, offer.entry_id)
            if taken is not None and taken.status == CONNECTED and taken.offer_id == offer.id:
                freed = conversation_ended(session, taken, at, wrapup_seconds=settings.desk_wrapup_seconds) or freed
    if freed:
        route_after_request()


def _tell_operator_no_answer(session: Session, entry: QueueEntry) -> None:
    """An operator-first callback's customer did not take the call: the operator, waiting in
    the conference, is told and released (the callbacks' retry policy calls again later)."""
    offer = session.get(Offer, entry.offer_id) if entry.offer_id else None
    if offer is None or not offer.operator_call_sid:
        return
    language = whisper.operator_language(session, offer.operator_id)
    twiml = Twiml(language).say(whisper.text("no_answer", language)).hangup().xml()
    call_sid, gateway = offer.operator_call_sid, current_app.extensions["cortese.gateway"]

    def _tell() -> None:
        try:
            gateway.update_call(call_sid, twiml=twiml)
        except TelephonyError as exc:  # they hear the conference's music and hang up themselves
            log.warning("could not tell operator call %s that the customer did not answer: %s", call_sid, exc)

    after_response(_tell)


def connect() -> None:
    """From app.desk.init_app: the desk hears callers queueing and calls ending."""
    signals.caller_waiting.connect(_on_waiting)
    signals.caller_left_queue.connect(_on_left)
    signals.call_status_changed.connect(_on_status)
