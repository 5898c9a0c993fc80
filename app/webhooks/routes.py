"""Thin voice routes: parse, hand to a service, return TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from app import calls, signals
from app.clock import now
from app.db import commits_after, db_session, ping
from app.flows.engine import StaleTurn, get_engine
from app.flows.safety import apology_response, voice_webhook

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
    call = calls.webhook_record(session, form, at)
    # The call's record is kept whatever its first turn does, and on SQLite the write lock is
    # not held through the whole turn (caller recognition's lookups) for every new call.
    session.commit()
    try:
        with commits_after():  # the turn's save is the last write before the commit below
            doc = engine.start_inbound(session, call, now=at, params=form)
    except StaleTurn:
        # Twilio's retry of this request won the race to start the flow: say what it said.
        session.rollback()
        call = calls.webhook_record(session, form, at)
        doc = engine.resume_retried_start(session, call, now=at, params=form)
    session.commit()
    return doc.response()


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

