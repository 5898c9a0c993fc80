"""Engine, sessions and the declarative Base (with a naming convention Alembic can rely on).

Routes use `db_session()` (one session per request, closed at teardown). Code that runs
outside a request (scheduler jobs, CLI) uses `session_scope(app)`.

Lock waits: SQLite has one writer at a time, so a write waits for the lock (its busy timeout,
PostgreSQL's lock_timeout). That wait is `DEFAULT_LOCK_WAIT_SECONDS` for the CLI, the API and
jobs, and shorter inside `lock_wait(seconds)` (the voice webhooks, so a caller hears an apology
instead of Twilio's timeout). Bulk work commits in short transactions (`write_transaction`,
which also retries a write that found the database locked); `write_in_slices` sizes them by
time, so a slow disk or a busy CPU makes them smaller instead of longer.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Insert,
    MetaData,
    Table,
    column,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine, Result, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.prepared import Statements

log = logging.getLogger(__name__)

APP_DIR = Path(__file__).resolve().parent  # the `app` package, whose models import_models finds

# How long a write waits for another writer's lock outside `lock_wait()`.
DEFAULT_LOCK_WAIT_SECONDS = 30.0
# Inside lock_wait(): (seconds per wait, the monotonic time by which all waiting must end).
_lock_wait: ContextVar[tuple[float, float] | None] = ContextVar("cortese_lock_wait", default=None)
T = TypeVar("T")
R = TypeVar("R")
# Bulk work (imports, purges) commits after about this much work in one transaction: a webhook
# that finds the write lock taken waits about this long, far under its own lock wait.
BULK_TRANSACTION_SECONDS = 0.05
# Then, on SQLite, it lets go of the lock this long, so writers polling in SQLite's busy
# handler (every 1-100 ms) get in before it takes the lock again. PostgreSQL queues lock
# waiters and wakes them on release: no pause there.
BULK_PAUSE_SECONDS = 0.025

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(name: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK that column `name` holds one of `values`, the states the code knows (NULL
    passes). Built from the code's own tuple, so the model cannot drift from it; a migration
    freezes the list, and tests/test_migrations.py compares the two."""
    return CheckConstraint(column(name).in_(sorted(values)), name=name)


class CorteseSession(Session):
    """A session whose commit and rollback also end what prepared statements did on its
    connection (app.prepared runs them on the DB-API connection, which the session's own
    bookkeeping does not see when it has not begun a transaction itself)."""

    def commit(self) -> None:
        if self.in_transaction() or not isinstance(self.bind, Connection):
            super().commit()
        driver = self._driver()
        if driver is not None:  # the ORM may have done nothing (a webhook's usual turn)
            driver.commit()

    def rollback(self) -> None:
        super().rollback()
        driver = self._driver()
        if driver is not None:
            driver.rollback()

    def _driver(self) -> Any:
        """The DB-API connection of the request's connection (None for other sessions)."""
        bind = self.bind
        return bind.connection.dbapi_connection if isinstance(bind, Connection) and not bind.closed else None


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always reads them back aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return _to_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return _as_utc(value)

    # Prepared statements (app.prepared) convert with these: the same values as the type's
    # bind and result processors (tests/test_prepared_types.py holds them to SQLAlchemy's),
    # in one call per value instead of three or four. Every webhook's turn writes several.
    def prepared_bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        inner = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)
        if inner is None:
            return _to_utc
        composed = self.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "sqlite" and _agree(_sqlite_text, composed, _SAMPLES):
            return _sqlite_text
        return composed

    def prepared_result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        inner = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        if inner is None:
            return _as_utc
        composed = self.dialect_impl(dialect).result_processor(dialect, coltype)
        if composed is not None and dialect.name == "sqlite":
            fast = _sqlite_datetime(composed)
            if _agree(fast, composed, [_sqlite_text(value) for value in _SAMPLES]):
                return fast
        return composed


