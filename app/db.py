"""Engine, sessions and the declarative Base (with a naming convention Alembic can rely on).

Routes use `db_session()` (one session per request, closed at teardown). Code that runs
outside a request (scheduler jobs, CLI) uses `session_scope(app)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Insert, MetaData, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always reads them back aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True, "json_serializer": lambda o: json.dumps(o, default=str)}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets gunicorn workers and the scheduler read while one writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is crash-safe for the application; only a power cut can lose the
    # last commits. FULL would fsync on every webhook.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["cortese.engine"] = engine
    app.extensions["cortese.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_request_session)


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["cortese.engine"]


def db_session() -> Session:
    """The session of the current request/app context (created on first use)."""
    if "cortese_session" not in g:
        g.cortese_session = current_app.extensions["cortese.sessionmaker"]()
    return g.cortese_session


def _close_request_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("cortese_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """A session outside requests: commits on success, rolls back on error."""
    factory = (app or current_app).extensions["cortese.sessionmaker"]
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_skipping_duplicates(session: Session, table: Table) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING` for the session's database: a row whose unique key
    exists is skipped rather than failing, so the transaction goes on without a SAVEPOINT."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"cortese runs on SQLite or PostgreSQL, not {dialect}")


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched: what a claim or a conditional write turns on.
    (Session.execute types its result as a plain Result, which has no rowcount.)"""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def ping(app: Flask | None = None) -> None:
    with get_engine(app).connect() as conn:
        conn.execute(text("SELECT 1"))


def import_models() -> None:
    """Import every module that defines tables so Base.metadata is complete (Alembic, tests)."""
    import importlib
    import pkgutil

    import app as package

    importlib.import_module("app.models")
    for info in pkgutil.walk_packages(package.__path__, prefix="app."):
        if info.name.endswith(".models"):
            importlib.import_module(info.name)
