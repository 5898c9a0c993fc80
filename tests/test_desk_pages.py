"""The desk in the console (issue 18): an operator sets their phone, languages and skills,
goes available, is rung for a caller who pressed 0, sees the screen pop, wraps up; ends an
abusive call politely with the reason kept on the complaint ticket; the board's figures."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.desk import board
from app.desk.models import (
    ABANDONED,
    AVAILABLE,
    AWAY,
    BUSY,
    DONE,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    OFFER_RINGING,
    RINGING,
    WAITING,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.models import CallStep
from app.sim import QueuePlan
from app.support.models import Ticket
from tests.console_support import add_operator, login, page_csrf, seed_ticket
from tests.desk_support import operator, waiting
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


@pytest.mark.parametrize("number", ["+44 901 234 5678", "+44 70 1234 5678", "+39 899 123456"])
def test_a_premium_or_forwarding_number_is_never_the_desk_phone(app, client, desk, number):
    """Every caller routed to such a number would be a call charged to us at a premium."""
    page = client.post("/console/desk/profile", data={"csrf_token": desk, "phone": number,
                                                      "languages": ["en"], "skills": ["support"]},
                       follow_redirects=True).get_data(as_text=True)
    assert "never a premium-rate, shared-cost, forwarding, pager or voicemail number" in page
    assert _olga(app).phone == PHONE  # the old phone is kept


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


def _chart(page: str, caption: str) -> str:
    """The SVG of the dashboard chart with this caption."""
    start = page.index(f"<figcaption>{caption}</figcaption>")
    return page[start:page.index("</figure>", start)]


def test_the_dashboard_shows_the_desk_hour_by_hour_and_operators_states(app, client, clock):
    """A morning worked out by hand, at 10:30 UTC. Between 09:00 and 10:00: one caller answered
    after 8 s, one after 50 s, one hung up after 25 s. Since 10:00: one answered after 15 s, one
    waiting 120 s (past 20 s: already missed), one waiting 10 s (may still be answered in
    time: not counted yet)."""
    at = WEDNESDAY + timedelta(minutes=30)
    clock.set(at)
    nine = WEDNESDAY - timedelta(hours=1)
    with session_scope(app) as s:
        for offset, answered_after in ((10, 8), (20, 50)):
            entry = waiting(s, at=nine + timedelta(minutes=offset))
            entry.status, entry.answered_at = DONE, entry.enqueued_at + timedelta(seconds=answered_after)
        gave_up = waiting(s, at=nine + timedelta(minutes=40))
        gave_up.status, gave_up.ended_at = ABANDONED, gave_up.enqueued_at + timedelta(seconds=25)
        quick = waiting(s, at=WEDNESDAY + timedelta(minutes=5))
        quick.status, quick.answered_at = DONE, quick.enqueued_at + timedelta(seconds=15)
        waiting(s, at=at - timedelta(seconds=120))
        waiting(s, at=at - timedelta(seconds=10))
        operator(s, "anna", phone="+393331110001", state=AVAILABLE, since=nine)
        operator(s, "bram", phone="+31612345001", state=BUSY, since=nine)
        operator(s, "carl", phone="+447700900001", state=AWAY, since=nine)
    add_operator(app, "olga", language="it")
    login(client, "olga")
    page = client.get("/console/").get_data(as_text=True)
    summary = page[page.index('id="desk-summary"'):]
    # Service level: answered within 20 s (8 s and 15 s) out of everyone who can no longer make
    # it: 3 before 10:00 plus 2 since (the 10 s caller is not counted yet) -> 2/5.
    assert 'id="desk-service-level">40%<' in summary
    # Waits: 8, 50, 25, 15, 120, 10 s -> 228/6 = 38 s on average, 120 s the longest.
    assert 'id="desk-average-wait">38 s<' in summary and 'id="desk-longest-wait">120 s<' in summary
    assert 'id="desk-abandoned">1<' in summary and 'id="desk-waiting">2<' in summary
    # Hour by hour, on the desk's clock (Rome, UTC+1 in November: 09:00 UTC is "10"): 10:00 1 of
    # 3 in time, waits (8+50+25)/3 = 27.7 s; 11:00 1 of 2, (15+120+10)/3 = 48.3 s.
    level = _chart(summary, "Livello di servizio per ora")
    assert "<title>10: 33%</title>" in level and "<title>11: 50%</title>" in level
    assert "<title>09: 0%</title>" in level  # nobody waited: an empty bar, not a missing hour
    waits = _chart(summary, "Attesa media per ora (secondi)")
    assert "<title>10: 28</title>" in waits and "<title>11: 48</title>" in waits
    hung_up = _chart(summary, "Hanno riagganciato in attesa, per ora")
    assert "<title>10: 1</title>" in hung_up and "<title>11: 0</title>" in hung_up
    # Operators' states, named in the operator's language; nobody is being rung or wrapping up.
    assert re.search(r'data-state="available">[^\n]*Disponibile</span><span class="figure">1<', summary)
    assert re.search(r'data-state="busy">[^\n]*In chiamata</span><span class="figure">1<', summary)
    assert re.search(r'data-state="away">[^\n]*Assente</span><span class="figure">1<', summary)
    assert re.search(r'data-state="wrapup">[^\n]*Chiusura scheda</span><span class="figure">0<', summary)
    assert re.search(r'data-state="offered">[^\n]*Il telefono squilla</span><span class="figure">0<', summary)


def _offer(s, entry, op, status, *, fallback: bool) -> None:
    """An offer as routing leaves it: a skill fallback is noted so (see test_desk_routing)."""
    note = f"skill fallback: no {entry.skill} operator free" if fallback else None
    s.add(Offer(entry_id=entry.id, operator_id=op.id, token=f"t{entry.id}-{op.id}", status=status,
                created_at=entry.enqueued_at + timedelta(seconds=61), note=note))
    entry.offers += 1


def _fallback_morning(s, at):
    """Six callers. Taken by a support operator after waiting (skill fallback): a fault report
    whose technician did not answer first, and an upset caller whose call is over. Not taken by
    a fallback: an upset caller whose support operator declined and whom a complaints operator
    then took; a fault report whose support operator is still being rung; a plain support call
    (no fallback); and a fault report taken by a fallback the day before, outside the 24 hours."""
    sara = operator(s, "sara", phone="+393331110002", since=at - timedelta(hours=30))
    tino = operator(s, "tino", phone="+393331110004", skills=("technician",), since=at - timedelta(hours=30))
    cleo = operator(s, "cleo", phone="+393331110005", skills=("complaints",), since=at - timedelta(hours=30))
    fault = waiting(s, at=at - timedelta(hours=2), skill="technician", reason="fault")
    _offer(s, fault, tino, "no-answer", fallback=False)
    _offer(s, fault, sara, OFFER_ACCEPTED, fallback=True)
    fault.status, fault.answered_at = DONE, fault.enqueued_at + timedelta(seconds=75)
    upset = waiting(s, at=at - timedelta(hours=3), priority=True)
    _offer(s, upset, sara, OFFER_ACCEPTED, fallback=True)
    upset.status, upset.answered_at = DONE, upset.enqueued_at + timedelta(seconds=65)
    declined = waiting(s, at=at - timedelta(hours=4), priority=True)
    _offer(s, declined, sara, OFFER_DECLINED, fallback=True)
    _offer(s, declined, cleo, OFFER_ACCEPTED, fallback=False)
    declined.status, declined.answered_at = DONE, declined.enqueued_at + timedelta(seconds=90)
    ringing = waiting(s, at=at - timedelta(seconds=70), skill="technician", reason="fault")
    _offer(s, ringing, sara, OFFER_RINGING, fallback=True)
    ringing.status = RINGING
    plain = waiting(s, at=at - timedelta(hours=1))
    _offer(s, plain, sara, OFFER_ACCEPTED, fallback=False)
    plain.status, plain.answered_at = DONE, plain.enqueued_at + timedelta(seconds=10)
    yesterday = waiting(s, at=at - timedelta(hours=25), skill="technician", reason="fault")
    _offer(s, yesterday, sara, OFFER_ACCEPTED, fallback=True)
    yesterday.status, yesterday.answered_at = DONE, yesterday.enqueued_at + timedelta(seconds=80)
    s.flush()


def test_the_figures_count_callers_a_fallback_skill_took(app, clock):
    clock.set(WEDNESDAY)
    with session_scope(app) as s:
        _fallback_morning(s, WEDNESDAY)
        total = board.totals(board.per_hour(s, WEDNESDAY))
    assert total.joined == 5  # yesterday's caller is outside the 24 hours
    assert total.taken_by_fallback == 2  # the fault report and the upset caller, nobody else


@pytest.mark.parametrize("language, label", [
    ("en", "Taken by an operator of another skill"),
    ("it", "Presi da un operatore di un'altra competenza"),
    ("nl", "Aangenomen door een medewerker met een andere vaardigheid"),
])
def test_the_dashboard_and_board_show_callers_taken_by_a_fallback_skill(app, client, clock, language, label):
    clock.set(WEDNESDAY)
    with session_scope(app) as s:
        _fallback_morning(s, WEDNESDAY)
    add_operator(app, "olga", language=language)
    login(client, "olga")
    summary = html.unescape(client.get("/console/").get_data(as_text=True))
    summary = summary[summary.index('id="desk-summary"'):]
    assert 'id="desk-fallback">2<' in summary and label in summary
    page = html.unescape(client.get("/console/desk/board").get_data(as_text=True))
    assert 'id="total-fallback">2<' in page and label in page
