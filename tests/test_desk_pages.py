"""The desk in the console (issue 18): an operator sets their phone, languages and skills,
goes available, is rung for a caller who pressed 0, sees the screen pop, wraps up; ends an
abusive call politely with the reason kept on the complaint ticket; the board's figures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.desk import board
from app.desk.models import ABANDONED, AVAILABLE, DONE, WAITING, DeskOperator, QueueEntry
from app.models import CallStep
from app.sim import QueuePlan
from app.support.models import Ticket
from tests.console_support import add_operator, login, page_csrf, seed_ticket
from tests.desk_support import waiting
from tests.test_desk_calls import HOTLINES, WEDNESDAY

PHONE = "+393331110001"


@pytest.fixture
def desk(sim, app, client, clock):
    """Olga, logged in, with a desk profile: phone, the three languages, support and complaints."""
    clock.set(WEDNESDAY)
    add_operator(app, "olga", language="en")
    login(client, "olga")
    token = page_csrf(client, "/console/desk")
    client.post("/console/desk/profile", data={"csrf_token": token, "phone": "+39 333 111 0001",
                                               "languages": ["it", "nl", "en"], "skills": ["support", "complaints"]})
    return token


def _go(client, token, state):
    return client.post("/console/desk/state", data={"csrf_token": token, "state": state}, follow_redirects=True)


def _olga(app) -> DeskOperator:
    with session_scope(app) as s:
        return s.scalars(select(DeskOperator)).one()


def test_the_profile_is_kept_and_a_bad_phone_is_explained_in_the_operators_language(app, client, desk):
    assert _olga(app).phone == PHONE and _olga(app).languages == ["it", "nl", "en"]
    client.post("/console/language", data={"csrf_token": desk, "lang": "it"})
    page = client.post("/console/desk/profile", data={"csrf_token": desk, "phone": "call me maybe",
                                                      "languages": ["it"], "skills": ["support"]},
                       follow_redirects=True).get_data(as_text=True)
    assert "Telefono non valido" in page
    assert _olga(app).phone == PHONE  # nothing lost


def test_going_available_without_a_phone_is_refused(app, client, clock):
    clock.set(WEDNESDAY)
    add_operator(app, "nina", language="nl")
    login(client, "nina")
    token = page_csrf(client, "/console/desk")
    page = _go(client, token, "available").get_data(as_text=True)
    assert "Geef eerst het nummer op waarop de desk u belt" in page


@pytest.mark.parametrize("language, label", [("it", "Italiano"), ("nl", "Nederlands"), ("en", "English")])
def test_done_when_a_caller_pressing_0_talks_to_the_operator_with_the_screen_pop_shown(
        sim, app, client, desk, language, label):
    client.post("/console/language", data={"csrf_token": desk, "lang": language})
    _go(client, desk, "available")
    sim.twilio.script(PHONE, inputs=["1"])
    ours, theirs = HOTLINES[language]
    caller = sim.inbound(from_=theirs, to=ours, queue=QueuePlan("wait"))
    caller.press("0")
    waiting_page = client.get("/console/desk/board").get_data(as_text=True)
    assert 'data-entry="' in waiting_page and "ringing" in waiting_page
    (phone,) = sim.twilio.ring_pending()
    assert caller.talking_with == [phone.sid]
    page = client.get("/console/desk").get_data(as_text=True)
    assert 'id="screen-pop"' in page and theirs in page
    assert label in page  # the caller's language, named in the operator's
    assert ">0<" in page  # what they pressed in this call
    caller.hangup()
    token = page_csrf(client, "/console/desk")
    client.post("/console/desk/wrapup", data={"csrf_token": token, "outcome": "resolved", "note": "router reset"})
    assert _olga(app).state == AVAILABLE
    with session_scope(app) as s:
        entry = s.scalars(select(QueueEntry)).one()
        assert entry.status == DONE and entry.outcome == "resolved" and entry.note == "router reset"
        step = s.scalars(select(CallStep).where(CallStep.kind == "desk_wrapup")).one()
        assert step.input == "router reset" and step.outcome == "resolved"


def test_the_screen_pop_lists_open_tickets_and_the_wrap_up_note_lands_on_this_calls_ticket(sim, app, client, desk):
    old = seed_ticket(app, subject="Modem senza linea", number="+393471234567", description="nessuna linea da ieri")
    _go(client, desk, "available")
    sim.twilio.script(PHONE, inputs=["1"])
    caller = sim.inbound(from_="+393471234567", to="+390212345678", queue=QueuePlan("wait"))
    assert caller.heard("ancora aperta")  # recognised: the open ticket is offered first
    caller.press("1")  # "1 -> operator"
    (phone,) = sim.twilio.ring_pending()
    assert phone.heard("A known customer") and caller.talking_with == [phone.sid]
    page = client.get("/console/desk").get_data(as_text=True)
    assert old in page and "Modem senza linea" in page
    ticket_of_call = seed_ticket(app, subject="follow-up", number="+393471234567", call_sid=caller.sid)
    token = page_csrf(client, "/console/desk")
    client.post("/console/desk/wrapup", data={"csrf_token": token, "outcome": "follow_up",
                                              "note": "technician visit Friday"})
    with session_scope(app) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.reference == ticket_of_call)).one()
        assert ticket.details["desk"][-1]["outcome"] == "follow_up"
        assert ticket.details["desk"][-1]["note"] == "technician visit Friday"
        assert "desk" not in (s.scalars(select(Ticket).where(Ticket.reference == old)).one().details or {})


def test_an_operator_ends_an_abusive_call_politely_and_the_reason_is_kept(sim, app, client, desk):
    _go(client, desk, "available")
    sim.twilio.script(PHONE, inputs=["1"])
    caller = sim.inbound(from_="+447700900123", to="+442071234567", queue=QueuePlan("wait"))
    caller.speak("this is a bloody disgrace, you useless idiots")
    caller.press("1")  # the priority queue
    (phone,) = sim.twilio.ring_pending()
    assert phone.heard("the caller is upset") and caller.in_conference
    page = client.get("/console/desk").get_data(as_text=True)
    assert "Upset" in page and "bloody" in page
    token = page_csrf(client, "/console/desk")
    done = client.post("/console/desk/end", data={"csrf_token": token, "reason": "threats against the operator"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Call ended politely" in done, re.findall(r"flash[^<]*</p>|class=\"flash[^<]*", done)
    caller.poll()
    assert caller.ended and caller.heard("Our operator has to end this conversation")
    caller.assert_courteous()
    assert phone.ended
    with session_scope(app) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.kind == "complaint")).one()
        assert ticket.flagged
        assert ticket.details["desk"][-1]["note"] == "threats against the operator"
        assert ticket.details["desk"][-1]["ended_call"] is True
        entry = s.scalars(select(QueueEntry)).one()
        assert entry.outcome == "abusive" and entry.end_reason == "threats against the operator"


def test_service_level_counts_answers_within_20_seconds_of_everyone_who_could_be(app, clock):
    clock.set(WEDNESDAY)
    at = WEDNESDAY
    with session_scope(app) as s:
        fast = waiting(s, at=at - timedelta(minutes=5))
        fast.status, fast.answered_at = DONE, fast.enqueued_at + timedelta(seconds=12)
        slow = waiting(s, at=at - timedelta(minutes=4))
        slow.status, slow.answered_at = DONE, slow.enqueued_at + timedelta(seconds=45)
        gave_up = waiting(s, at=at - timedelta(minutes=3))
        gave_up.status, gave_up.ended_at = ABANDONED, gave_up.enqueued_at + timedelta(seconds=30)
        waiting(s, at=at - timedelta(seconds=5))  # can still be answered in time: not counted
        long_wait = waiting(s, at=at - timedelta(seconds=90))  # past 20 s already: counted, missed
        assert long_wait.status == WAITING
        hours = board.per_hour(s, at)
    total = board.totals(hours)
    assert total.joined == 5 and total.counted == 4 and total.answered_in_time == 1
    assert total.service_level == pytest.approx(0.25)
    assert total.abandoned == 1
    assert total.longest_wait == 90
    assert total.average_wait == pytest.approx((12 + 45 + 30 + 5 + 90) / 5)


def test_the_board_shows_queues_and_operators_in_each_language(sim, app, client, desk):
    with session_scope(app) as s:
        waiting(s, at=WEDNESDAY - timedelta(seconds=40), priority=True)
    for language, words in (("it", "Livello di servizio"), ("nl", "Serviceniveau"), ("en", "Service level")):
        client.post("/console/language", data={"csrf_token": desk, "lang": language})
        page = client.get("/console/desk/board").get_data(as_text=True)
        assert words in page and "support-priority" in page and 'data-operator="olga"' in page
