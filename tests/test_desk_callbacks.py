"""Operator-first callbacks (issue 18): a callback that promised a person reserves an operator
first, rings them with the context, and dials the customer only once they accepted; the
customer hears who is calling and is with the operator at once, never in a queue. With nobody
free the callback waits a bounded time, then goes back on the schedule, visibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import ANSWERED, FAILED, REFUSED, SCHEDULED, Callback, CallbackEvent
from app.consent.models import OptOut
from app.db import session_scope
from app.desk.models import AWAY, LEFT, DeskOperator, QueueEntry
from app.desk.routing import route_now
from tests.callback_support import RecordingGateway, book, no_pause
from tests.desk_support import minutes, operator

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 11:00 in Rome: inside the calling window
PHONE = "+393331110001"
CUSTOMER = "+393471234567"


@pytest.fixture
def due(app, clock):
    clock.set(NOW)

    def make(reason: str = "operator", state: str = "available") -> int:
        with session_scope(app) as s:
            operator(s, "anna", phone=PHONE, languages=("it",), skills=("support", "complaints"), state=state,
                     since=NOW - minutes(5))
            return book(s, CUSTOMER, NOW + timedelta(minutes=20), at=NOW - timedelta(hours=1), reason=reason).id

    return make


def _callback(app, cb_id: int) -> Callback:
    with session_scope(app) as s:
        return s.get(Callback, cb_id)


def test_the_operator_accepts_then_the_customer_is_called_and_talks_to_them(sim, app, clock, due):
    cb_id = due("complaint")
    clock.advance(minutes=21)
    sim.twilio.script(PHONE, inputs=["1"])
    route_now(app)
    assert [c.to for c in sim.twilio.calls] == [PHONE]  # the operator first, the customer not yet
    (phone,) = sim.twilio.ring_pending()
    assert phone.heard("A callback due now") and phone.heard("a complaint")
    assert phone.heard("Calling the customer now") and phone.in_conference
    assert [c.to for c in sim.twilio.calls] == [PHONE, CUSTOMER]
    (customer,) = sim.twilio.ring_pending()
    assert customer.heard("La richiamiamo per") and customer.heard("le passo subito un operatore")
    assert customer.talking_with == [phone.sid]
    assert not any(e.kind == "queue" for e in customer.transcript)  # never a queue
    assert _callback(app, cb_id).status == ANSWERED
    customer.hangup()
    assert phone.ended
    customer.assert_courteous()


def test_the_plain_dispatcher_leaves_person_callbacks_to_the_desk(app, clock, due):
    cb_id = due("operator", state=AWAY)
    clock.advance(minutes=21)
    gateway = RecordingGateway()
    Dispatcher(app, gateway=gateway, worker="w1", pace=no_pause).run_once()
    assert gateway.dials == []
    assert _callback(app, cb_id).status == SCHEDULED


def test_nobody_free_the_callback_waits_then_is_rescheduled_then_handed_to_the_console(app, clock, due):
    cb_id = due("operator", state=AWAY)
    clock.advance(minutes=21)
    route_now(app)
    with session_scope(app) as s:
        entry = s.scalars(select(QueueEntry)).one()
        assert entry.callback_id == cb_id and entry.status == "waiting"
    wait = app.extensions["cortese.settings"].desk_callback_wait_seconds
    for round_ in range(3):
        clock.advance(seconds=wait + 1)
        route_now(app)
        cb = _callback(app, cb_id)
        if round_ < 2:
            assert cb.status == SCHEDULED and cb.due_at == clock.now() + timedelta(minutes=10)
            clock.advance(minutes=10)
            route_now(app)  # due again: back in line for the desk
    cb = _callback(app, cb_id)
    assert cb.status == FAILED and "no operator was free" in cb.last_error
    with session_scope(app) as s:
        assert all(e.status == LEFT for e in s.scalars(select(QueueEntry)))
        notes = [e.note or "" for e in s.scalars(select(CallbackEvent).where(CallbackEvent.callback_id == cb_id))]
        assert any("no operator free within" in n for n in notes)


def test_without_any_desk_operator_callbacks_are_dispatched_as_before(app, clock):
    clock.set(NOW)
    with session_scope(app) as s:
        cb_id = book(s, CUSTOMER, NOW + timedelta(minutes=20), at=NOW, reason="operator").id
        assert s.scalars(select(DeskOperator)).first() is None
    clock.advance(minutes=21)
    gateway = RecordingGateway()
    Dispatcher(app, gateway=gateway, worker="w1", pace=no_pause).run_once()
    assert gateway.dialled_ids == [cb_id]


def test_consent_is_asked_again_when_the_operator_accepts(sim, app, clock, due):
    cb_id = due("operator")
    clock.advance(minutes=21)
    sim.twilio.script(PHONE)  # answers; the test presses for the operator
    route_now(app)
    (phone,) = sim.twilio.ring_pending()
    with session_scope(app) as s:  # a do-not-call entry that reached the database meanwhile
        s.add(OptOut(e164=CUSTOMER, at=clock.now(), source="import", recorded_by="sync"))
    phone.press("1")
    assert phone.ended and phone.heard("The customer cannot be called now")
    assert [c.to for c in sim.twilio.calls] == [PHONE]  # the customer was never dialled
    cb = _callback(app, cb_id)
    assert cb.status == REFUSED and cb.last_error.startswith("optout.internal_dnc")
    phone.assert_courteous()


def test_the_customer_does_not_answer_the_operator_is_told_and_the_callback_retried(sim, app, clock, due):
    cb_id = due("operator")
    clock.advance(minutes=21)
    sim.twilio.script(PHONE, inputs=["1"])
    sim.twilio.script(CUSTOMER, answer="no-answer")
    route_now(app)
    (phone,) = sim.twilio.ring_pending()
    (customer,) = sim.twilio.ring_pending()
    assert customer.status == "no-answer"
    phone.poll()
    assert phone.ended and phone.heard("The customer did not answer")
    cb = _callback(app, cb_id)
    assert cb.status == SCHEDULED and cb.attempts == 1  # the callbacks' retry policy


def test_an_answering_machine_gets_the_callbacks_message_and_the_operator_is_freed(sim, app, clock, due):
    """The customer's voicemail hears who called, about what and the number to call back,
    greeted for the hour in Rome (11:21: morning), the same words a plain callback leaves."""
    cb_id = due("operator")
    clock.advance(minutes=21)
    sim.twilio.script(PHONE, inputs=["1"])
    sim.twilio.script(CUSTOMER, answer="machine_end_beep")
    route_now(app)
    (phone,) = sim.twilio.ring_pending()
    (customer,) = sim.twilio.ring_pending()
    assert customer.heard("Buongiorno, sono l'assistente virtuale")
    assert customer.heard("Proveremo a richiamarla più tardi")
    assert customer.ended and not customer.in_conference
    customer.assert_courteous()
    phone.poll()
    assert phone.ended and phone.heard("The customer did not answer")
    cb = _callback(app, cb_id)
    assert cb.status == SCHEDULED and "machine" in (cb.last_error or "")  # called again later
