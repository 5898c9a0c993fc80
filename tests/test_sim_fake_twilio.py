"""FakeTwilio: the app's real TwilioGateway speaks HTTP to it; it rings calls like Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from app.db import session_scope
from app.models import Call
from app.sim import STATUS_EVENTS, FakeTwilio
from app.sim.call import SimCall
from app.sim.simulator import Simulator
from app.telephony import (
    AmbiguousRequestError,
    AuthenticationError,
    BlockedNumberError,
    InvalidNumberError,
    RateLimitedError,
    RebasedHttpClient,
    TwilioGateway,
    TwilioUnavailableError,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, base_settings
from tests.sim_support import ACCOUNT, BASE, TOKEN, TwimlApp, doc

CALLEE = "+393471234567"


def gateway(app: Flask) -> TwilioGateway:
    return app.extensions["cortese.gateway"]


def place(app: Flask, to: str = CALLEE, url: str = "/voice/test", **kwargs: Any) -> Any:
    return gateway(app).place_call(to, PUBLIC_BASE_URL + url,
                                   status_callback=PUBLIC_BASE_URL + "/voice/status", **kwargs)


# --------------------------------------------------------------------------- REST API shapes


def test_the_gateway_really_talks_http_to_the_fake(fake_twilio: FakeTwilio, app: Flask) -> None:
    info = place(app)
    assert app.extensions["cortese.settings"].twilio_api_base_url.startswith("http://127.0.0.1:")
    assert info.status == "queued" and info.direction == "outbound-api"
    assert info.sid.startswith("CA") and info.to == CALLEE and info.from_ == "+390212345678"
    created = fake_twilio.calls[0]
    assert created.events == ("initiated", "ringing", "answered", "completed")
    assert created.url == PUBLIC_BASE_URL + "/voice/test"
    raw = requests.get(f"{fake_twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/"
                       f"{info.sid}.json", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).json()
    assert raw["date_created"] == "Mon, 02 Mar 2026 09:00:00 +0000"  # the test's FakeClock
    assert raw["api_version"] == "2010-04-01" and raw["status"] == "queued"
    assert raw["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{info.sid}.json"


def test_fetch_update_and_cancel_a_queued_call(fake_twilio: FakeTwilio, app: Flask) -> None:
    info = place(app)
    assert gateway(app).fetch_call(info.sid).status == "queued"
    assert gateway(app).hang_up(info.sid).status == "canceled"
    assert fake_twilio.ring_pending() == []


def test_invalid_to_is_21211(fake_twilio: FakeTwilio, app: Flask) -> None:
    with pytest.raises(InvalidNumberError) as info:
        place(app, to="0212345")
    assert info.value.code == 21211 and info.value.status == 400
    assert fake_twilio.calls == []


def test_blocked_callee_is_21216(fake_twilio: FakeTwilio, app: Flask) -> None:
    fake_twilio.script(CALLEE, answer="blocked")
    with pytest.raises(BlockedNumberError) as info:
        place(app)
    assert info.value.code == 21216


def test_wrong_credentials_are_20003(fake_twilio: FakeTwilio, app: Flask) -> None:
    settings = app.extensions["cortese.settings"].model_copy(
        update={"twilio_auth_token": "wrong-token-000000"})
    with pytest.raises(AuthenticationError) as info:
        TwilioGateway(settings).place_call(CALLEE, PUBLIC_BASE_URL + "/voice/test",
                                           status_callback=PUBLIC_BASE_URL + "/voice/status")
    assert info.value.code == 20003 and info.value.status == 401


def test_error_body_has_twilios_shape(fake_twilio: FakeTwilio) -> None:
    url = f"{fake_twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    answer = requests.post(url, data={"To": "abc", "From": "+390212345678", "Url": "https://x"},
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"code": 21211, "message": "The 'To' number abc is not a valid phone "
                             "number.", "more_info": "https://www.twilio.com/docs/errors/21211",
                             "status": 400}
    missing = requests.get(url.replace("Calls.json", "Calls/CA00.json"),
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == 20404


def test_rate_limited_twice_then_created(fake_twilio: FakeTwilio, app: Flask) -> None:
    fake_twilio.fail_next(status=429, code=20429, times=2)
    info = place(app)
    creates = [r for r in fake_twilio.requests if r["endpoint"] == "create"]
    assert len(creates) == 3 and len(fake_twilio.calls) == 1 and info.status == "queued"


def test_rate_limited_every_time(fake_twilio: FakeTwilio, app: Flask) -> None:
    fake_twilio.fail_next(status=429, code=20429, times=10)
    with pytest.raises(RateLimitedError):
        place(app)


def test_server_errors_exhaust_the_retries(fake_twilio: FakeTwilio, app: Flask) -> None:
    fake_twilio.fail_next(status=500, code=20500, times=10, endpoint="create")
    with pytest.raises(TwilioUnavailableError):
        place(app)


def test_dropped_create_is_ambiguous_and_never_retried(fake_twilio: FakeTwilio,
                                                       app: Flask) -> None:
    """The connection drops before Twilio answers: the gateway cannot know whether the call
    exists, so it must not retry (a retry could ring the callee twice)."""
    fake_twilio.drop_next(endpoint="create")
    with pytest.raises(AmbiguousRequestError):
        place(app)
    assert len([r for r in fake_twilio.requests if r["endpoint"] == "create"]) == 1
    assert fake_twilio.calls == []


def test_dropped_answer_after_the_call_was_created(fake_twilio: FakeTwilio, app: Flask) -> None:
    fake_twilio.drop_next(endpoint="create", after_processing=True)
    with pytest.raises(AmbiguousRequestError):
        place(app)
    assert len(fake_twilio.calls) == 1  # it does exist: reconcile by status callback


def test_dropped_fetch_is_retried(fake_twilio: FakeTwilio, app: Flask) -> None:
    info = place(app)
    fake_twilio.drop_next(endpoint="fetch")
    assert gateway(app).fetch_call(info.sid).status == "queued"
    assert len([r for r in fake_twilio.requests if r["endpoint"] == "fetch"]) == 2


@pytest.fixture
def settings(tmp_path: Any) -> dict[str, Any]:
    return {**base_settings(tmp_path), "TWILIO_TIMEOUT_SECONDS": 0.3}


def test_slow_answer_on_create_is_ambiguous_not_retried(fake_twilio: FakeTwilio,
                                                        app: Flask) -> None:
    fake_twilio.delay_next(1.0, endpoint="create")
    with pytest.raises(AmbiguousRequestError):
        place(app)
    assert len([r for r in fake_twilio.requests if r["endpoint"] == "create"]) == 1


def test_faults_need_a_positive_count(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(ValueError):
        fake_twilio.fail_next(times=0)


# --------------------------------------------------------------------------- ringing


@pytest.fixture
def twiml() -> TwimlApp:
    app = TwimlApp()
    app.on("/out", lambda f: doc(
        f"<Say>Buongiorno, sono Cortese. AnsweredBy {f.get('AnsweredBy', 'none')}.</Say>",
        '<Gather numDigits="1" action="/out/answer"><Say>Prema 1 se è un buon momento</Say>'
        "</Gather>", "<Say>La richiameremo, arrivederci</Say>"))
    app.on("/out/answer", doc("<Say>Grazie, arrivederci</Say>"))
    app.on("/amd", ("", 204, "text/plain"))
    return app


@pytest.fixture
def fake(twiml: TwimlApp) -> Iterator[tuple[FakeTwilio, Client]]:
    fake = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN)
    fake.start()
    fake.attach(twiml.simulator().requester)
    client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(fake.base_url, 5))
    yield fake, client
    fake.stop()


def create(client: Client, to: str = CALLEE, **kwargs: Any) -> Any:
    return client.calls.create(to=to, from_="+390212345678", url=BASE + "/out",
                               status_callback=BASE + "/voice/status",
                               status_callback_event=list(STATUS_EVENTS), **kwargs)


def statuses(twiml: TwimlApp) -> list[tuple[str, str]]:
    return [(s.form["CallStatus"], s.form["SequenceNumber"])
            for s in twiml.requests_to("/voice/status")]


def test_ring_a_human(fake: tuple[FakeTwilio, Client], twiml: TwimlApp) -> None:
    fake_twilio, client = fake
    created = create(client)
    (call,) = fake_twilio.ring_pending()
    assert call.sid == created.sid and call.direction == "outbound-api"
    first = twiml.requests_to("/out")[0].form
    assert first["Direction"] == "outbound-api" and first["CallStatus"] == "in-progress"
    assert first["To"] == CALLEE and "AnsweredBy" not in first
    assert call.heard("buon momento") and client.calls(created.sid).fetch().status == "in-progress"
    call.press("1")
    assert call.heard("grazie, arrivederci") and call.ended and call.problems == []
    assert statuses(twiml) == [("initiated", "0"), ("ringing", "1"), ("in-progress", "2"),
                               ("completed", "3")]
    fetched = client.calls(created.sid).fetch()
    assert fetched.status == "completed" and fetched.duration is not None
    assert fake_twilio.ring_pending() == []


@pytest.mark.parametrize("answer,detection,answered_by", [
    ("machine_end_beep", "DetectMessageEnd", "machine_end_beep"),
    ("machine_end_beep", "Enable", "machine_start"),
    ("machine_start", "DetectMessageEnd", "machine_end_other"),
    ("human", "Enable", "human"),
    ("fax", "Enable", "fax"),
])
def test_answering_machine_detection(fake: tuple[FakeTwilio, Client], twiml: TwimlApp,
                                     answer: str, detection: str, answered_by: str) -> None:
    fake_twilio, client = fake
    fake_twilio.script(CALLEE, answer=answer)
    create(client, machine_detection=detection)
    (call,) = fake_twilio.ring_pending()
    assert twiml.requests_to("/out")[0].form["AnsweredBy"] == answered_by
    call.silence()
    assert twiml.requests_to("/voice/status")[-1].form["AnsweredBy"] == answered_by


def test_async_amd_posts_the_verdict_later(fake: tuple[FakeTwilio, Client],
                                           twiml: TwimlApp) -> None:
    fake_twilio, client = fake
    fake_twilio.script(CALLEE, answer="machine_end_beep")
    create(client, machine_detection="DetectMessageEnd", async_amd="true",
           async_amd_status_callback=BASE + "/amd")
    fake_twilio.ring_pending()
    assert "AnsweredBy" not in twiml.requests_to("/out")[0].form
    assert twiml.requests_to("/amd")[0].form["AnsweredBy"] == "machine_end_beep"


@pytest.mark.parametrize("answer", ["busy", "no-answer", "failed"])
def test_unanswered_calls(fake: tuple[FakeTwilio, Client], twiml: TwimlApp, answer: str) -> None:
    fake_twilio, client = fake
    fake_twilio.script(CALLEE, answer=answer)
    created = create(client)
    (call,) = fake_twilio.ring_pending()
    assert call.ended and call.status == answer and "/out" not in twiml.paths()
    expected = [("initiated", "0")] + ([("ringing", "1")] if answer != "failed" else [])
    assert statuses(twiml) == expected + [(answer, str(len(expected)))]
    assert twiml.requests_to("/voice/status")[-1].form["CallDuration"] == "0"
    assert client.calls(created.sid).fetch().status == answer


def test_callee_hangs_up_after_n_documents(fake: tuple[FakeTwilio, Client],
                                           twiml: TwimlApp) -> None:
    fake_twilio, client = fake
    fake_twilio.script(CALLEE, hangup_after=1)
    create(client)
    (call,) = fake_twilio.ring_pending()
    assert call.ended and call.end_reason == "caller hung up" and call.problems == []


def test_scripted_inputs_play_at_once(fake: tuple[FakeTwilio, Client], twiml: TwimlApp) -> None:
    fake_twilio, client = fake
    fake_twilio.script(CALLEE, inputs=["expect:buongiorno", "1"])
    create(client)
    (call,) = fake_twilio.ring_pending()
    assert call.ended and call.heard("grazie, arrivederci")


def test_scripts_are_checked_when_written(fake: tuple[FakeTwilio, Client]) -> None:
    with pytest.raises(ValueError):
        fake[0].script(CALLEE, answer="robot")
    with pytest.raises(ValueError):
        fake[0].script(CALLEE, inputs=["dance"])


def test_rest_hangup_and_redirect_of_a_live_call(fake: tuple[FakeTwilio, Client],
                                                 twiml: TwimlApp) -> None:
    fake_twilio, client = fake
    twiml.on("/elsewhere", doc("<Say>Redirected, goodbye</Say>"))
    create(client)
    create(client, to="+393471234568")
    first, second = fake_twilio.ring_pending()
    client.calls(first.sid).update(url=BASE + "/elsewhere", method="POST")
    assert first.poll().heard("redirected, goodbye") and first.ended
    client.calls(second.sid).update(status="completed")
    assert second.ended and second.problems == []  # no caller input yet: nothing rude
    with pytest.raises(TwilioRestException) as info:
        client.calls(second.sid).update(twiml="<Response><Say>late</Say></Response>")
    assert info.value.code == 21220


def test_inline_twiml_and_shuffled_callbacks(twiml: TwimlApp) -> None:
    fake_twilio = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN, delivery="shuffled", seed=1)
    fake_twilio.start()
    try:
        fake_twilio.attach(twiml.simulator().requester)
        client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(fake_twilio.base_url, 5))
        client.calls.create(to=CALLEE, from_="+390212345678",
                            twiml="<Response><Say>Promemoria: appuntamento domani. "
                                  "Arrivederci</Say></Response>",
                            status_callback=BASE + "/voice/status",
                            status_callback_event=list(STATUS_EVENTS))
        (call,) = fake_twilio.ring_pending()
        assert call.heard("promemoria") and call.ended
        sequence = [int(n) for _, n in statuses(twiml)]
        assert sorted(sequence) == [0, 1, 2, 3] and sequence != [0, 1, 2, 3]
    finally:
        fake_twilio.stop()


def test_api_key_credentials(twiml: TwimlApp) -> None:
    fake_twilio = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN, api_key_sid="SK" + "1" * 32,
                             api_key_secret="secret-0123456789")
    fake_twilio.start()
    try:
        client = Client("SK" + "1" * 32, "secret-0123456789", ACCOUNT,
                        http_client=RebasedHttpClient(fake_twilio.base_url, 5))
        assert create(client).status == "queued"
    finally:
        fake_twilio.stop()


def test_ring_pending_needs_a_transport() -> None:
    fake_twilio = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN)
    fake_twilio.start()
    try:
        assert fake_twilio.ring_pending() == []
        create(Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(fake_twilio.base_url, 5)))
        with pytest.raises(RuntimeError, match="attach"):
            fake_twilio.ring_pending()
    finally:
        fake_twilio.stop()


# --------------------------------------------------------------------------- with the real app


def test_ringing_reaches_the_apps_status_callback(sim: Simulator, app: Flask) -> None:
    sim.twilio.script(CALLEE, answer="busy")  # type: ignore[union-attr]
    info = place(app)
    (call,) = sim.twilio.ring_pending()  # type: ignore[union-attr]
    assert isinstance(call, SimCall) and call.status == "busy"
    with app.app_context(), session_scope() as session:
        row = session.scalar(select(Call).where(Call.call_sid == info.sid))
        assert row is not None and row.status == "busy"
        assert [e.status for e in row.events] == ["initiated", "ringing", "busy"]


def test_list_calls(fake: tuple[FakeTwilio, Client]) -> None:
    _, client = fake
    first, second = create(client), create(client, to="+393471234568")
    assert {c.sid for c in client.calls.list()} == {first.sid, second.sid}
