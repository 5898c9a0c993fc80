"""Operator accounts: create, authenticate (throttled), revocable sessions, and who is logged in
to this request.

Sessions are Flask's signed cookies, made revocable by a per-operator generation: the cookie
carries the generation it was issued in, and logging out, a new password or disabling the
account moves the operator's generation on, which ends every cookie issued before (also one
copied elsewhere). Failed logins are counted in the database by username and by client
address over a sliding window: past the limit, no password is checked until the window has
moved on, with the same answer whether the username exists or not."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, session
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import db_session
from app.operators.models import LoginFailure, OperatorUser
from app.refusals import Refusal

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
SESSION_KEY = "operator_id"
GENERATION_KEY = "operator_generation"
# OWASP's guidance for a login a person uses: a handful of tries per account from one address,
# more per address (one office shares an address), over a window long enough to make guessing
# useless. An account is only locked for everyone at a far higher count: five wrong passwords
# from anywhere must not keep its owner out (a lock-out anyone could cause by typing a name),
# while guessing from many addresses is still stopped.
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5  # from one address
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_ACCOUNT = 100  # from every address together
# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


class UserError(Refusal):
    """A bad username or password given to create_user (message names the field)."""

    def __init__(self, message: str) -> None:
        super().__init__("operator_account", message)


def find_user(session_: Session, username: str) -> OperatorUser | None:
    return session_.scalar(select(OperatorUser).where(OperatorUser.username == username.lower()))


def create_user(session_: Session, username: str, password: str, *, at: datetime,
                display_name: str | None = None, language: str | None = None,
                time_zone: str | None = None) -> OperatorUser:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError("username: 2-64 characters, lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if language not in (None, "it", "nl", "en"):
        raise UserError("language: one of it, nl, en")
    if find_user(session_, username) is not None:
        raise UserError(f"username: {username!r} already exists")
    user = OperatorUser(username=username, password_hash=generate_password_hash(password),
                        display_name=display_name, language=language, active=True, created_at=at,
                        time_zone=valid_zone(time_zone))
    session_.add(user)
    session_.flush()
    return user


def set_password(user: OperatorUser, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)
    revoke_sessions(user)  # whoever knew the old password is logged out everywhere


class LoginThrottled(Exception):
    """Too many failed logins for this username or from this address; retry after `wait`."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"too many failed logins; retry in {wait}")
        self.wait = wait

    @property
    def minutes(self) -> int:
        return max(1, -(-int(self.wait.total_seconds()) // 60))


def _keys(username: str, address: str | None) -> list[tuple[str, int]]:
    """The counters a failure adds to, with their limits: the account from this address, the
    address, and the account from everywhere."""
    user = username.strip().lower()[:64]
    # Prefixes of their own: a made-up username ("olga|10.0.0.1") never counts as another
    # key. The pair's key fits the column's 120 characters.
    keys = [(f"pair:{user}|{(address or '')[:50]}", MAX_FAILURES_PER_USER),
            (f"user:{user}", MAX_FAILURES_PER_ACCOUNT)]
    if address:
        keys.append((f"addr:{address[:100]}", MAX_FAILURES_PER_ADDRESS))
    return keys


def throttle_wait(session_: Session, username: str, address: str | None, at: datetime) -> timedelta | None:
    """How long logins for `username` or from `address` must wait, or None."""
    waits = []
    for key, limit in _keys(username, address):
        recent = session_.scalars(
            select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > at - FAILURE_WINDOW)
            .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) >= limit:  # free again when the oldest of the last `limit` leaves the window
            waits.append(recent[-1] + FAILURE_WINDOW - at)
    return max(waits) if waits else None


def _record_failure(session_: Session, username: str, address: str | None, at: datetime) -> None:
    session_.execute(delete(LoginFailure).where(LoginFailure.at <= at - FAILURE_WINDOW))
    session_.add_all(LoginFailure(key=key, at=at) for key, _ in _keys(username, address))


def authenticate(session_: Session, username: str, password: str, *, at: datetime,
                 address: str | None = None) -> OperatorUser | None:
    """The operator, or None for a wrong username/password (the failure is recorded; the
    caller commits). Raises LoginThrottled, before any password is checked, past the limits."""
    wait = throttle_wait(session_, username, address, at)
    if wait is not None:
        raise LoginThrottled(wait)
    user = find_user(session_, username.strip()[:64]) if username else None
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        _record_failure(session_, username, address, at)
        return None
    if not check_password_hash(user.password_hash, password):
        _record_failure(session_, username, address, at)
        return None
    user.last_login_at = at
    mine = [key for key, _ in _keys(username, address) if not key.startswith("addr:")]
    session_.execute(delete(LoginFailure).where(LoginFailure.key.in_(mine)))
    return user


def revoke_sessions(user: OperatorUser) -> None:
    """End every console session of `user` (the caller commits)."""
    user.session_generation = (user.session_generation or 0) + 1


def valid_zone(name: str | None) -> str | None:
    """An operator's time zone as stored: an IANA name, or None (the console's own zone) for
    none given; UserError for a name that is no zone."""
    name = (name or "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name).key
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"time_zone: {name!r} is not an IANA time zone such as Europe/London") from None


def set_time_zone(user: OperatorUser, name: str | None) -> None:
    """Where the operator works, or None for the console's zone."""
    user.time_zone = valid_zone(name)


def set_active(user: OperatorUser, active: bool) -> None:
    """Disable (ending every session; logins refused) or enable an operator."""
    user.active = active
    revoke_sessions(user)


def current_operator() -> OperatorUser | None:
    """The operator logged in to this request's session, if any (cached on `g`)."""
    if "console_operator" in g:
        return g.console_operator
    operator = None
    user_id = session.get(SESSION_KEY)
    if isinstance(user_id, int):
        candidate = db_session().get(OperatorUser, user_id)
        if (candidate is not None and candidate.active
                and session.get(GENERATION_KEY) == candidate.session_generation):
            operator = candidate
    g.console_operator = operator
    return operator
