"""Console operators: people who log in to the operator pages (passwords stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class OperatorUser(Base):
    __tablename__ = "console_operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # werkzeug.security scrypt hash; the clear password is never stored or logged.
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(8))
    # Where this operator works (IANA name): the console's times and "today" on their clock.
    # None: the console's zone (CONSOLE_TIME_ZONE).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Every session cookie carries the generation it was issued in; logging out, a new
    # password or disabling the account moves it on, so every earlier cookie stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginFailure(Base):
    """One failed console login, kept for the throttle (by username and by client address):
    in the database, so every worker process and server counts the same failures."""

    __tablename__ = "console_login_failures"
    __table_args__ = (Index("ix_console_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))  # "pair:olga|203.0.113.7", "user:olga" or "addr:203.0.113.7"
    at: Mapped[datetime] = mapped_column(UTCDateTime())
