"""The simulator's softphone in a real (headless Debian Chromium) browser: keypad, say box,
silence, hang-up and the live transcript, with the page's strict CSP in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.timeout(900)  # the first test may install chromium with apt-get


def test_a_call_from_the_softphone(page: Any, live_app: Any, tmp_path: Path) -> None:
    live_app.app.config["SIM_STORE_DIR"] = str(tmp_path / "sim-calls")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto(f"{live_app.url}/sim/softphone")
    assert page.locator("#hangup").is_disabled()
    page.click("#call")
    page.wait_for_selector("#transcript li.say:has-text('Buongiorno')")
    assert "waiting for you" in page.locator("#status").inner_text()
    page.click("button.key[data-key='1']")
    page.wait_for_selector("#transcript li.say:has-text('domanda')")
    page.fill("#text", "<b>orari</b>")
    page.click("#say")
    page.wait_for_selector("#transcript li.speak:has-text('<b>orari</b>')")
    assert page.locator("#transcript b").count() == 0  # shown as text, never as markup
    page.click("#silence")
    page.wait_for_selector("#transcript li.silence")
    screenshot(page, "sim-softphone-call")
    page.click("#hangup")
    page.wait_for_selector("#status:has-text('Call ended')")
    assert page.locator("button.key[data-key='1']").is_disabled() and not page.locator(
        "#call").is_disabled()
    assert errors == []