def _to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value.astimezone(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# The last value _sqlite_text converted, and its text: a turn writes the same `now` in the
# call's row and in each of its steps. One tuple, so a thread never sees half of a pair.
_last_text: list[tuple[Any, str | None]] = [(None, None)]


def _sqlite_text(value: datetime | None) -> str | None:
    """SQLite's DATETIME text of `value` in UTC ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    last = _last_text[0]
    if value is last[0]:  # datetimes are immutable: the same object, the same text
        return last[1]
    utc = _to_utc(value)
    if utc is None:
        return None
    text = utc.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
    _last_text[0] = (value, text)
    return text


def _sqlite_datetime(slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An aware UTC datetime from the text _sqlite_text writes; any other text is left to
    SQLAlchemy's own processor (`slow`)."""
    parse = datetime.fromisoformat

    def process(value: str | None) -> datetime | None:
        if value is None:
            return None
        if len(value) == 26 and value[10] == " ":  # the shape _sqlite_text writes
            try:  # parses only when the text has no offset of its own
                return parse(value + "+00:00")
            except ValueError:
                pass
        return cast("datetime | None", slow(value))

    return process


# Values the fast conversions must agree on with SQLAlchemy's before they are used: a dialect
# configured another way (a custom storage format) keeps SQLAlchemy's.
_SAMPLES = (datetime(2026, 11, 25, 14, 0, 0, 123456, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None)


def _agree(fast: Callable[[Any], Any], slow: Callable[[Any], Any] | None, values: Iterable[Any]) -> bool:
    return slow is not None and all(fast(value) == slow(value) for value in values)


# JSON columns (a call's slots and counters, steps' details): one encoder for every value,
# not a new one per json.dumps call with `default=`; a value JSON cannot hold is written as text.
_JSON = json.JSONEncoder(default=str)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    # hide_parameters: a database error's text must never carry bound values (callers' numbers,
    # what they said) into the logs; the SQL is kept, the values are not.
    kwargs: dict[str, Any] = {"future": True, "json_serializer": _JSON.encode,
                              "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": DEFAULT_LOCK_WAIT_SECONDS}
    engine = create_engine(url, **kwargs)
    event.listen(engine, "engine_disposed", _release_held)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_write_lock_before_savepoint)
        event.listen(engine, "checkout", _sqlite_lock_wait)
    elif parsed.get_backend_name() == "postgresql":
        event.listen(engine, "checkout", _postgres_alive)
        event.listen(engine, "checkout", _postgres_lock_wait)
    return engine


def _postgres_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server went away (a restart, a failover, an idle timeout) is
    replaced before use. An idle connection has nothing to read: if its socket is readable,
    the server has closed it (or sent what only a dying session sends). Unlike a pre-ping this
    costs no round trip, which every webhook would pay; the pool retries the checkout with a
    fresh connection when this raises (SQLAlchemy's documented disconnect handling)."""
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise DisconnectionError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets gunicorn workers and the scheduler read while one writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is crash-safe for the application; only a power cut can lose the
    # last commits. FULL would fsync on every webhook.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(DEFAULT_LOCK_WAIT_SECONDS * 1000)}")
    cursor.close()


def _sqlite_write_lock_before_savepoint(conn: Any, _name: str) -> None:
    # A SAVEPOINT outside a transaction starts a deferred one: its reads take a snapshot, and
    # its first write then fails at once with "database is locked" if anyone committed since
    # (SQLITE_BUSY_SNAPSHOT: the busy timeout does not apply). Taking the write lock first
    # makes that write wait its turn like any other.
    if not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _wanted_lock_wait_ms() -> int:
    bound = _lock_wait.get()
    if bound is None:
        return int(DEFAULT_LOCK_WAIT_SECONDS * 1000)
    seconds, deadline = bound
    # A webhook may commit more than once: together its waits stay within `seconds`.
    return max(50, int(min(seconds, deadline - time.monotonic()) * 1000))


def _sqlite_lock_wait(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    wanted = _wanted_lock_wait_ms()
    if abs(record.info.get("lock_wait_ms", 0) - wanted) > 100:
        dbapi_connection.execute(f"PRAGMA busy_timeout={wanted}")
        record.info["lock_wait_ms"] = wanted


def _postgres_lock_wait(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # PostgreSQL readers never wait for writers; lock_timeout bounds waits on locked rows.
    # Outside lock_wait() it stays PostgreSQL's default (no limit), as before. Per wait, not
    # per deadline: a SET on every checkout would cost a round trip per transaction.
    bound = _lock_wait.get()
    wanted = int(bound[0] * 1000) if bound is not None else 0
    if record.info.get("lock_wait_ms", 0) != wanted:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {wanted}")
        dbapi_connection.commit()
        record.info["lock_wait_ms"] = wanted


class lock_wait:  # lower case: used like the function it was, `with lock_wait(seconds):`
    """Connections checked out inside this block wait for locks at most `seconds` in all
    (on PostgreSQL: each wait, as lock_timeout is set per connection). A class rather than
    a @contextmanager generator: every voice webhook enters one, and this costs a third of
    the Python calls."""

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __enter__(self) -> None:
        self._token = _lock_wait.set((self._seconds, time.monotonic() + self._seconds))

    def __exit__(self, *_exc: object) -> None:
        _lock_wait.reset(self._token)


def is_lock_error(exc: BaseException) -> bool:
    """The database was locked by another writer (SQLite busy, PostgreSQL lock timeout,
    deadlock or serialization failure): trying the same work again later can succeed."""
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return True
    return getattr(exc.orig, "sqlstate", None) in ("55P03", "40P01", "40001")


def write_transaction(session: Session, work: Callable[[], T], *, attempts: int = 5,
                         pause: float = 0.2) -> T:
    """Run `work` in its own transaction and commit it; when the database was locked, roll back
    and run it again (up to `attempts` times, waiting a little longer each time). `work` must
    only change the database, so that running it again is safe."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if not is_lock_error(exc) or attempt == attempts:
                raise
            log.warning("database locked, trying again (%d of %d)", attempt, attempts)
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


def write_in_slices(session: Session, count: int, step: Callable[[int, int], R], *, per_step: int,
                    finish: Callable[[], None] | None = None, budget: float = BULK_TRANSACTION_SECONDS,
                    pause: float | None = None, clock: Callable[[], float] = time.monotonic,
                    committed: Callable[[int], None] | None = None) -> list[R]:
    """Run `step(start, end)` over items [0, count), `per_step` items at a time, in transactions
    that each commit once `budget` seconds of work are done (by `clock`), pausing `pause`
    seconds after each commit (default: `bulk_pause(session)`). `finish` runs in the transaction that does the last step (also
    when there is nothing to do), so "all done" commits with the last items. `committed` gets
    how many items are committed so far. A transaction that found the database locked runs
    again from its first item (`write_transaction`), so `step` must be safe to run twice.
    Returns what the steps returned, in order."""
    pause = bulk_pause(session) if pause is None else pause
    results: list[R] = []
    done = -1
    while done < count:
        def work(start: int = max(done, 0)) -> tuple[int, list[R]]:
            began, end, out = clock(), start, []
            while end < count:
                upto = min(end + per_step, count)
                out.append(step(end, upto))
                end = upto
                if clock() - began >= budget:
                    break
            if end >= count and finish is not None:
                finish()
            return end, out

        done, out = write_transaction(session, work)
        results.extend(out)
        if committed is not None:
            committed(done)
        if done < count and pause > 0:
            time.sleep(pause)
    return results


def bulk_pause(session: Session) -> float:
    """Seconds bulk work lets go of the write lock between transactions (see BULK_PAUSE_SECONDS)."""
    return BULK_PAUSE_SECONDS if session.get_bind().dialect.name == "sqlite" else 0.0


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["cortese.engine"] = engine
    app.extensions["cortese.sessionmaker"] = sessionmaker(engine, class_=CorteseSession, expire_on_commit=False)
    app.teardown_appcontext(_close_request_session)


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["cortese.engine"]


def db_session() -> Session:
    """The session of the current request/app context (created on first use), on the
    request's one connection: prepared statements (`driver`) and the ORM share its
    transaction, and the session's commit and rollback end both."""
    # `g` and `current_app` looked up once each: every use of a Flask proxy is a
    # context-variable look-up, and every webhook comes here.
    context = g._get_current_object()  # type: ignore[attr-defined]
    session: Session | None = context.get("cortese_session")
    if session is None:
        extensions = current_app.extensions
        engine = extensions["cortese.engine"]
        factory = extensions["cortese.sessionmaker"]
        # Held between requests only by the threads that serve requests (a fixed few); a
        # scheduler job's or a command's app context checks one out for its own time.
        if has_request_context():
            connection = _request_connection(engine)
            held: _Held | None = getattr(_held, "held", None)
            session = (held.session_for(factory) if held is not None and held.connection is connection
                       else factory(bind=connection))
        else:
            connection = engine.connect()
            session = factory(bind=connection)
        context.cortese_connection = connection
        context.cortese_session = session
    return session


def _used(session: Session) -> bool:
    """The session holds something of a request: a transaction, objects, or objects added."""
    return session.in_transaction() or bool(session.identity_map) or bool(session.new)


class _Held:
    """A thread's request connection, kept checked out between its requests: a pool checkout
    and checkin per request cost a webhook more than its own SQL does on SQLite."""

    __slots__ = ("busy", "connection", "engine", "factory", "pool", "session")

    def __init__(self, engine: Engine, connection: Connection) -> None:
        self.engine, self.pool, self.busy = engine, engine.pool, True
        self.connection: Connection | None = connection
        self.factory: Any = None
        self.session: Session | None = None

    def session_for(self, factory: Any) -> Session:
        """The session on this connection: the one the last request used, when it came from
        `factory` and was left as new (closed, or never given anything); else a new one. A
        Session costs a webhook more to make than the ORM work it usually does (none)."""
        session = self.session
        if session is None or self.factory is not factory or _used(session):
            session = self.session = factory(bind=self.connection)
            self.factory = factory
        return session

    def __del__(self) -> None:
        # A thread ends (its thread-local storage goes): back to the pool, not to the garbage
        # collector, which would warn about a connection never checked in.
        self.release()

    def release(self) -> None:
        connection, self.connection = self.connection, None
        self.session = None
        if connection is None:
            return
        if self.engine.pool is not self.pool:
            # The engine was disposed since: its old pool would keep the connection open
            # until garbage collection. Closed now instead, as dispose() closes idle ones.
            connection.invalidate()
        connection.close()


# One held connection per thread, for the engine it last served: an app the tests (or a
# dead-database drill) replace lets go of its connection at the next request on another one.
_held = threading.local()


def _request_connection(engine: Engine) -> Connection:
    """The connection for a request: the thread's held one when it is free and still right
    for `engine` (else a new one, held from then on). What a checkout guarantees is done here
    for every request: the checkout listeners run (the lock wait bound, a dead PostgreSQL
    connection noticed), and one that fails is replaced as the pool would replace it."""
    held: _Held | None = getattr(_held, "held", None)
    if held is not None and not held.busy:
        connection = held.connection
        if connection is not None and held.engine is engine and held.pool is engine.pool and _checked(connection):
            held.busy = True
            return connection
        held.release()
    if held is not None and held.busy:  # a request inside a request (one thread): its own
        return engine.connect()
    connection = engine.connect()
    _held.held = _Held(engine, connection)
    return connection


def _checked(connection: Connection) -> bool:
    """Run the pool's checkout listeners on a held connection; False when it must be replaced
    (invalidated, closed, or a listener found it disconnected)."""
    if connection.closed or connection.invalidated:
        return False
    fairy: Any = connection.connection
    try:
        connection.engine.pool.dispatch.checkout(fairy.dbapi_connection, fairy._connection_record, fairy)
    except DisconnectionError:
        connection.invalidate()
        return False
    return True


def _close_request_session(_exc: BaseException | None) -> None:
    context = g._get_current_object()  # type: ignore[attr-defined]
    session: Session | None = context.pop("cortese_session", None)
    connection: Connection | None = context.pop("cortese_connection", None)
    try:
        if session is not None and _used(session):
            session.close()  # also what lets the next request on this connection reuse it
    finally:
        if connection is not None:
            _end_request(connection)


def _end_request(connection: Connection) -> None:
    """Roll back what the request did not commit, as the pool does on checkin, and free the
    thread's held connection for its next request (any other goes back to the pool)."""
    held: _Held | None = getattr(_held, "held", None)
    if held is None or held.connection is not connection:
        connection.close()  # back to the pool, which rolls back what was not committed
        return
    try:
        if connection.in_transaction():
            connection.rollback()
        elif not connection.invalidated:
            connection.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
    except Exception:
        # What the pool does when its reset fails: this connection is not used again.
        log.warning("could not roll back the request's connection; replacing it", exc_info=True)
        connection.invalidate()
        held.release()
    finally:
        held.busy = False


def _release_held(engine: Engine) -> None:
    """engine.dispose() lets go of this thread's held connection too (other threads' go at
    their next request, or when they end)."""
    held: _Held | None = getattr(_held, "held", None)
    if held is not None and held.engine is engine and not held.busy:
        held.release()
        _held.held = None


def _forget_held_after_fork() -> None:
    # A forked child must not use, roll back or close its parent's connection (the socket is
    # shared): it keeps the object, unused, for as long as the process lives.
    held: _Held | None = getattr(_held, "held", None)
    if held is not None:
        _INHERITED.append(held.connection)
        held.connection, held.session = None, None
        _held.held = None


_INHERITED: list[Connection | None] = []
os.register_at_fork(after_in_child=_forget_held_after_fork)


def driver(session: Session) -> Any:
    """The DB-API connection under `session`, for prepared statements (app.prepared). A
    request's session is bound to its connection, so nothing begins on the ORM's side; any
    other session is asked for its connection (which begins its transaction). The pool's
    DB-API connection itself (the same object as the driver's own for the synchronous
    drivers cortese uses, and one attribute rather than three property calls away)."""
    bind = session.bind
    connection = bind if isinstance(bind, Connection) else session.connection()
    return connection.connection.dbapi_connection


def first_statement(session: Session, work: Callable[[Any], T]) -> T:
    """Run a request's first statement, `work(dbapi_connection)`, on its own (`alone`). A
    pooled connection the server dropped just before (a restart or failover the checkout
    check could not see yet: the server closes the socket a moment after it is told to) is
    replaced, and `work` runs once more; nothing has happened in the transaction yet, so
    nothing is lost."""
    try:
        return alone(session, work)
    except Exception:
        bind = session.bind
        if not isinstance(bind, Connection) or session.in_transaction() or not _lost(bind):
            raise
        log.warning("the database connection was lost; trying once more on a new one")
        bind.invalidate()
        return alone(session, work)


def alone(session: Session, work: Callable[[Any], T]) -> T:
    """Run `work(dbapi_connection)`, one statement, as a transaction of its own when none is
    open on the request's connection (else as part of the open one): for a read, or a write
    the request commits at once anyway (`final_write`). Alone, the statement runs in the
    driver's autocommit mode, switched on only while no transaction is open and off again at
    once, so SQLAlchemy and the pool never see it.

    On PostgreSQL psycopg otherwise sends BEGIN before the statement and the commit sends
    COMMIT, a round trip each (a webhook's load and save made four round trips instead of
    two). A read alone sees what a read in a transaction would: at PostgreSQL's READ
    COMMITTED (the engine's), each statement takes its own snapshot either way.

    On SQLite the statement takes the write lock, which every other writer of every worker
    waits for, and lets it go within the one call into SQLite: the lock is never held while
    the thread waits for the GIL (as it did between an UPDATE, an INSERT and a COMMIT, while
    the worker's other threads ran), nor while the request goes on."""
    db = driver(session)
    bind = session.bind
    if not isinstance(bind, Connection) or session.in_transaction() or bind.in_transaction():
        return work(db)
    if bind.dialect.name == "sqlite":
        return _sqlite_alone(db, work)
    if bind.dialect.name != "postgresql" or db.pgconn.transaction_status != _PG_IDLE:
        return work(db)
    db.autocommit = True
    try:
        return work(db)
    finally:
        # Not idle after an autocommitted statement only when the connection broke (status
        # UNKNOWN): it is replaced before its next use (`_checked`, `first_statement`).
        if db.pgconn.transaction_status == _PG_IDLE:
            db.autocommit = False


def _sqlite_alone(db: Any, work: Callable[[Any], T]) -> T:
    if db.in_transaction:  # what the request wrote before (on the DB-API connection): join it
        return work(db)
    # sqlite3's autocommit mode: the statement is its own transaction, committed inside the
    # same call into SQLite (no BEGIN before it, no COMMIT after it for the GIL to wait on).
    level = db.isolation_level
    db.isolation_level = None
    try:
        return work(db)
    finally:
        db.isolation_level = level


_PG_IDLE = 0  # libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE): no transaction open

# Set inside `commits_after()`: the request commits once the block ends, writing nothing
# after a `final_write`.
_commits_after: ContextVar[bool] = ContextVar("cortese_commits_after", default=False)


class commits_after:  # lower case: used like a function, `with commits_after():`
    """The request commits as soon as this block ends, and writes nothing in it after its
    `final_write`: that write, when nothing was written before it (no transaction open),
    may then commit by itself (`alone`). Anything the request wrote before it opened a
    transaction, which the final write joins, so the two stay atomic."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _commits_after.set(True)

    def __exit__(self, *_exc: object) -> None:
        _commits_after.reset(self._token)


def final_write(session: Session, work: Callable[[Any], T]) -> T:
    """Run `work(dbapi_connection)`, a write after which the request commits: on its own
    (`alone`) inside `commits_after()`, else in the request's transaction."""
    if _commits_after.get():
        return alone(session, work)
    return work(driver(session))


def _lost(connection: Connection) -> bool:
    """The server has dropped this (PostgreSQL) connection; SQLite's never are."""
    dbapi: Any = connection.connection.dbapi_connection
    return dbapi is not None and hasattr(dbapi, "fileno") and (bool(dbapi.closed) or _readable(dbapi.fileno()))


_STATEMENTS: weakref.WeakKeyDictionary[Any, Statements] = weakref.WeakKeyDictionary()


def statements(session: Session) -> Statements:
    """The prepared statements for the database `session` talks to (compiled per engine, as
    the engine's dialect carries its JSON serializer)."""
    dialect = session.get_bind().dialect
    found = _STATEMENTS.get(dialect)
    if found is None:
        found = _STATEMENTS[dialect] = Statements(dialect)
    return found


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


def insert_skipping_duplicates(session: Session, table: Table | type[Base]) -> Insert:
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
    """Import every module that defines tables so Base.metadata is complete (Alembic, tests),
    whichever packages an app or a migration happens to have imported."""
    importlib.import_module("app.models")
    # By file name, not pkgutil.walk_packages: walking imports every package on the way (the
    # simulator's too, which production never imports).
    for path in sorted(APP_DIR.glob("*/models.py")):
        importlib.import_module(f"app.{path.parent.name}.models")
