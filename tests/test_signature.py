"""Webhook signature validation: valid, forged, missing, other URL, behind a proxy."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.db import session_scope
from app.models import Call
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SignedClient, sign, voice_params


def _calls(app) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(Call))


def _post(client, path, params, signature=None, headers=None):
    hdrs = dict(headers or {})
    if signature is not None:
        hdrs["X-Twilio-Signature"] = signature
    return client.post(path, data=urlencode(params), headers=hdrs,
                       content_type="application/x-www-form-urlencoded")


def test_valid_signature_is_served_and_recorded(app, twilio):
    response = twilio.post("/voice/inbound", voice_params())
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Say" in response.get_data(as_text=True)
    assert _calls(app) == 1


@pytest.mark.parametrize(
    "make_signature",
    [
        pytest.param(lambda url, p: None, id="missing"),
        pytest.param(lambda url, p: "", id="empty"),
        pytest.param(lambda url, p: "Zm9yZ2VkLXNpZ25hdHVyZQ==", id="forged"),
        pytest.param(lambda url, p: sign(url, p, token="another-accounts-token"), id="other-token"),
        pytest.param(lambda url, p: sign("https://evil.example.com/voice/inbound", p), id="other-url"),
        pytest.param(lambda url, p: sign(url, {**p, "From": "+15551234567"}), id="altered-params"),
        pytest.param(lambda url, p: sign(url.replace("https", "http"), p), id="other-scheme"),
    ],
)
@pytest.mark.parametrize("path", ["/voice/inbound", "/voice/status", "/voice/fallback"])
def test_bad_signatures_get_403_and_write_nothing(app, client, make_signature, path):
    params = voice_params()
    response = _post(client, path, params, make_signature(PUBLIC_BASE_URL + path, params))
    assert response.status_code == 403
    assert _calls(app) == 0


def test_query_string_is_part_of_the_signed_url(app, client):
    params = voice_params()
    url = PUBLIC_BASE_URL + "/voice/inbound?hotline=it"
    ok = client.post("/voice/inbound?hotline=it", data=urlencode(params),
                     content_type="application/x-www-form-urlencoded",
                     headers={"X-Twilio-Signature": sign(url, params)})
    assert ok.status_code == 200
    bad = client.post("/voice/inbound?hotline=nl", data=urlencode(params),
                      content_type="application/x-www-form-urlencoded",
                      headers={"X-Twilio-Signature": sign(url, params)})
    assert bad.status_code == 403


def test_local_url_signature_is_rejected_when_public_url_differs(app, client):
    """Twilio signs the public (ngrok) URL, never the localhost one the app sees."""
    params = voice_params()
    response = _post(client, "/voice/inbound", params, sign("http://localhost/voice/inbound", params))
    assert response.status_code == 403


class TestBehindProxy:
    @pytest.fixture
    def settings(self, settings):
        settings.update(TRUST_PROXY_HEADERS=True, PUBLIC_BASE_URL="https://abc123.ngrok.app",
                        PUBLIC_HOSTS="ivr.example.com, backup.example.com:8443")
        return settings

    @pytest.mark.parametrize("host", ["evil.example", "abc123.ngrok.app.evil.example", "ivr.example.com:444"])
    def test_a_request_signed_for_another_host_is_refused(self, app, client, host):
        """Twilio signs the URL of the number's owner: a webhook signed for another host with
        the same token (another app of the account, or a captured request) replayed here with
        that host in X-Forwarded-Host must not be served."""
        params = voice_params()
        response = _post(client, "/voice/inbound", params, sign(f"https://{host}/voice/inbound", params),
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": host})
        assert response.status_code == 403
        assert _calls(app) == 0

    @pytest.mark.parametrize("host", ["ivr.example.com", "IVR.example.com", "backup.example.com:8443"])
    def test_the_hosts_listed_in_public_hosts_are_served(self, app, client, host):
        params = voice_params()
        response = _post(client, "/voice/inbound", params,
                         sign(f"https://{host.lower()}/voice/inbound", params),
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": host})
        assert response.status_code == 200

    def test_the_default_port_named_by_the_proxy_is_the_same_host(self, app, client):
        params = voice_params()
        response = _post(client, "/voice/inbound", params, sign("https://abc123.ngrok.app/voice/inbound", params),
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc123.ngrok.app",
                                  "X-Forwarded-Port": "443"})
        assert response.status_code == 200

    def test_forwarded_https_url_validates(self, app, client):
        params = voice_params()
        public = "https://abc123.ngrok.app/voice/inbound"
        response = _post(client, "/voice/inbound", params, sign(public, params), headers={
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc123.ngrok.app"})
        assert response.status_code == 200

    def test_signature_for_http_is_rejected_when_forwarded_https(self, app, client):
        params = voice_params()
        response = _post(client, "/voice/inbound", params,
                         sign("http://abc123.ngrok.app/voice/inbound", params),
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc123.ngrok.app"})
        assert response.status_code == 403
        assert _calls(app) == 0


class TestDevelopmentSkip:
    @pytest.fixture
    def settings(self, settings):
        settings.update(CORTESE_ENV="development", DEV_SKIP_SIGNATURE_CHECK=True)
        return settings

    def test_unsigned_request_served_with_a_warning_each_time(self, app, client, caplog):
        for _ in range(2):
            response = _post(client, "/voice/inbound", voice_params())
            assert response.status_code == 200
        warnings = [r for r in caplog.records if "signature check SKIPPED" in r.getMessage()]
        assert len(warnings) == 2


def test_signed_client_uses_twilios_validator(client):
    params = voice_params()
    signature = sign(PUBLIC_BASE_URL + "/voice/status", params)

    assert RequestValidator(AUTH_TOKEN).validate(PUBLIC_BASE_URL + "/voice/status", params, signature)
    assert isinstance(SignedClient(client), SignedClient)
