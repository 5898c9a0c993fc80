"""Whole support calls through signed webhooks: the hotline as a caller lives it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.support.models import Ticket
from tests.voice import Caller

MONDAY_10_ROME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUNDAY_10_ROME = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def never_silent(caller: Caller) -> None:
    for reply in caller.replies:
        assert reply.said or reply.verbs[-1] in ("Enqueue", "Dial", "Leave"), reply.xml
        assert reply.verbs[-1] != "Gather", reply.xml


def test_a_silent_caller_hears_reprompts_then_is_offered_an_operator(twilio, clock):
    clock.set(MONDAY_10_ROME)
    caller = Caller(twilio)
    caller.dial()
    assert caller.silence().said[0] == "Mi scusi, non ho sentito nulla."
    assert caller.silence().said[0] == "Mi scusi, non ho sentito nulla."
    offered = caller.silence()
    assert "provo a passarla a un operatore" in offered.text
    assert offered.verbs[-1] == "Enqueue" and "Non c'è nessuno in attesa prima di lei" in offered.text
    never_silent(caller)


def test_outside_hours_the_silent_caller_is_told_when_operators_are_back(twilio, clock):
    clock.set(SUNDAY_10_ROME)
    caller = Caller(twilio)
    caller.dial()
    caller.silence(), caller.silence()
    closed = caller.silence()
    assert "torneranno domani, lunedì 2 marzo, alle 9:00" in closed.text and closed.gather
    never_silent(caller)


def test_an_invalid_digit_is_explained_and_the_menu_repeated(twilio):
    caller = Caller(twilio)
    caller.dial()
    reply = caller.press("7")
    assert reply.said[0] == "Mi scusi, non ho capito bene." and "Per informazioni prema 1" in reply.text


@pytest.mark.parametrize("from_, to, words, expected", [
    ("+393471234567", "+390212345678", "ho un guasto al modem", "Di che prodotto si tratta?"),
    ("+31612345678", "+31201234567", "ik wil een storing melden", "Om welk product gaat het?"),
    ("+447700900123", "+442071234567", "I want to report a fault", "What kind of product is it?"),
    ("+447700900123", "+442071234567", "the router does not work", "What kind of product is it?"),
    ("+31612345678", "+31201234567", "mijn modem doet het niet", "Om welk product gaat het?"),
])
def test_a_spoken_answer_routes_like_its_digit_in_each_language(twilio, from_, to, words, expected):
    by_voice, by_key = Caller(twilio, From=from_, To=to), Caller(twilio, From=from_, To=to)
    by_voice.dial(), by_key.dial()
    assert expected in by_voice.speak(words).text
    assert expected in by_key.press("2").text


def test_switching_language_mid_call(twilio):
    caller = Caller(twilio)
    caller.dial()
    assert "Per l'italiano prema 1" in caller.press("*").text
    menu = caller.press("3")
    assert "For information, press 1." in menu.text
    assert menu.gather["language"] == "en-GB"


def test_a_fault_report_reads_its_reference_back_digit_by_digit(twilio, app):
    caller = Caller(twilio)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.speak("il modem non si accende più da ieri")
    reply = caller.press("1")
    with session_scope(app) as session:
        ticket = session.scalar(select(Ticket))
        assert ticket.kind == "fault" and "modem" in ticket.description
        spoken = " ".join(ticket.reference)
    assert f"Il numero di riferimento è {spoken}. Ripeto: {spoken}." in reply.text
    assert spoken in caller.press("1").text  # repeated on request
    technician = caller.press("2")  # a technician calls back: at a time the caller books
    assert "un tecnico la richiamerà a questo numero per la segnalazione" in technician.text
    assert "Quando preferisce essere richiamato?" in technician.text
    with session_scope(app) as session:
        assert session.scalar(select(Ticket)).details["technician_callback"] is True
    never_silent(caller)
