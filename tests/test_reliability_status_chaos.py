"""Status callbacks for outbound calls delivered twice and out of order (FakeTwilio's "chaos"
delivery: every callback duplicated, the batch shuffled), for callbacks and campaign calls.

A duplicated or late `busy`/`completed` must not settle a callback or an attempt twice: one
retry scheduled per unanswered call, one final state per callback, one end per attempt.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher, DispatchReport
from app.callbacks.models import Callback, CallbackEvent
from app.campaigns.models import CampaignAttempt, CampaignContact
from app.consent.models import ContactAttempt
from app.db import session_scope
from tests.callback_support import book, no_pause
from tests.campaign_support import fake_dialer, make_campaign, make_contacts
from tests.conftest import voice_params

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)
DUE = NOW + timedelta(hours=1)
ANSWERS = {"+393475550001": "human", "+393475550002": "busy", "+393475550003": "no-answer",
           "+393475550004": "failed", "+393475550005": "machine_start"}


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    settings.update(CAMPAIGN_ACCOUNT_CPS=50, CALLBACK_CALLS_PER_SECOND=50)
    return settings


@pytest.fixture(params=[1, 2], ids=["seed1", "seed2"])
def chaos(request: Any, sim: Any) -> Any:
    sim.twilio.delivery, sim.twilio.seed = "chaos", request.param
    for number, answer in ANSWERS.items():
        sim.twilio.script(number, answer)
    return sim


def _ring(sim: Any) -> None:
    for call in sim.twilio.ring_pending():
        if not call.ended:
            call.hangup()




def test_callbacks_settle_once_whatever_the_order_and_repeats(chaos, app, clock):
    clock.set(NOW)
    with session_scope(app) as session:
        ids = {book(session, number, DUE, at=NOW).id: number for number in ANSWERS}
    clock.set(DUE)
    Dispatcher(app, worker="w1", pace=no_pause).run_once(limit=100)
    _ring(chaos)

    with session_scope(app) as session:
        callbacks = {cb.id: cb for cb in session.scalars(select(Callback))}
        events = list(session.scalars(select(CallbackEvent).order_by(CallbackEvent.id)))
    retries = Counter(e.callback_id for e in events if e.to_status == "scheduled" and e.actor == "twilio")
    finals = Counter(e.callback_id for e in events if e.to_status in ("completed", "missed", "failed"))
    for cb_id, number in ids.items():
        cb = callbacks[cb_id]
        assert cb.attempts == 1, (number, cb.attempts)
        if ANSWERS[number] == "human":
            assert cb.status == "completed" and finals[cb_id] == 1 and retries[cb_id] == 0
        else:  # one unanswered call: exactly one retry scheduled, nothing final yet
            assert cb.status == "scheduled" and retries[cb_id] == 1 and finals[cb_id] == 0, (
                number, cb.status, retries[cb_id], [e.note for e in events if e.callback_id == cb_id])
    assert len(chaos.twilio.calls) == len(ANSWERS)


def test_campaign_attempts_end_once_whatever_the_order_and_repeats(chaos, app, clock):
    contact_ids = make_contacts(app, list(ANSWERS), clock)
    make_campaign(app, clock, contact_ids, cps=20, max_concurrent=50)
    fake_dialer(app, clock, worker="d1").tick()
    _ring(chaos)

    with session_scope(app) as session:
        attempts = list(session.scalars(select(CampaignAttempt)))
        rows = {r.e164: r for r in session.scalars(select(CampaignContact))}
        consent = list(session.scalars(select(ContactAttempt)))
    assert len(attempts) == len(ANSWERS) and all(a.status == "ended" and a.ended_at for a in attempts)
    assert Counter(a.call_sid for a in attempts) == Counter(c.sid for c in chaos.twilio.calls)
    for number, answer in ANSWERS.items():
        row = rows[number]
        assert row.attempts_made == 1, (number, row.attempts_made)
        expected = {"human": "answered-human", "busy": "busy", "no-answer": "no-answer", "failed": "failed",
                    "machine_start": "machine"}[answer]
        assert row.disposition == expected, (number, row.disposition)
    assert len(consent) == len(ANSWERS) and all(c.outcome for c in consent)


def test_a_late_duplicate_status_does_not_count_as_another_attempt(sim, app, clock, twilio):
    number = "+393475550002"
    sim.twilio.script(number, "busy")
    clock.set(NOW)
    with session_scope(app) as session:
        cb_id = book(session, number, DUE, at=NOW).id
    clock.set(DUE)
    Dispatcher(app, worker="w1", pace=no_pause).run_once()
    sim.twilio.ring_pending()
    old_sid = sim.twilio.calls[0].sid
    with session_scope(app) as session:
        clock.set(session.get(Callback, cb_id).due_at)
    retry = Dispatcher(app, worker="w2", pace=no_pause)
    claim = retry.claim_next()
    assert claim is not None
    late = voice_params(CallSid=old_sid, CallStatus="busy", SequenceNumber="2", Direction="outbound-api",
                        From="+390212345678", To=number)
    assert twilio.post("/voice/status", late).status_code == 204

    report = DispatchReport()
    retry.process(*claim, report=report)
    with session_scope(app) as session:
        cb = session.get(Callback, cb_id)
        assert report.placed == [cb_id] and cb.attempts == 2 and cb.call_sid == sim.twilio.calls[-1].sid
