"""Every console page fits a phone and a laptop, in every language.

Operators check callbacks on their phones: a page wider than the screen makes them scroll
sideways to read a row, so the page itself must never be wider than the window. A 390 px
viewport is a current mainstream phone (iPhone 12-15 in CSS pixels); 1366 px the most common
laptop screen. The pages come from the app's own url_map, so a page added later is checked
too; a page that takes an argument is opened with seeded data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from app.consent.contacts import get_or_create
from app.db import session_scope
from app.support.services import CallerRef, make_claim
from tests.browser.conftest import LiveServer, screenshot
from tests.console_support import (
    PASSWORD,
    add_operator,
    seed_call,
    seed_callback,
    seed_campaign,
    seed_ticket,
)

pytestmark = pytest.mark.timeout(900)  # the first browser test may install chromium with apt-get

WIDTHS = (390, 1366)
OVERFLOW = "document.documentElement.scrollWidth > window.innerWidth"


def _seed(app: Flask) -> dict[str, str]:
    """One of each thing a detail page shows, keyed by the URL argument that opens it."""
    sid = seed_call(app, flow="support_hotline", steps=[
        {"kind": "say", "node": "welcome", "said": "Buongiorno, sono l'assistente di Cortese."},
        {"kind": "ask", "node": "describe_fault", "said": "Mi descriva il problema.",
         "input": "il modem non si accende più da ieri sera, la luce resta rossa"},
    ])
    reference = seed_ticket(app, call_sid=sid, subject="Router non si accende dopo il temporale di ieri sera")
    callback = seed_callback(app, note="Preferisce essere richiamata dopo le 18, chiedere di Marta")
    campaign = seed_campaign(app, numbers=("+393471234567", "+393471234568"), start=True)
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        contact = get_or_create(session, "+393471234567", source="customer list 2026", at=clock.now())
        claim = make_claim(session, serial="SN-LONG-0123456789ABCDEFGHIJ", purchased_on=date(2025, 3, 1),
                           at=clock.now(), today=clock.now().date(),
                           caller=CallerRef(number="+393471234567", language="it", call_sid=sid))
        values = {"call_sid": sid, "reference": reference, "callback_id": str(callback),
                  "campaign_id": str(campaign), "contact_id": str(contact.id), "name": "support_hotline",
                  "claim_reference": claim.claim.reference}
    return values


def console_pages(app: Flask, values: dict[str, str]) -> list[str]:
    """Every GET-able HTML page of the console: the url_map's rules, arguments filled from
    `values`. A rule with an argument we cannot fill fails loudly, so no page is skipped."""
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint in ("console.static", "console.login") or rule.rule.endswith((".csv", ".json")):
            continue
        missing = set(rule.arguments) - set(values) - set(rule.defaults or {})
        assert not missing, f"{rule.rule}: seed a value for {sorted(missing)}"
        built = rule.build({k: values[k] for k in rule.arguments if k in values})
        assert built is not None, rule.rule
        paths.append(built[1])
    return sorted(set(paths))


def _login(page: Any, live_app: LiveServer, lang: str) -> None:
    add_operator(live_app.app, display_name="Olga")
    page.goto(f"{live_app.url}/console/login")
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_app.url}/console/")
    page.click(f"button[data-lang='{lang}']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == lang


def visit_every_page(page: Any, live_app: LiveServer, lang: str) -> list[str]:
    """Open each page at each width; return the problems found (all of them, not the first)."""
    values = _seed(live_app.app)
    _login(page, live_app, lang)
    problems: list[str] = []
    pages = console_pages(live_app.app, values)
    assert len(pages) >= 15, pages  # the url_map really was read
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        for path in pages:
            response = page.goto(f"{live_app.url}{path}")
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            if "/flows/" in path:
                page.wait_for_function("document.body.dataset.diagram !== undefined")
            if page.evaluate(OVERFLOW):
                wide = page.evaluate("document.documentElement.scrollWidth")
                problems.append(f"{path} at {width}px is {wide}px wide")
                screenshot(page, f"overflow-{lang}-{width}-{path.strip('/').replace('/', '-')}")
            problems.extend(f"{path} ({lang}): {problem}" for problem in extra_checks(page, lang))
    return problems


# Stored codes an Italian or Dutch operator must never read as they are (status, kind,
# priority, outcome, purpose, direction). Words that are the same in the language ("open" in
# Dutch) are not listed.
RAW_CODES = ("completed", "no-answer", "in-progress", "scheduled", "missed", "cancelled", "running",
             "in_progress", "resolved", "fault", "warranty", "delivery_chase", "unanswered_question",
             "normal", "urgent", "needs_review", "accepted", "unknown_serial", "legal_guarantee",
             "commercial_warranty", "survey", "inbound", "outbound", "complete", "sales")
CODE_PLACES = "main td, main dd, main option, main .status, main figure text, main .figure"
VISIBLE_TEXT = f"Array.from(document.querySelectorAll('{CODE_PLACES}')).map(e => e.textContent.trim())"


def extra_checks(page: Any, lang: str) -> list[str]:
    """Table cells, facts, options, badges and chart labels that are a bare code, in it or nl."""
    if lang == "en":
        return []
    texts = page.evaluate(VISIBLE_TEXT)
    return sorted({f"raw code {text!r}" for text in texts if text in RAW_CODES})


@pytest.mark.parametrize("lang", ["it", "nl", "en"])
def test_every_console_page_fits_phone_and_laptop(page: Any, live_app: LiveServer, lang: str) -> None:
    problems = visit_every_page(page, live_app, lang)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console/callbacks", "/console/calls", "/console/campaigns", "/console/flows/support_hotline"):
        page.goto(f"{live_app.url}{path}")
        page.wait_for_load_state("networkidle")
        screenshot(page, f"console-phone-{lang}-{path.rsplit('/', 1)[1]}")
    # The flow diagram is drawn to the phone's width; zoomed in it scrolls inside its own box.
    page.click("#diagram-zoom [data-zoom='in']")
    page.click("#diagram-zoom [data-zoom='in']")
    box = "document.getElementById('flow-diagram')"
    assert page.evaluate(f"{box}.scrollWidth > {box}.clientWidth")
    assert not page.evaluate(OVERFLOW)
    screenshot(page, f"console-phone-{lang}-flow-zoomed")
    assert not problems, "\n".join(problems)
