"""Helpers for callback tests: a thread-safe recording gateway and a booking shortcut."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.callbacks import service
from app.callbacks.models import Callback
from app.telephony import CallInfo


class RecordingGateway:
    """Stands in for TwilioGateway: records every dial (callback id from the Url)."""

    def __init__(self, on_dial: Callable[[str], None] | None = None) -> None:
        self.dials: list[tuple[int, str]] = []
        self.hung_up: list[str] = []
        self.on_dial = on_dial
        self._lock = threading.Lock()

    def place_call(self, to: str, url: str, **_: Any) -> CallInfo:
        sid = "CA" + uuid.uuid4().hex
        with self._lock:
            self.dials.append((int(url.rsplit("cb=", 1)[1]), sid))
        if self.on_dial is not None:
            self.on_dial(sid)
        return CallInfo(sid=sid, status="queued", to=to, from_="+390212345678", direction="outbound-api")

    def fetch_call(self, sid: str) -> CallInfo:
        return CallInfo(sid=sid, status="in-progress", to="", from_="", direction="outbound-api")

    def hang_up(self, sid: str) -> CallInfo:
        self.hung_up.append(sid)
        return self.fetch_call(sid)

    @property
    def dialled_ids(self) -> list[int]:
        return [cb for cb, _ in self.dials]

    def duplicates(self) -> dict[int, int]:
        return {cb: n for cb, n in Counter(self.dialled_ids).items() if n > 1}


def book(session: Any, e164: str, due: datetime, *, at: datetime, language: str = "it",
         zone: str = "Europe/Rome", reason: str = "support") -> Callback:
    return service.book(session, service.Booking(e164=e164, due_at=due, time_zone=zone, language=language,
                                                 reason=reason), at=at, by="test")


def no_pause(_seconds: float) -> None:
    """Pacing without sleeping (tests move time, never wait)."""
