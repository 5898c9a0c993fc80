"""Any exception inside a voice route becomes spoken TwiML with HTTP 200, never a 500."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from app import calls
from tests.conftest import voice_params


@pytest.fixture
def broken(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(calls, "ensure_call", boom)
    monkeypatch.setattr(calls, "new_call", boom)  # a new call's first webhook
    monkeypatch.setattr(calls, "webhook_record", boom)


@pytest.mark.parametrize(("caller", "words"), [
    ("+393471234567", "Ci scusi"), ("+31612345678", "Excuses"), ("+447700900123", "We are sorry")])
def test_exception_becomes_apology_in_callers_language(app, twilio, broken, caller, words, caplog):
    params = voice_params(From=caller)
    with caplog.at_level(logging.ERROR):
        response = twilio.post("/voice/inbound", params)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert words in body and "<Hangup" in body
    assert any("voice webhook /voice/inbound failed" in r.getMessage() for r in caplog.records)


class TestWithOperator:
    @pytest.fixture
    def settings(self, settings):
        settings["OPERATOR_NUMBER"] = "+390299999999"
        return settings

    def test_apology_offers_the_operator_then_a_goodbye(self, app, twilio, broken):
        body = twilio.post("/voice/inbound", voice_params()).get_data(as_text=True)
        assert "<Number>+390299999999</Number>" in body
        assert body.index("<Dial") < body.rindex("<Say") < body.index("<Hangup")


def test_database_down_still_speaks(app, twilio, monkeypatch):
    def db_down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    for reader in ("ensure_call", "new_call", "webhook_record", "load_record", "get_call"):
        monkeypatch.setattr(calls, reader, db_down)
    response = twilio.post("/voice/inbound", voice_params(From="+31612345678"))
    assert response.status_code == 200 and "Excuses" in response.get_data(as_text=True)


def test_fallback_url_apologises(app, twilio):
    response = twilio.post("/voice/fallback", voice_params(ErrorCode="11200", ErrorUrl="https://x/voice"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Ci scusi" in body and "<Hangup" in body


def test_health_reports_database(app, client):
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok"}
