"""Console sessions that can be ended, and a login that cannot be guessed at: logging out ends
the session on the server (a copied cookie stops working), a new password or a disabled
account ends every session, and failed logins are throttled by username and by address, in the
database, so every worker process counts the same failures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from app import create_app
from app.console.cli import cli
from app.db import get_engine
from tests.console_support import BEARER, PASSWORD, add_operator, csrf_from, login, page_csrf

NEW_PASSWORD = "a much longer new secret"


def _copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (stolen or shared)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/console/").status_code == 200


@pytest.fixture
def users(app, settings, tmp_path, monkeypatch):
    """Run `cortese users ...` against the test app's database."""
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))

    def invoke(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, client):
    add_operator(app)
    login(client)
    thief = _copy_of(app, client)
    assert _logged_in(thief)
    client.post("/console/logout", data={"csrf_token": page_csrf(client)})
    assert not _logged_in(client)
    assert not _logged_in(thief)
    assert thief.get("/api/calls").status_code == 401  # the API takes the console session too


def test_a_new_password_ends_every_session(app, client, users):
    add_operator(app)
    login(client)
    users("passwd", "olga", "--password", NEW_PASSWORD)
    assert not _logged_in(client)
    assert login(client, password=PASSWORD).status_code == 401
    assert login(client, password=NEW_PASSWORD).status_code == 302 and _logged_in(client)


def test_a_disabled_operator_is_logged_out_and_cannot_log_in(app, client, users):
    add_operator(app)
    login(client)
    assert "disabled" in users("disable", "olga")
    assert not _logged_in(client)
    refused = login(client)
    assert refused.status_code == 401 and "Wrong username or password" in refused.get_data(as_text=True)
    users("enable", "olga")
    assert login(client).status_code == 302 and _logged_in(client)


def test_disable_names_an_unknown_operator(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    result = CliRunner().invoke(cli, ["disable", "nobody"])
    assert result.exit_code != 0 and "no operator 'nobody'" in result.output


def _try(client, username: str, password: str, address: str = "198.51.100.7"):
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_a_password_is_stopped_and_the_right_one_waits(app, client, clock):
    add_operator(app)
    for _ in range(5):
        assert _try(client, "olga", "guess").status_code == 401
    blocked = _try(client, "olga", PASSWORD)  # the right password, too late
    assert blocked.status_code == 429
    assert "Too many login attempts: try again in 15 minutes" in blocked.get_data(as_text=True)
    assert not _logged_in(client)
    clock.advance(minutes=15, seconds=1)
    assert _try(client, "olga", PASSWORD).status_code == 302 and _logged_in(client)


def test_the_throttle_answers_the_same_for_unknown_usernames(app, client):
    add_operator(app)
    answers = {}
    for name in ("olga", "nobody"):
        for _ in range(5):
            _try(client, name, "guess", address=f"203.0.113.{len(name)}")
        resp = _try(client, name, "guess", address=f"203.0.113.{len(name)}")
        answers[name] = (resp.status_code, re.search(r'class="problem"[^>]*>([^<]*)<', resp.get_data(as_text=True))[1])
    assert answers["olga"] == answers["nobody"] and answers["olga"][0] == 429


def test_one_address_trying_many_usernames_is_throttled(app, client):
    add_operator(app)
    for n in range(20):
        _try(client, f"user{n}", "guess", address="192.0.2.50")
    assert _try(client, "olga", PASSWORD, address="192.0.2.50").status_code == 429
    assert _try(client, "olga", PASSWORD, address="192.0.2.51").status_code == 302  # another office


def test_failures_count_across_worker_processes(app, client, settings, clock):
    """Two app instances on one database stand for two gunicorn workers (or two servers)."""
    add_operator(app)
    other = create_app(settings, clock=clock)
    try:
        other_client = other.test_client()
        for n in range(5):
            _try(client if n % 2 else other_client, "olga", "guess")
        assert _try(other_client, "olga", PASSWORD).status_code == 429
        assert _try(client, "olga", PASSWORD).status_code == 429
    finally:
        get_engine(other).dispose()


def test_a_successful_login_forgets_earlier_failures(app, client):
    add_operator(app)
    for _ in range(4):
        _try(client, "olga", "guess")
    assert _try(client, "olga", PASSWORD).status_code == 302
    client.post("/console/logout", data={"csrf_token": page_csrf(client)})
    for _ in range(4):
        _try(client, "olga", "guess")
    assert _try(client, "olga", PASSWORD).status_code == 302


def test_bearer_token_is_not_a_console_session(app, client):
    assert client.get("/api/calls", headers=BEARER).status_code == 200
    assert not _logged_in(client)


def test_the_throttle_window_slides(app, client, clock):
    add_operator(app)
    for _ in range(4):
        _try(client, "olga", "guess")
    clock.advance(timedelta(minutes=10))
    _try(client, "olga", "guess")
    assert _try(client, "olga", PASSWORD).status_code == 429
    clock.advance(timedelta(minutes=5, seconds=1))  # the first four have left the window
    assert _try(client, "olga", PASSWORD).status_code == 302


def test_wrong_passwords_from_elsewhere_do_not_keep_the_owner_out(app, client):
    """Anyone who knows a username could otherwise lock its owner out for good, five tries every
    fifteen minutes: the five count for the address they came from."""
    add_operator(app)
    for _ in range(5):
        _try(client, "olga", "guess", address="203.0.113.66")
    assert _try(client, "olga", PASSWORD, address="203.0.113.66").status_code == 429
    assert _try(client, "olga", PASSWORD, address="198.51.100.7").status_code == 302 and _logged_in(client)


def test_a_made_up_username_never_counts_as_another_owners_address(app, client):
    add_operator(app)
    for _ in range(6):
        _try(client, "olga|198.51.100.7", "guess", address="203.0.113.99")
    assert _try(client, "olga", PASSWORD, address="198.51.100.7").status_code == 302


def test_guessing_one_account_from_many_addresses_is_stopped_too(app, client):
    add_operator(app)
    for n in range(100):
        _try(client, "olga", "guess", address=f"10.0.{n // 250}.{n % 250}")
    assert _try(client, "olga", PASSWORD, address="198.51.100.7").status_code == 429
    assert _try(client, "someone-else", "guess", address="198.51.100.7").status_code == 401
