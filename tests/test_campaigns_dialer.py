"""The dialer: consent at dial time, pacing, pause/stop, retries, Twilio errors, exactly-once."""

from __future__ import annotations

import io
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from app import create_app, scheduler
from app.campaigns import dialer as dialer_module
from app.campaigns import service
from app.campaigns.dialer import Dialer
from app.campaigns.models import Campaign, CampaignAttempt, CampaignContact
from app.consent import registries
from app.consent.contacts import find_by_number
from app.consent.ledger import add_owned_product
from app.consent.models import ComplianceDecision, ContactAttempt, OptOut
from app.consent.optouts import record_opt_out
from app.db import Base, get_engine, session_scope
from app.outbound import pacing
from app.telephony import CallInfo
from tests.campaign_support import (
    CALLS_URL,
    fake_dialer,
    make_campaign,
    make_contacts,
    twilio_error,
    twilio_ok,
)
from tests.conftest import voice_params

IT = ["+393471234567", "+393471234568", "+393471234569", "+393471234570", "+393471234571"]


@pytest.fixture
def settings(settings, tmp_path):
    settings["CAMPAIGN_ACCOUNT_CPS"] = 50
    return settings


class FakeGateway:
    """Records placed calls (thread-safe); used where Twilio's answers do not matter."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def place_call(self, to: str, url: str, **kwargs: Any) -> CallInfo:
        with self.lock:
            self.calls.append({"to": to, "url": url, **kwargs})
            sid = f"CA{len(self.calls):032x}"
        return CallInfo(sid=sid, status="queued", to=to, from_="+390212345678", direction="outbound-api")


def rows(app, model, **where):
    with session_scope(app) as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.scalars(query))


def status(twilio, sid: str, call_status: str, seq: int = 3, **extra: str) -> None:
    params = voice_params(CallSid=sid, CallStatus=call_status, Direction="outbound-api", SequenceNumber=str(seq),
                          From="+390212345678", To=IT[0], **extra)
    assert twilio.post("/voice/status", params).status_code == 204


# --- consent at dial time --------------------------------------------------------------------


def test_dials_with_consent_decision_and_records_history(app, clock):
    ids = make_contacts(app, IT[:1], clock)
    campaign_id = make_campaign(app, clock, ids)
    with responses.RequestsMock() as rsps:
        twilio_ok(rsps)
        report = fake_dialer(app, clock).tick()
        body = rsps.calls[0].request.body
    assert report.dialled == 1
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.status == "placed" and attempt.call_sid and attempt.decision_id
    decision = rows(app, ComplianceDecision, id=attempt.decision_id)[0]
    assert decision.allowed and decision.campaign_id == str(campaign_id) and decision.purpose == "survey"
    history = rows(app, ContactAttempt, call_sid=attempt.call_sid)[0]
    assert history.decision_id == attempt.decision_id and history.campaign_id == str(campaign_id)
    assert f"voice%2Foutbound%3Fattempt%3D{attempt.id}" in body and "StatusCallback=https" in body
    assert "MachineDetection=DetectMessageEnd" in body and "AsyncAmd=true" in body and "Timeout=25" in body


def test_opt_out_after_start_cancels_queued_rows_at_once(app, clock):
    ids = make_contacts(app, IT[:2], clock)
    campaign_id = make_campaign(app, clock, ids)
    other = make_campaign(app, clock, ids[:1], name="second")
    with session_scope(app) as session:
        record_opt_out(session, IT[0], at=clock.now(), source="api", by="operator:test")
    cancelled = rows(app, CampaignContact, e164=IT[0])
    assert {(r.campaign_id, r.status, r.disposition) for r in cancelled} == {
        (campaign_id, "cancelled", "opted-out"), (other, "cancelled", "opted-out")}
    gateway = FakeGateway()
    fake_dialer(app, clock, gateway=gateway).tick()
    assert [c["to"] for c in gateway.calls] == [IT[1]]


def test_opt_out_known_only_to_consent_is_refused_at_dial_time(app, clock):
    """Defence in depth: an opt-out written without the signal still stops the call."""
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    with session_scope(app) as session:
        session.add(OptOut(e164=IT[0], contact_id=ids[0], at=clock.now(), source="import", recorded_by="legacy"))
    gateway = FakeGateway()
    report = fake_dialer(app, clock, gateway=gateway).tick()
    assert report.refused == 1 and gateway.calls == []
    attempt = rows(app, CampaignAttempt)[0]
    assert (attempt.disposition, attempt.rule_id) == ("refused", "optout.internal_dnc") and "do-not-call" in attempt.reason
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition) == ("done", "refused")


def test_registry_listed_number_is_refused_for_sales(app, clock):
    ids = make_contacts(app, IT[:2], clock)
    with session_scope(app) as session:
        registries.import_registry(session, "IT", io.BytesIO(f"{IT[0]}\n".encode()), at=clock.now(), file_name="rpo.txt")
    make_campaign(app, clock, ids, purpose="sales", offer_id="fibra-1000", flow="campaign_service",
                  reason={"it": "la nuova offerta fibra", "en": "our new fibre offer"}, cps=10)
    gateway = FakeGateway()
    report = fake_dialer(app, clock, gateway=gateway).tick()
    assert [c["to"] for c in gateway.calls] == [IT[1]] and report.refused == 1
    refused = rows(app, CampaignAttempt, e164=IT[0])[0]
    assert refused.rule_id == "registry.listed"
    assert rows(app, ComplianceDecision, id=refused.decision_id)[0].offer_id == "fibra-1000"


def test_outside_the_legal_window_is_rescheduled_to_the_next_lawful_moment(app, clock):
    clock.set(datetime(2026, 3, 2, 19, 30, tzinfo=UTC))  # Monday 20:30 in Rome
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    assert dialer.tick().refused == 1 and gateway.calls == []
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.rule_id == "window"
    row = rows(app, CampaignContact)[0]
    assert row.status == "queued" and row.next_attempt_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))
    assert dialer.tick().claimed == 0
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert dialer.tick().dialled == 1 and len(gateway.calls) == 1


def test_public_holiday_is_refused_and_moved_to_the_next_day(app, clock):
    clock.set(datetime(2026, 6, 2, 8, 0, tzinfo=UTC))  # Festa della Repubblica, 10:00 in Rome
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    gateway = FakeGateway()
    assert fake_dialer(app, clock, gateway=gateway).tick().refused == 1 and gateway.calls == []
    assert rows(app, CampaignAttempt)[0].rule_id == "holiday"
    row = rows(app, CampaignContact)[0]
    assert row.status == "queued" and row.next_attempt_at.date() == datetime(2026, 6, 3).date()


def test_campaign_hours_are_narrower_than_the_law(app, clock):
    # Monday 10:00 in Rome is lawful, but this campaign only calls 14:00-18:00.
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids, calling_days="mon-fri", calling_hours="14:00-18:00")
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    assert dialer.tick().later == 1 and gateway.calls == []
    assert rows(app, CampaignAttempt) == []  # not an attempt: nothing was asked or dialled
    assert rows(app, CampaignContact)[0].next_attempt_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))
    assert dialer.tick().dialled == 1


# --- pacing ----------------------------------------------------------------------------------


def _dial_times(app) -> list[datetime]:
    return sorted(a.dialled_at for a in rows(app, CampaignAttempt) if a.dialled_at)


@pytest.mark.parametrize("cps", [1.0, 2.0, 0.5])
def test_pacing_never_exceeds_the_campaign_cps(app, clock, cps):
    numbers = [f"+3934712{n:05d}" for n in range(12)]
    ids = make_contacts(app, numbers, clock)
    make_campaign(app, clock, ids, cps=cps, max_concurrent=100)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    for _ in range(40):
        dialer.tick()
        clock.advance(seconds=0.5)
    times = _dial_times(app)
    assert len(times) == 12
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / cps - 1e-6
    achieved = (len(times) - 1) / (times[-1] - times[0]).total_seconds()
    assert achieved <= cps + 1e-6


def test_account_cps_holds_across_campaigns_and_dialers(app, clock, settings):
    app.extensions["cortese.settings"] = app.extensions["cortese.settings"].model_copy(
        update={"campaign_account_cps": 2.0})
    numbers = [f"+3934713{n:05d}" for n in range(16)]
    ids = make_contacts(app, numbers, clock)
    make_campaign(app, clock, ids[:8], cps=5, max_concurrent=100, name="a")
    make_campaign(app, clock, ids[8:], cps=5, max_concurrent=100, name="b")
    gateway = FakeGateway()
    dialers = [fake_dialer(app, clock, gateway=gateway, worker=f"w{i}") for i in range(2)]
    for _ in range(30):
        for dialer in dialers:
            dialer.tick()
        clock.advance(seconds=0.25)
    times = _dial_times(app)
    assert len(times) == 16
    for start in times:  # any one-second window holds at most 2 calls
        assert sum(1 for t in times if start <= t < start + timedelta(seconds=1)) <= 2


def test_reserve_refuses_beyond_the_horizon(app, clock):
    engine = get_engine(app)
    now = clock.now()
    slots = [pacing.reserve(engine, {"k": 4.0}, now=now, horizon=timedelta(seconds=1)) for _ in range(5)]
    assert slots[:4] == [now + timedelta(seconds=0.25 * i) for i in range(4)] and slots[4] is None


def test_max_concurrent_calls(app, clock, twilio):
    ids = make_contacts(app, IT[:4], clock)
    make_campaign(app, clock, ids, cps=10, max_concurrent=2)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    dialer.tick()
    clock.advance(seconds=5)
    dialer.tick()
    assert len(gateway.calls) == 2
    first = rows(app, CampaignAttempt)[0]
    status(twilio, first.call_sid, "completed", AnsweredBy="machine_start")
    clock.advance(seconds=1)
    dialer.tick()
    assert len(gateway.calls) == 3


# --- pause / stop ----------------------------------------------------------------------------


def test_pause_releases_claims_not_yet_dialled(app, clock):
    ids = make_contacts(app, IT[:3], clock)
    campaign_id = make_campaign(app, clock, ids, cps=10)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    claimed = dialer.claim(campaign_id)
    assert len(claimed) == 3
    assert dialer.dial(claimed[0]) == "dialled"
    with session_scope(app) as session:  # an operator pauses while two claims are pending
        service.pause(session, session.get(Campaign, campaign_id), at=clock.now())
    assert [dialer.dial(row_id) for row_id in claimed[1:]] == ["lost", "lost"]
    assert len(gateway.calls) == 1
    assert sorted(r.status for r in rows(app, CampaignContact)) == ["in-call", "queued", "queued"]
    assert dialer.tick().claimed == 0
    with session_scope(app) as session:
        service.resume(session, session.get(Campaign, campaign_id), at=clock.now())
    dialer.tick()
    assert len(gateway.calls) == 3


def test_pause_between_slot_and_call_wins(app, clock):
    """The pause lands while the dialer waits for its pacing slot: no call."""
    ids = make_contacts(app, IT[:2], clock)
    campaign_id = make_campaign(app, clock, ids, cps=2)
    gateway = FakeGateway()

    def sleep_then_pause(seconds: float) -> None:
        clock.advance(seconds=seconds)
        with session_scope(app) as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign.status == "running":
                service.pause(session, campaign, at=clock.now())

    dialer = Dialer(app, sleep=sleep_then_pause, gateway=gateway)
    dialer.tick()
    assert len(gateway.calls) == 1  # the first slot is now; the second waited and lost


def test_stop_cancels_everything_not_in_a_call(app, clock):
    ids = make_contacts(app, IT[:3], clock)
    campaign_id = make_campaign(app, clock, ids)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    dialer.tick()
    with session_scope(app) as session:
        service.stop(session, session.get(Campaign, campaign_id), at=clock.now(), reason="client asked")
    clock.advance(minutes=5)
    dialer.tick()
    assert len(gateway.calls) == 1
    assert sorted(r.status for r in rows(app, CampaignContact)) == ["cancelled", "cancelled", "in-call"]
    with pytest.raises(ValueError, match="status: cannot resume a stopped campaign"), session_scope(app) as session:
        service.resume(session, session.get(Campaign, campaign_id), at=clock.now())


def test_campaign_completes_when_everyone_is_settled(app, clock, twilio):
    ids = make_contacts(app, IT[:1], clock)
    campaign_id = make_campaign(app, clock, ids)
    dialer = fake_dialer(app, clock, gateway=FakeGateway())
    dialer.tick()
    status(twilio, rows(app, CampaignAttempt)[0].call_sid, "failed")
    report = dialer.tick()
    assert report.completed == [campaign_id]
    assert rows(app, Campaign)[0].status == "completed"


# --- retries ---------------------------------------------------------------------------------


def test_busy_is_retried_per_policy_and_courtesy_then_given_up(app, clock, twilio):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids, max_attempts=2, retry_busy_minutes=10)
    gateway = FakeGateway()
    dialer = fake_dialer(app, clock, gateway=gateway)
    dialer.tick()
    status(twilio, rows(app, CampaignAttempt)[0].call_sid, "busy")
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition, row.attempts_made) == ("queued", "busy", 1)
    assert row.next_attempt_at == clock.now() + timedelta(minutes=10)
    clock.advance(minutes=10)
    # The campaign would retry after 10 minutes; the courtesy rule asks 30 after a busy line.
    assert dialer.tick().refused == 1
    refused = rows(app, CampaignAttempt, status="refused")[0]
    assert refused.rule_id == "courtesy.retry_spacing"
    row = rows(app, CampaignContact)[0]
    assert row.status == "queued" and row.next_attempt_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    clock.set(row.next_attempt_at)
    assert dialer.tick().dialled == 1
    second = rows(app, CampaignAttempt, number=2, status="placed")[0]
    status(twilio, second.call_sid, "no-answer")
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition, row.attempts_made) == ("done", "no-answer", 2)
    assert len(gateway.calls) == 2


def test_no_answer_waits_its_own_delay(app, clock, twilio):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids, retry_no_answer_minutes=300)
    dialer = fake_dialer(app, clock, gateway=FakeGateway())
    dialer.tick()
    status(twilio, rows(app, CampaignAttempt)[0].call_sid, "no-answer")
    assert rows(app, CampaignContact)[0].next_attempt_at == clock.now() + timedelta(minutes=300)
    history = rows(app, ContactAttempt)[0]
    assert history.outcome == "no-answer"


# --- Twilio errors ---------------------------------------------------------------------------


def _one_call(app, clock, rsps_setup) -> tuple[Any, Any]:
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps_setup(rsps)
        report = fake_dialer(app, clock).tick()
        sent = len(rsps.calls)
    return report, sent


def test_invalid_number_is_marked_and_never_retried(app, clock):
    report, sent = _one_call(app, clock, lambda r: twilio_error(r, 400, 21211, "Invalid 'To' Phone Number"))
    assert report.errors == 1 and sent == 1
    attempt = rows(app, CampaignAttempt)[0]
    assert (attempt.disposition, attempt.error_code) == ("invalid-number", 21211)
    assert (rows(app, CampaignContact)[0].status, rows(app, CampaignContact)[0].disposition) == ("done", "invalid-number")


def test_blocked_number_stops_for_that_number_everywhere(app, clock):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    other = make_campaign(app, clock, ids, name="other", start=False)
    with responses.RequestsMock() as rsps:
        twilio_error(rsps, 400, 21216, "blocked")
        fake_dialer(app, clock).tick()
    assert {(r.campaign_id == other, r.disposition) for r in rows(app, CampaignContact)} == {
        (False, "blocked"), (True, "blocked")}


@pytest.mark.parametrize(("http", "code"), [(429, 20429), (503, 20500)])
def test_rate_limit_and_outage_back_off_then_retry(app, clock, http, code):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    dialer = fake_dialer(app, clock)
    with responses.RequestsMock() as rsps:
        for _ in range(4):  # the gateway's own retries (TWILIO_MAX_ATTEMPTS) all fail
            twilio_error(rsps, http, code, "slow down")
        assert dialer.tick().errors == 1
    row = rows(app, CampaignContact)[0]
    assert row.status == "queued" and row.attempts_made == 0
    assert row.next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=30)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        twilio_ok(rsps)
        dialer.tick()
        assert len(rsps.calls) == 0  # still backing off
    clock.advance(seconds=31)
    with responses.RequestsMock() as rsps:
        twilio_ok(rsps)
        assert dialer.tick().dialled == 1


def test_ambiguous_request_is_never_blindly_retried(app, clock):
    report, sent = _one_call(app, clock, lambda r: r.add(responses.POST, CALLS_URL,
                                                         body=requests.exceptions.ReadTimeout("read timed out")))
    assert sent == 1 and report.errors == 1
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.disposition == "unknown"
    assert (rows(app, CampaignContact)[0].status, rows(app, CampaignContact)[0].disposition) == ("done", "unknown")
    assert rows(app, ContactAttempt)[0].outcome == "unknown"  # counted for the courtesy rules


def test_rejected_credentials_pause_the_campaign(app, clock):
    _, _ = _one_call(app, clock, lambda r: twilio_error(r, 401, 20003, "Authenticate"))
    campaign = rows(app, Campaign)[0]
    assert campaign.status == "paused" and "credentials" in campaign.status_reason
    assert rows(app, CampaignContact)[0].status == "queued"


def test_fast_failure_before_the_sid_is_stored_is_applied(app, clock, twilio):
    """A final status that arrives while place_call is still returning is not lost."""
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)

    class FastFail(FakeGateway):
        def place_call(self, to: str, url: str, **kwargs: Any) -> CallInfo:
            info = super().place_call(to, url, **kwargs)
            status(twilio, info.sid, "failed")
            return info

    fake_dialer(app, clock, gateway=FastFail()).tick()
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition) == ("done", "failed")


def test_recovery_settles_a_dialer_that_died(app, clock):
    ids = make_contacts(app, IT[:2], clock)
    campaign_id = make_campaign(app, clock, ids, cps=10)
    dead = fake_dialer(app, clock, gateway=FakeGateway(), worker="dead")
    claimed = dead.claim(campaign_id)
    with session_scope(app) as session:  # it had moved one row to dialing, then died
        session.get(CampaignContact, claimed[0]).status = "dialing"
    clock.advance(minutes=11)
    gateway = FakeGateway()
    fake_dialer(app, clock, gateway=gateway, worker="alive").tick()
    by_id = {r.id: r for r in rows(app, CampaignContact)}
    assert (by_id[claimed[0]].status, by_id[claimed[0]].disposition) == ("done", "unknown")
    assert [c["to"] for c in gateway.calls] == [by_id[claimed[1]].e164]


# --- exactly once ----------------------------------------------------------------------------


def _race(app, clock, workers: int = 2, numbers: int = 30) -> Counter[str]:
    ids = make_contacts(app, [f"+3934714{n:05d}" for n in range(numbers)], clock)
    make_campaign(app, clock, ids, cps=100, max_concurrent=1000)
    app.extensions["cortese.settings"] = app.extensions["cortese.settings"].model_copy(
        update={"campaign_account_cps": 100.0})
    gateway = FakeGateway()
    dialers = [fake_dialer(app, clock, gateway=gateway, worker=f"w{i}") for i in range(workers)]
    errors: list[BaseException] = []

    def run(dialer: Dialer) -> None:
        try:
            for _ in range(20):
                dialer.tick()
                clock.advance(seconds=0.05)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dialers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return Counter(c["to"] for c in gateway.calls)


def test_two_dialers_never_dial_the_same_contact_sqlite(app, clock):
    counts = _race(app, clock)
    assert len(counts) == 30 and max(counts.values()) == 1


@pytest.mark.postgres
def test_two_dialers_never_dial_the_same_contact_postgres(pg_url, settings, clock):
    settings["DATABASE_URL"] = pg_url
    application = create_app(settings, clock=clock)
    Base.metadata.create_all(get_engine(application))
    try:
        counts = _race(application, clock, workers=3, numbers=40)
        assert len(counts) == 40 and max(counts.values()) == 1
        with session_scope(application) as session:
            assert session.scalar(select(CampaignAttempt.id).where(CampaignAttempt.status != "placed")) is None
    finally:
        get_engine(application).dispose()


def test_lost_status_callbacks_are_reconciled_from_twilio(app, clock):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids, retry_no_answer_minutes=240)

    class Fetching(FakeGateway):
        def fetch_call(self, sid: str) -> CallInfo:
            return CallInfo(sid=sid, status="no-answer", to=IT[0], from_="+390212345678",
                            direction="outbound-api", raw={"answered_by": None, "duration": "0"})

    dialer = fake_dialer(app, clock, gateway=Fetching())
    dialer.tick()
    clock.advance(minutes=20)
    assert dialer.reconcile() == 0  # not stale yet: the callback may still come
    clock.advance(minutes=11)
    assert dialer.reconcile() == 1
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition) == ("queued", "no-answer")
    assert rows(app, ContactAttempt)[0].outcome == "no-answer"


def test_the_dialer_job_is_registered_and_ticks(app, clock, monkeypatch):
    assert "campaigns.dialer" in {job.id for job in scheduler.registered_jobs(app)}
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    gateway = FakeGateway()
    app.extensions["cortese.gateway"] = gateway
    with app.app_context():
        dialer_module.dialer_job(app)
    assert [c["to"] for c in gateway.calls] == IT[:1]
    assert dialer_module.dialer_for(app) is dialer_module.dialer_for(app)  # one token per process


def test_a_long_call_is_not_fetched_every_second(app, clock):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    fetched: list[str] = []

    class LongCall(FakeGateway):
        def fetch_call(self, sid: str) -> CallInfo:
            fetched.append(sid)
            return CallInfo(sid=sid, status="in-progress", to=IT[0], from_="+39", direction="outbound-api")

    dialer = fake_dialer(app, clock, gateway=LongCall())
    dialer.tick()
    clock.advance(minutes=31)
    for _ in range(10):
        dialer.reconcile()
        clock.advance(seconds=1)
    assert len(fetched) == 1
    clock.advance(minutes=5)
    dialer.reconcile()
    assert len(fetched) == 2 and rows(app, CampaignContact)[0].status == "in-call"


def test_existing_owner_of_the_offer_is_not_pitched(app, clock):
    ids = make_contacts(app, IT[:2], clock)
    with session_scope(app) as session:
        registries.import_registry(session, "IT", io.BytesIO(b"+390699999999\n"), at=clock.now(), file_name="rpo.txt")
        add_owned_product(session, find_by_number(session, IT[0]), "fibra-1000", source="crm")
    make_campaign(app, clock, ids, purpose="sales", offer_id="fibra-1000", flow="campaign_service",
                  reason={"it": "la nuova offerta fibra", "en": "our new fibre offer"}, cps=10)
    gateway = FakeGateway()
    fake_dialer(app, clock, gateway=gateway).tick()
    assert [c["to"] for c in gateway.calls] == [IT[1]]
    refused = rows(app, CampaignAttempt, e164=IT[0])[0]
    assert refused.disposition == "refused" and "fibra-1000" in refused.reason
    assert rows(app, CampaignContact, e164=IT[0])[0].status == "done"


def test_opt_out_while_a_call_rings_keeps_its_outcome_and_stops_retries(app, clock, twilio):
    ids = make_contacts(app, IT[:1], clock)
    make_campaign(app, clock, ids)
    fake_dialer(app, clock, gateway=FakeGateway()).tick()
    with session_scope(app) as session:  # by e-mail, while our call is still ringing
        record_opt_out(session, IT[0], at=clock.now(), source="email", by="operator:test")
    attempt = rows(app, CampaignAttempt)[0]
    status(twilio, attempt.call_sid, "no-answer")
    assert rows(app, CampaignAttempt)[0].disposition == "no-answer"
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition) == ("cancelled", "opted-out")
