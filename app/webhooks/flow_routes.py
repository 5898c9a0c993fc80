"""Thin routes for every webhook a flow's TwiML points Twilio at: /voice/flow/<step>?v=N."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from app import calls, signals
from app.clock import now
from app.db import db_session
from app.flows.engine import StaleTurn, get_engine
from app.flows.safety import voice_webhook

bp = Blueprint("flows", __name__)

STEPS = ("input", "silence", "transfer", "recorded", "language")
QUEUE_STEPS = ("queue-wait", "queue-leave")


@bp.post("/voice/flow/<step>")
@voice_webhook
def flow_step(step: str) -> Response:
    session = db_session()
    engine = get_engine()
    at = now()
    call = calls.ensure_call(session, request.form, at)
    if step in QUEUE_STEPS:
        # A turn saves the webhook's CallStatus with the call's state (one UPDATE); the queue
        # steps save no state, so theirs is applied here.
        calls.advance_status(call, request.form.get("CallStatus"), at)
    if step == "queue-wait":
        doc = engine.queue_wait(session, call, now=at, params=request.form)
        signals.caller_waiting.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                                    session=session, call=call, params=request.form)
    elif step == "queue-leave":
        doc = engine.queue_leave(call, request.form)
    elif step not in STEPS or not call.node:
        # A step we never render, or a call we hold no state for (a database restored from
        # backup, a webhook replayed from elsewhere): start it the way its hotline would.
        doc = engine.start_inbound(session, call, now=at, params=request.form)
    else:
        try:
            doc = engine.handle(session, call, step, request.args.get("v", type=int),
                                now=at, params=request.form)
            if step == "transfer" and request.form.get("QueueResult"):
                signals.caller_left_queue.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                                               session=session, call=call, result=request.form["QueueResult"])
        except StaleTurn:
            session.rollback()
            call = calls.ensure_call(session, request.form, at)
            doc = engine.resume(session, call, now=at, params=request.form)
    session.commit()
    return doc.response()
