"""The desk end to end with the simulator (issue 18): a caller who presses 0 inside opening
hours waits in the queue hearing music until an operator, rung by the desk, heard the whisper
and pressed 1; then the two talk in a conference. Operators who decline or let it ring are
set away and the next one is rung; the caller never hears silence and keeps their place."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.db import session_scope
from app.desk.models import (
    AVAILABLE,
    AWAY,
    BUSY,
    CONNECTED,
    DONE,
    WAITING,
    WRAPUP,
    DeskOperator,
    QueueEntry,
)
from app.desk.routing import route_now
from app.desk.service import choose_state
from app.models import Call
from app.sim import QueuePlan
from tests.desk_support import minutes, operator

WEDNESDAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 11:00 in Rome and Amsterdam, 10:00 in London
HOTLINES = {  # our number per language (flows/hotlines.yaml) and a caller of that country
    "it": ("+390212345678", "+393471234567"),
    "nl": ("+31201234567", "+31612345678"),
    "en": ("+442071234567", "+447700900123"),
}
OPERATOR_PHONE = "+393331110001"


@pytest.fixture
def now(clock):
    clock.set(WEDNESDAY)
    return WEDNESDAY


def _operator(app, name="anna", phone=OPERATOR_PHONE, languages=("it", "nl", "en"), **kw) -> int:
    with session_scope(app) as s:
        return operator(s, name, phone=phone, languages=languages, since=WEDNESDAY - minutes(10), **kw).id


def _state(app, op_id: int) -> str:
    with session_scope(app) as s:
        return s.get(DeskOperator, op_id).state


def _entry(app, call_sid: str) -> QueueEntry:
    with session_scope(app) as s:
        return s.query(QueueEntry).filter_by(call_sid=call_sid).one()


def _press_0(sim, language: str):
    ours, theirs = HOTLINES[language]
    caller = sim.inbound(from_=theirs, to=ours, queue=QueuePlan("wait"))
    caller.press("0")
    return caller


@pytest.mark.parametrize("language, whisper, connecting", [
    ("it", "Caller speaks Italian", "le passo ora un operatore"),
    ("nl", "Caller speaks Dutch", "doorverbonden met een medewerker"),
    ("en", "Caller speaks English", "putting you through to an operator"),
])
def test_a_caller_pressing_0_talks_to_the_operator_who_accepted(sim, app, now, language, whisper, connecting):
    op_id = _operator(app)
    sim.twilio.script(OPERATOR_PHONE, inputs=["1"])
    caller = _press_0(sim, language)
    assert caller.waiting_for == "gather"  # in the queue, hearing the wait music
    assert _entry(app, caller.sid).status == "ringing"
    (phone,) = sim.twilio.ring_pending()
    assert phone.heard(whisper) and phone.heard("Press 1 to take the call")
    assert phone.in_conference
    assert caller.in_conference and caller.heard(connecting)
    assert caller.talking_with == [phone.sid]
    assert _state(app, op_id) == BUSY
    entry = _entry(app, caller.sid)
    assert entry.status == CONNECTED and entry.language == language and entry.reason == "operator"
    caller.hangup()
    assert phone.ended and phone.heard("Please wrap up on the desk")
    assert _entry(app, caller.sid).status == DONE
    assert _state(app, op_id) == WRAPUP
    caller.assert_courteous()
    phone.assert_courteous()


def test_the_operator_hangs_up_first_and_the_caller_hears_a_goodbye(sim, app, now):
    _operator(app)
    sim.twilio.script(OPERATOR_PHONE, inputs=["1"])
    caller = _press_0(sim, "it")
    (phone,) = sim.twilio.ring_pending()
    assert caller.in_conference
    phone.hangup()
    assert caller.ended and caller.heard("Grazie per aver chiamato")
    caller.assert_courteous()


def test_an_operator_who_does_not_answer_is_set_away_and_the_next_is_rung(sim, app, now):
    first = _operator(app, "anna", "+393331110001")
    second = _operator(app, "bice", "+393331110002")
    with session_scope(app) as s:  # bice has been idle for less time than anna
        s.get(DeskOperator, second).state_since = WEDNESDAY - minutes(1)
    sim.twilio.script("+393331110001", answer="no-answer")
    sim.twilio.script("+393331110002", inputs=["1"])
    caller = _press_0(sim, "it")
    (unanswered,) = sim.twilio.ring_pending()
    assert unanswered.status == "no-answer"
    assert _state(app, first) == AWAY
    assert _entry(app, caller.sid).status == "ringing"  # already offered to the next one
    (taken,) = sim.twilio.ring_pending()
    assert taken.to == "+393331110002" and taken.in_conference and caller.in_conference
    caller.assert_courteous()


def test_a_voicemail_that_answers_never_takes_the_caller(sim, app, now):
    op_id = _operator(app)
    sim.twilio.script(OPERATOR_PHONE)  # answers and says nothing: a voicemail, or nobody deciding
    caller = _press_0(sim, "it")
    (phone,) = sim.twilio.ring_pending()
    phone.silence()
    assert phone.ended and not caller.in_conference
    assert _state(app, op_id) == AWAY
    assert _entry(app, caller.sid).status == WAITING
    caller.silence()  # the music goes on
    assert caller.waiting_for == "gather" and not caller.ended


def test_an_operator_who_declines_is_set_away_and_the_caller_keeps_waiting(sim, app, now):
    op_id = _operator(app)
    sim.twilio.script(OPERATOR_PHONE, inputs=["2"])
    caller = _press_0(sim, "it")
    (phone,) = sim.twilio.ring_pending()
    assert phone.ended and phone.heard("marked away")
    assert _state(app, op_id) == AWAY
    entry = _entry(app, caller.sid)
    assert entry.status == WAITING and entry.enqueued_at == WEDNESDAY
    assert caller.waiting_for == "gather"


def test_two_callers_one_operator_the_first_is_taken_the_second_waits(sim, app, now):
    op_id = _operator(app)
    sim.twilio.script(OPERATOR_PHONE, inputs=["1"])
    first = _press_0(sim, "it")
    second = _press_0(sim, "it")
    (phone,) = sim.twilio.ring_pending()
    assert first.talking_with == [phone.sid] and not second.in_conference
    assert second.waiting_for == "gather"
    assert sim.twilio.ring_pending() == []  # the only operator is busy
    first.hangup()
    assert _state(app, op_id) == WRAPUP
    second.silence()
    assert _entry(app, second.sid).status == WAITING


def test_a_priority_caller_overtakes_a_caller_who_waited_longer(sim, app, now):
    op_id = _operator(app, skills=("support", "complaints"), state=AWAY)
    sim.twilio.script(OPERATOR_PHONE, inputs=["1"])
    patient = _press_0(sim, "en")
    ours = HOTLINES["en"][0]
    upset = sim.inbound(from_="+447700900999", to=ours, queue=QueuePlan("wait"))
    upset.speak("this is ridiculous, your service is a bloody disgrace")
    upset.press("1")  # the apology offers the priority queue on 1
    assert _entry(app, upset.sid).priority
    with session_scope(app) as s:  # the operator comes back to the desk: a routing pass at once
        choose_state(s, s.get(DeskOperator, op_id), AVAILABLE, WEDNESDAY)
    route_now(app)
    (phone,) = sim.twilio.ring_pending()
    assert phone.heard("the caller is upset")
    assert upset.in_conference and not patient.in_conference


def test_nobody_available_the_caller_waits_with_music_and_can_ask_for_a_callback(sim, app, now):
    _operator(app, state=AWAY)
    caller = _press_0(sim, "it")
    assert sim.twilio.ring_pending() == []
    caller.silence()
    assert caller.waiting_for == "gather" and caller.heard("prema 1")
    caller.press("1")
    assert _entry(app, caller.sid).status == "left"
    caller.assert_courteous()


def test_a_caller_whose_hang_up_was_never_reported_is_not_offered_to_anyone(sim, app, now):
    op_id = _operator(app, state=AWAY)
    caller = _press_0(sim, "it")
    with session_scope(app) as s:  # the call ended, but its final status callback was lost

        s.query(Call).filter_by(call_sid=caller.sid).one().status = "completed"
    with session_scope(app) as s:
        choose_state(s, s.get(DeskOperator, op_id), AVAILABLE, WEDNESDAY)
    report = route_now(app)
    assert report is not None and report.offered == [] and len(report.gone) == 1
    assert _entry(app, caller.sid).status == "abandoned"
    assert sim.twilio.ring_pending() == []


def test_the_caller_hangs_up_while_the_operator_hears_the_whisper(sim, app, now):
    op_id = _operator(app)
    sim.twilio.script(OPERATOR_PHONE)  # answers; the test presses for the operator
    caller = _press_0(sim, "it")
    (phone,) = sim.twilio.ring_pending()
    assert phone.waiting_for == "gather"
    caller.hangup()
    assert _entry(app, caller.sid).status == "abandoned"
    assert _state(app, op_id) == AVAILABLE  # the desk freed them at once
    phone.press("1")
    assert phone.ended and phone.heard("already hung up") and not phone.in_conference
    assert _state(app, op_id) == AVAILABLE
    phone.assert_courteous()
