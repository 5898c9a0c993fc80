"""Helpers for desk tests: operators (console users with a desk profile) and waiting callers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.desk.models import AVAILABLE, WAITING, DeskOperator, QueueEntry
from app.operators.users import create_user
from app.telephony import CallInfo, InvalidNumberError

PASSWORD = "desk-password-123"


def operator(session: Session, name: str, *, phone: str, languages: Iterable[str] = ("it",),
             skills: Iterable[str] = ("support",), state: str = AVAILABLE, since: datetime,
             ui_language: str = "en") -> DeskOperator:
    user = create_user(session, name, PASSWORD, at=since, language=ui_language)
    op = DeskOperator(user_id=user.id, phone=phone, languages=list(languages), skills=list(skills),
                      state=state, state_since=since)
    session.add(op)
    session.flush()
    return op


def waiting(session: Session, *, at: datetime, language: str = "it", priority: bool = False,
            skill: str | None = None, caller: str = "+393471234567", reason: str = "operator") -> QueueEntry:
    entry = QueueEntry(call_sid="CA" + uuid.uuid4().hex, queue="support-priority" if priority else "support",
                       queue_sid="QU" + uuid.uuid4().hex, caller=caller, language=language,
                       skill=skill or ("complaints" if priority else "support"), reason=reason,
                       priority=priority, complaint=priority, recognised=False, details={},
                       status=WAITING, offers=0, enqueued_at=at)
    session.add(entry)
    session.flush()
    return entry


class RingingGateway:
    """Stands in for TwilioGateway in routing tests: records whom the desk rang for which offer."""

    def __init__(self, fail_numbers: Iterable[str] = ()) -> None:
        self.rings: list[tuple[str, int]] = []  # (operator phone, offer id)
        self.fail_numbers = set(fail_numbers)
        self._lock = threading.Lock()

    def place_call(self, to: str, url: str, **_: Any) -> CallInfo:
        if to in self.fail_numbers:
            raise InvalidNumberError("The 'To' number is not a valid phone number.", code=21211, status=400)
        offer = int(url.split("offer=", 1)[1].split("&", 1)[0])
        with self._lock:
            self.rings.append((to, offer))
        return CallInfo(sid="CA" + uuid.uuid4().hex, status="queued", to=to, from_="+390212345678",
                        direction="outbound-api")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
