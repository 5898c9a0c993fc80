"""Fuzzed webhooks: random, missing, oversized and malformed parameters never produce a 500,
always valid TwiML that speaks or routes (or, for what Twilio never sends, a malformed CallSid
or a body past the size bound, a plain 4xx), and never corrupt stored call state."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db import session_scope
from app.flows.safety import VOICE_MAX_BYTES
from app.models import STATUS_RANK, Call
from tests.conftest import voice_params

FIELDS = ["CallSid", "AccountSid", "From", "To", "Caller", "Called", "Direction", "CallStatus",
          "SequenceNumber", "Digits", "SpeechResult", "Confidence", "CallDuration", "AnsweredBy",
          "QueueResult", "DialCallStatus", "RecordingUrl", "Timestamp", "ApiVersion"]
SPEAKING = {"Say", "Play", "Dial", "Enqueue", "Redirect", "Gather", "Record"}

text = st.one_of(
    st.text(max_size=40),
    st.text(min_size=2000, max_size=5000),
    st.sampled_from(["", "anonymous", "client:alice", "sip:bob@example.com", "+266696687",
                     "'; DROP TABLE calls; --", "<script>alert(1)</script>", "NaN", "-1", "9" * 30,
                     "completed", "ringing", "in-progress", "\x00", "🙂" * 50]),
)
params_strategy = st.dictionaries(st.sampled_from(FIELDS), text, max_size=len(FIELDS))
paths = st.sampled_from(["/voice/inbound", "/voice/status", "/voice/fallback"])


def _assert_valid_voice_answer(response) -> None:
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:500]
    if response.status_code == 204:
        return
    assert response.mimetype in ("text/xml", "application/xml")
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    verbs = {child.tag for child in root.iter()}
    assert verbs & SPEAKING, f"silent TwiML: {response.get_data(as_text=True)}"


@hyp_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, overrides=params_strategy, keep_sid=st.booleans())
def test_random_parameters_never_break_a_call(app, twilio, path, overrides, keep_sid):
    params = voice_params(**overrides) if keep_sid else {**overrides}
    response = twilio.post(path, params)
    if len(urlencode(list(params.items()))) > VOICE_MAX_BYTES:
        assert response.status_code == 413  # far more than Twilio ever sends
    elif not re.fullmatch(r"CA[0-9a-f]{32}", params.get("CallSid", "")):
        assert response.status_code == 400  # Twilio's CallSid is always CA + 32 hex digits
        assert "CallSid" in response.get_data(as_text=True)
    else:
        _assert_valid_voice_answer(response)
    with app.app_context(), session_scope() as session:
        for call in session.scalars(select(Call)):
            assert call.status in STATUS_RANK
            assert len(call.call_sid) <= 64


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(st.tuples(st.sampled_from(sorted(STATUS_RANK)), st.integers(-3, 8)), max_size=12))
def test_status_callbacks_in_any_order_end_in_a_consistent_state(app, twilio, statuses):
    sid = "CA" + uuid.uuid4().hex  # the app fixture is shared by every example
    for status, seq in statuses:
        assert twilio.post("/voice/status", voice_params(CallSid=sid, CallStatus=status,
                                                         SequenceNumber=str(seq))).status_code == 204
    with app.app_context(), session_scope() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        if not statuses:
            assert call is None
            return
        if any(STATUS_RANK[s] == 9 for s, _ in statuses):
            assert call.status in ("completed", "busy", "failed", "no-answer", "canceled")
        assert call.last_sequence <= max([-1] + [q for _, q in statuses])
        assert len(call.events) == len(set(statuses))


def test_replayed_webhook_is_harmless(app, twilio):
    params = voice_params()
    first = twilio.post("/voice/inbound", params)
    second = twilio.post("/voice/inbound", params)
    assert first.status_code == second.status_code == 200
    with app.app_context(), session_scope() as session:
        assert len(session.scalars(select(Call)).all()) == 1


def test_oversized_body_is_refused_without_a_500(app, twilio):
    params = voice_params(SpeechResult="x" * (5 * 1024 * 1024))  # over the 4 MiB body limit
    response = twilio.post("/voice/inbound", params)
    assert response.status_code == 413
