"""The operator's accept webhook answers at once; the bridge is a job done after the answer.

Twilio waits at most 15 s for a webhook's TwiML, and the operator hears silence while it
waits: pressing 1 must be answered with the conference at once, and the REST work that brings
the caller in (the Queue Members API) is done once that answer is sent, through the one
gateway, claimed so that one worker does it, and retried when Twilio cannot be reached or a
worker dies holding it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.db import session_scope
from app.desk import after_response, bridge
from app.desk.models import (
    ABANDONED,
    AVAILABLE,
    BRIDGE_DONE,
    BRIDGE_FAILED,
    BRIDGE_PENDING,
    BRIDGE_WORKING,
    BUSY,
    CONNECTED,
    OFFER_RINGING,
    OFFERED,
    RINGING,
    DeskOperator,
    Offer,
    QueueEntry,
)
from app.desk.routing import Router
from app.telephony import AmbiguousRequestError, TelephonyError, TwilioUnavailableError
from tests.conftest import SignedClient, voice_params
from tests.desk_support import RingingGateway, minutes, operator, waiting

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OPERATOR_CALL = "CA" + "0" * 31 + "1"


class BridgeGateway(RingingGateway):
    """Stands in for the Twilio gateway: records rings, dequeues and call updates; a dequeue
    fails on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.dequeues: list[tuple[str, str, str]] = []
        self.updates: list[tuple[str, str]] = []
        self.failures: list[TelephonyError] = []

    def dequeue_member(self, queue_sid: str, call_sid: str, url: str) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.dequeues.append((queue_sid, call_sid, url))

    def update_call(self, sid: str, *, twiml: str | None = None, **_: Any) -> None:
        self.updates.append((sid, twiml or ""))


@pytest.fixture
def gateway(app, clock, monkeypatch) -> BridgeGateway:
    clock.set(NOW)
    fake = BridgeGateway()
    monkeypatch.setitem(app.extensions, "cortese.gateway", fake)
    return fake


@pytest.fixture
def offered(app) -> tuple[int, int, int, str]:
    """Anna's phone rings for a caller waiting two minutes: (operator, entry, offer, token)."""
    with session_scope(app) as s:
        anna = operator(s, "anna", phone="+393331110001", state=OFFERED, since=NOW - minutes(1))
        entry = waiting(s, at=NOW - minutes(2))
        offer = Offer(entry_id=entry.id, operator_id=anna.id, token="tok-1", status=OFFER_RINGING,
                      operator_call_sid=OPERATOR_CALL, created_at=NOW - timedelta(seconds=10))
        s.add(offer)
        s.flush()
        entry.status, entry.operator_id, entry.offer_id = RINGING, anna.id, offer.id
        anna.entry_id = entry.id
        return anna.id, entry.id, offer.id, entry.call_sid


def _press_1(client, offer_id: int):
    params = voice_params(CallSid=OPERATOR_CALL, Direction="outbound-api", CallStatus="in-progress",
                          Digits="1")
    return SignedClient(client).post(f"/voice/desk/answer?offer={offer_id}&t=tok-1", params)


def _entry(app, entry_id: int) -> QueueEntry:
    with session_scope(app) as s:
        return s.get(QueueEntry, entry_id)


def _state(app, op_id: int) -> str:
    with session_scope(app) as s:
        return s.get(DeskOperator, op_id).state


def test_pressing_1_is_answered_with_the_conference_before_any_rest_call(app, client, gateway, offered):
    anna, entry_id, offer_id, caller_sid = offered
    response = _press_1(client, offer_id)
    twiml = response.get_data(as_text=True)
    # The answer is ready and nothing was asked of Twilio yet: the operator is in the room.
    assert f"desk-{entry_id}</Conference>" in twiml and "Connecting you to the caller." in twiml
    assert gateway.dequeues == []
    assert _entry(app, entry_id).bridge_status == BRIDGE_PENDING
    assert _entry(app, entry_id).status == CONNECTED and _state(app, anna) == BUSY
    response.close()  # what the WSGI server does once the answer is sent
    ((queue_sid, call_sid, url),) = gateway.dequeues
    assert queue_sid == _entry(app, entry_id).queue_sid
    assert call_sid == caller_sid and url.endswith(f"/voice/desk/join?entry={entry_id}")
    assert _entry(app, entry_id).bridge_status == BRIDGE_DONE


