"""Simulator: places simulated inbound calls against the app, in-process or over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

from app.sim.call import QueuePlan, SimCall
from app.sim.conference import Switchboard
from app.sim.transport import HttpTransport, InProcessTransport, Requester, Transport

if TYPE_CHECKING:
    from app.sim.fake_twilio import FakeTwilio

DEFAULT_CALLER = "+393331234567"


class Simulator:
    """Places calls the way Twilio would deliver them to the app's webhooks.

    `inbound()` rings the app's Voice URL (PUBLIC_BASE_URL + /voice/inbound by default) with
    Twilio's signed parameters and returns the running SimCall; `twilio` is the FakeTwilio
    REST server the app's gateway talks to (None when not wired).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        account_sid: str,
        auth_token: str,
        public_base_url: str,
        our_number: str,
        twilio: FakeTwilio | None = None,
        clock: Any | None = None,
        move_clock: bool = False,
    ) -> None:
        self.transport = transport
        self.requester = Requester(transport, auth_token)
        self.account_sid = account_sid
        self.public_base_url = public_base_url.rstrip("/")
        self.our_number = our_number
        self.twilio = twilio
        self.clock = clock
        self.move_clock = move_clock
        self.calls: list[SimCall] = []
        # Conferences are Twilio's: shared with the fake REST API's calls when there is one.
        self.switchboard = twilio.switchboard if twilio is not None else Switchboard()

    @classmethod
    def for_app(
        cls,
        app: Flask,
        *,
        twilio: FakeTwilio | None = None,
        timer: Callable[[], float] = time.monotonic,
        move_clock: bool = False,
    ) -> Simulator:
        """In-process: requests go through the app's test client, signed over PUBLIC_BASE_URL."""
        settings = app.extensions["cortese.settings"]
        transport = InProcessTransport(app, settings.public_base_url, timer=timer)
        return cls(transport, account_sid=settings.twilio_account_sid,
                   auth_token=settings.twilio_auth_token,
                   public_base_url=settings.public_base_url,
                   our_number=settings.twilio_caller_id, twilio=twilio,
                   clock=app.extensions.get("cortese.clock"), move_clock=move_clock)

    @classmethod
    def over_http(
        cls,
        *,
        public_base_url: str,
        account_sid: str,
        auth_token: str,
        our_number: str,
        send_to: str | None = None,
    ) -> Simulator:
        """A running server: `send_to` (http://127.0.0.1:5000) or the public URL itself."""
        transport = HttpTransport(public_base_url, send_to=send_to)
        return cls(transport, account_sid=account_sid, auth_token=auth_token,
                   public_base_url=public_base_url, our_number=our_number)

    def url(self, path_or_url: str | None) -> str | None:
        if not path_or_url:
            return None
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.public_base_url + "/" + path_or_url.lstrip("/")

    def _started_at(self) -> Any:
        return self.clock.now() if self.clock is not None else None

    def inbound(
        self,
        from_: str = DEFAULT_CALLER,
        to: str | None = None,
        *,
        path: str = "/voice/inbound",
        status_callback: str | None = "/voice/status",
        fallback: str | None = "/voice/fallback",
        events: Iterable[str] = ("completed",),
        delivery: str = "ordered",
        seed: int = 0,
        dial: Iterable[str] = (),
        queue: QueuePlan | None = None,
        method: str = "POST",
        replay: bool = False,
        **extra: str,
    ) -> SimCall:
        """Ring the app like a caller dialling `to` (default: our own Twilio number).

        Twilio sends a number's status callback only for the final status by default, so
        `events` defaults to ("completed",); pass app.sim.call.STATUS_EVENTS for all four.
        `delivery` = ordered | shuffled | duplicated | chaos (callbacks held until the call
        ends, then sent out of order and/or twice). `dial` lists <Dial> outcomes in order
        (completed, answered, busy, no-answer, failed, canceled, hangup); `queue` scripts
        <Enqueue>. `replay=True` sends every webhook twice, as Twilio does when it retries,
        to prove the app never advances twice. `extra` are more Twilio parameters
        (CallerName=..., ForwardedFrom=...).
        """
        call = SimCall(
            self.requester,
            account_sid=self.account_sid,
            from_=from_,
            to=to or self.our_number,
            direction="inbound",
            status_callback=self.url(status_callback),
            events=events,
            delivery=delivery,
            seed=seed,
            fallback_url=self.url(fallback),
            extra_params=extra,
            started_at=self._started_at(),
            clock=self.clock if self.move_clock else None,
            dial_outcomes=dial,
            queue=queue,
            replay=replay,
            switchboard=self.switchboard,
        )
        self.calls.append(call)
        if self.twilio is not None:
            self.twilio.adopt(call)
        url = self.url(path)
        assert url is not None
        return call.start(url, method)

    def outbound(
        self,
        to: str = DEFAULT_CALLER,
        path: str = "/voice/outbound",
        *,
        from_: str | None = None,
        answered_by: str | None = None,
        status_callback: str | None = "/voice/status",
        events: Iterable[str] = ("completed",),
        delivery: str = "ordered",
        seed: int = 0,
        dial: Iterable[str] = (),
        queue: QueuePlan | None = None,
        replay: bool = False,
        **extra: str,
    ) -> SimCall:
        """A call the app placed, answered at once, without going through FakeTwilio: fetches
        `path` as Twilio fetches a created call's Url (Direction outbound-api, From our number,
        AnsweredBy when given). For the whole REST round trip use `twilio.ring_pending()`."""
        call = SimCall(
            self.requester, account_sid=self.account_sid, from_=from_ or self.our_number,
            to=to, direction="outbound-api", status_callback=self.url(status_callback),
            events=events, delivery=delivery, seed=seed, extra_params=extra,
            answered_by=answered_by, started_at=self._started_at(),
            clock=self.clock if self.move_clock else None, dial_outcomes=dial, queue=queue,
            replay=replay, switchboard=self.switchboard,
        )
        self.calls.append(call)
        url = self.url(path)
        assert url is not None
        return call.start(url)
