"""The desk's browser phone (issue 18): an operator may be rung in the browser through Twilio's
Voice JavaScript SDK instead of on their phone; the phone number always stays and is rung
again as soon as the browser phone is off."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import jwt
import pytest

from app.config import ConfigError, load_settings
from app.db import session_scope
from app.desk.models import WAITING, DeskOperator, QueueEntry
from app.desk.routing import Router
from app.sim import QueuePlan
from tests.conftest import base_settings
from tests.console_support import add_operator, login, page_csrf
from tests.desk_support import RingingGateway, minutes, waiting
from tests.test_desk_calls import WEDNESDAY

API_KEY_SID = "SK" + "b" * 32
API_KEY_SECRET = "browser-phone-api-key-secret-0123"  # 32 characters, as Twilio issues
VENDOR = Path(__file__).resolve().parents[1] / "app/console/static/vendor/twilio-voice"


@pytest.fixture
def settings(tmp_path: Any) -> dict[str, Any]:
    values = base_settings(tmp_path)
    values.update({"TWILIO_API_KEY_SID": API_KEY_SID, "TWILIO_API_KEY_SECRET": API_KEY_SECRET,
                   "DESK_BROWSER_PHONE": True})
    return values


@pytest.fixture
def olga(app, client, clock) -> str:
    """Olga logged in, her profile saved with the browser phone ticked; the CSRF token."""
    clock.set(WEDNESDAY)
    add_operator(app, "olga", language="en")
    login(client, "olga")
    token = page_csrf(client, "/console/desk")
    client.post("/console/desk/profile", data={"csrf_token": token, "phone": "+39 333 111 0001",
                                               "languages": ["it"], "skills": ["support"], "ring_browser": "1"})
    return token


def _olga(app) -> DeskOperator:
    with session_scope(app) as s:
        return s.query(DeskOperator).one()


def test_the_token_is_twilios_access_token_for_incoming_calls_only(app, client, olga):
    answer = client.get("/console/desk/phone/token.json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    # Twilio's documented access token: HS256 signed with the API key secret, issued by the
    # API key for the account, the grants naming the identity; voice incoming allowed.
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "HS256" and header["cty"] == "twilio-fpa;v=1"
    claims = jwt.decode(body["token"], API_KEY_SECRET, algorithms=["HS256"])
    settings = app.extensions["cortese.settings"]
    assert claims["iss"] == API_KEY_SID and claims["sub"] == settings.twilio_account_sid
    assert claims["grants"]["identity"] == body["identity"] == f"desk-{_olga(app).id}"
    assert claims["grants"]["voice"] == {"incoming": {"allow": True}}  # it can call nobody
    assert 3500 <= claims["exp"] - claims["nbf"] <= 3700


def test_the_desk_rings_the_browser_phone_and_the_number_once_it_is_off(app, client, olga, monkeypatch):
    gateway = RingingGateway()
    with session_scope(app) as s:
        s.query(DeskOperator).update({"state": "available"})
        waiting(s, at=WEDNESDAY - minutes(1))
    Router(app, gateway=gateway).run_once()
    assert gateway.rings[0][0] == f"client:desk-{_olga(app).id}"
    with session_scope(app) as s:
        s.query(DeskOperator).update({"state": "available", "entry_id": None})

        s.query(QueueEntry).update({"status": WAITING, "offer_id": None, "operator_id": None})
    monkeypatch.setattr(app.extensions["cortese.settings"], "desk_browser_phone", False)
    Router(app, gateway=gateway).run_once()
    assert gateway.rings[1][0] == "+393331110001"


def test_a_browser_phone_call_is_the_same_whisper_key_and_conference(sim, app, olga):
    identity = f"client:desk-{_olga(app).id}"
    with session_scope(app) as s:
        s.query(DeskOperator).update({"state": "available"})
    sim.twilio.script(identity, inputs=["1"])
    caller = sim.inbound(from_="+393471234567", to="+390212345678", queue=QueuePlan("wait"))
    caller.press("0")
    (phone,) = sim.twilio.ring_pending()
    assert phone.to == identity and phone.heard("Caller speaks Italian")
    assert caller.talking_with == [phone.sid]


def test_the_phone_page_loads_the_vendored_sdk_with_twilio_allowed_in_its_csp(client, olga):
    page = client.get("/console/desk/phone")
    html = page.get_data(as_text=True)
    assert "vendor/twilio-voice/twilio.min.js" in html and "desk_phone.js" in html
    csp = page.headers["Content-Security-Policy"]
    assert "wss://*.twilio.com" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "data-refresh-seconds" not in html  # a phone page never reloads itself
    desk = client.get("/console/desk").get_data(as_text=True)
    assert 'id="browser-phone-link"' in desk


def test_without_the_tick_or_the_setting_there_is_no_token_and_the_page_says_why(app, client, olga, monkeypatch):
    client.post("/console/desk/profile", data={"csrf_token": olga, "phone": "+39 333 111 0001",
                                               "languages": ["it"], "skills": ["support"]})
    assert _olga(app).ring_browser is False
    assert client.get("/console/desk/phone/token.json").status_code == 404
    monkeypatch.setattr(app.extensions["cortese.settings"], "desk_browser_phone", False)
    page = client.get("/console/desk/phone")
    assert page.status_code == 200 and "not enabled here" in page.get_data(as_text=True)
    assert "twilio.min.js" not in page.get_data(as_text=True)
    assert 'id="profile-ring-browser"' not in client.get("/console/desk").get_data(as_text=True)


def test_the_browser_phone_needs_an_api_key(tmp_path):
    values = {**base_settings(tmp_path), "DESK_BROWSER_PHONE": True}
    with pytest.raises(ConfigError, match="DESK_BROWSER_PHONE needs TWILIO_API_KEY_SID"):
        load_settings(values, env_file=None)


def test_the_vendored_sdk_is_the_file_its_version_note_names():
    note = (VENDOR / "VERSION.txt").read_text()
    assert "@twilio/voice-sdk 2.18.5" in note and "Apache-2.0" in note
    digest = re.search(r"sha256 ([0-9a-f]{64})", note)
    assert digest and hashlib.sha256((VENDOR / "twilio.min.js").read_bytes()).hexdigest() == digest.group(1)
    assert "Apache License" in (VENDOR / "LICENSE.md").read_text()
