"""A live line for the browser softphone: simulated calls kept in this process, not pickled.

The softphone normally keeps each call in a signed file so any worker can continue it, which
cuts it off from everything else in the simulated Twilio account: it cannot sit in a
conference with another call, be taken out of a queue, or hear a REST update. When the fake
Twilio runs in the app's own process (`cortese sim serve`, the browser tests), a LiveLine
keeps the softphone's calls as live objects instead:

- calls the softphone places are adopted by the fake Twilio, so the operator desk can take
  them out of the queue (Queue Members API) into a conference;
- calls the app places (an operator's phone rung by the desk, a callback, a campaign) ring
  on the softphone; answering one shows the whisper, keys press into it, and its conference
  is the same one the caller joins.

One process only: a second worker would not see these calls.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import Flask

from app import create_app
from app.sim.call import QueuePlan, SimCall
from app.sim.fake_twilio import FakeTwilio
from app.sim.simulator import Simulator

if TYPE_CHECKING:
    from app.config import Settings
    from app.sim.fake_twilio import FakeTwilio

EXTENSION = "cortese.sim_line"


class LiveLine:
    """The softphone's live calls by id, each used by one request at a time."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._calls: dict[str, SimCall] = {}
        self._lock = threading.RLock()

    def _add(self, call: SimCall) -> str:
        call_id = secrets.token_urlsafe(18)
        with self._lock:
            self._calls[call_id] = call
        return call_id

    def place(self, from_: str, to: str | None) -> tuple[str, SimCall]:
        """A call from the softphone to our number; it waits in a queue until the app takes
        it out (as on Twilio), rather than the simulator pretending it was bridged."""
        with self._lock:
            call = self.simulator.inbound(from_=from_, to=to, queue=QueuePlan("wait"))
            return self._add(call), call

    def ring(self, call: SimCall) -> None:
        """The fake Twilio's ringer hands over a call the app placed (its `drive`)."""
        if not call.ended:
            self._add(call)

    def incoming(self) -> list[tuple[str, SimCall]]:
        """Calls the app placed that are still live, oldest first."""
        with self._lock:
            return [(cid, call) for cid, call in self._calls.items()
                    if call.direction != "inbound" and not call._ended]

    def __contains__(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._calls

    @contextmanager
    def using(self, call_id: str) -> Iterator[SimCall]:
        """The call, for one action; one action at a time on the whole line, since a key
        pressed on one call can drive another (a conference ending, a caller dequeued)."""
        with self._lock:
            yield self._calls[call_id]


    def settle(self) -> None:
        """Let every live call take the REST updates waiting for it (a caller taken out of the
        queue joins the conference), as Twilio does on its own within a moment."""
        with self._lock:
            for call in self._calls.values():
                if not call._ended:
                    call.poll()


def install(app: Flask, simulator: Simulator) -> LiveLine:
    line = LiveLine(simulator)
    app.extensions[EXTENSION] = line
    return line


def serve_app(settings: Settings) -> tuple[Flask, FakeTwilio, LiveLine]:
    """The app with a fake Twilio in this process and the softphone on a live line (for
    `cortese sim serve`): every REST request the app makes goes to the fake, every call the
    fake rings rings on the softphone, every webhook comes back in-process, signed."""
    fake = FakeTwilio(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                      api_key_sid=settings.twilio_api_key_sid, api_key_secret=settings.twilio_api_key_secret)
    base = fake.start()
    app = create_app(settings.model_copy(update={"twilio_api_base_url": base}))
    simulator = Simulator.for_app(app, twilio=fake)
    fake.attach(simulator.requester)
    line = install(app, simulator)
    fake.start_ringing(interval=0.5, drive=line.ring)
    return app, fake, line


def line_of(app: Flask) -> LiveLine | None:
    line = app.extensions.get(EXTENSION)
    return line if isinstance(line, LiveLine) else None
