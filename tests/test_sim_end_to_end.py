"""Whole journeys through the simulator: a caller books a callback, the fake clock reaches the
time, the dispatcher places the call through the real gateway to FakeTwilio, the fake callee
answers and the test answers the opener."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.clock import FakeClock
from app.consent.models import OptOut
from app.db import session_scope
from app.sim import Simulator

CALLER = "+393471234567"
HOTLINE_IT = "+390212345678"


def book_tonight(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT)
    call.press("5").press("1").press("1")
    assert call.heard("la richiameremo oggi") and call.ended
    call.assert_courteous()


def dispatch_at_six(app: Flask, clock: FakeClock) -> list[int]:
    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))  # 18:01 in Rome
    return Dispatcher(app, pace=lambda _: None).run_once().placed


def test_booked_callback_is_placed_and_answered_by_a_person(sim: Simulator, app: Flask,
                                                            clock: FakeClock) -> None:
    book_tonight(sim)
    assert sim.twilio is not None and sim.twilio.ring_pending() == []  # nothing before 18:00
    assert len(dispatch_at_six(app, clock)) == 1
    created = sim.twilio.calls[0]
    assert created.to == CALLER and created.url and "/voice/callback" in created.url
    (callee,) = sim.twilio.ring_pending()
    assert callee.heard("ci aveva chiesto di richiamarla")
    assert callee.waiting_for == "gather"
    callee.press("1")
    assert not callee.problems


def test_booked_callback_meets_an_answering_machine(sim: Simulator, app: Flask,
                                                   clock: FakeClock) -> None:
    book_tonight(sim)
    assert sim.twilio is not None
    sim.twilio.script(CALLER, answer="machine_end_beep")
    dispatch_at_six(app, clock)
    (callee,) = sim.twilio.ring_pending()
    # The dispatcher asks for MachineDetection=DetectMessageEnd: Twilio reports the machine
    # once its greeting has ended, so the message goes on the tape after the beep.
    assert sim.twilio.calls[0].answered_by == "machine_end_beep"
    assert sim.twilio.calls[0].machine_detection == "DetectMessageEnd"
    assert callee.ended and not callee.heard("è un buon momento")  # a machine gets no question
    # 18:01 in Rome is evening: an Italian message then ends "buona serata", not "giornata".
    assert callee.heard("buona serata") and not callee.heard("buona giornata")
    callee.assert_courteous()


def test_booked_callback_nobody_answers(sim: Simulator, app: Flask, clock: FakeClock) -> None:
    book_tonight(sim)
    assert sim.twilio is not None
    sim.twilio.script(CALLER, answer="no-answer")
    dispatch_at_six(app, clock)
    (callee,) = sim.twilio.ring_pending()
    assert callee.ended and callee.status == "no-answer" and callee.said == []
    statuses = [e.text for e in callee.transcript if e.kind == "status"]
    assert statuses == ["initiated #0", "ringing #1", "no-answer #2"]


def answered_callback(sim: Simulator, app: Flask, clock: FakeClock):  # type: ignore[no-untyped-def]
    book_tonight(sim)
    dispatch_at_six(app, clock)
    assert sim.twilio is not None
    (callee,) = sim.twilio.ring_pending()
    assert callee.heard("è un buon momento")
    return callee


def test_callback_opener_silent_callee_gets_a_goodbye(sim: Simulator, app: Flask,
                                                      clock: FakeClock) -> None:
    callee = answered_callback(sim, app, clock)
    callee.silence()
    callee.silence()
    assert callee.ended and callee.heard("non riesco a sentirla")
    callee.assert_courteous()


def test_callback_opener_opt_out_is_confirmed(sim: Simulator, app: Flask,
                                              clock: FakeClock) -> None:

    callee = answered_callback(sim, app, clock)
    callee.press("9")
    assert callee.ended and callee.heard("non la chiameremo più")
    callee.assert_courteous()
    with app.app_context(), session_scope() as session:
        assert session.scalars(select(OptOut)).first() is not None
