"""Twilio REST faults over real HTTP (FakeTwilio): 429 storms, 5xx, timeouts, refused
connections, dropped answers — for the gateway, the callback dispatcher and the campaign dialer.

For each: every attempt is recorded, retries stay within TWILIO_MAX_ATTEMPTS per request and
the packages' own back-off, nothing is lost (every callback/contact is dialled in the end) and
nobody is dialled twice (FakeTwilio's log of created calls is the judge).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import COMPLETED, PLACED, UNKNOWN, Callback, CallbackEvent
from app.campaigns.models import CampaignAttempt, CampaignContact
from app.consent.models import ContactAttempt
from app.db import session_scope
from app.telephony import (
    AmbiguousRequestError,
    RateLimitedError,
    TwilioGateway,
    TwilioUnavailableError,
)
from tests.callback_support import book, no_pause
from tests.campaign_support import fake_dialer, make_campaign, make_contacts

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)  # Wednesday afternoon
DUE = NOW + timedelta(hours=1)
NUMBERS = [f"+39347123{n:04d}" for n in range(12)]
MAX_ATTEMPTS = 4


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    settings.update(TWILIO_MAX_ATTEMPTS=MAX_ATTEMPTS, TWILIO_TIMEOUT_SECONDS=0.5,
                    CAMPAIGN_ACCOUNT_CPS=50, CALLBACK_CALLS_PER_SECOND=50)
    return settings


def _gateway(app: Any, sleeps: list[float] | None = None, **changes: Any) -> TwilioGateway:
    settings = app.extensions["cortese.settings"]
    if changes:
        settings = settings.model_copy(update=changes)
    return TwilioGateway(settings, sleep=(sleeps.append if sleeps is not None else no_pause))


def _creates(fake: Any) -> int:
    return sum(1 for r in fake.requests if r["endpoint"] == "create")


def _created_late(fake: Any, count: int = 1, within: float = 10.0) -> None:
    """Wait for FakeTwilio's server thread to finish a delayed create the client gave up on.

    The only real waiting in these tests: the delay is a real socket timeout in another thread.
    """
    deadline = time.monotonic() + within
    while len(fake.calls) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.calls) == count


def _place(gateway: TwilioGateway, to: str = NUMBERS[0]) -> Any:
    return gateway.place_call(to, "https://cortese.example.test/voice/callback?cb=1",
                              status_callback="https://cortese.example.test/voice/status")


# --- the gateway alone -------------------------------------------------------------------------


def test_a_429_storm_longer_than_the_retries_stops_at_the_bound(fake_twilio, app):
    fake_twilio.fail_next(429, 20429, times=50, endpoint="create")
    sleeps: list[float] = []
    with pytest.raises(RateLimitedError) as info:
        _place(_gateway(app, sleeps, twilio_retry_base_seconds=0.5, twilio_retry_max_seconds=4))
    assert info.value.code == 20429
    assert _creates(fake_twilio) == MAX_ATTEMPTS and not fake_twilio.calls
    assert len(sleeps) == MAX_ATTEMPTS - 1 and all(0 <= s <= 4 for s in sleeps)


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (502, 20502), (503, 20503), (429, 20429)])
def test_transient_errors_then_success_create_exactly_one_call(fake_twilio, app, status, code):
    fake_twilio.fail_next(status, code, times=MAX_ATTEMPTS - 1, endpoint="create")
    info = _place(_gateway(app))
    assert [c.sid for c in fake_twilio.calls] == [info.sid]
    assert _creates(fake_twilio) == MAX_ATTEMPTS


def test_connection_refused_is_retried_within_the_bound_then_reported(app):
    sleeps: list[float] = []
    gateway = _gateway(app, sleeps, twilio_api_base_url="http://127.0.0.1:1")
    with pytest.raises(TwilioUnavailableError):
        _place(gateway)
    assert len(sleeps) == MAX_ATTEMPTS - 1


def test_a_create_that_times_out_is_ambiguous_and_not_retried(fake_twilio, app):
    fake_twilio.delay_next(1.5, endpoint="create")  # longer than TWILIO_TIMEOUT_SECONDS=0.5
    with pytest.raises(AmbiguousRequestError):
        _place(_gateway(app))
    _created_late(fake_twilio)
    assert _creates(fake_twilio) == 1


def test_a_fetch_that_times_out_is_retried(fake_twilio, app):
    info = _place(_gateway(app))
    fake_twilio.delay_next(1.5, endpoint="fetch")
    assert _gateway(app).fetch_call(info.sid).sid == info.sid
    assert sum(1 for r in fake_twilio.requests if r["endpoint"] == "fetch") == 2


def test_an_answer_lost_after_twilio_created_the_call_never_dials_twice(fake_twilio, app):
    fake_twilio.drop_next(endpoint="create", after_processing=True)
    with pytest.raises(AmbiguousRequestError):
        _place(_gateway(app))
    assert len(fake_twilio.calls) == 1


# --- callbacks ---------------------------------------------------------------------------------


def _book_all(app: Any, clock: Any, numbers: list[str]) -> list[int]:
    clock.set(NOW)
    with session_scope(app) as session:
        ids = [book(session, n, DUE, at=NOW).id for n in numbers]
    clock.set(DUE)
    return ids


def _callbacks(app: Any) -> dict[int, Callback]:
    with session_scope(app) as session:
        return {cb.id: cb for cb in session.scalars(select(Callback))}


def _dispatch_until_settled(app: Any, clock: Any, gateway: TwilioGateway, rounds: int = 40) -> None:
    for _ in range(rounds):
        Dispatcher(app, gateway=gateway, worker="w1", pace=no_pause).run_once(limit=100)
        if all(cb.status not in ("scheduled", "dispatching") for cb in _callbacks(app).values()):
            return
        clock.advance(timedelta(minutes=1))


def _ring_and_hang_up(sim: Any) -> None:
    for call in sim.twilio.ring_pending():
        if not call.ended:
            call.hangup()


def test_callbacks_through_a_429_and_5xx_storm_are_each_dialled_once(sim, app, clock):
    ids = _book_all(app, clock, NUMBERS)
    sim.twilio.fail_next(429, 20429, times=10, endpoint="create")
    sim.twilio.fail_next(503, 20503, times=6, endpoint="create")
    _dispatch_until_settled(app, clock, _gateway(app))

    callbacks = _callbacks(app)
    assert {cb.status for cb in callbacks.values()} == {PLACED}
    created = Counter(c.to for c in sim.twilio.calls)
    assert sorted(created) == sorted(NUMBERS) and max(created.values()) == 1  # nothing lost, no double
    assert {cb.call_sid for cb in callbacks.values()} == {c.sid for c in sim.twilio.calls}
    assert _creates(sim.twilio) == len(NUMBERS) + 16  # every retry accounted for
    with session_scope(app) as session:  # each failed dispatch is on record with Twilio's code
        retried = session.scalars(select(CallbackEvent.note).where(CallbackEvent.note.like("%retry in%"))).all()
        assert len(retried) == 16 // MAX_ATTEMPTS
        assert all("20429" in note or "20503" in note for note in retried)
        attempts = session.scalar(select(func.count()).select_from(ContactAttempt)
                                  .where(ContactAttempt.callback_id.in_(ids)))
        assert attempts == len(NUMBERS)

    _ring_and_hang_up(sim)
    _dispatch_until_settled(app, clock, _gateway(app), rounds=2)
    with session_scope(app) as session:
        ends = Counter(session.scalars(select(CallbackEvent.callback_id)
                                       .where(CallbackEvent.to_status == COMPLETED)).all())
    assert ends == Counter(ids)  # every callback ended once
    assert len(sim.twilio.calls) == len(NUMBERS)


def test_a_refused_connection_releases_the_callback_and_it_is_dialled_once_twilio_is_back(sim, app, clock):
    (cb_id,) = _book_all(app, clock, NUMBERS[:1])
    down = _gateway(app, twilio_api_base_url="http://127.0.0.1:1")
    report = Dispatcher(app, gateway=down, worker="w1", pace=no_pause).run_once()
    assert report.released == [cb_id]
    cb = _callbacks(app)[cb_id]
    assert cb.status == "scheduled" and cb.errors == 1 and "cannot reach Twilio" in cb.last_error
    _dispatch_until_settled(app, clock, _gateway(app))
    assert _callbacks(app)[cb_id].status == PLACED and len(sim.twilio.calls) == 1


def test_a_timed_out_dial_is_reconciled_from_twilios_status_callbacks_not_redialled(sim, app, clock):
    (cb_id,) = _book_all(app, clock, NUMBERS[:1])
    sim.twilio.delay_next(1.5, endpoint="create")  # the call is created, the answer comes too late
    report = Dispatcher(app, gateway=_gateway(app), worker="w1", pace=no_pause).run_once()
    assert report.unknown == [cb_id] and _callbacks(app)[cb_id].status == UNKNOWN
    _created_late(sim.twilio)
    clock.advance(timedelta(minutes=2))
    Dispatcher(app, gateway=_gateway(app), worker="w1", pace=no_pause).run_once()
    assert len(sim.twilio.calls) == 1  # never redialled blindly
    _ring_and_hang_up(sim)  # Twilio's status callbacks for the call we did not hear about
    cb = _callbacks(app)[cb_id]
    assert cb.call_sid == sim.twilio.calls[0].sid and cb.status == COMPLETED
    assert len(sim.twilio.calls) == 1


# --- campaigns ---------------------------------------------------------------------------------


def _campaign_rows(app: Any) -> list[CampaignContact]:
    with session_scope(app) as session:
        return list(session.scalars(select(CampaignContact).order_by(CampaignContact.id)))


def _attempts(app: Any) -> list[CampaignAttempt]:
    with session_scope(app) as session:
        return list(session.scalars(select(CampaignAttempt).order_by(CampaignAttempt.id)))


def _tick_until_dialled(app: Any, clock: Any, gateway: TwilioGateway, rounds: int = 40) -> None:
    dialer = fake_dialer(app, clock, gateway=gateway, worker="d1")
    for _ in range(rounds):
        dialer.tick()
        if all(r.status not in ("queued", "claimed", "dialing") for r in _campaign_rows(app)):
            return
        clock.advance(timedelta(seconds=61))  # past CAMPAIGN_BACKOFF_SECONDS


def test_campaign_through_a_429_and_5xx_storm_dials_each_contact_once(sim, app, clock):
    ids = make_contacts(app, NUMBERS, clock)
    make_campaign(app, clock, ids, cps=20, max_concurrent=50)
    sim.twilio.fail_next(429, 20429, times=10, endpoint="create")
    sim.twilio.fail_next(500, 20500, times=6, endpoint="create")
    _tick_until_dialled(app, clock, _gateway(app))

    rows = _campaign_rows(app)
    assert {r.status for r in rows} == {"in-call"} and {r.attempts_made for r in rows} == {1}
    created = Counter(c.to for c in sim.twilio.calls)
    assert sorted(created) == sorted(NUMBERS) and max(created.values()) == 1
    attempts = _attempts(app)
    errors = [a for a in attempts if a.status == "error"]
    assert len(errors) == 16 // MAX_ATTEMPTS and {a.error_code for a in errors} == {20429, 20500}
    placed = [a for a in attempts if a.status == "placed"]
    assert sorted(a.e164 for a in placed) == sorted(NUMBERS)
    assert {a.call_sid for a in placed} == {c.sid for c in sim.twilio.calls}
    assert _creates(sim.twilio) == len(NUMBERS) + 16


def test_campaign_with_twilio_unreachable_backs_off_and_loses_nobody(sim, app, clock):
    ids = make_contacts(app, NUMBERS[:4], clock)
    make_campaign(app, clock, ids, cps=20, max_concurrent=50)
    down = _gateway(app, twilio_api_base_url="http://127.0.0.1:1")
    report = fake_dialer(app, clock, gateway=down, worker="d1").tick()
    assert report.errors >= 1 and not sim.twilio.calls
    assert all(r.status == "queued" and r.attempts_made == 0 for r in _campaign_rows(app))
    _tick_until_dialled(app, clock, _gateway(app))
    assert sorted(c.to for c in sim.twilio.calls) == sorted(NUMBERS[:4])


def test_campaign_timeout_is_settled_as_unknown_never_redialled_and_linked_when_answered(sim, app, clock):
    ids = make_contacts(app, NUMBERS[:1], clock)
    make_campaign(app, clock, ids)
    sim.twilio.delay_next(1.5, endpoint="create")
    _tick_until_dialled(app, clock, _gateway(app))
    _created_late(sim.twilio)
    (row,) = _campaign_rows(app)
    assert (row.status, row.disposition) == ("done", "unknown")
    (attempt,) = _attempts(app)
    assert attempt.disposition == "unknown" and attempt.call_sid is None
    # The call did exist: answering it links it to its attempt (/voice/outbound?attempt=N).
    _ring_and_hang_up(sim)
    (attempt,) = _attempts(app)
    assert attempt.call_sid == sim.twilio.calls[0].sid and attempt.disposition == "answered-human"
    for _ in range(3):
        clock.advance(timedelta(hours=3))
        fake_dialer(app, clock, gateway=_gateway(app), worker="d1").tick()
    assert len(sim.twilio.calls) == 1
