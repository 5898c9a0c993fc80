"""The simulator against the real app: /voice/inbound (support flows), /voice/status,
/voice/fallback, in-process and over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.db import session_scope
from app.models import Call
from app.sim import STATUS_EVENTS, QueuePlan, Simulator
from app.sim.transport import InProcessTransport
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL

CALLER = "+393471234567"
HOTLINE_IT = "+390212345678"


def stored(app: Flask, sid: str) -> Call | None:
    with app.app_context(), session_scope() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        if call is not None:
            session.expunge(call)
        return call


def test_support_menu_press_1_then_silence(sim: Simulator, app: Flask) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT)
    assert call.heard("buongiorno") and call.waiting_for == "gather"
    call.press("1")
    assert call.heard("domanda")
    call.silence()
    assert call.heard("non ho sentito") and not call.ended
    call.hangup()
    assert call.ended and call.problems == []
    row = stored(app, call.sid)
    assert row is not None and row.status == "completed" and row.duration_seconds
    assert row.from_number == CALLER and row.direction == "inbound"


def test_speech_reaches_the_fault_report(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT).speak("il modem non funziona")
    assert call.heard("modem o router") and call.problems == []


def test_a_silent_caller_is_passed_to_an_operator_and_greeted_goodbye(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, queue=QueuePlan("bridged", after_loops=1))
    for _ in range(4):
        call.silence()
        if call.ended:
            break
    assert call.heard("operatore") and call.ended
    call.assert_courteous()


def test_every_request_is_signed_and_accepted(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, events=STATUS_EVENTS, delivery="chaos")
    call.press("0")
    call.hangup()
    fetches = [e for e in call.transcript if e.kind in ("fetch", "status")]
    assert fetches and all(e.data.get("status", e.data.get("http_status")) in (200, 204)
                           for e in fetches)
    assert call.warnings == []


def test_out_of_order_duplicated_callbacks_leave_the_call_completed(sim: Simulator,
                                                                      app: Flask) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, events=STATUS_EVENTS, delivery="chaos",
                       seed=7)
    call.hangup()
    row = stored(app, call.sid)
    assert row is not None and row.status == "completed"


def test_a_forged_signature_is_refused_and_the_caller_hears_twilios_error(app: Flask) -> None:
    forged = Simulator(InProcessTransport(app, PUBLIC_BASE_URL), account_sid=ACCOUNT_SID,
                       auth_token="not-the-apps-token-000", public_base_url=PUBLIC_BASE_URL,
                       our_number=HOTLINE_IT)
    call = forged.inbound(from_=CALLER, to=HOTLINE_IT, fallback=None)
    assert call.transcript[0].data["status"] == 403
    assert call.problems == ["application_error"] and call.ended
    assert stored(app, call.sid) is None


def test_a_failing_voice_url_falls_back_to_the_apps_apology(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, path="/voice/no-such-route")
    assert call.problems == ["application_error"]  # the primary URL answered 404
    assert call.heard("ci scusi") and call.ended
    assert len(call.problems) == 1  # the fallback itself worked


# --------------------------------------------------------------------------- real HTTP


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_over_http_signed_for_the_public_url(live: str, app: Flask) -> None:
    """Like ngrok: requests reach localhost, signatures cover the public URL."""
    sim = Simulator.over_http(public_base_url=PUBLIC_BASE_URL, send_to=live,
                              account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                              our_number=HOTLINE_IT)
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT).press("1")
    assert call.heard("domanda")
    call.hangup()
    row = stored(app, call.sid)
    assert row is not None and row.status == "completed"


def test_over_http_to_a_url_the_app_does_not_sign_for_is_refused(live: str) -> None:
    sim = Simulator.over_http(public_base_url=live, account_sid=ACCOUNT_SID,
                              auth_token=AUTH_TOKEN, our_number=HOTLINE_IT)
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, fallback=None)
    assert call.transcript[0].data["status"] == 403  # signed over localhost, not PUBLIC_BASE_URL
    assert call.problems == ["application_error"]


def test_over_http_connection_refused(app: Flask) -> None:
    sim = Simulator.over_http(public_base_url=PUBLIC_BASE_URL, send_to="http://127.0.0.1:9",
                              account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                              our_number=HOTLINE_IT)
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, fallback=None, status_callback=None)
    assert call.problems == ["application_error"] and "11205" in call.problems[0].detail




def test_replayed_webhooks_never_advance_the_flow_twice(sim: Simulator) -> None:
    """Twilio may send the same request twice: the second must repeat, not skip, a step."""
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, replay=True)
    call.press("1")
    assert call.last_said.startswith("Mi dica in poche parole")
    call.press("1")
    assert call.last_said.startswith("Per riascoltare prema 1")
    call.hangup()
    assert call.problems == [] and call.warnings == []


def test_a_retried_webhook_gets_the_same_answer_as_the_lost_one(sim: Simulator) -> None:
    call = sim.inbound(from_=CALLER, to=HOTLINE_IT, replay=True)
    assert call.heard("grazie di aver chiamato")
    call.press("1").press("1")
    assert call.heard("dal lunedì al venerdì")


@pytest.mark.parametrize("caller", ["anonymous", "+266696687", "client:alice",
                                    "sip:bob@example.com", "+1", "<script>"])
def test_untrusted_caller_ids_still_get_a_courteous_call(sim: Simulator, caller: str) -> None:
    call = sim.inbound(from_=caller, to=HOTLINE_IT)
    assert call.waiting_for == "gather" and call.heard("buongiorno"), call.format_transcript()
    call.press("1").hangup()
    assert call.problems == []


def test_the_app_clock_can_move_with_the_call(app: Flask) -> None:
    clock = app.extensions["cortese.clock"]
    start = clock.now()
    simulator = Simulator.for_app(app, move_clock=True)
    call = simulator.inbound(from_=CALLER, to=HOTLINE_IT).press("1").hangup()
    assert (clock.now() - start).total_seconds() == pytest.approx(call.elapsed)
    assert call.elapsed > 20
