"""pytest plugin: `sim` (a Simulator bound to the test's `app`) and `fake_twilio`.

Registered in tests/conftest.py with ``pytest_plugins = ["app.sim.pytest_plugin"]``.

- ``fake_twilio`` starts FakeTwilio on a free localhost port and points
  ``settings["TWILIO_API_BASE_URL"]`` at it, so the app's TwilioGateway really speaks HTTP to
  it. Request it (or ``sim``) *before* anything builds ``app`` — listing it first in the test's
  arguments is enough. If ``app`` was built first anyway, ``sim`` re-points the app's gateway
  at the fake, so both orders work.
- ``sim`` = Simulator.for_app(app, twilio=fake_twilio): ``sim.inbound(from_=..., to=...)``,
  ``sim.twilio.ring_pending()``. Nothing happens in the background.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.sim.fake_twilio import FakeTwilio
from app.sim.simulator import Simulator
from app.telephony import TwilioGateway


@pytest.fixture
def fake_twilio(settings: dict[str, Any], clock: Any) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(
        account_sid=settings["TWILIO_ACCOUNT_SID"],
        auth_token=settings["TWILIO_AUTH_TOKEN"],
        api_key_sid=settings.get("TWILIO_API_KEY_SID"),
        api_key_secret=settings.get("TWILIO_API_KEY_SECRET"),
        clock=clock,
    )
    settings["TWILIO_API_BASE_URL"] = fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def point_app_at(app: Flask, fake: FakeTwilio) -> None:
    """Re-point an already built app's gateway at the fake (when `app` was built first)."""
    settings = app.extensions["cortese.settings"]
    if settings.twilio_api_base_url == fake.base_url:
        return
    settings = settings.model_copy(update={"twilio_api_base_url": fake.base_url})
    app.extensions["cortese.settings"] = settings
    app.extensions["cortese.gateway"] = TwilioGateway(settings)


@pytest.fixture
def sim(fake_twilio: FakeTwilio, app: Flask) -> Simulator:
    point_app_at(app, fake_twilio)
    simulator = Simulator.for_app(app, twilio=fake_twilio)
    fake_twilio.attach(simulator.requester)
    return simulator
