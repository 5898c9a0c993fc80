"""Routing callers to operators (issue 18): priority callers first, then the longest wait;
only an operator who speaks the caller's language and has the skill the call needs; one
caller per operator, one operator per caller; a refusal or no answer puts the operator away
and the caller back in their place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.db import session_scope
from app.desk.models import (
    AVAILABLE,
    AWAY,
    OFFERED,
    RINGING,
    WAITING,
    WRAPUP,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.desk.routing import Router
from app.desk.states import end_offer
from app.models import Call
from tests.desk_support import RingingGateway, minutes, operator, waiting
from tests.test_simulated_calls import _real_twilio

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday, inside opening hours


@pytest.fixture
def router(app, clock):
    clock.set(NOW)
    gateway = RingingGateway()
    return Router(app, gateway=gateway), gateway


def _state(app, op_id: int) -> str:
    with session_scope(app) as s:
        return s.get(DeskOperator, op_id).state


def _entry(app, entry_id: int) -> QueueEntry:
    with session_scope(app) as s:
        return s.get(QueueEntry, entry_id)


def test_a_waiting_caller_is_offered_to_the_available_operator(app, router):
    r, gateway = router
    with session_scope(app) as s:
        anna = operator(s, "anna", phone="+393331110001", since=NOW - minutes(5)).id
        caller = waiting(s, at=NOW - minutes(1)).id
    report = r.run_once()
    assert len(report.offered) == 1
    assert gateway.rings == [("+393331110001", report.offered[0])]
    assert _state(app, anna) == OFFERED
    assert _entry(app, caller).status == RINGING


def test_two_callers_one_operator_the_longer_wait_goes_first_the_other_keeps_waiting(app, router):
    r, gateway = router
    with session_scope(app) as s:
        operator(s, "anna", phone="+393331110001", since=NOW - minutes(5))
        newer = waiting(s, at=NOW - minutes(1)).id
        older = waiting(s, at=NOW - minutes(3)).id
    r.run_once()
    assert len(gateway.rings) == 1
    assert _entry(app, older).status == RINGING
    assert _entry(app, newer).status == WAITING
    r.run_once()  # the operator is being rung: nobody else to give the second caller to
    assert len(gateway.rings) == 1


def test_a_priority_caller_overtakes_callers_who_waited_longer(app, router):
    r, _gateway = router
    with session_scope(app) as s:
        operator(s, "carla", phone="+393331110003", skills=("support", "complaints"), since=NOW - minutes(5))
        patient = waiting(s, at=NOW - minutes(8)).id
        upset = waiting(s, at=NOW - minutes(1), priority=True).id
    r.run_once()
    assert _entry(app, upset).status == RINGING
    assert _entry(app, patient).status == WAITING


def test_language_and_skill_must_match(app, router):
    r, _gateway = router
    with session_scope(app) as s:
        dutch = operator(s, "dirk", phone="+31611110001", languages=("nl",), since=NOW - minutes(9)).id
        support = operator(s, "sara", phone="+393331110002", languages=("it", "en"), since=NOW - minutes(9)).id
        tech = operator(s, "tino", phone="+393331110004", languages=("it",), skills=("technician",),
                        since=NOW - minutes(1)).id
        fault = waiting(s, at=NOW - minutes(5), skill="technician", reason="fault").id
        english = waiting(s, at=NOW - minutes(4), language="en").id
        # Nobody has the complaints skill, and 10 s is not yet long enough to fall back to support.
        upset = waiting(s, at=NOW - timedelta(seconds=10), priority=True).id
    r.run_once()
    with session_scope(app) as s:
        offers = {o.entry_id: o.operator_id for o in s.query(Offer)}
    assert offers == {fault: tech, english: support}
    assert _entry(app, upset).status == WAITING
    assert _state(app, dutch) == AVAILABLE


def test_the_operator_idle_longest_gets_the_caller(app, router):
    r, gateway = router
    with session_scope(app) as s:
        operator(s, "fresh", phone="+393331110005", since=NOW - minutes(1))
        operator(s, "idle", phone="+393331110006", since=NOW - minutes(20))
        waiting(s, at=NOW - minutes(1))
    r.run_once()
    assert [phone for phone, _ in gateway.rings] == ["+393331110006"]


def test_nobody_available_nobody_is_rung_and_callers_keep_waiting(app, router):
    r, gateway = router
    with session_scope(app) as s:
        away = operator(s, "anna", phone="+393331110001", state=AWAY, since=NOW - minutes(5)).id
        operator(s, "wrap", phone="+393331110002", state=WRAPUP, since=NOW - minutes(1))
        entry = waiting(s, at=NOW - minutes(2)).id
    assert r.run_once().offered == []
    assert gateway.rings == []
    assert _entry(app, entry).status == WAITING
    assert _state(app, away) == AWAY


def test_an_operator_who_does_not_answer_goes_away_and_the_next_one_is_rung(app, router, clock):
    r, gateway = router
    with session_scope(app) as s:
        first = operator(s, "anna", phone="+393331110001", since=NOW - minutes(9)).id
        second = operator(s, "bice", phone="+393331110002", since=NOW - minutes(2)).id
        entry = waiting(s, at=NOW - minutes(1)).id
    r.run_once()
    assert [p for p, _ in gateway.rings] == ["+393331110001"]
    with session_scope(app) as s:
        offer = s.query(Offer).one()
        assert end_offer(s, offer, "no-answer", NOW, note="operator's phone: no-answer")
    assert _state(app, first) == AWAY
    got = _entry(app, entry)
    assert got.status == WAITING and got.enqueued_at == NOW - minutes(1)  # their place is kept
    r.run_once()
    assert [p for p, _ in gateway.rings] == ["+393331110001", "+393331110002"]
    assert _state(app, second) == OFFERED


def test_an_offer_whose_webhooks_never_came_expires_as_no_answer(app, router, clock):
    r, _gateway = router
    with session_scope(app) as s:
        anna = operator(s, "anna", phone="+393331110001", since=NOW - minutes(9)).id
        entry = waiting(s, at=NOW - minutes(1)).id
    r.run_once()
    clock.advance(seconds=app.extensions["cortese.settings"].desk_ring_seconds + 31)
    report = r.run_once()
    assert len(report.expired) == 1
    assert _state(app, anna) == AWAY
    assert _entry(app, entry).status == WAITING


def test_an_operator_phone_that_cannot_be_rung_is_set_away_and_the_caller_waits(app, clock):
    clock.set(NOW)
    gateway = RingingGateway(fail_numbers={"+393331110001"})
    with session_scope(app) as s:
        bad = operator(s, "anna", phone="+393331110001", since=NOW - minutes(9)).id
        good = operator(s, "bice", phone="+393331110002", since=NOW - minutes(1)).id
        entry = waiting(s, at=NOW - minutes(1)).id
    report = Router(app, gateway=gateway).run_once()
    assert len(report.failed) == 1
    assert _state(app, bad) == AWAY
    assert _state(app, good) == OFFERED  # the same pass tried the next operator
    assert _entry(app, entry).status == RINGING


def test_a_wrap_up_past_its_time_makes_the_operator_available(app, router, clock):
    r, _ = router
    with session_scope(app) as s:
        op = operator(s, "anna", phone="+393331110001", state=WRAPUP, since=NOW)
        op.wrapup_until = NOW + minutes(1)
        op_id = op.id
    r.run_once()
    assert _state(app, op_id) == WRAPUP
    clock.advance(seconds=61)
    assert r.run_once().wrapped_up == [op_id]
    assert _state(app, op_id) == AVAILABLE


# Skill fallback (DESK_SKILL_FALLBACK_SECONDS, 60 by default): a technician or complaints call
# nobody with that skill can take goes to a support operator of the same language once the
# caller has waited a minute; a specialist is still preferred; the language never falls back.


def _offers(app) -> dict[int, tuple[int, str | None]]:
    with session_scope(app) as s:
        return {o.entry_id: (o.operator_id, o.note) for o in s.query(Offer)}


def test_a_fault_report_waits_for_a_technician_then_a_support_operator_takes_it(app, router, clock):
    r, gateway = router
    with session_scope(app) as s:
        sara = operator(s, "sara", phone="+393331110002", skills=("support",), since=NOW - minutes(9)).id
        fault = waiting(s, at=NOW - timedelta(seconds=30), skill="technician", reason="fault").id
    r.run_once()
    assert gateway.rings == [] and _entry(app, fault).status == WAITING  # 30 s: a technician may come
    clock.set(NOW + timedelta(seconds=30))  # a minute of waiting
    r.run_once()
    assert _offers(app) == {fault: (sara, "skill fallback: no technician operator free")}
    assert _entry(app, fault).status == RINGING


def test_an_upset_caller_past_the_fallback_wait_goes_to_support_before_a_calm_one(app, router):
    r, _gateway = router
    with session_scope(app) as s:
        sara = operator(s, "sara", phone="+393331110002", since=NOW - minutes(9)).id
        calm = waiting(s, at=NOW - minutes(5)).id
        upset = waiting(s, at=NOW - minutes(2), priority=True).id
    r.run_once()
    assert _offers(app)[upset][0] == sara  # priority first, as with a complaints operator
    assert _entry(app, calm).status == WAITING


def test_a_free_specialist_is_preferred_to_a_fallback_however_long_the_wait(app, router):
    r, _gateway = router
    with session_scope(app) as s:
        operator(s, "sara", phone="+393331110002", since=NOW - minutes(30))  # idle longer
        tino = operator(s, "tino", phone="+393331110004", skills=("technician",), since=NOW - minutes(1)).id
        fault = waiting(s, at=NOW - minutes(8), skill="technician", reason="fault").id
    r.run_once()
    assert _offers(app) == {fault: (tino, None)}


def test_the_language_and_plain_support_never_fall_back(app, router):
    r, gateway = router
    with session_scope(app) as s:
        operator(s, "sara", phone="+393331110002", languages=("it",), since=NOW - minutes(9))
        operator(s, "tino", phone="+447700900004", languages=("en",), skills=("technician",),
                 since=NOW - minutes(9))
        dutch_fault = waiting(s, at=NOW - minutes(9), language="nl", skill="technician").id
        english_support = waiting(s, at=NOW - minutes(9), language="en").id
    r.run_once()
    # Nobody free speaks Dutch; a support call is not a technician's (support has no fallback).
    assert gateway.rings == []
    assert _entry(app, dutch_fault).status == WAITING and _entry(app, english_support).status == WAITING


def test_the_fallback_wait_is_a_setting(app, router, monkeypatch):
    r, _gateway = router
    monkeypatch.setattr(app.extensions["cortese.settings"], "desk_skill_fallback_seconds", 0)
    with session_scope(app) as s:
        sara = operator(s, "sara", phone="+393331110002", since=NOW - minutes(9)).id
        fault = waiting(s, at=NOW, skill="technician").id
    r.run_once()
    assert _offers(app)[fault][0] == sara


class _KindGateway(RingingGateway):
    """Records whether each ring was asked for a simulated caller."""

    def __init__(self) -> None:
        super().__init__()
        self.simulated: list[bool] = []

    def place_call(self, to: str, url: str, **kwargs):
        self.simulated.append(kwargs.get("simulated", False))
        return super().place_call(to, url, **kwargs)


def _anna_and_a_caller(app, simulated: bool) -> int:
    """Anna available, and a caller waiting whose call the simulator made (or not): her id."""
    with session_scope(app) as s:
        anna = operator(s, "anna", phone="+393331110001", since=NOW - minutes(5)).id
        entry = waiting(s, at=NOW - minutes(1))
        s.add(Call(call_sid=entry.call_sid, direction="inbound", from_number=entry.caller, to_number="+390212345678",
                   status="in-progress", started_at=NOW - minutes(2), updated_at=NOW, simulated=simulated))
    return anna


@pytest.mark.parametrize("simulated", [True, False])
def test_an_operator_is_rung_for_a_simulated_caller_only_as_a_simulated_call(app, clock, simulated):
    """The gateway refuses to reach Twilio for a simulated call (app.telephony): the desk must say
    so when it rings an operator for a caller the simulator made."""
    clock.set(NOW)
    gateway = _KindGateway()
    _anna_and_a_caller(app, simulated)
    Router(app, gateway=gateway).run_once()
    assert gateway.simulated == [simulated]


def test_a_simulated_caller_never_rings_an_operator_through_twilio(app, clock, tmp_path):
    clock.set(NOW)
    gateway, stub = _real_twilio(tmp_path)
    anna = _anna_and_a_caller(app, simulated=True)
    report = Router(app, gateway=gateway).run_once()
    assert stub.created == [] and len(report.failed) == 1
    with session_scope(app) as s:
        assert "simulated" in (s.get(DeskOperator, anna).state_reason or "")


def test_a_premium_phone_kept_from_before_is_never_rung_and_the_operator_is_told(app, router):
    """The profile refuses such numbers now; one stored before is refused when it would ring."""
    r, gateway = router
    with session_scope(app) as s:
        mallory = operator(s, "mallory", phone="+449012345678", since=NOW - minutes(5)).id
        caller = waiting(s, at=NOW - minutes(1)).id
    report = r.run_once()
    assert gateway.rings == [] and len(report.failed) == 1
    assert _state(app, mallory) == AWAY
    with session_scope(app) as s:
        assert "premium number: change it in your desk profile" in s.get(DeskOperator, mallory).state_reason
    assert _entry(app, caller).status == WAITING
