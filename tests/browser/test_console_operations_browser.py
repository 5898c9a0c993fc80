"""Operators' work in a real (headless Debian Chromium) browser: create and start a campaign,
place a call from the simulator's softphone and find it with its transcript, move a callback,
see a flow's diagram. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.consent.contacts import get_or_create
from app.db import session_scope
from tests.browser.conftest import screenshot
from tests.console_support import PASSWORD, add_operator, seed_callback, seed_campaign

pytestmark = pytest.mark.timeout(900)  # the first browser test may install chromium with apt-get


def _login(page, live_app):  # type: ignore[no-untyped-def]
    add_operator(live_app.app, display_name="Olga")
    page.goto(f"{live_app.url}/console/login")
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_app.url}/console/")


def _contacts(app, *numbers):  # type: ignore[no-untyped-def]
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        return [get_or_create(session, n, source="customer list 2026", at=clock.now()).id for n in numbers]


def test_create_target_and_start_a_campaign(page, live_app):
    ids = _contacts(live_app.app, "+393471234567", "+393471234568")
    _login(page, live_app)
    page.click("nav >> text=Campaigns")
    page.click("#new-campaign")
    page.fill("#campaign-name", "Sondaggio <b>autunno</b>")
    page.select_option("#campaign-purpose", "survey")
    page.select_option("#campaign-flow", "campaign_survey")
    page.check("#lang-en")
    page.fill("#reason-it", "un breve sondaggio sul servizio")
    page.click("#campaign-create")
    assert page.locator("#error-reason").inner_text().startswith("Say why we call")  # English reason missing
    assert page.locator("#form-error").inner_text() == "The form has one problem: it is shown beside its field."
    assert page.locator("#campaign-name").input_value() == "Sondaggio <b>autunno</b>"  # kept
    page.fill("#reason-en", "a short survey about our service")
    page.fill("#campaign-hours", "00:00-23:59")
    page.click("#campaign-create")
    page.wait_for_selector("#campaign-start")
    assert page.locator("#campaign-title").inner_text() == "Sondaggio <b>autunno</b>"  # text, not markup
    page.fill("#target-ids", ",".join(str(i) for i in ids))
    page.click("#target-submit")
    assert "Added 2" in page.locator(".flash").first.inner_text()
    page.click("#campaign-start")
    page.wait_for_selector("#campaign-pause")
    assert page.locator("#campaign-status").inner_text() == "running"
    assert page.locator("#live").get_attribute("data-refresh-seconds") == "5"
    screenshot(page, "console-campaign-running")
    page.click("nav >> text=Campaigns")
    assert "running" in page.locator("#campaigns-table").inner_text()
    screenshot(page, "console-campaigns")


def test_call_from_the_softphone_appears_with_its_transcript(page, live_app, tmp_path):
    live_app.app.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    _login(page, live_app)
    page.click("nav >> text=Softphone (simulator)")
    page.wait_for_url(re.compile(r".*/sim/softphone$"))
    page.click("#call")
    expect(page.locator("#status")).to_contain_text("waiting for you")  # CSP: no eval'd waits
    heard = page.locator("#transcript").inner_text()
    assert "grazie di aver chiamato" in heard.lower()
    page.fill("#text", "<b>il modem</b> non funziona")
    page.click("#say")
    expect(page.locator("#transcript")).to_contain_text("il modem")
    page.click("#hangup")
    expect(page.locator("#status")).to_contain_text("Call ended")
    screenshot(page, "softphone-call")

    page.goto(f"{live_app.url}/console/calls")
    page.locator("a.call-link").first.click()
    transcript = page.locator("#transcript")
    text = transcript.inner_text()
    assert "grazie di aver chiamato" in text.lower() and "<b>il modem</b> non funziona" in text
    assert page.locator("#transcript b").count() == 0  # caller speech shown as text
    assert page.locator("#call-path li").count() >= 1
    screenshot(page, "console-softphone-call-transcript")


def test_move_a_callback_from_the_missed_list(page, live_app):
    cb = seed_callback(live_app.app, status="missed", note="preferisce la sera")
    seed_callback(live_app.app, due_in=timedelta(hours=3), e164="+31612345678", language="nl",
                  time_zone="Europe/Amsterdam")
    _login(page, live_app)
    assert page.locator("#callbacks-missed").inner_text() == "1"
    page.click("text=Missed callbacks")
    page.wait_for_selector("#callbacks-table")
    assert page.locator("#callbacks-table tbody tr").count() == 1
    screenshot(page, "console-callbacks-missed")
    page.click(f"a.callback-link >> text='{cb}'")
    page.fill("#move-local-due", "2026-03-04T18:30")
    page.click("#move-submit")
    page.wait_for_selector(".flash")
    assert "Callback moved to 2026-03-04 18:30 (Europe/Rome)" in page.locator(".flash").inner_text()
    assert page.locator("#callback-status").inner_text() == "scheduled"
    assert "moved from" in page.locator("#callback-history").inner_text()
    screenshot(page, "console-callback-moved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.fill("#cancel-form input[name=reason]", "il cliente ha già richiamato")
    page.click("#cancel-submit")
    page.wait_for_selector("#callback-status >> text=cancelled")
    assert page.locator("#move-form").count() == 0


def test_flow_page_draws_the_diagram_with_vendored_mermaid(page, live_app):
    _login(page, live_app)
    page.click("nav >> text=Flows")
    assert page.locator("#flows-table .lint-ok").count() >= 5
    page.click("a.flow-link >> text=callback_booking")
    page.wait_for_selector("body[data-diagram]")
    assert page.locator("body").get_attribute("data-diagram") == "drawn"
    assert page.locator("#flow-diagram svg").count() == 1
    assert page.locator("#flow-diagram svg g.node").count() > 5
    assert "flowchart TD" in page.locator("#mermaid-source").text_content()  # folded in <details>
    screenshot(page, "console-flow-diagram")


def test_live_campaign_page_refreshes_but_never_under_the_operators_typing(page, live_app):
    cid = seed_campaign(live_app.app, start=True)
    page.clock.install()  # the page's timers run on Playwright's clock: no real waiting
    _login(page, live_app)
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto(f"{live_app.url}/console/campaigns/{cid}")
    assert page.locator("#live").get_attribute("data-refresh-seconds") == "5"
    before = len(loads)
    with page.expect_event("load"):  # wait for the reload the timer starts, however slow
        page.clock.run_for(6000)
    expect(page.locator("#campaign-status")).to_have_text("running")
    assert len(loads) > before  # the figures were reloaded
    page.fill("#target-ids", "12, 13")
    settled = len(loads)
    page.clock.run_for(20_000)
    assert len(loads) == settled and page.locator("#target-ids").input_value() == "12, 13"
    assert page.locator("#live").get_attribute("data-refresh-paused") == "true"
