"""Security: forged and altered webhooks, API and console without credentials, and hostile text
(SQL and script injection) in every field a caller or an API client can fill.

Hostile text is stored verbatim (parameters are bound, nothing is executed), comes back verbatim
in JSON, and is always escaped in console pages.
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, inspect, select

from app import create_app
from app.callbacks.models import Callback
from app.config import ConfigError
from app.consent.contacts import get_or_create
from app.consent.models import Contact
from app.db import get_engine, session_scope
from app.models import Call, CallEvent, CallStep
from tests.conftest import PUBLIC_BASE_URL, sign, voice_params
from tests.console_support import BEARER, add_operator, login, seed_callback
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of

SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"
SQL = "'; DROP TABLE calls; --"
SQL_OR = "' OR '1'='1"
PAYLOADS = [SCRIPT, IMG, SQL, SQL_OR, f"{SQL} {SCRIPT}", '"><svg/onload=alert(2)>', "{{7*7}} ${7*7} %s %n"]
RAW_MARKUP = re.compile(r"<script>alert|<img src=x|<svg/onload")


def _voice_paths(app: Any) -> list[str]:
    """Every POST route under /voice/, with a concrete step for the engine's route."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/voice/") and "POST" in rule.methods:
            paths.append(rule.rule.replace("<step>", "input") + ("?v=1" if "<step>" in rule.rule else ""))
    return sorted(paths)


def _post_form(client: Any, path: str, params: dict[str, str], signature: str | None) -> Any:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                       headers=headers)


def _table_counts(app: Any) -> tuple[int, int, int]:
    with session_scope(app) as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Call, CallEvent, CallStep))


FORGERIES = {
    "no signature": lambda path, params: (params, None),
    "garbage": lambda path, params: (params, "bm90IGEgc2lnbmF0dXJl"),
    "empty": lambda path, params: (params, ""),
    "wrong token": lambda path, params: (params, sign(PUBLIC_BASE_URL + path, params, "not-our-token-0123456789")),
    "other url": lambda path, params: (params, sign("https://evil.example/voice/inbound", params)),
    "other path": lambda path, params: (params, sign(PUBLIC_BASE_URL + (
        "/voice/fallback" if path != "/voice/fallback" else "/voice/status"), params)),
    "altered param": lambda path, params: ({**params, "Digits": "9"}, sign(PUBLIC_BASE_URL + path, params)),
    "added param": lambda path, params: ({**params, "SpeechResult": "operatore"},
                                         sign(PUBLIC_BASE_URL + path, params)),
    "removed param": lambda path, params: ({k: v for k, v in params.items() if k != "Digits"},
                                           sign(PUBLIC_BASE_URL + path, params)),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_every_voice_route_refuses_forged_or_altered_requests(app, client, forgery):
    before = _table_counts(app)
    paths = _voice_paths(app)
    assert {"/voice/inbound", "/voice/status", "/voice/flow/input?v=1", "/voice/callback",
            "/voice/outbound"} <= set(paths)
    for path in paths:
        params, signature = FORGERIES[forgery](path, voice_params(Digits="1", CallStatus="in-progress"))
        response = _post_form(client, path, params, signature)
        assert response.status_code == 403, (path, response.status_code, response.get_data(as_text=True)[:200])
    assert _table_counts(app) == before, "a refused request wrote something"


def test_a_signed_answer_replayed_with_other_digits_or_version_changes_nothing(app, client, twilio):
    params = voice_params()
    action = path_of(first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params))))
    answer = {**params, "CallStatus": "in-progress", "Digits": "1"}
    signature = sign(PUBLIC_BASE_URL + action, answer)
    before = _table_counts(app)
    altered = _post_form(client, action, {**answer, "Digits": "0"}, signature)
    other_version = _post_form(client, re.sub(r"v=\d+", "v=99", action), answer, signature)
    other_call = _post_form(client, action, {**answer, "CallSid": "CA" + uuid.uuid4().hex}, signature)
    assert altered.status_code == other_version.status_code == other_call.status_code == 403
    assert _table_counts(app) == before
    assert _post_form(client, action, answer, signature).status_code == 200  # the genuine one


