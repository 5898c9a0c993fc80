"""The outbound pipeline: one call of ours per person at a time, across campaigns, callbacks and
processes (a claim per number held from the consent decision to the recorded attempt), and the
guarantees every kind gets from it.

The race these tests close: two dialers each ask consent before either has recorded its
attempt, so both are told yes and one person is rung twice within a second. A person on the
phone with us must not be rung by a second call of ours (the courtesy rules count a call under
way: app/consent/rules/courtesy.yaml, retry_spacing_minutes.in_progress).
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from sqlalchemy import select

from app import create_app
from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import PLACED, SCHEDULED, Callback
from app.campaigns.models import CampaignAttempt, CampaignContact
from app.clock import FakeClock
from app.consent.gdpr import erase_contact
from app.consent.models import Contact, ContactAttempt
from app.db import Base, get_engine, session_scope
from app.outbound import numbers
from app.outbound.models import NumberClaim
from app.telephony import CallInfo, TwilioGateway
from tests.callback_support import book, no_pause
from tests.campaign_support import fake_dialer, make_campaign, make_contacts, twilio_error
from tests.conftest import base_settings, voice_params

IT = "+393471234567"
HOLD = timedelta(seconds=180)


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    # Pacing is not what these tests are about: the account's slots never get in the way.
    settings.update(CAMPAIGN_ACCOUNT_CPS=100, CALLBACK_CALLS_PER_SECOND=100)
    return settings


class Phone:
    """A gateway that records each call and, on the first one, lets `meanwhile` run while the
    REST request is in flight (the moment the first dialer has decided but not yet recorded)."""

    def __init__(self, meanwhile: Any = None) -> None:
        self.calls: list[str] = []
        self.sids: list[str] = []
        self.meanwhile = meanwhile
        self.lock = threading.Lock()

    def place_call(self, to: str, url: str, **_: Any) -> CallInfo:
        sid = "CA" + uuid.uuid4().hex
        with self.lock:
            self.calls.append(to)
            self.sids.append(sid)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return CallInfo(sid=sid, status="queued", to=to, from_="+390212345678", direction="outbound-api")

    def fetch_call(self, sid: str) -> CallInfo:
        return CallInfo(sid=sid, status="in-progress", to="", from_="", direction="outbound-api")

    def hang_up(self, sid: str) -> CallInfo:
        return self.fetch_call(sid)


def _end(twilio: Any, to: str, sid: str, status: str = "completed") -> None:
    params = voice_params(CallSid=sid, CallStatus=status, Direction="outbound-api", From="+390212345678",
                          To=to, SequenceNumber="3", CallDuration="40")
    assert twilio.post("/voice/status", params).status_code == 204


# --- the claim itself -----------------------------------------------------------------------------


def test_a_number_claim_has_one_holder_until_released_or_run_out(app, clock):
    engine, now = get_engine(app), clock.now()
    assert numbers.take(engine, IT, holder="a", job="campaign 1 contact 1", now=now, hold=HOLD)
    assert not numbers.take(engine, IT, holder="b", job="callback 2", now=now + timedelta(seconds=1), hold=HOLD)
    with session_scope(app) as session:
        numbers.release(session, IT, holder="b")  # not b's claim: nothing happens
        assert numbers.holder_of(session, IT, now=now) == "a"
    with session_scope(app) as session:
        numbers.release(session, IT, holder="a")
    assert numbers.take(engine, IT, holder="b", job="callback 2", now=now + timedelta(seconds=2), hold=HOLD)
    # b dies holding it: nobody may call until its hold runs out, then the next one may
    assert not numbers.take(engine, IT, holder="c", job="callback 3", now=now + timedelta(seconds=181), hold=HOLD)
    assert numbers.take(engine, IT, holder="c", job="callback 3", now=now + timedelta(seconds=183), hold=HOLD)


def test_racing_claimers_on_sqlite_get_one_winner(app, clock):
    engine, now = get_engine(app), clock.now()
    barrier = threading.Barrier(6)
    won: list[str] = []

    def claim(name: str) -> None:
        barrier.wait()
        if numbers.take(engine, IT, holder=name, job=name, now=now, hold=HOLD):
            won.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1


# --- one call per person across kinds (deterministic: the second dialer runs mid-request) ---------


def test_two_campaigns_never_ring_one_person_at_once(app, clock, twilio):
    ids = make_contacts(app, [IT], clock)
    make_campaign(app, clock, ids, name="survey-a", cps=10)
    make_campaign(app, clock, ids, name="survey-b", cps=10)
    second = fake_dialer(app, clock, worker="second")
    phone = Phone(meanwhile=second.tick)
    second.pipeline.gateway = phone
    fake_dialer(app, clock, gateway=phone, worker="first").tick()
    assert phone.calls == [IT]
    with session_scope(app) as session:
        waiting = session.scalars(select(CampaignContact).where(CampaignContact.status == "queued")).one()
        assert waiting.next_attempt_at > clock.now()  # back in the queue, nothing asked or dialled
        assert session.scalars(select(CampaignAttempt)).all()[0].status == "placed"
        assert session.scalar(select(NumberClaim)) is None  # released with the recorded attempt
    # While the first call lasts, the second campaign still waits; once it ended, consent
    # decides with that call counted (the courtesy rules space calls to one person).
    clock.advance(minutes=2)
    second.tick()
    assert phone.calls == [IT]
    _end(twilio, IT, phone.sids[0])
    clock.advance(minutes=2)
    second.tick()
    with session_scope(app) as session:
        refused = session.scalars(select(CampaignAttempt).where(CampaignAttempt.status == "refused")).one()
        assert refused.rule_id.startswith("courtesy.")
    assert phone.calls == [IT]


def test_a_callback_never_rings_while_a_campaign_call_is_being_placed(app, clock, twilio):
    with session_scope(app) as session:
        cb_id = book(session, IT, clock.now() - timedelta(minutes=1), at=clock.now() - timedelta(hours=1)).id
    ids = make_contacts(app, [IT], clock)
    make_campaign(app, clock, ids, cps=10)
    report: list[Any] = []

    def dispatch() -> None:
        report.append(Dispatcher(app, gateway=phone, worker="callbacks", pace=no_pause).run_once())

    phone = Phone(meanwhile=dispatch)
    fake_dialer(app, clock, gateway=phone, worker="campaigns").tick()
    assert phone.calls == [IT] and report[0].released == [cb_id] and report[0].placed == []
    cb = _callback(app, cb_id)
    assert cb.status == SCHEDULED and cb.due_at > clock.now()
    # The campaign call ends: the callback the person asked for is then made.
    _end(twilio, IT, phone.sids[0])
    clock.set(cb.due_at)
    assert Dispatcher(app, gateway=phone, worker="callbacks", pace=no_pause).run_once().placed == [cb_id]
    assert phone.calls == [IT, IT]


def test_a_campaign_never_rings_while_a_callback_is_being_placed(app, clock):
    ids = make_contacts(app, [IT], clock)
    make_campaign(app, clock, ids, cps=10)
    with session_scope(app) as session:
        cb_id = book(session, IT, clock.now(), at=clock.now() - timedelta(hours=1)).id
    dialer = fake_dialer(app, clock, worker="campaigns")
    phone = Phone(meanwhile=dialer.tick)
    dialer.pipeline.gateway = phone
    report = Dispatcher(app, gateway=phone, worker="callbacks", pace=no_pause).run_once()
    assert report.placed == [cb_id] and phone.calls == [IT]
    with session_scope(app) as session:
        assert session.scalars(select(CampaignContact)).one().status == "queued"
        assert session.scalars(select(CampaignAttempt)).all() == []  # not even asked


def test_a_dead_holder_blocks_the_number_only_until_its_claim_runs_out(app, clock):
    ids = make_contacts(app, [IT], clock)
    make_campaign(app, clock, ids, cps=10)
    assert numbers.take(get_engine(app), IT, holder="dead", job="callback 9", now=clock.now(), hold=HOLD)
    phone = Phone()
    dialer = fake_dialer(app, clock, gateway=phone)
    dialer.tick()
    assert phone.calls == []
    clock.advance(seconds=181)
    dialer.tick()
    assert phone.calls == [IT]


# --- dispatch never creates contacts --------------------------------------------------------------


def test_dispatching_a_callback_to_an_erased_number_refuses_it_and_creates_no_contact(app, clock):
    with session_scope(app) as session:
        cb_id = book(session, IT, clock.now(), at=clock.now() - timedelta(hours=1)).id
    with session_scope(app) as session:
        # Erased with the callback left behind (how erasure treats pending callbacks is its own
        # business): dispatch must still refuse and must not bring the person back.
        erase_contact(session, IT, at=clock.now(), by="dpo", settings=app.extensions["cortese.settings"])
        session.get(Callback, cb_id).status = SCHEDULED
    phone = Phone()
    report = Dispatcher(app, gateway=phone, worker="w", pace=no_pause).run_once()
    assert report.refused == [cb_id] and phone.calls == []
    assert _callback(app, cb_id).last_error.startswith("suppression")
    with session_scope(app) as session:
        assert session.scalars(select(Contact).where(Contact.e164 == IT)).all() == []


def test_dispatching_a_callback_without_a_contact_creates_none(app, clock):
    with session_scope(app) as session:
        cb_id = book(session, IT, clock.now(), at=clock.now() - timedelta(hours=1)).id
    phone = Phone()
    report = Dispatcher(app, gateway=phone, worker="w", pace=no_pause).run_once()
    assert report.placed == [cb_id] and phone.calls == [IT]
    with session_scope(app) as session:
        assert session.scalars(select(Contact)).all() == []
        [attempt] = session.scalars(select(ContactAttempt)).all()
        assert attempt.e164 == IT and attempt.contact_id is None


def _callback(app: Any, cb_id: int) -> Callback:
    with session_scope(app) as session:
        return session.get(Callback, cb_id)


# --- two processes ----------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Rome
NUMBERS = [f"+3934716{n:05d}" for n in range(25)]


def dial_in_a_process(settings: dict[str, Any], worker: str, start: Any) -> list[str]:
    """A child process: its own app and campaign dialer over the shared database; returns the
    numbers it dialled."""
    clock = FakeClock(NOW)
    application = create_app(settings, clock=clock)
    phone = Phone()
    dialer = fake_dialer(application, clock, gateway=phone, worker=worker)
    start.wait(60)
    idle = 0
    while idle < 3:
        report = dialer.tick()
        idle = 0 if (report.claimed or report.dialled) else idle + 1
        clock.advance(timedelta(seconds=0.2))
    get_engine(application).dispose()
    return phone.calls


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_processes_dialling_two_campaigns_ring_each_person_once(request, tmp_path, database):
    settings = base_settings(tmp_path)
    settings.update(CAMPAIGN_ACCOUNT_CPS=100)
    if database == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("pg_url")
    clock = FakeClock(NOW)
    application = create_app(settings, clock=clock)
    Base.metadata.create_all(get_engine(application))
    ids = make_contacts(application, NUMBERS, clock)
    make_campaign(application, clock, ids, name="a", cps=50, max_concurrent=100)
    make_campaign(application, clock, ids, name="b", cps=50, max_concurrent=100)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(2)
        children = pool.starmap_async(dial_in_a_process, [(settings, "p1", start), (settings, "p2", start)])
        dialled = [number for child in children.get(timeout=240) for number in child]
    counts = Counter(dialled)
    assert set(counts) == set(NUMBERS) and max(counts.values()) == 1, counts
    with session_scope(application) as session:
        placed = session.scalars(select(CampaignAttempt.e164).where(CampaignAttempt.status == "placed")).all()
        assert sorted(placed) == sorted(dialled)
        assert session.scalars(select(Callback).where(Callback.status == PLACED)).all() == []
    get_engine(application).dispose()


# --- one account, whichever kind hit Twilio's limit ---------------------------------------------------


def test_a_429_storm_on_a_callback_holds_the_campaigns_back_too(app, clock):
    """Twilio's 429 is about the account (https://www.twilio.com/docs/errors/20429): after the
    gateway's own retries fail, no kind of call may go out until the backoff has passed."""

    with session_scope(app) as session:
        cb_id = book(session, "+393470000001", clock.now(), at=clock.now() - timedelta(hours=1)).id
    ids = make_contacts(app, [IT], clock)
    make_campaign(app, clock, ids, cps=10)
    with responses.RequestsMock() as rsps:
        for _ in range(4):  # TWILIO_MAX_ATTEMPTS: the gateway already retried
            twilio_error(rsps, 429, 20429, "Too Many Requests")
        gateway = TwilioGateway(app.extensions["cortese.settings"], sleep=no_pause)
        assert Dispatcher(app, gateway=gateway, worker="w", pace=no_pause).run_once().released == [cb_id]
    phone = Phone()
    dialer = fake_dialer(app, clock, gateway=phone)
    dialer.tick()
    assert phone.calls == []
    clock.advance(seconds=app.extensions["cortese.settings"].campaign_backoff_seconds)
    dialer.tick()
    assert phone.calls == [IT]
