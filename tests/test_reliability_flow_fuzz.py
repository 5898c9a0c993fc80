"""Fuzzed flow webhooks (/voice/flow/<step>?v=N) on live calls.

Whatever arrives — random, missing, oversized or malformed parameters, unknown steps, stale,
future, replayed or malformed versions, unknown CallSids, status callbacks out of order and
twice, state naming flows or nodes that no longer exist — the caller gets HTTP 200 and TwiML
Twilio would execute that speaks or routes and never ends on a Gather; and the stored call
state stays sound: state_version never goes back, the node is always a real node of a real
flow, the status only moves forward.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.calls import get_call, new_call
from app.db import session_scope
from app.flows.engine import Engine, get_engine
from app.flows.safety import VOICE_MAX_BYTES
from app.models import STATUS_RANK, Call
from app.sim.twiml import Verb
from tests.conftest import voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of, said

HOTLINES = ["+390212345678", "+31201234567", "+442071234567", "+15005550006"]
CALLERS = ["+393471234567", "+31612345678", "+447700900123", "anonymous", "+266696687"]
STEPS = ["input", "silence", "transfer", "recorded", "language", "queue-wait", "queue-leave",
         "bogus", "INPUT", "input.json", "x" * 300]
junk = st.one_of(
    st.text(max_size=30),
    st.text(min_size=1000, max_size=3000),
    st.sampled_from(["", "1", "2", "3", "9", "0", "*", "#", "12345678#", "**", "1" * 200, "sì",
                     "operatore", "ja", "yes", "no", "'; DROP TABLE calls; --",
                     "<Say>x</Say>", "\x00", "🙂" * 40, "-1", "NaN", "completed", "leave",
                     "bridged", "busy", "no-answer", "https://api.twilio.com/rec/RE1"]),
)
FLOW_FIELDS = ["Digits", "SpeechResult", "Confidence", "QueueResult", "DialCallStatus",
               "RecordingUrl", "RecordingDuration", "QueueTime", "QueuePosition", "CallStatus",
               "AnsweredBy", "Direction", "empty"]


def twilio_sized(params: dict[str, str]) -> dict[str, str]:
    """Only requests within the bound a voice webhook may carry: a larger body is not Twilio's and
    is answered 413 before its signature is hashed (tests/test_hostile_input.py holds that)."""
    assume(len(urlencode(params).encode()) <= VOICE_MAX_BYTES)
    return params


versions = st.one_of(
    st.sampled_from(["current", "stale", "next", "missing", "zero"]),
    st.sampled_from(["abc", "-1", "1.5", "9" * 40, "", "1&v=2", "%00"]),
)
ops = st.one_of(
    st.tuples(st.just("flow"), st.sampled_from(STEPS), versions,
              st.dictionaries(st.sampled_from(FLOW_FIELDS), junk, max_size=5)),
    st.tuples(st.just("answer"), junk),            # a proper answer to the last Gather
    st.tuples(st.just("silence")),                 # follow the last Redirect
    st.tuples(st.just("status"), st.sampled_from(sorted(STATUS_RANK)), st.integers(-2, 9)),
    st.tuples(st.just("inbound")),                 # Twilio retries the Voice URL
    st.tuples(st.just("replay")),                  # the exact previous request again
    st.tuples(st.just("other_sid"), st.sampled_from(STEPS[:5])),  # a CallSid we never saw
)


@dataclass
class Live:
    """What the fuzzer knows about its call, and what the DB held after the last request."""

    params: dict[str, str]
    last: tuple[str, dict[str, str]] | None = None
    gather: str | None = None
    redirect: str | None = None
    version: int = 0
    status_rank: int = 0
    history: list[str] = field(default_factory=list)


def _flow_path(step: str, mode: str, version: int) -> str:
    value = {"current": str(version), "stale": str(max(version - 1, 0)), "next": str(version + 1),
             "zero": "0", "missing": None}.get(mode, mode)
    return f"/voice/flow/{step}" + ("" if value is None else "?" + urlencode({"v": value}))


def _remember(live: Live, verbs: list[Verb]) -> None:
    live.gather = first_gather_action(verbs)
    redirects = [v.text for v in verbs if v.name == "Redirect"]
    live.redirect = redirects[-1] if redirects else None


def _check_state(app: Any, live: Live) -> None:
    engine = app.extensions["cortese.flows"]
    with app.app_context(), session_scope() as session:
        call = session.scalar(select(Call).where(Call.call_sid == live.params["CallSid"]))
        if call is None:
            return
        assert call.state_version >= live.version, f"state_version went back: {live.history}"
        live.version = call.state_version
        assert call.status in STATUS_RANK
        assert STATUS_RANK[call.status] >= live.status_rank, f"status went back: {live.history}"
        live.status_rank = STATUS_RANK[call.status]
        if call.node is not None:
            assert engine.flows.node(call.flow, call.node) is not None, (
                f"state names {call.flow}.{call.node}, which does not exist: {live.history}")
        assert call.language in (None, "it", "nl", "en")


def _run(twilio: Any, app: Any, live: Live, op: tuple[Any, ...]) -> None:
    kind = op[0]
    live.history.append(repr(op)[:200])
    if kind == "flow":
        _, step, mode, extra = op
        path = _flow_path(step, mode, live.version)
        params = {**live.params, "CallStatus": "in-progress", **extra}
    elif kind == "answer":
        if not live.gather:
            return
        path, params = path_of(live.gather), {**live.params, "CallStatus": "in-progress", "Digits": op[1]}
        if not op[1].strip("0123456789#*"):
            params["Digits"] = op[1]
        else:
            params = {**params, "SpeechResult": params.pop("Digits"), "Confidence": "0.8"}
    elif kind == "silence":
        if not live.redirect:
            return
        path, params = path_of(live.redirect), {**live.params, "CallStatus": "in-progress"}
    elif kind == "status":
        _, status, seq = op
        params = {**live.params, "CallStatus": status, "SequenceNumber": str(seq)}
        response = twilio.post("/voice/status", params)
        assert response.status_code == 204, response.get_data(as_text=True)[:300]
        return
    elif kind == "inbound":
        path, params = "/voice/inbound", live.params
    elif kind == "replay":
        if live.last is None:
            return
        path, params = live.last
    else:  # other_sid: a webhook for a call this app never saw
        path = f"/voice/flow/{op[1]}?v=1"
        params = {**live.params, "CallSid": "CA" + uuid.uuid4().hex}
    live.last = (path, params)
    response = twilio.post(path, twilio_sized(params))
    if path.startswith("/voice/flow/") and response.status_code == 404:
        return  # a step name Flask's router refuses (a slash in it): no call was touched
    verbs = assert_voice_answer(response)
    if params["CallSid"] == live.params["CallSid"]:
        _remember(live, verbs)


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(to=st.sampled_from(HOTLINES), caller=st.sampled_from(CALLERS), script=st.lists(ops, max_size=14))
def test_fuzzed_flow_webhooks_keep_the_call_sound(app, twilio, to, caller, script):
    live = Live(voice_params(From=caller, Caller=caller, To=to, Called=to))
    first = twilio.post("/voice/inbound", live.params)
    _remember(live, assert_voice_answer(first))
    live.last = ("/voice/inbound", live.params)
    _check_state(app, live)
    for op in script:
        _run(twilio, app, live, op)
        _check_state(app, live)


def _start(twilio: Any, **params: str) -> tuple[dict[str, str], list[Verb]]:
    call = voice_params(**params)
    return call, assert_voice_answer(twilio.post("/voice/inbound", call))


def _set_state(app: Any, sid: str, **values: Any) -> None:
    with app.app_context(), session_scope() as session:
        session.execute(update(Call).where(Call.call_sid == sid).values(**values))


def _state(app: Any, sid: str) -> Call:
    with app.app_context(), session_scope() as session:
        return session.scalar(select(Call).where(Call.call_sid == sid))


@pytest.mark.parametrize("corruption", [
    {"flow": "flow_removed_in_a_deploy"},
    {"node": "node_removed_in_a_deploy"},
    {"flow": None, "node": "ask_open_order"},
    {"language": "xx"},
    {"counters": {"retries": "not-a-dict", "failures": "many", "tz": "Mars/Olympus"}},
    {"slots": {"caller_name": {"nested": ["odd"]}, "open_order": 12}},
], ids=["unknown-flow", "unknown-node", "no-flow", "bad-language", "bad-counters", "odd-slots"])
@pytest.mark.parametrize("step", ["input", "silence", "transfer", "recorded", "language"])
def test_saved_state_naming_what_no_longer_exists_still_answers(app, twilio, corruption, step):
    params, verbs = _start(twilio, From="+393471234567", To="+390212345678")
    _set_state(app, params["CallSid"], **corruption)
    before = _state(app, params["CallSid"])
    response = twilio.post(f"/voice/flow/{step}?v={before.state_version}",
                           {**params, "CallStatus": "in-progress", "Digits": "1"})
    verbs = assert_voice_answer(response)
    after = _state(app, params["CallSid"])
    assert after.state_version >= before.state_version
    engine = app.extensions["cortese.flows"]
    if after.state_version > before.state_version:  # the app wrote new state: it must be real
        assert engine.flows.node(after.flow, after.node) is not None
    assert said(verbs).strip(), "the caller must hear something"


def test_a_stale_version_repeats_the_question_and_does_not_advance(app, twilio):
    params, verbs = _start(twilio, From="+393471234567", To="+390212345678")
    action = first_gather_action(verbs)
    assert action
    version = _state(app, params["CallSid"]).state_version
    answer = {**params, "CallStatus": "in-progress", "Digits": "9"}
    first = assert_voice_answer(twilio.post(path_of(action), answer))
    moved = _state(app, params["CallSid"])
    replay = assert_voice_answer(twilio.post(path_of(action), answer))  # the same request again
    again = _state(app, params["CallSid"])
    assert moved.state_version == version + 1
    # The replay re-renders the current node (one version bump, same node), never acts twice.
    assert (again.flow, again.node) == (moved.flow, moved.node)
    assert first_gather_action(replay) is not None and said(replay).strip()
    assert said(first).strip()


@pytest.mark.parametrize("value", ["", "abc", "-5", "1e3", "99999999999999999999999999"])
def test_malformed_versions_repeat_the_current_node(app, twilio, value):
    params, verbs = _start(twilio, From="+31612345678", To="+31201234567")
    before = _state(app, params["CallSid"])
    response = twilio.post(f"/voice/flow/input?v={value}",
                           {**params, "CallStatus": "in-progress", "Digits": "1"})
    verbs = assert_voice_answer(response)
    after = _state(app, params["CallSid"])
    assert (after.flow, after.node) == (before.flow, before.node)
    assert first_gather_action(verbs) is not None


def test_status_callbacks_twice_and_out_of_order_mid_flow(app, twilio):
    params, verbs = _start(twilio, From="+447700900123", To="+442071234567")
    for status, seq in [("in-progress", 2), ("ringing", 1), ("in-progress", 2), ("completed", 4),
                        ("in-progress", 3), ("completed", 4)]:
        response = twilio.post("/voice/status", {**params, "CallStatus": status, "SequenceNumber": str(seq)})
        assert response.status_code == 204
    # A late Gather answer for a call Twilio already reported completed still gets valid TwiML.
    verbs = assert_voice_answer(twilio.post(path_of(first_gather_action(verbs)),
                                            {**params, "CallStatus": "in-progress", "Digits": "1"}))
    call = _state(app, params["CallSid"])
    assert call.status == "completed" and call.ended_at is not None
    assert app.extensions["cortese.flows"].flows.node(call.flow, call.node) is not None


OUTBOUND_PATHS = ["/voice/callback", "/voice/outbound", "/voice/outbound/machine", "/voice/amd"]
ids = st.one_of(st.integers(-3, 5).map(str), st.sampled_from(["", "abc", "1e9", "9" * 30, "1;2", "%27"]))


@hyp_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(OUTBOUND_PATHS), key=st.sampled_from(["cb", "attempt", "x"]), value=ids,
       extra=st.dictionaries(st.sampled_from(FLOW_FIELDS + ["AnsweredBy", "MachineDetectionDuration"]), junk,
                             max_size=4),
       answered_by=st.sampled_from(["human", "machine_start", "machine_end_beep", "fax", "unknown", ""]))
def test_outbound_webhooks_for_unknown_or_malformed_callbacks_and_attempts(app, twilio, path, key, value,
                                                                           extra, answered_by):
    """Twilio fetching a callback's or campaign call's URL for a row we do not have (deleted,
    another environment's id, a malformed query) still gets a polite answer, never a 500."""
    params = {**voice_params(Direction="outbound-api", From="+390212345678", To="+393471234567",
                             CallStatus="in-progress", AnsweredBy=answered_by), **extra}
    response = twilio.post(f"{path}?{urlencode({key: value})}", twilio_sized(params))
    if path == "/voice/amd" and response.status_code == 204:
        return  # the AMD verdict callback may answer with no content
    assert_voice_answer(response)


def test_a_retried_first_webhook_racing_the_original_says_everything_once(app, twilio, monkeypatch):
    """Twilio retries /voice/inbound while the original is still being served: both start the
    new call; the one whose save (the call's INSERT with its first turn) comes second finds the
    call written, and hears the whole opening again from the winner's state. The flow starts once."""
    params = voice_params(From="+393471234567", To="+390212345678", CallStatus="ringing")
    real_start = Engine.start_inbound
    raced: list[bool] = []

    def original_finishes_first(self, session, call, *, now, params):
        if not raced:
            raced.append(True)
            with session_scope(app) as other:  # the original request, served meanwhile
                real_start(get_engine(), other, new_call(params, now), now=now, params=params)
        return real_start(self, session, call, now=now, params=params)

    monkeypatch.setattr(Engine, "start_inbound", original_finishes_first)
    verbs = assert_voice_answer(twilio.post("/voice/inbound", params))
    assert raced and first_gather_action(verbs) is not None and said(verbs).strip()
    state = _state(app, params["CallSid"])
    # Started once (version 1, the winner); the loser's turn was rolled back and it repeated
    # the winner's node (version 2), as every replay does.
    assert state.state_version == 2
    with session_scope(app) as session:
        kinds = [s.kind for s in get_call(session, params["CallSid"]).steps]
    assert kinds.count("support.identify") == 1, kinds


def test_a_first_turn_that_fails_keeps_the_calls_record(app, twilio, monkeypatch):
    """A new call is written by its first turn's save; when the turn fails instead, the call's
    record is written anyway (from, to, status as the webhook said) and the caller hears an
    apology, so the call is in the records and its status callbacks find it."""
    params = voice_params(From="+393471234567", To="+390212345678", CallStatus="ringing")

    def broken(self, *args, **kwargs):
        raise RuntimeError("a flow action failed")

    monkeypatch.setattr(Engine, "start", broken)
    verbs = assert_voice_answer(twilio.post("/voice/inbound", params))
    assert "Ci scusi" in said(verbs)
    state = _state(app, params["CallSid"])
    assert (state.from_number, state.to_number, state.status, state.node) == (
        "+393471234567", "+390212345678", "ringing", None)


def test_a_first_webhook_after_the_calls_status_callback_starts_its_flow(app, twilio):
    """A status callback can reach us before the call's first webhook and write the call
    without a flow: the first webhook then starts the flow on that row."""
    params = voice_params(From="+393471234567", To="+390212345678", CallStatus="ringing")
    assert twilio.post("/voice/status", {**params, "SequenceNumber": "0"}).status_code == 204
    verbs = assert_voice_answer(twilio.post("/voice/inbound", params))
    assert first_gather_action(verbs) is not None and said(verbs).strip()
    state = _state(app, params["CallSid"])
    assert (state.flow, state.node, state.state_version) == ("support_menu", "menu", 1)


def test_two_workers_serving_the_same_menu_answer_advance_the_call_once(app, twilio, monkeypatch):
    """Twilio retries a Gather's action while the first request is still being served, and
    another worker takes the retry: both compute the turn, the first to save wins. The other
    one's state UPDATE finds the version moved (StaleTurn), rolls back its turn and says the
    node the winner left the call at; the menu choice is applied once."""
    params = voice_params(From="+393471234567", To="+390212345678", CallStatus="ringing")
    gather = first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params)))
    assert gather is not None
    answer = {**params, "CallStatus": "in-progress", "Digits": "1"}
    before = _state(app, params["CallSid"]).state_version
    real_handle = Engine.handle
    raced: list[bool] = []

    def the_other_worker_saves_first(self, session, call, step, version, *, now, params):
        if not raced:
            raced.append(True)
            with session_scope(app) as other:  # the same webhook, served by another worker
                real_handle(get_engine(), other, get_call(other, call.call_sid), step, version,
                            now=now, params=params)
        return real_handle(self, session, call, step, version, now=now, params=params)

    monkeypatch.setattr(Engine, "handle", the_other_worker_saves_first)
    verbs = assert_voice_answer(twilio.post(path_of(gather), answer))
    assert raced and said(verbs).strip()
    state = _state(app, params["CallSid"])
    assert (state.flow, state.state_version) == ("faq", before + 2)  # the winner's turn, then a repeat
    with session_scope(app) as session:
        steps = get_call(session, params["CallSid"]).steps
    chose = [s for s in steps if s.kind == "input" and s.outcome == "info"]
    assert len(chose) == 1, [(s.kind, s.outcome) for s in steps]
