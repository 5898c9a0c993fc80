"""Status callbacks are idempotent and ordered by SequenceNumber."""

from __future__ import annotations

from sqlalchemy import func, select

from app import signals
from app.db import session_scope
from app.models import Call, CallEvent
from tests.conftest import voice_params


def _status(twilio, sid, status, seq, **extra):
    params = voice_params(CallSid=sid, CallStatus=status, SequenceNumber=str(seq),
                          Direction="outbound-api", CallbackSource="call-progress-events", **extra)
    response = twilio.post("/voice/status", params)
    assert response.status_code == 204
    return response


def _call(app, sid):
    with app.app_context(), session_scope() as s:
        call = s.scalar(select(Call).where(Call.call_sid == sid))
        events = s.scalar(select(func.count()).select_from(CallEvent).where(CallEvent.call_id == call.id))
        return call, events


def test_in_order_callbacks_end_completed_with_duration(app, twilio):
    sid = "CA" + "a" * 32
    for seq, status in enumerate(["initiated", "ringing", "in-progress"]):
        _status(twilio, sid, status, seq)
    _status(twilio, sid, "completed", 3, CallDuration="42", Duration="1")
    call, events = _call(app, sid)
    assert (call.status, call.duration_seconds, events) == ("completed", 42, 4)
    assert call.ended_at is not None


def test_late_ringing_never_overwrites_completed(app, twilio):
    sid = "CA" + "b" * 32
    _status(twilio, sid, "completed", 3, CallDuration="10")
    _status(twilio, sid, "ringing", 1)
    _status(twilio, sid, "in-progress", 2)
    call, events = _call(app, sid)
    assert call.status == "completed" and call.last_sequence == 3
    assert events == 3  # history keeps every event even when it changes nothing


def test_duplicates_are_stored_once(app, twilio):
    sid = "CA" + "c" * 32
    for _ in range(3):
        _status(twilio, sid, "ringing", 1)
    _status(twilio, sid, "in-progress", 2, AnsweredBy="human")
    _status(twilio, sid, "in-progress", 2, AnsweredBy="human")
    call, events = _call(app, sid)
    assert (call.status, call.answered_by, events) == ("in-progress", "human", 2)


def test_busy_is_terminal(app, twilio):
    sid = "CA" + "d" * 32
    _status(twilio, sid, "busy", 2)
    _status(twilio, sid, "in-progress", 5)
    call, _ = _call(app, sid)
    assert call.status == "busy"


def test_status_without_sequence_or_with_garbage_is_accepted(app, twilio):
    sid = "CA" + "e" * 32
    params = voice_params(CallSid=sid, CallStatus="no-such-status", SequenceNumber="x")
    assert twilio.post("/voice/status", params).status_code == 204
    call, events = _call(app, sid)
    assert call.status == "queued" and events == 1


def test_receivers_hear_each_change_once_not_duplicates_or_stale_deliveries(twilio, app):
    heard: list[str] = []

    def receiver(_sender, *, call, params, **_kw):
        heard.append(params["CallStatus"])

    params = voice_params(CallSid="CA" + "7" * 32)
    with signals.call_status_changed.connected_to(receiver):
        for status, seq in (("ringing", "1"), ("completed", "3"), ("completed", "3"), ("in-progress", "2")):
            assert twilio.post("/voice/status", {**params, "CallStatus": status, "SequenceNumber": seq}).status_code == 204
    assert heard == ["ringing", "completed"]
