"""Input that must never break a call or answer with a 500: control characters (which XML 1.0
forbids, so Twilio refuses the whole TwiML document with error 12100, and which PostgreSQL
refuses in text), JSON bodies nested or wide enough to hurt, oversized or malformed webhooks,
and a login redirect with a line break in it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app import signature
from app.consent.cli import contacts
from app.consent.contacts import get_or_create
from app.consent.models import Contact
from app.db import session_scope
from app.models import Call
from app.support.cli import cli as support
from app.support.models import Order
from app.telephony import Twiml
from tests.conftest import PUBLIC_BASE_URL, sign, voice_params
from tests.console_support import BEARER, PASSWORD, add_operator, csrf_from, login

CALLER = "+393471234567"
HOTLINE = "+390212345678"


def _count(app, model) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- a control character in stored text ---------------------------------------------------------

def test_a_control_character_in_a_contact_name_is_refused_by_the_api(app, client):
    resp = client.post("/api/contacts", headers=BEARER,
                       json={"e164": CALLER, "name": "Giu\x01lia", "source": "shop"})
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["field"] == "body.name" and "U+0001" in problem["detail"]
    assert _count(app, Contact) == 0


def test_a_control_character_in_an_order_is_refused_by_the_api(app, client):
    resp = client.post("/api/orders", headers=BEARER, json={"orders": [
        {"number": "A-4711", "status": "shipped", "customer_number": CALLER, "customer_name": "Giu\x01lia"}]})
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "body.orders[0].customer_name"
    assert _count(app, Order) == 0


def test_csv_imports_refuse_the_line_and_keep_the_others(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    orders = tmp_path / "orders.csv"
    orders.write_text("number,status,customer_name\n4711,shipped,Giu\x01lia\n4712,shipped,Marco\n",
                      encoding="utf-8")
    result = CliRunner().invoke(support, ["import-orders", str(orders)], catch_exceptions=False)
    assert "line 2: customer_name: contains the control character U+0001" in result.output
    people = tmp_path / "contacts.csv"
    people.write_text(f"number,source,name\n{CALLER},shop,Giu\x01lia\n+393471234568,shop,Marco\n",
                      encoding="utf-8")
    result = CliRunner().invoke(contacts, ["import", str(people)], catch_exceptions=False)
    assert "control character U+0001" in result.output
    with session_scope(app) as session:
        assert [o.customer_name for o in session.scalars(select(Order))] == ["Marco"]
        assert [c.name for c in session.scalars(select(Contact))] == ["Marco"]


def test_a_stored_control_character_never_breaks_the_callers_calls(app, sim):
    """Text stored before the check existed (or written around it) is stripped when spoken."""
    with session_scope(app) as session:
        get_or_create(session, CALLER, source="legacy", at=datetime(2026, 1, 5, tzinfo=UTC),
                      name="Giu\x01lia\x00 Rossi", language="it")
        session.add(Order(number="4711", status="shipped", customer_number=CALLER,
                          customer_name="Giu\x01lia\x0b Rossi", updated_at=datetime(2026, 1, 5, tzinfo=UTC)))
    call = sim.inbound(from_=CALLER, to=HOTLINE)
    assert call.heard("Giulia")
    assert not call.problems
    call.hangup()


def test_twiml_never_contains_what_xml_forbids(app):
    doc = Twiml("it").say("Buongiorno Giu\x01lia\x00\ufffe\x1f, tab\tok").xml()
    root = ET.fromstring(doc.encode())  # would raise on any forbidden character
    assert root.find("Say").text == "Buongiorno Giulia, tab\tok"


# --- filters, JSON bodies, login redirects -------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/calls?number=%00", "/api/tickets?caller=%00",
                                  "/api/callbacks?number=%2B39%00", "/api/contacts?q=%00"])
def test_nul_in_a_list_filter_is_a_clear_422(client, path):
    resp = client.get(path, headers=BEARER)
    assert resp.status_code == 422
    assert "U+0000" in resp.get_json()["detail"]


def test_nul_in_a_console_filter_is_a_clear_400(app, client):
    add_operator(app)
    login(client)
    resp = client.get("/console/calls?number=%00")
    assert resp.status_code == 400
    assert "control character" in resp.get_data(as_text=True)


def test_deeply_nested_json_is_a_clear_422(client):
    body = "[" * 100_000 + "]" * 100_000
    resp = client.post("/api/contacts", headers=BEARER, data=body, content_type="application/json")
    assert resp.status_code == 422
    assert "nested deeper" in resp.get_json()["detail"]
    moderately = json.dumps({"e164": CALLER, "name": json.loads("[" * 200 + "]" * 200)})
    resp = client.post("/api/contacts", headers=BEARER, data=moderately, content_type="application/json")
    assert resp.status_code == 422


def test_many_unknown_keys_get_a_small_answer(client):
    for count in (5_000, 200_000):
        body = json.dumps({"e164": CALLER, **{f"key{i}": 1 for i in range(count)}})
        resp = client.post("/api/contacts", headers=BEARER, data=body, content_type="application/json")
        assert resp.status_code == 422
        assert len(resp.get_data()) < 4096
    problem = resp.get_json()
    assert problem["status"] == 422 and problem["field"].startswith("body")


def test_a_long_unknown_key_is_not_echoed_whole(client):
    body = json.dumps({"e164": CALLER, "k" * 1_000_000: 1})
    resp = client.post("/api/contacts", headers=BEARER, data=body, content_type="application/json")
    assert resp.status_code == 422 and len(resp.get_data()) < 4096


@pytest.mark.parametrize("target", ["/console/calls\r\nSet-Cookie: x=1", "/console/\n", "/console/\t"])
def test_a_line_break_in_next_never_fails_a_correct_login(app, client, target):
    add_operator(app)
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    resp = client.post("/console/login?" + urlencode({"next": target}),
                       data={"username": "olga", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 400)
    if resp.status_code == 302:
        assert resp.location == "/console/" and "\n" not in resp.headers.get("Location", "")


# --- webhooks: what Twilio could really send ----------------------------------------------------

def _post_signed(client, path: str, params, headers=None):
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    body = urlencode(pairs)
    signature = sign(PUBLIC_BASE_URL + path, dict(pairs))
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": signature, **(headers or {})})


@pytest.mark.parametrize("sid", ["CA\x00" + "a" * 31, "", "CA123", "XX" + "a" * 32, "CA" + "g" * 32])
def test_a_malformed_callsid_is_a_clear_400_not_an_apology(app, client, sid):
    resp = _post_signed(client, "/voice/inbound", voice_params(CallSid=sid))
    assert resp.status_code == 400
    assert "CallSid" in resp.get_data(as_text=True)
    assert _count(app, Call) == 0


def test_nul_in_the_callers_number_still_gets_the_menu(app, client):
    params = voice_params(From="+39347\x001234567", Caller="+39347\x001234567", CallerName="Giu\x01lia")
    resp = _post_signed(client, "/voice/inbound", params)
    assert resp.status_code == 200
    root = ET.fromstring(resp.get_data())
    assert root.find("Gather") is not None  # the menu, not the apology
    with session_scope(app) as session:
        call = session.scalar(select(Call))
        assert "\x00" not in (call.from_number or "")


def test_an_oversized_webhook_is_refused_before_its_signature_is_checked(app, client, monkeypatch):
    hashed = []
    monkeypatch.setattr(signature, "is_valid", lambda *a: hashed.append(1) or True)
    many = [*voice_params().items(), *((f"p{i}", "x") for i in range(400_000 // 100))]
    resp = client.post("/voice/inbound", data=urlencode(many), content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": "anything"})
    assert resp.status_code == 413 and "parameters" in resp.get_data(as_text=True)
    big = [*voice_params().items(), ("SpeechResult", "a" * 200_000)]
    resp = client.post("/voice/inbound", data=urlencode(big), content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": "anything"})
    assert resp.status_code == 413 and "bytes" in resp.get_data(as_text=True)
    assert hashed == []
    assert _count(app, Call) == 0
