"""Thin voice routes: parse, hand to a service, return TwiML."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from app import calls, signals
from app.clock import now
from app.db import commits_after, db_session, ping
from app.flows.engine import Engine, StaleTurn, get_engine
from app.flows.safety import apology_response, voice_webhook
from app.telephony import Twiml

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__)


@bp.post("/voice/inbound")
@voice_webhook
def inbound() -> Response:
    """The hotline number's Voice URL: the flow hotlines.yaml names for the called number."""
    form = request.form  # one look-up through Flask's proxy, not one per use
    session = db_session()
    at = now()
    engine = get_engine()
    try:
        # A new call is written once, by its first turn's save (the call, its state and its
        # steps in one statement): nothing is written, and no lock held, before.
        with commits_after():
            doc = engine.start_inbound(session, calls.new_call(form, at), now=at, params=form)
    except StaleTurn:
        # The call is known already: Twilio's retry of this request, or a status callback,
        # wrote it first.
        session.rollback()
        doc = _start_known_call(session, engine, form, at)
    except Exception:
        # The call's record is kept whatever its first turn does (the caller hears an apology).
        session.rollback()
        calls.webhook_record(session, form, at)
        session.commit()
        raise
    session.commit()
    return doc.response()


def _start_known_call(session: Session, engine: Engine, form: Mapping[str, str], at: datetime) -> Twiml:
    """A first webhook for a call we have a row for: Twilio retried it (the flow goes on where
    the winner left it, saying again what it said) or the row has no flow yet (start it)."""
    call = calls.webhook_record(session, form, at)
    try:
        with commits_after():  # the turn's save is the last write before the route commits
            return engine.start_inbound(session, call, now=at, params=form)
    except StaleTurn:  # another request started the flow meanwhile: say what it said
        session.rollback()
        call = calls.webhook_record(session, form, at)
        return engine.resume_retried_start(session, call, now=at, params=form)


@bp.post("/voice/status")
@voice_webhook
def status() -> Response:
    """Status callback for every call: idempotent, ordered by SequenceNumber."""
    session = db_session()
    call, changed = calls.apply_status_callback(session, request.form, now())
    if changed:  # duplicates and late, out-of-order deliveries change nothing downstream
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app, not its proxy
        signals.call_status_changed.send(app, session=session, call=call, params=request.form)
    session.commit()
    return Response(status=204)


@bp.post("/voice/fallback")
@voice_webhook
def fallback() -> Response:
    """Twilio's Fallback URL: the primary URL failed, so apologise and end politely."""
    log.error(
        "fallback requested: ErrorCode=%s ErrorUrl=%s",
        request.form.get("ErrorCode"), request.form.get("ErrorUrl"),
    )
    return apology_response(request.form.get("CallSid", "")[:64])


@bp.get("/health")
def health() -> tuple[Response, int]:
    try:
        ping()
    except Exception as exc:
        log.error("health check: database unreachable: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200

