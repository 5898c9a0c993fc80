"""Console: login with hashed passwords, CSRF on every form, security headers, escaping,
and the three languages."""

from __future__ import annotations

from sqlalchemy import select

from app.db import session_scope
from app.operators.models import OperatorUser
from tests.console_support import PASSWORD, add_operator, csrf_from, login, page_csrf, seed_call


def test_pages_need_a_login(client):
    for path in ("/console/", "/console/calls", "/console/calls/CA1"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.location.startswith("/console/login?next=")


def test_login_logout_round_trip(app, client):
    add_operator(app, display_name="Olga Operatrice")
    resp = login(client)
    assert resp.status_code == 302 and resp.location == "/console/"
    assert "Olga Operatrice" in client.get("/console/").get_data(as_text=True)
    client.post("/console/logout", data={"csrf_token": page_csrf(client)})
    assert client.get("/console/").status_code == 302


def test_password_is_stored_hashed(app):
    add_operator(app)
    with session_scope(app) as session:
        user = session.scalar(select(OperatorUser))
        assert PASSWORD not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_wrong_password_and_unknown_user_look_the_same(app, client):
    add_operator(app)
    wrong = login(client, password="not the password")
    unknown = login(client, username="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password" in wrong.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_login_redirect_never_leaves_the_console(app, client):
    add_operator(app)
    for target in ("https://evil.example/", "//evil.example/x", "/console\\@evil", "/voice/inbound"):
        token = csrf_from(client.get("/console/login").get_data(as_text=True))
        resp = client.post("/console/login", query_string={"next": target},
                           data={"username": "olga", "password": PASSWORD, "csrf_token": token})
        assert resp.location == "/console/", target
        client.post("/console/logout", data={"csrf_token": page_csrf(client)})
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    resp = client.post("/console/login", query_string={"next": "/console/calls"},
                       data={"username": "olga", "password": PASSWORD, "csrf_token": token})
    assert resp.location == "/console/calls"


def test_form_posts_without_csrf_token_are_refused(app, client):
    add_operator(app)
    resp = client.post("/console/login", data={"username": "olga", "password": PASSWORD})
    assert resp.status_code == 400
    assert "expired or is invalid" in resp.get_data(as_text=True)
    login(client)
    for path in ("/console/logout", "/console/language"):
        assert client.post(path, data={"lang": "it"}).status_code == 400
        assert client.post(path, data={"lang": "it", "csrf_token": "forged"}).status_code == 400
    assert client.get("/console/").status_code == 200  # still logged in: the logout was refused


def test_security_headers_on_console_pages(client):
    resp = client.get("/console/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(app, client):
    add_operator(app)
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_html_in_caller_speech_and_numbers_is_escaped(app, client):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    sid = seed_call(app, from_="<b>+39</b>", steps=[
        {"kind": "ask", "node": "menu", "said": "Prego?", "input": hostile, "outcome": "<i>o</i>"},
    ])
    add_operator(app, display_name="<svg onload=alert(2)>")
    login(client)
    for path in (f"/console/calls/{sid}", "/console/calls", "/console/"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
        assert "<b>+39</b>" not in html and "<i>o</i>" not in html
    html = client.get(f"/console/calls/{sid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_language_switch_changes_every_label(app, client):
    add_operator(app)
    login(client)
    seen = {}
    for lang, word in (("it", "Chiamate"), ("nl", "Gesprekken"), ("en", "Calls")):
        client.post("/console/language", data={"lang": lang, "csrf_token": page_csrf(client),
                                               "next": "/console/calls"})
        html = client.get("/console/calls").get_data(as_text=True)
        assert f'<html lang="{lang}">' in html and f"<h1>{word}</h1>" in html
        seen[lang] = html
    assert len(set(seen.values())) == 3


def test_operator_language_is_used_after_login(app, client):
    add_operator(app, language="nl")
    login(client)
    assert "Dashboard" in client.get("/console/").get_data(as_text=True)
    assert '<html lang="nl">' in client.get("/console/").get_data(as_text=True)


def test_accept_language_picks_the_login_page_language(client):
    html = client.get("/console/login", headers={"Accept-Language": "it-IT,it;q=0.9"}).get_data(as_text=True)
    assert "Nome utente" in html


def test_calls_page_lists_and_filters_with_bad_filters_ignored(app, client):
    seed_call(app, sid="CA" + "a" * 32, status="completed")
    seed_call(app, sid="CA" + "b" * 32, status="busy")
    add_operator(app)
    login(client)
    html = client.get("/console/calls?status=busy").get_data(as_text=True)
    assert "CA" + "b" * 32 in html and "CA" + "a" * 32 not in html
    for bad in ("status=nonsense", "offset=-5", "offset=99999999999999", "number=" + "9" * 500):
        assert client.get(f"/console/calls?{bad}").status_code == 200, bad


def test_call_page_shows_transcript_and_path(app, client):
    sid = seed_call(app, steps=[
        {"kind": "say", "node": "welcome", "said": "Buongiorno!"},
        {"kind": "ask", "node": "menu", "said": "Per un guasto prema 2.", "input": "2"},
    ])
    add_operator(app)
    login(client)
    html = client.get(f"/console/calls/{sid}").get_data(as_text=True)
    assert "Buongiorno!" in html and "Per un guasto prema 2." in html
    assert "inbound:welcome" in html and "inbound:menu" in html
    assert client.get("/console/calls/CAnothing").status_code == 404


def test_requests_without_a_session_cookie_skip_the_signer(app, client, monkeypatch):
    """Webhooks carry no cookie: they get an empty session without building the signer,
    while an operator's cookie is still verified (a forged one logs nobody in)."""
    add_operator(app)
    interface = app.session_interface
    built = []
    real = type(interface).get_signing_serializer
    monkeypatch.setattr(type(interface), "get_signing_serializer",
                        lambda self, a: built.append(1) or real(self, a))
    assert client.get("/health").status_code == 200
    assert built == []
    login(client)
    assert built and client.get("/console/").status_code == 200
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), "forged.cookie.value")
    assert client.get("/console/").status_code in (302, 303)
