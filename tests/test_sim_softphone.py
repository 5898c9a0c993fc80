"""The browser softphone: served in development/test only, drives SimCalls server-side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.db import Base, get_engine
from app.sim.web import CallStore
from tests.console_support import add_operator, login


@pytest.fixture
def phone(app: Flask, tmp_path: Path) -> FlaskClient:
    app.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    return app.test_client()


def start(phone: FlaskClient, **body: Any) -> dict[str, Any]:
    answer = phone.post("/sim/api/calls", json={"from": "+393471234567", "to": "+390212345678",
                                                 **body})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def test_page_is_plain_html_with_a_strict_csp(phone: FlaskClient) -> None:
    page = phone.get("/sim/softphone")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="keypad"' in html and "softphone.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert phone.get("/sim/static/softphone.js").status_code == 200


def test_a_call_from_the_browser(phone: FlaskClient) -> None:
    state = start(phone)
    assert state["waiting_for"] == "gather" and not state["ended"]
    assert any("Buongiorno" in e["text"] for e in state["transcript"])
    assert all(e["kind"] != "fetch" for e in state["transcript"])
    pressed = phone.post(f"/sim/api/calls/{state['id']}/press", json={"digits": "1"}).get_json()
    assert any("domanda" in e["text"] for e in pressed["transcript"])
    spoken = phone.post(f"/sim/api/calls/{state['id']}/speak",
                        json={"text": "<b>orari</b>"}).get_json()
    assert spoken["transcript"][-1]["kind"] in ("say", "play", "pause")
    silent = phone.post(f"/sim/api/calls/{state['id']}/silence", json={}).get_json()
    assert not silent["ended"]
    shown = phone.get(f"/sim/api/calls/{state['id']}").get_json()
    assert shown["transcript"] == silent["transcript"]
    ended = phone.post(f"/sim/api/calls/{state['id']}/hangup", json={}).get_json()
    assert ended["ended"] and ended["status"] == "completed" and ended["problems"] == []
    late = phone.post(f"/sim/api/calls/{state['id']}/press", json={"digits": "1"})
    assert late.status_code == 409


def test_bad_requests(phone: FlaskClient) -> None:
    state = start(phone)
    url = f"/sim/api/calls/{state['id']}"
    assert phone.post(url + "/press", json={"digits": "1a"}).status_code == 422
    assert phone.post(url + "/press", json={"digits": 5}).status_code == 422
    assert phone.post(url + "/speak", json={"text": " "}).status_code == 422
    assert phone.post(url + "/speak", json={"text": "x" * 501}).status_code == 422
    assert phone.post(url + "/dance", json={}).status_code == 404
    assert phone.post(url + "/press", data={"digits": "1"}).status_code == 415  # no form posts
    assert phone.get("/sim/api/calls/unknown-call-id-000000").status_code == 404
    assert phone.get("/sim/api/calls/..%2F..%2Fetc").status_code == 404


def test_a_tampered_stored_call_is_refused(phone: FlaskClient, tmp_path: Path) -> None:
    state = start(phone)
    file = tmp_path / "sim-calls" / f"{state['id']}.call"
    data = bytearray(file.read_bytes())
    data[-5] ^= 0xFF
    file.write_bytes(bytes(data))
    assert phone.get(f"/sim/api/calls/{state['id']}").status_code == 404


def test_old_calls_are_pruned(tmp_path: Path) -> None:
    store = CallStore(tmp_path, "secret-key-0123456789")
    (tmp_path / "x.call").write_bytes(b"old")
    store.prune(max_age=-1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env,enabled,status", [
    ("production", False, 404), ("production", True, 404), ("development", False, 302), ("test", False, 200),
])
def test_served_only_where_allowed(settings: dict[str, Any], env: str, enabled: bool,
                                   status: int) -> None:
    application = create_app({**settings, "CORTESE_ENV": env, "SIM_ENABLED": enabled,
                              "SUPPRESSION_HASH_KEY": "k" * 40})
    Base.metadata.create_all(get_engine(application))
    # An anonymous visitor: production hides it (404), development sends them to the console's
    # login (a development server is often reachable from outside), the test suite lets them in.
    assert application.test_client().get("/sim/softphone").status_code == status
    get_engine(application).dispose()


def test_in_development_the_softphone_needs_a_console_login(settings: dict[str, Any], tmp_path: Path) -> None:
    """Whoever reaches it calls as any caller and hears their name and orders: not anonymously."""
    application = create_app({**settings, "CORTESE_ENV": "development", "SUPPRESSION_HASH_KEY": "k" * 40})
    application.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    Base.metadata.create_all(get_engine(application))
    add_operator(application)
    client = application.test_client()
    page = client.get("/sim/softphone")
    assert page.status_code == 302 and page.location == "/console/login?next=/sim/softphone"
    denied = client.post("/sim/api/calls", json={"from": "+393471234567", "to": "+390212345678"})
    assert denied.status_code == 401 and "log in to the console" in denied.get_json()["detail"]
    assert client.get("/sim/api/incoming").status_code == 401
    login(client)
    assert client.get("/sim/softphone").status_code == 200
    assert client.post("/sim/api/calls", json={}).status_code == 201
    get_engine(application).dispose()


def test_outbound_calls_rung_for_the_softphone_are_listed_and_answerable(
        sim: Any, app: Flask, tmp_path: Path) -> None:
    """`cortese sim twilio --softphone` stores answered outbound calls; the page picks them up."""
    app.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    phone = app.test_client()
    assert phone.get("/sim/api/incoming").get_json() == {"items": []}
    app.extensions["cortese.gateway"].place_call(
        "+393471234567", "https://cortese.example.test/voice/inbound",
        status_callback="https://cortese.example.test/voice/status")
    (outbound,) = sim.twilio.ring_pending()
    assert outbound.direction == "outbound-api" and outbound.waiting_for == "gather"
    store = CallStore(tmp_path / "sim-calls", app.extensions["cortese.settings"].secret_key)
    store.save("ringing-call-0000000001", outbound)
    start(phone)  # an inbound softphone call is not listed as incoming
    (item,) = phone.get("/sim/api/incoming").get_json()["items"]
    assert item["id"] == "ringing-call-0000000001" and item["last_said"] == outbound.last_said
    picked = phone.post(f"/sim/api/calls/{item['id']}/silence", json={}).get_json()
    assert len(picked["transcript"]) > len([e for e in outbound.transcript
                                            if e.kind in ("say", "pause")])
    phone.post(f"/sim/api/calls/{item['id']}/hangup", json={})
    assert phone.get("/sim/api/incoming").get_json() == {"items": []}


def test_production_softphone_needs_a_console_login(settings: dict[str, Any],
                                                     tmp_path: Path) -> None:
    application = create_app({**settings, "CORTESE_ENV": "production", "SIM_ENABLED": True,
                              "SUPPRESSION_HASH_KEY": "k" * 40})
    application.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    Base.metadata.create_all(get_engine(application))
    add_operator(application)
    client = application.test_client()
    assert client.post("/sim/api/calls", json={}).status_code == 404
    login(client)
    assert client.get("/sim/softphone").status_code == 200
    assert client.post("/sim/api/calls", json={}).status_code == 201
    get_engine(application).dispose()
