"""A callback our calling rules will not allow is never a bare "no": the caller hears why, in
their language, and is offered a person now (or a polite goodbye). What each says is what a
receptionist would say; the rule behind it is the consent decision's (app/consent/decide.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.callbacks.models import Callback
from app.consent.optouts import record_opt_out
from app.db import session_scope

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday morning in Europe
IT_LINE, NL_LINE, GB_LINE = "+390212345678", "+31201234567", "+442071234567"


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(NOW)


def _ask_for_a_callback(sim, caller: str, line: str):
    call = sim.inbound(from_=caller, to=line)
    call.press("5")  # support menu: book a callback
    return call


def _ask_tomorrow_morning(sim, caller: str, line: str):
    call = sim.inbound(from_=caller, to=line)
    call.press("5")  # support menu: book a callback
    call.press("2")  # tomorrow morning
    return call


def _booked(app) -> list[Callback]:
    with session_scope(app) as session:
        return list(session.scalars(select(Callback)))


@pytest.mark.parametrize("caller, line, said", [
    # Germany: no calling rules for it, so no call there at all.
    ("+4915112345678", IT_LINE, "Mi dispiace, non possiamo fissare una richiamata a questo numero: non "
                                "effettuiamo chiamate verso numeri di quel paese o territorio."),
    # A +44 7911 mobile is Guernsey's (a Crown Dependency, outside PECR): no rule pack either.
    ("+447911123456", GB_LINE, "I'm sorry, we can't book a callback to this number: we do not call numbers "
                               "in that country or territory."),
    # A number Ofcom keeps for drama: nobody could answer our call.
    ("+447700900123", GB_LINE, "I'm sorry, we can't book a callback to this number: it is not a number "
                               "our calls can reach, such as a service, premium-rate or reserved number."),
])
def test_the_caller_hears_why_and_is_offered_a_person(sim, app, caller, line, said):
    call = _ask_for_a_callback(sim, caller, line)
    assert call.heard(said), call.format_transcript()
    # Told at once: never asked for a time that no answer could make possible.
    assert not call.heard("richiamato?") and not call.heard("call you back?"), call.format_transcript()
    assert not call.ended and _booked(app) == []
    call.silence()  # the offer is said again; silence once more and the call ends politely
    call.silence()
    assert call.ended
    call.assert_courteous()


def test_a_number_on_the_do_not_call_list_hears_so_in_dutch(sim, app):
    with session_scope(app) as session:
        record_opt_out(session, "+31612345678", at=NOW - timedelta(days=3), source="voice", by="test")
    call = _ask_for_a_callback(sim, "+31612345678", NL_LINE)
    assert call.heard("Het spijt me, wij kunnen geen terugbelafspraak met dit nummer maken: dit nummer staat "
                      "op onze lijst van nummers die wij niet bellen."), call.format_transcript()
    call.press("1")
    assert call.heard("medewerker"), call.format_transcript()
    assert _booked(app) == []


def test_a_refusal_found_only_when_the_time_is_judged_is_said_too(sim, app, clock):
    """The number was callable when the booking began; the do-not-call entry arrived while
    the caller chose a time (another line, an operator): the reason is said then."""
    call = _ask_for_a_callback(sim, "+393471234567", IT_LINE)
    with session_scope(app) as session:
        record_opt_out(session, "+393471234567", at=NOW, source="operator", by="test")
    call.press("2")
    assert call.heard("non possiamo fissare una richiamata a questo numero: questo numero è nel nostro elenco "
                      "dei numeri da non chiamare."), call.format_transcript()
    assert _booked(app) == []


def test_a_uk_mobile_books_a_callback_without_a_tps_copy(sim, app):
    """The TPS screens unsolicited marketing calls (PECR reg. 21); a callback the caller asks
    for is not one, so a missing GB copy does not stand in the way."""
    call = _ask_tomorrow_morning(sim, "+447400123456", GB_LINE)
    call.press("1")
    assert call.heard("Done: we will call you back tomorrow, Thursday 26 November, at 10:00"), call.format_transcript()
    assert [cb.e164 for cb in _booked(app)] == ["+447400123456"]
