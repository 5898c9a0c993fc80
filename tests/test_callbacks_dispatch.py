"""Dispatch: a booked callback fires at its time, once, after consent says yes again; crashes,
races and Twilio faults never dial twice; missed calls retry per policy, then show as missed."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from sqlalchemy import select

from app.callbacks import dispatch
from app.callbacks.dispatch import JOB_ID, Dispatcher, dispatch_job, on_call_status
from app.callbacks.models import (
    CANCELLED,
    COMPLETED,
    DISPATCHING,
    FAILED,
    MISSED,
    PLACED,
    REFUSED,
    SCHEDULED,
    UNKNOWN,
    Callback,
    CallbackEvent,
)
from app.consent import record_opt_out
from app.consent.models import ComplianceDecision, ContactAttempt, OptOut
from app.db import get_engine, session_scope
from app.models import Call
from app.outbound import pacing
from app.scheduler import registered_jobs
from app.telephony import CallInfo, TwilioGateway
from tests.callback_support import RecordingGateway, book, no_pause
from tests.conftest import ACCOUNT_SID, voice_params

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)  # Wednesday 15:00 in Rome
DUE = NOW + timedelta(hours=1)
CALLEE = "+393471234567"
CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(NOW)


def _get(app, cb_id: int) -> Callback:
    with session_scope(app) as session:
        return session.get(Callback, cb_id)


def _book(app, e164: str = CALLEE, due: datetime = DUE, **kwargs) -> int:
    with session_scope(app) as session:
        return book(session, e164, due, at=NOW, **kwargs).id


def _dispatcher(app, gateway=None, worker="w1") -> Dispatcher:
    return Dispatcher(app, gateway=gateway, worker=worker, pace=no_pause)


# --- the happy path, end to end with the simulator -------------------------------------------------


def test_a_booked_callback_fires_at_its_time_and_speaks_the_opener(sim, app, clock):
    cb_id = _book(app)
    clock.set(DUE - timedelta(minutes=1))
    assert _dispatcher(app).run_once().placed == []
    assert sim.twilio.calls == []
    clock.set(DUE)
    assert _dispatcher(app).run_once().placed == [cb_id]
    [created] = sim.twilio.calls
    assert created.to == CALLEE and created.url.endswith(f"/voice/callback?cb={cb_id}")
    assert created.machine_detection == "DetectMessageEnd" and created.status_callback.endswith("/voice/status")
    cb = _get(app, cb_id)
    assert (cb.status, cb.call_sid, cb.attempts) == (PLACED, created.sid, 1)
    with session_scope(app) as session:
        decision = session.get(ComplianceDecision, cb.decision_id)
        assert decision.allowed and decision.purpose == "callback" and decision.callback_id == str(cb_id)

    [call] = sim.twilio.ring_pending()
    assert call.heard("Buonasera, sono l'assistente virtuale di Cortese. Ci aveva chiesto di richiamarla "
                      "per la sua richiesta di assistenza. È un buon momento per parlarne?")
    call.press("1")
    assert call.heard("Per informazioni prema 1")  # the support menu
    call.hangup()
    assert _get(app, cb_id).status == COMPLETED
    with session_scope(app) as session:  # the consent ledger counts the call once
        [attempt] = session.scalars(select(ContactAttempt)).all()
        assert (attempt.call_sid, attempt.purpose, attempt.callback_id, attempt.outcome) == (
            created.sid, "callback", str(cb_id), "completed")
    # nothing is ever dialled again
    clock.set(DUE + timedelta(hours=2))
    _dispatcher(app).run_once()
    assert len(sim.twilio.calls) == 1


def test_an_operator_callback_goes_to_the_operator_after_yes(sim, app, clock):
    cb_id = _book(app, reason="operator")
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    assert call.heard("per la sua richiesta di parlare con un operatore")
    call.speak("sì")
    assert call.heard("La metto in contatto con un operatore") and _get(app, cb_id).status == "answered"


def test_later_in_the_opener_books_a_new_callback(sim, app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    call.press("2")
    assert call.heard("Quando preferisce essere richiamato?")
    call.press("3")
    call.press("1")
    call.hangup()
    with session_scope(app) as session:
        rows = session.scalars(select(Callback).order_by(Callback.id)).all()
        assert [(r.status, r.local_due) for r in rows] == [(COMPLETED, "2026-11-25T16:00"),
                                                           (SCHEDULED, "2026-11-26T18:00")]
        assert rows[1].origin_call_sid == rows[0].call_sid and rows[1].id != cb_id


def test_opt_out_in_the_opener_cancels_the_other_callbacks(sim, app, clock):
    first = _book(app)
    other = _book(app, due=DUE + timedelta(days=1))
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    call.press("9")
    assert call.heard("non la chiameremo più") and call.ended
    assert _get(app, other).status == CANCELLED
    assert _get(app, first).status == COMPLETED


# --- consent, again, right before dialling --------------------------------------------------------


def test_an_opt_out_after_booking_cancels_it_at_once(app, clock):
    cb_id = _book(app)
    with session_scope(app) as session:
        record_opt_out(session, CALLEE, at=NOW + timedelta(minutes=5), source="api", by="ops")
    assert _get(app, cb_id).status == CANCELLED
    clock.set(DUE)
    gateway = RecordingGateway()
    _dispatcher(app, gateway).run_once()
    assert gateway.dials == []


def test_consent_refuses_at_dispatch_time_and_the_decision_is_kept(app, clock):
    cb_id = _book(app)
    with session_scope(app) as session:  # an opt-out that reached the DB without the signal
        session.add(OptOut(e164=CALLEE, at=NOW + timedelta(minutes=5), source="import", recorded_by="sync"))
    clock.set(DUE)
    gateway = RecordingGateway()
    report = _dispatcher(app, gateway).run_once()
    assert report.refused == [cb_id] and gateway.dials == []
    cb = _get(app, cb_id)
    assert cb.status == REFUSED and cb.last_error.startswith("optout.internal_dnc")
    with session_scope(app) as session:
        decision = session.get(ComplianceDecision, cb.decision_id)
        assert (decision.allowed, decision.rule_id) == (False, "optout.internal_dnc")


def test_a_holiday_moves_the_callback_to_the_next_lawful_morning(app, clock):
    holiday = datetime(2026, 12, 8, 10, 0, tzinfo=ROME).astimezone(UTC)  # Immacolata, a Tuesday
    cb_id = _book(app, due=holiday)
    clock.set(holiday)
    gateway = RecordingGateway()
    assert _dispatcher(app, gateway).run_once().rescheduled == [cb_id]
    cb = _get(app, cb_id)
    assert cb.status == SCHEDULED and cb.last_error.startswith("holiday")
    assert cb.due_at == datetime(2026, 12, 9, 9, 0, tzinfo=ROME).astimezone(UTC)
    assert cb.local_due == "2026-12-08T10:00"  # what the person asked for stays visible
    clock.set(cb.due_at)
    _dispatcher(app, gateway).run_once()
    assert gateway.dialled_ids == [cb_id]


@pytest.fixture
def no_moves(settings):
    settings["CALLBACK_MAX_RESCHEDULE_HOURS"] = 0


def test_a_closed_window_beyond_the_reschedule_limit_refuses(no_moves, app, clock):
    late = datetime(2026, 11, 25, 21, 0, tzinfo=ROME).astimezone(UTC)  # booked by an operator at 21:00
    cb_id = _book(app, due=late)
    clock.set(late)
    gateway = RecordingGateway()
    assert _dispatcher(app, gateway).run_once().refused == [cb_id]
    assert _get(app, cb_id).status == REFUSED and gateway.dials == []


# --- exactly once: races and crashes --------------------------------------------------------------


def _race(app, gateway, workers: int = 3) -> None:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        dispatcher = _dispatcher(app, gateway, worker=name)
        barrier.wait()
        try:
            while dispatcher.run_once(limit=5).placed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


@pytest.fixture
def roomy_account(settings):
    # The test clock stands still, so at 1 CPS thirty dials would book the account's slots far
    # beyond the dispatcher's wait; this test is about exactly-once, not pacing.
    settings["CAMPAIGN_ACCOUNT_CPS"] = 100


def test_dispatchers_racing_on_sqlite_dial_each_callback_exactly_once(roomy_account, app, clock):
    ids = [_book(app, e164=f"+39347{1000000 + i}") for i in range(30)]
    clock.set(DUE)
    gateway = RecordingGateway()
    _race(app, gateway)
    assert gateway.duplicates() == {}
    assert sorted(gateway.dialled_ids) == ids
    with session_scope(app) as session:
        assert {c.status for c in session.scalars(select(Callback))} == {PLACED}


def test_a_claim_whose_worker_died_before_dialling_is_recovered_exactly_once(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    dead = _dispatcher(app, RecordingGateway(), worker="dead")
    assert dead.claim_next() is not None  # ...and the process dies here
    gateway = RecordingGateway()
    survivor = _dispatcher(app, gateway, worker="alive")
    survivor.run_once()
    assert gateway.dials == [] and _get(app, cb_id).status == DISPATCHING  # lease still valid
    clock.set(DUE + timedelta(seconds=181))
    report = survivor.run_once()
    assert report.recovered == [cb_id] and gateway.dialled_ids == [cb_id]
    survivor.run_once()
    _dispatcher(app, gateway, worker="third").run_once()
    assert gateway.dialled_ids == [cb_id]


class Crash(BaseException):
    """The worker process dies (SIGKILL) right after Twilio created the call."""


def test_a_worker_dying_after_the_dial_request_is_never_redialled(app, twilio, clock):
    cb_id = _book(app)
    clock.set(DUE)

    def die(_sid: str) -> None:
        raise Crash

    created = RecordingGateway(on_dial=die)
    with pytest.raises(Crash):
        _dispatcher(app, created, worker="dying").run_once()
    cb = _get(app, cb_id)
    assert cb.status == DISPATCHING and cb.dial_started_at is not None and cb.call_sid is None
    clock.set(DUE + timedelta(seconds=181))
    gateway = RecordingGateway()
    report = _dispatcher(app, gateway, worker="alive").run_once()
    assert report.unknown == [cb_id] and gateway.dials == []
    assert _get(app, cb_id).status == UNKNOWN
    # Twilio's status callback for the call the dead worker created links it
    [(_, sid)] = created.dials
    params = voice_params(CallSid=sid, Direction="outbound-api", From="+390212345678", To=CALLEE,
                          CallStatus="initiated", SequenceNumber="0")
    assert twilio.post("/voice/status", params).status_code == 204
    cb = _get(app, cb_id)
    assert (cb.status, cb.call_sid, cb.attempts) == (PLACED, sid, 1)
    params.update(CallStatus="completed", SequenceNumber="3", CallDuration="42")
    twilio.post("/voice/status", params)
    assert _get(app, cb_id).status == COMPLETED
    _dispatcher(app, gateway).run_once()
    assert gateway.dials == []


def test_an_unknown_dial_without_any_trace_goes_to_an_operator_not_to_the_phone(app, clock):
    cb_id = _book(app)
    clock.set(DUE)

    def die(_sid: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        _dispatcher(app, RecordingGateway(on_dial=die)).run_once()
    gateway = RecordingGateway()
    clock.set(DUE + timedelta(seconds=181))
    _dispatcher(app, gateway).run_once()
    clock.set(DUE + timedelta(minutes=16))
    assert _dispatcher(app, gateway).run_once().failed == [cb_id]
    cb = _get(app, cb_id)
    assert cb.status == FAILED and "unreconciled" in cb.last_error and gateway.dials == []


# --- Twilio faults through the real gateway -------------------------------------------------------


def _created(sid: str = "CA" + "f" * 32) -> dict:
    return {"sid": sid, "status": "queued", "to": CALLEE, "from": "+390212345678",
            "direction": "outbound-api", "account_sid": ACCOUNT_SID}


def _error(code: int, status: int, message: str) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


@responses.activate
def test_an_invalid_number_fails_for_good(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    responses.add(responses.POST, CALLS_URL, json=_error(21211, 400, "Invalid 'To' Phone Number"), status=400)
    gateway = TwilioGateway(app.extensions["cortese.settings"], sleep=no_pause)
    assert _dispatcher(app, gateway).run_once().failed == [cb_id]
    cb = _get(app, cb_id)
    assert cb.status == FAILED and "21211" in cb.last_error
    clock.set(DUE + timedelta(days=1))
    _dispatcher(app, gateway).run_once()
    assert len(responses.calls) == 1


@responses.activate
def test_a_429_storm_releases_the_claim_and_retries_after_a_backoff(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    for _ in range(4):  # TWILIO_MAX_ATTEMPTS: the gateway already retried
        responses.add(responses.POST, CALLS_URL, json=_error(20429, 429, "Too Many Requests"), status=429)
    gateway = TwilioGateway(app.extensions["cortese.settings"], sleep=no_pause)
    assert _dispatcher(app, gateway).run_once().released == [cb_id]
    cb = _get(app, cb_id)
    assert (cb.status, cb.errors, cb.due_at) == (SCHEDULED, 1, DUE + timedelta(minutes=1))
    assert cb.dial_started_at is None and cb.claim_token is None
    responses.add(responses.POST, CALLS_URL, json=_created(), status=201)
    _dispatcher(app, gateway).run_once()  # not yet: backing off
    assert len(responses.calls) == 4
    clock.set(DUE + timedelta(minutes=1))
    assert _dispatcher(app, gateway).run_once().placed == [cb_id]
    assert _get(app, cb_id).status == PLACED and len(responses.calls) == 5


@responses.activate
def test_a_500_is_retried_later_and_repeated_errors_end_in_failed(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    responses.add(responses.POST, CALLS_URL, json=_error(20500, 500, "Internal Server Error"), status=500)
    gateway = TwilioGateway(app.extensions["cortese.settings"], sleep=no_pause)
    for _ in range(6):
        _dispatcher(app, gateway).run_once()
        clock.set(max(clock.now(), _get(app, cb_id).due_at))
    cb = _get(app, cb_id)
    assert cb.status == FAILED and cb.errors == 6 and "500" in cb.last_error


@responses.activate
def test_a_timeout_is_ambiguous_and_never_blindly_retried(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    responses.add(responses.POST, CALLS_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    gateway = TwilioGateway(app.extensions["cortese.settings"], sleep=no_pause)
    assert _dispatcher(app, gateway).run_once().unknown == [cb_id]
    for minutes in (1, 5, 10):
        clock.set(DUE + timedelta(minutes=minutes))
        _dispatcher(app, gateway).run_once()
    assert len(responses.calls) == 1 and _get(app, cb_id).status == UNKNOWN


# --- missed calls: retries within the rules, then visible as missed ------------------------------


def test_busy_retries_per_policy_then_missed(sim, app, clock):
    cb_id = _book(app)
    sim.twilio.script(CALLEE, answer="busy")
    clock.set(DUE)
    for attempt in (1, 2, 3):
        assert _dispatcher(app).run_once().placed == [cb_id], attempt
        [call] = sim.twilio.ring_pending()
        assert call.status == "busy"
        cb = _get(app, cb_id)
        assert cb.attempts == attempt
        if attempt < 3:
            assert cb.status == SCHEDULED and cb.due_at == clock.now() + timedelta(minutes=10)
            clock.set(cb.due_at)
    assert _get(app, cb_id).status == MISSED
    clock.set(clock.now() + timedelta(hours=3))
    _dispatcher(app).run_once()
    assert len(sim.twilio.calls) == 3
    with session_scope(app) as session:
        notes = [e.note for e in session.scalars(select(CallbackEvent).where(CallbackEvent.callback_id == cb_id))]
        assert any("busy (attempt 3 of 3)" in (n or "") for n in notes)


@pytest.mark.parametrize("answer, hears_message", [
    ("machine_start", True),  # what Enable would report: the simulator still speaks
    ("machine_end_beep", True),  # DetectMessageEnd: after the greeting, so the voicemail keeps it all
    ("fax", False),  # a fax cannot take a spoken message
])
def test_a_machine_gets_a_short_message_or_nothing_and_a_retry(sim, app, clock, answer, hears_message):
    cb_id = _book(app)
    sim.twilio.script(CALLEE, answer=answer)
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    if hears_message:
        assert call.heard("sono l'assistente virtuale di Cortese") and call.heard("Proveremo a richiamarla")
        assert call.heard("+ 3 9 0, 2 1 2")  # our number, to write down
    else:
        assert call.said == []
    assert call.ended
    cb = _get(app, cb_id)
    assert cb.status == SCHEDULED and cb.attempts == 1 and cb.last_error == "machine"
    assert cb.due_at == clock.now() + timedelta(minutes=30)


@pytest.mark.parametrize("local_due, hello, goodbye", [
    # Italians say "buongiorno" in the morning and "buonasera" from the afternoon, and wish
    # "buona serata" in the evening rather than "buona giornata".
    (datetime(2026, 11, 26, 10, 0, tzinfo=ROME), "Buongiorno, sono", "Grazie e buona giornata."),
    (datetime(2026, 11, 26, 18, 30, tzinfo=ROME), "Buonasera, sono", "Grazie e buona serata."),
])
def test_the_voicemail_greets_and_takes_leave_by_the_callees_hour(sim, app, clock, local_due, hello, goodbye):
    due = local_due.astimezone(UTC)
    _book(app, due=due)
    sim.twilio.script(CALLEE, answer="machine_end_beep")
    clock.set(due)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    [message] = call.said
    assert message.startswith(hello) and message.endswith(goodbye), message


def test_a_cancelled_callback_already_ringing_only_apologises(sim, app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    _dispatcher(app).run_once()
    with session_scope(app) as session:  # cancelled by hand while ringing (state bypass on purpose)
        cb = session.get(Callback, cb_id)
        cb.status = CANCELLED
    [call] = sim.twilio.ring_pending()
    assert call.heard("Questa richiamata è stata annullata") and call.ended


def test_a_callee_hanging_up_at_the_opener_is_not_called_again(sim, app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    assert call.heard("È un buon momento per parlarne?")
    call.hangup()
    assert _get(app, cb_id).status == COMPLETED
    clock.set(DUE + timedelta(hours=1))
    _dispatcher(app).run_once()
    assert len(sim.twilio.calls) == 1


# --- the scheduler job ----------------------------------------------------------------------------


def test_the_job_is_registered_and_one_tick_dispatches(app, clock):
    assert JOB_ID in {job.id for job in registered_jobs(app)}
    cb_id = _book(app)
    gateway = RecordingGateway()
    app.extensions["cortese.gateway"] = gateway
    clock.set(DUE)
    with app.app_context():
        dispatch_job(app)
    assert gateway.dialled_ids == [cb_id]


def test_a_lost_final_status_callback_is_settled_with_twilio(app, clock):
    cb_id = _book(app)
    clock.set(DUE)

    class Gateway(RecordingGateway):
        def fetch_call(self, sid):
            return CallInfo(sid=sid, status="no-answer", to=CALLEE, from_="", direction="outbound-api")

    gateway = Gateway()
    _dispatcher(app, gateway).run_once()
    assert _get(app, cb_id).status == PLACED
    clock.set(DUE + timedelta(hours=1))
    _dispatcher(app, gateway).run_once()
    assert _get(app, cb_id).status == PLACED  # not stale yet
    clock.set(DUE + timedelta(hours=2, minutes=1))
    report = _dispatcher(app, gateway).run_once()
    assert report.reconciled == [cb_id]
    cb = _get(app, cb_id)
    assert cb.status == SCHEDULED and cb.last_error == "no-answer" and cb.attempts == 1


def test_the_callback_url_is_signed_and_an_unknown_id_ends_politely(app, twilio, client):
    params = voice_params(Direction="outbound-api", From="+390212345678", To=CALLEE, CallStatus="in-progress")
    assert client.post("/voice/callback?cb=1", data=params).status_code == 403  # no signature
    reply = twilio.post("/voice/callback?cb=999", params)
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    text = reply.get_data(as_text=True)
    assert "Cortese" in text and "<Hangup" in text


def test_an_answer_links_a_callback_whose_dial_was_ambiguous(sim, app, clock, twilio):
    cb_id = _book(app)
    clock.set(DUE)
    sim.twilio.drop_next(endpoint="create", after_processing=True)  # created, but no answer came
    report = _dispatcher(app).run_once()
    assert report.unknown == [cb_id] and len(sim.twilio.calls) == 1
    [call] = sim.twilio.ring_pending()  # the callee answers: /voice/callback?cb=... links it
    assert call.heard("Ci aveva chiesto di richiamarla")
    cb = _get(app, cb_id)
    assert cb.status == "answered" and cb.call_sid == sim.twilio.calls[0].sid and cb.attempts == 1
    call.hangup()
    assert _get(app, cb_id).status == COMPLETED
    assert len(sim.twilio.calls) == 1


def test_a_repeated_or_late_final_status_changes_nothing(app, clock):
    cb_id = _book(app)
    clock.set(DUE)
    gateway = RecordingGateway()
    _dispatcher(app, gateway).run_once()
    [(_, first_sid)] = gateway.dials
    settings = app.extensions["cortese.settings"]
    with session_scope(app) as session:
        call = session.query(Call).filter_by(call_sid=first_sid).one()
        call.status = "busy"
        on_call_status(session, call, clock.now(), settings)
        on_call_status(session, call, clock.now() + timedelta(minutes=1), settings)  # a repeat
    cb = _get(app, cb_id)
    assert (cb.status, cb.attempts, cb.call_sid) == (SCHEDULED, 1, None)
    first_due = cb.due_at
    clock.set(first_due)
    _dispatcher(app, gateway).run_once()  # the retry is dialled...
    with session_scope(app) as session:  # ...and a late copy of the first call's busy arrives
        call = session.query(Call).filter_by(call_sid=first_sid).one()
        on_call_status(session, call, clock.now(), settings)
    cb = _get(app, cb_id)
    assert (cb.status, cb.attempts, cb.call_sid) == (PLACED, 2, gateway.dials[1][1])


def test_a_bug_on_one_callback_does_not_stop_the_others(app, clock, monkeypatch):
    broken = _book(app, e164="+393470000001")
    fine = _book(app, e164="+393470000002", due=DUE + timedelta(seconds=1))
    real = dispatch.check_call

    def check_call(session, contact, **kwargs):
        if contact.e164 == "+393470000001":
            raise RuntimeError("rule pack exploded")
        return real(session, contact, **kwargs)

    monkeypatch.setattr(dispatch, "check_call", check_call)
    clock.set(DUE + timedelta(seconds=1))
    gateway = RecordingGateway()
    report = _dispatcher(app, gateway).run_once()
    assert report.released == [broken] and gateway.dialled_ids == [fine]
    cb = _get(app, broken)
    assert cb.status == SCHEDULED and cb.errors == 1 and "rule pack exploded" in cb.last_error


# --- one account, one calls-per-second budget, shared with campaigns -----------------------------------


def test_a_callback_waits_for_the_accounts_next_slot_after_a_campaign_call(app, clock):
    cb_id = _book(app, due=NOW)
    pacing.reserve(get_engine(app), {pacing.ACCOUNT_KEY: 1.0}, now=NOW, horizon=timedelta(seconds=1))  # a campaign dialled
    waits: list[float] = []
    gateway = RecordingGateway()
    Dispatcher(app, gateway=gateway, worker="w1", pace=waits.append).run_once()
    assert waits and 0.9 < waits[0] <= 1.0  # 1 CPS: a second after the campaign's call
    assert [d[0] for d in gateway.dials] == [cb_id] and _get(app, cb_id).status == PLACED


def test_a_booked_up_account_gives_the_claim_back_untouched(app, clock):
    cb_id = _book(app, due=NOW)
    pacing.hold(get_engine(app), pacing.ACCOUNT_KEY, NOW + timedelta(minutes=5))  # after a 429 storm
    gateway = RecordingGateway()
    report = _dispatcher(app, gateway).run_once()
    cb = _get(app, cb_id)
    assert gateway.dials == [] and report.released == [cb_id]
    assert (cb.status, cb.errors, cb.claim_token, cb.due_at) == (SCHEDULED, 0, None, NOW)
    clock.set(NOW + timedelta(minutes=5))
    assert _dispatcher(app, gateway).run_once().placed == [cb_id]


def test_a_resume_to_a_flow_that_cannot_go_on_is_an_apology_not_silence(sim, app, clock, monkeypatch):
    """Should the slot name a flow without a resume node (flows changed between booking and
    calling back), the callee hears an apology and the safe next step, never silence."""
    actions = app.extensions["cortese.flows"].actions
    original = actions.get("callback_answered")

    def to_nowhere(ctx):
        ctx.slots["campaign_flow"] = "flow_removed_in_a_deploy"
        return "campaign"

    monkeypatch.setitem(actions._actions, "callback_answered", replace(original, handler=to_nowhere))
    _book(app)
    clock.set(DUE)
    _dispatcher(app).run_once()
    [call] = sim.twilio.ring_pending()
    call.press("1")
    assert call.heard("Ci scusi") and (call.ended or call.heard("operatore"))
