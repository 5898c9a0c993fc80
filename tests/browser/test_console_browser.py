"""The operator console in a real (headless Debian Chromium) browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.console_support import PASSWORD, add_operator, seed_call

pytestmark = pytest.mark.timeout(900)  # the first test may install chromium with apt-get


def _login(page, live_app):  # type: ignore[no-untyped-def]
    page.goto(f"{live_app.url}/console/")
    assert "/console/login" in page.url
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_app.url}/console/")


def test_login_dashboard_and_language_switch(page, live_app):
    add_operator(live_app.app, display_name="Olga")
    _login(page, live_app)
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("figure.chart svg").count() >= 2
    screenshot(page, "console-dashboard-en")
    page.click("button[data-lang='it']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Cruscotto"
    page.click("button[data-lang='nl']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"
    screenshot(page, "console-dashboard-nl")


def test_call_with_transcript_and_hostile_speech_is_shown_as_text(page, live_app):
    add_operator(live_app.app)
    hostile = "<img src=x onerror=\"document.title='pwned'\">"
    sid = seed_call(live_app.app, steps=[
        {"kind": "say", "node": "welcome", "said": "Buongiorno, sono l'assistente di Cortese."},
        {"kind": "ask", "node": "fault", "said": "Mi descriva il problema."},
        # What the caller said is an "input" step, as the engine records it.
        {"kind": "input", "node": "fault", "input": hostile, "outcome": "description"},
    ])
    _login(page, live_app)
    page.click("nav >> text=Calls")
    page.click(f"a.call-link[href$='{sid}']")
    transcript = page.locator("#transcript")
    assert "Buongiorno, sono l'assistente di Cortese." in transcript.inner_text()
    assert hostile in transcript.inner_text()  # shown as text, never parsed as markup
    assert page.title() != "pwned" and page.locator("#transcript img").count() == 0
    assert "inbound:fault" in page.locator("#call-path").inner_text()
    screenshot(page, "console-call-transcript")


def test_wrong_password_shows_an_error(page, live_app):
    add_operator(live_app.app)
    page.goto(f"{live_app.url}/console/login")
    page.fill("#username", "olga")
    page.fill("#password", "wrong password!")
    page.click("#login-submit")
    assert "Wrong username or password" in page.locator(".problem").inner_text()
