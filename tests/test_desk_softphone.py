"""The browser softphone as an operator's phone (issue 18), through its JSON API.

With the fake Twilio in the app's process (a LiveLine, app/sim/line.py), the softphone's
calls stay live: a caller placed from one softphone presses 0 and waits in the queue; the desk
rings the operator's number and that call rings on a softphone, which answers (the whisper),
presses 1, is in the conference with the caller, and hangs up; the caller hears a goodbye and
the operator is asked to wrap up.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.config import load_settings
from app.db import Base, get_engine, session_scope
from app.desk.models import CONNECTED, WRAPUP, DeskOperator, QueueEntry
from app.sim.line import LiveLine, install, line_of, serve_app
from tests.desk_support import minutes, operator
from tests.test_desk_calls import WEDNESDAY

PHONE = "+393331110001"
CALLER = "+393471234567"
OUR_NUMBER = "+390212345678"


@pytest.fixture
def line(sim, app, clock) -> LiveLine:
    clock.set(WEDNESDAY)
    with session_scope(app) as s:
        operator(s, "anna", phone=PHONE, languages=("it",), since=WEDNESDAY - minutes(10))
    return install(app, sim)


def _post(client: FlaskClient, path: str, **body: Any) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    return answer.get_json()


def _said(state: dict[str, Any]) -> str:
    return " ".join(e["text"] for e in state["transcript"] if e["kind"] == "say")


def test_a_softphone_is_the_operators_phone_whisper_accept_talk_hang_up(app, client, sim, line):
    caller = _post(client, "/sim/api/calls", **{"from": CALLER, "to": OUR_NUMBER})
    caller = _post(client, f"/sim/api/calls/{caller['id']}/press", digits="0")
    assert caller["waiting_for"] == "gather" and not caller["in_conference"]  # queue music

    for rung in sim.twilio.ring_pending():  # what the fake Twilio's ringer does
        line.ring(rung)
    (ringing,) = client.get("/sim/api/incoming").get_json()["items"]
    assert ringing["to"] == PHONE
    phone = client.get(f"/sim/api/calls/{ringing['id']}").get_json()  # "Answer"
    assert "Caller speaks Italian" in _said(phone) and "Press 1 to take the call" in _said(phone)

    phone = _post(client, f"/sim/api/calls/{ringing['id']}/press", digits="1")
    assert phone["in_conference"] and phone["talking_with"] == 1
    caller = client.get(f"/sim/api/calls/{caller['id']}").get_json()
    assert caller["in_conference"] and caller["talking_with"] == 1
    assert "le passo ora un operatore" in _said(caller)
    with session_scope(app) as s:
        assert s.query(QueueEntry).one().status == CONNECTED
    pressed = client.post(f"/sim/api/calls/{ringing['id']}/press", json={"digits": "5"})
    assert pressed.status_code == 409  # in a conference people talk; no menu to press keys in

    phone = _post(client, f"/sim/api/calls/{ringing['id']}/hangup")
    assert phone["ended"]
    caller = client.get(f"/sim/api/calls/{caller['id']}").get_json()
    assert caller["ended"] and "Grazie per aver chiamato" in _said(caller)
    with session_scope(app) as s:
        assert s.query(DeskOperator).one().state == WRAPUP


def test_cortese_sim_serve_builds_the_app_on_a_fake_twilio_with_a_live_line(settings):
    """What `cortese sim serve` runs: the app's REST requests go to the in-process fake Twilio,
    and a call placed from the softphone is one that fake can take out of a queue."""
    app, fake, line = serve_app(load_settings(settings, env_file=None))
    try:
        Base.metadata.create_all(get_engine(app))
        assert app.extensions["cortese.settings"].twilio_api_base_url == fake.base_url
        assert line_of(app) is line
        state = _post(app.test_client(), "/sim/api/calls", **{"from": CALLER, "to": OUR_NUMBER})
        assert [c.sid for c in fake.inbound] == [state["sid"]]
    finally:
        fake.stop()
        get_engine(app).dispose()