def test_twilio_unreachable_is_retried_by_the_routing_pass(app, client, clock, gateway, offered):
    anna, entry_id, offer_id, _ = offered
    gateway.failures.append(TwilioUnavailableError("503 after every retry", status=503))
    _press_1(client, offer_id).close()
    assert gateway.dequeues == [] and _entry(app, entry_id).bridge_status == BRIDGE_WORKING
    router = Router(app, gateway=gateway)
    assert router.run_once().bridged == []  # not before the retry's time
    clock.set(NOW + bridge.RETRY_AFTER)
    assert router.run_once().bridged == [entry_id]
    assert len(gateway.dequeues) == 1 and _entry(app, entry_id).bridge_status == BRIDGE_DONE
    assert _entry(app, entry_id).status == CONNECTED and _state(app, anna) == BUSY


def test_a_caller_gone_from_the_queue_frees_the_operator_who_is_told_why(app, client, gateway, offered):
    anna, entry_id, offer_id, _ = offered
    gateway.failures.append(TelephonyError("Call is not in the queue", code=20404, status=404))
    _press_1(client, offer_id).close()
    entry = _entry(app, entry_id)
    assert entry.status == ABANDONED and entry.bridge_status == BRIDGE_FAILED
    assert "Call is not in the queue" in entry.end_reason
    assert _state(app, anna) == AVAILABLE
    ((sid, twiml),) = gateway.updates  # the operator, alone in the conference, hears it
    assert sid == OPERATOR_CALL and "The caller has already hung up" in twiml and "<Hangup" in twiml


def test_an_operator_freed_by_a_failed_bridge_is_rung_for_the_next_caller_at_once(app, client, gateway, offered):
    """The caller hung up as Anna pressed 1: she hears why, and the next caller in line rings
    her phone straight away, not at the next scheduled pass."""
    anna, entry_id, offer_id, _ = offered
    with session_scope(app) as s:
        next_id = waiting(s, at=NOW - minutes(1)).id
    gateway.failures.append(TelephonyError("Call is not in the queue", code=20404, status=404))
    _press_1(client, offer_id).close()
    assert _entry(app, entry_id).status == ABANDONED
    following = _entry(app, next_id)
    assert following.status == RINGING and following.operator_id == anna
    assert gateway.rings == [("+393331110001", following.offer_id)]


def test_a_worker_that_died_holding_the_job_is_taken_over_after_its_lease(app, client, clock, gateway, offered,
                                                                         monkeypatch):
    _anna, entry_id, offer_id, _ = offered
    monkeypatch.setattr(after_response, "bridge_after_request", lambda _entry_id: None)  # the process dies
    _press_1(client, offer_id).close()
    with session_scope(app) as s:
        assert bridge.claim(s, entry_id, NOW)  # it had claimed the job
    with session_scope(app) as s:
        assert not bridge.claim(s, entry_id, NOW)  # one worker at a time
    router = Router(app, gateway=gateway)
    clock.set(NOW + bridge.LEASE - timedelta(seconds=1))
    assert router.run_once().bridged == [] and gateway.dequeues == []
    clock.set(NOW + bridge.LEASE)
    assert router.run_once().bridged == [entry_id]
    assert len(gateway.dequeues) == 1 and _entry(app, entry_id).bridge_status == BRIDGE_DONE


def test_after_a_lost_answer_a_refusal_waits_for_the_caller_to_arrive(app, client, clock, gateway, offered):
    """The first dequeue reached Twilio but its answer was lost; the retry is refused because
    the caller already left the queue for /voice/desk/join. That is not a failure."""
    anna, entry_id, offer_id, _ = offered
    gateway.failures += [AmbiguousRequestError("read timeout"),
                         TelephonyError("Call is not in the queue", code=20404, status=404)]
    _press_1(client, offer_id).close()
    clock.set(NOW + bridge.RETRY_AFTER)
    Router(app, gateway=gateway).run_once()
    assert _entry(app, entry_id).status == CONNECTED and _state(app, anna) == BUSY
    params = voice_params(CallSid=_entry(app, entry_id).call_sid, CallStatus="in-progress")
    SignedClient(client).post(f"/voice/desk/join?entry={entry_id}", params)
    assert _entry(app, entry_id).bridge_status == BRIDGE_DONE
    clock.set(NOW + bridge.RETRY_AFTER * 5)
    assert Router(app, gateway=gateway).run_once().bridged == []
    assert gateway.updates == []  # the operator was never told the caller had gone
