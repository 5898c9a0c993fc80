"""The operator desk in a real (headless Debian Chromium) browser: go available, take a
simulated caller who pressed 0, see the screen pop, wrap up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.db import session_scope
from app.desk.models import DeskOperator
from app.sim import QueuePlan
from app.sim.fake_twilio import FakeTwilio
from app.sim.line import install
from app.sim.pytest_plugin import point_app_at
from app.sim.simulator import Simulator
from tests.browser.conftest import screenshot
from tests.console_support import PASSWORD, add_operator
from tests.desk_support import minutes, operator
from tests.test_desk_calls import WEDNESDAY

pytestmark = pytest.mark.timeout(900)  # the first test may install chromium with apt-get

PHONE = "+393331110001"
CALLER = "+393471234567"


@pytest.fixture
def phones(live_app: Any) -> Iterator[Simulator]:
    """The fake Twilio account the live app rings operators through, and a simulator for callers."""
    app = live_app.app
    settings = app.extensions["cortese.settings"]
    fake = FakeTwilio(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                      clock=app.extensions["cortese.clock"])
    fake.start()
    point_app_at(app, fake)
    simulator = Simulator.for_app(app, twilio=fake)
    fake.attach(simulator.requester)
    try:
        yield simulator
    finally:
        fake.stop()


def test_go_available_take_a_caller_see_the_screen_pop_and_wrap_up(page: Any, live_app: Any,
                                                                    phones: Simulator) -> None:
    live_app.app.extensions["cortese.clock"].set(WEDNESDAY)
    add_operator(live_app.app, "olga", display_name="Olga", language="en")
    page.goto(f"{live_app.url}/console/login")
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_app.url}/console/")
    page.click("nav a[href='/console/desk']")
    page.fill("#profile-phone", "+39 333 111 0001")
    page.check("#lang-it")
    page.check("#skill-support")
    page.click("#profile-submit")
    page.wait_for_selector(".flash:has-text('Profile saved')")
    page.click("#go-available")
    page.wait_for_selector("#desk-state[data-state='available']")

    assert phones.twilio is not None
    phones.twilio.script(PHONE, inputs=["1"])
    caller = phones.inbound(from_=CALLER, to="+390212345678", queue=QueuePlan("wait"))
    caller.press("0")
    (phone,) = phones.twilio.ring_pending()
    assert phone.heard("Caller speaks Italian") and caller.talking_with == [phone.sid]

    page.goto(f"{live_app.url}/console/desk")
    page.wait_for_selector("#screen-pop")
    assert CALLER in page.locator("#pop-number").inner_text()
    assert page.locator("#desk-state").get_attribute("data-state") == "busy"
    assert page.locator("#pop-said td:has-text('0')").count() >= 1
    screenshot(page, "desk-screen-pop")

    caller.hangup()
    page.goto(f"{live_app.url}/console/desk")
    page.select_option("#wrapup-outcome", "resolved")
    page.fill("#wrapup-note", "explained the new router settings")
    page.click("#wrapup-submit")
    page.wait_for_selector(".flash:has-text('Wrapped up')")
    assert page.locator("#desk-state").get_attribute("data-state") == "available"
    assert page.locator("#screen-pop").count() == 0
    screenshot(page, "desk-wrapped-up")


def test_the_browser_softphone_is_the_operators_phone(page: Any, live_app: Any, phones: Simulator) -> None:
    """The desk rings the operator's number; the softphone (live line, app/sim/line.py) rings,
    answers with the whisper, presses 1, is in the conference with the caller, hangs up."""
    app = live_app.app
    app.extensions["cortese.clock"].set(WEDNESDAY)
    with session_scope(app) as s:
        operator(s, "anna", phone=PHONE, languages=("it",), since=WEDNESDAY - minutes(10))
    line = install(app, phones)
    assert phones.twilio is not None
    phones.twilio.start_ringing(interval=0.2, drive=line.ring)
    caller_id, caller = line.place(CALLER, "+390212345678")
    with line.using(caller_id):
        caller.press("0")  # waits in the queue; the desk rings the operator's number

    page.goto(f"{live_app.url}/sim/softphone")
    page.click("#incoming button.answer", timeout=20_000)
    page.wait_for_selector("#transcript li.say:has-text('Caller speaks Italian')")
    page.click("button.key[data-key='1']")
    page.wait_for_selector("#status:has-text('talking in a conference')")
    assert page.locator("button.key[data-key='1']").is_disabled()  # people talk now
    with line.using(caller_id):
        assert caller.in_conference and len(caller.talking_with) == 1
    screenshot(page, "desk-softphone-operator")
    page.click("#hangup")
    page.wait_for_selector("#status:has-text('Call ended')")
    with line.using(caller_id):
        assert caller.ended and caller.heard("Grazie per aver chiamato")
    with session_scope(app) as s:
        assert s.query(DeskOperator).one().state == "wrapup"