def _api_requests(app: Any) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-the-token-0123456789"}, {"Authorization": "Bearer"},
    {"Authorization": "bearer test-admin-token-0123456789x"},
    {"Authorization": "Basic dGVzdC1hZG1pbi10b2tlbi0wMTIzNDU2Nzg5Og=="},  # the token as basic user
    {"X-Api-Key": "test-admin-token-0123456789"},
], ids=["none", "wrong", "empty", "longer", "basic", "other-header"])
def test_every_api_endpoint_refuses_requests_without_the_token(app, client, headers):
    requests = _api_requests(app)
    assert len(requests) >= 30
    before = _table_counts(app)
    for method, path in requests:
        response = client.open(path, method=method, json={"e164": "+393471234567", "name": "x"},
                               headers=headers)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.mimetype == "application/problem+json"
    # A token in the query string is never accepted (it would end up in logs and histories).
    assert client.get("/api/calls?access_token=test-admin-token-0123456789").status_code == 401
    assert _table_counts(app) == before


def test_every_console_page_needs_a_login(app, client):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console/") or rule.endpoint in ("console.login", "console.static"):
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": "x"})
            assert response.status_code in (302, 400, 401, 403), (method, path, response.status_code)
            if response.status_code == 302:
                assert response.location.startswith("/console/login"), (path, response.location)


class TestProduction:
    @pytest.fixture
    def settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings.update(CORTESE_ENV="production", SUPPRESSION_HASH_KEY="production-suppression-key-0123456789abc")
        return settings

    def test_the_simulator_softphone_is_not_served(self, app, client):
        assert client.get("/sim/softphone").status_code == 404
        assert client.post("/sim/api/calls", json={"to": "+390212345678"}).status_code == 404

    def test_signature_check_cannot_be_skipped(self, settings, tmp_path):
        with pytest.raises(ConfigError):
            create_app({**settings, "DEV_SKIP_SIGNATURE_CHECK": True})


# --- hostile text from callers -------------------------------------------------------------------


def _console(app: Any, client: Any) -> Any:
    add_operator(app)
    assert login(client).status_code == 302
    return client


def _assert_escaped(page: str, payload: str) -> None:
    assert not RAW_MARKUP.search(page), f"raw markup in the page: {RAW_MARKUP.search(page).group(0)}"
    assert payload in html.unescape(page), f"{payload!r} is not shown in the page"


