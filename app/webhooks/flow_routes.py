"""Thin routes for every webhook a flow's TwiML points Twilio at: /voice/flow/<step>?v=N."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

from flask import Blueprint, Request, Response, current_app, request
from sqlalchemy.orm import Session

from app import calls, signals
from app.calls import CallRecord
from app.clock import now
from app.db import commits_after, db_session
from app.flows.engine import Engine, StaleTurn, get_engine
from app.flows.safety import voice_webhook
from app.telephony import Twiml

bp = Blueprint("flows", __name__)

STEPS = ("input", "silence", "transfer", "recorded", "language")
QUEUE_STEPS = ("queue-wait", "queue-leave")


@bp.post("/voice/flow/<step>")
@voice_webhook
def flow_step(step: str) -> Response:
    req: Request = request._get_current_object()  # type: ignore[attr-defined]  # one look-up, not one per use
    form = req.form
    session = db_session()
    engine = get_engine()
    at = now()
    record = calls.load_record(session, form["CallSid"]) if step in STEPS else None
    if record is not None and record.node:
        doc = _turn(session, engine, req, step, record, at)  # the hot path: a plain record, no ORM
    else:
        call = calls.ensure_call(session, form, at)
        if step in QUEUE_STEPS:
            # A turn saves the webhook's CallStatus with the call's state (one UPDATE); the
            # queue steps save no state, so theirs is applied here.
            calls.advance_status(call, form.get("CallStatus"), at)
        if step == "queue-wait":
            doc = engine.queue_wait(session, call, now=at, params=form)
            signals.caller_waiting.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                                        session=session, call=call, params=form)
        elif step == "queue-leave":
            doc = engine.queue_leave(call, form)
        else:
            # A step we never render, or a call we hold no state for (a database restored from
            # backup, a webhook replayed from elsewhere): start it the way its hotline would.
            doc = engine.start_inbound(session, call, now=at, params=form)
    session.commit()
    return doc.response()


def _turn(session: Session, engine: Engine, req: Request, step: str, call: CallRecord, at: datetime) -> Twiml:
    """One turn of the call's flow; a turn another worker beat us to repeats where it is."""
    form = req.form
    left_queue = step == "transfer" and bool(form.get("QueueResult"))
    try:
        # The turn's save is the last write before the route commits, but when the signal
        # below may write too (in the turn's transaction).
        with nullcontext() if left_queue else commits_after():
            doc = engine.handle(session, call, step, req.args.get("v", type=int), now=at, params=form)
    except StaleTurn:
        session.rollback()
        record = calls.load_record(session, call.call_sid)
        assert record is not None  # it existed a moment ago; calls are never deleted mid-call
        return engine.resume(session, record, now=at, params=form)
    if left_queue:
        signals.caller_left_queue.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                                       session=session, call=call, result=form["QueueResult"])
    return doc
