"""Operator accounts: create, authenticate, and who is logged in to this request."""

from __future__ import annotations

import re
from datetime import datetime

from flask import g, session
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.console.models import OperatorUser

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
SESSION_KEY = "operator_id"
# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


class UserError(ValueError):
    """A bad username or password given to create_user (message names the field)."""


def find_user(session_: Session, username: str) -> OperatorUser | None:
    return session_.scalar(select(OperatorUser).where(OperatorUser.username == username.lower()))


def create_user(session_: Session, username: str, password: str, *, at: datetime,
                display_name: str | None = None, language: str | None = None) -> OperatorUser:
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
                        display_name=display_name, language=language, active=True, created_at=at)
    session_.add(user)
    session_.flush()
    return user


def set_password(user: OperatorUser, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)


def authenticate(session_: Session, username: str, password: str, *, at: datetime) -> OperatorUser | None:
    user = find_user(session_, username.strip()[:64]) if username else None
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = at
    return user


def current_operator() -> OperatorUser | None:
    """The operator logged in to this request's session, if any (cached on `g`)."""
    if "console_operator" in g:
        return g.console_operator
    from app.db import db_session

    operator = None
    user_id = session.get(SESSION_KEY)
    if isinstance(user_id, int):
        candidate = db_session().get(OperatorUser, user_id)
        if candidate is not None and candidate.active:
            operator = candidate
    g.console_operator = operator
    return operator