@pytest.mark.parametrize("payload", [SCRIPT, IMG, f"{SQL} {SCRIPT}"])
def test_caller_speech_and_number_are_stored_verbatim_and_shown_escaped(app, client, twilio, payload):
    params = voice_params(From=payload, Caller=payload)
    action = path_of(first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params))))
    assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "SpeechResult": payload,
                                             "Confidence": "0.9"}))
    with session_scope(app) as session:  # verbatim in the database, every table still there
        call = session.scalar(select(Call).where(Call.call_sid == params["CallSid"]))
        assert call.from_number == payload
        inputs = session.scalars(select(CallStep.input).where(CallStep.call_id == call.id)).all()
        assert payload in inputs
    assert {"calls", "call_steps", "call_events"} <= set(inspect(get_engine(app)).get_table_names())

    detail = client.get(f"/api/calls/{params['CallSid']}", headers=BEARER)
    assert detail.status_code == 200 and detail.mimetype == "application/json"
    body = detail.get_json()
    assert body["from_number"] == payload
    assert payload in [step["input"] for step in body["steps"]]

    console = _console(app, client)
    for path in (f"/console/calls/{params['CallSid']}", "/console/calls", "/console/"):
        response = console.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert not RAW_MARKUP.search(page), (path, RAW_MARKUP.search(page).group(0))
    _assert_escaped(console.get(f"/console/calls/{params['CallSid']}").get_data(as_text=True), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_search_parameters_are_bound_not_executed(app, client, payload):
    with session_scope(app) as session:
        get_or_create(session, "+393471234567", source="test", at=app.extensions["cortese.clock"].now())
    for path, key in [("/api/contacts", "q"), ("/api/calls", "number"), ("/api/calls", "flow"),
                      ("/api/tickets", "caller"), ("/api/claims", "caller"), ("/api/optouts", "number"),
                      ("/api/compliance/decisions", "rule_id")]:
        response = client.get(f"{path}?{urlencode({key: payload})}", headers=BEARER)
        assert response.status_code in (200, 422), (path, key, response.status_code)
        if response.status_code == 200:
            assert response.get_json()["total"] == 0, (path, key, "an injected condition matched rows")
    console = _console(app, client)
    for path in ("/console/contacts", "/console/calls", "/console/tickets", "/console/callbacks"):
        response = console.get(f"{path}?{urlencode({'q': payload, 'number': payload, 'status': payload})}")
        assert response.status_code in (200, 400), (path, response.status_code)
        assert not RAW_MARKUP.search(response.get_data(as_text=True)), path


# --- hostile text from API clients ---------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_contact_text_fields_are_stored_verbatim_and_shown_escaped(app, client, payload):
    body = {"e164": "+393471234567", "name": payload, "customer_ref": payload[:64], "source": payload}
    created = client.post("/api/contacts", json=body, headers=BEARER)
    assert created.status_code == 201, created.get_json()
    contact_id = created.get_json()["id"]
    consent = client.post(f"/api/contacts/{contact_id}/consents", headers=BEARER, json={
        "action": "given", "purpose": "survey", "source": payload, "proof": payload})
    assert consent.status_code in (200, 201), consent.get_json()
    fetched = client.get(f"/api/contacts/{contact_id}", headers=BEARER).get_json()
    assert fetched["name"] == payload and fetched["customer_ref"] == payload[:64]
    with session_scope(app) as session:
        assert session.get(Contact, contact_id).name == payload
    console = _console(app, client)
    for path in (f"/console/contacts/{contact_id}", "/console/contacts"):
        page = console.get(path).get_data(as_text=True)
        assert not RAW_MARKUP.search(page), path
        if path.endswith(f"/{contact_id}"):
            _assert_escaped(page, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_campaign_text_fields_are_stored_verbatim_and_shown_escaped(app, client, payload):
    created = client.post("/api/campaigns", headers=BEARER, json={
        "name": payload[:100], "purpose": "survey", "flow": "campaign_survey", "languages": ["it", "en"],
        "reason": {"it": payload, "en": payload}, "calling_days": "mon-fri"})
    assert created.status_code == 201, f"a campaign named {payload!r} was refused: {created.get_json()}"
    campaign_id = created.get_json()["id"]
    assert client.get(f"/api/campaigns/{campaign_id}", headers=BEARER).get_json()["name"] == payload[:100]
    console = _console(app, client)
    for path in (f"/console/campaigns/{campaign_id}", "/console/campaigns"):
        response = console.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert not RAW_MARKUP.search(page), path
        assert payload[:100] in html.unescape(page), path


@pytest.mark.parametrize("payload", [SCRIPT, f"{SQL} {IMG}"])
def test_callback_notes_and_reasons_are_shown_escaped(app, client, payload):
    cb_id = seed_callback(app, note=payload)
    cancelled = client.post(f"/api/callbacks/{cb_id}/cancel", headers=BEARER, json={"reason": payload})
    assert cancelled.status_code == 200, cancelled.get_json()
    with session_scope(app) as session:
        assert session.get(Callback, cb_id).note == payload
    console = _console(app, client)
    page = console.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    _assert_escaped(page, payload)
    assert not RAW_MARKUP.search(console.get("/console/callbacks").get_data(as_text=True))
