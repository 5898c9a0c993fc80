"""Nobody crashes or keeps a caller waiting because another process holds SQLite's write lock.

SQLite lets one writer in at a time. Callers' webhooks wait briefly (WEBHOOK_LOCK_WAIT_SECONDS)
and then hear the apology, well before Twilio's 15 s webhook timeout ends the call in silence;
the CLI and the API wait their turn (and retry) instead of failing with "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from app import db, i18n, migrate
from app.consent import importer
from app.consent.models import Contact
from app.db import (
    get_engine,
    is_lock_error,
    lock_wait,
    make_engine,
    session_scope,
    write_transaction,
)
from app.support.models import Order
from tests.conftest import SignedClient, voice_params
from tests.console_support import BEARER

AT = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)


def _database(app) -> str:
    return str(Path(get_engine(app).url.database or ""))


class WriteLock:
    """Another process's long write (a bulk import in one transaction): holds SQLite's write
    lock until released, or until the safety timeout so a broken test cannot hang."""

    def __init__(self, database: str, safety_seconds: float = 20) -> None:
        self.database, self.safety = database, safety_seconds
        self.taken, self.release, self.released = threading.Event(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS lock_holder (x INTEGER)")
        self.taken.set()
        self.release.wait(self.safety)
        conn.execute("ROLLBACK")
        conn.close()
        self.released.set()

    def __enter__(self) -> WriteLock:
        self.thread.start()
        assert self.taken.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.thread.join(30)


@pytest.fixture
def settings(settings):
    settings["WEBHOOK_LOCK_WAIT_SECONDS"] = 0.3
    return settings


def test_a_caller_hears_the_apology_while_another_writer_holds_the_lock(app, client):
    twilio = SignedClient(client)
    with WriteLock(_database(app)) as lock:
        response = twilio.post("/voice/inbound", voice_params())
        # Answered while the other write still held the lock: the webhook did not wait it out.
        still_held = not lock.released.is_set()
    assert response.status_code == 200 and still_held
    assert i18n.prompt("apology", "it") in response.get_data(as_text=True)
    # Once the lock is gone the next call gets the menu again.
    after = twilio.post("/voice/inbound", voice_params()).get_data(as_text=True)
    assert i18n.prompt("apology", "it") not in after and "<Gather" in after


def test_a_write_that_starts_with_a_savepoint_waits_for_the_lock_instead_of_failing(app):
    """A savepoint-first transaction reads a snapshot; if another process commits before its
    first write, SQLite refuses that write at once (no busy wait): the crash of
    `cortese contacts import` and of POST /api/orders under concurrent writers."""
    factory = sessionmaker(get_engine(app))
    other_done = threading.Event()
    other_error: list[BaseException] = []

    def other_writer() -> None:
        try:
            with get_engine(app).begin() as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS other_writes (x INTEGER)"))
                conn.execute(text("INSERT INTO other_writes VALUES (1)"))
        except BaseException as exc:
            other_error.append(exc)
        finally:
            other_done.set()

    with factory() as session:
        with session.begin_nested():
            session.execute(select(func.count()).select_from(Order)).scalar_one()
            writer = threading.Thread(target=other_writer)
            writer.start()
            # Without the write lock taken at the savepoint, the other writer commits now.
            other_done.wait(1.0)
            session.add(Order(number="4711", status="received", updated_at=AT))
            session.flush()
        session.commit()
    writer.join(35)
    assert not other_error
    with session_scope(app) as session:
        assert session.scalars(select(Order.number)).all() == ["4711"]


def test_concurrent_order_pushes_all_succeed(app):
    """The shop pushing orders from 4 clients at once: every push is stored, none gets a 500."""
    statuses: list[int] = []
    lock = threading.Lock()

    def push(worker: int) -> None:
        client = app.test_client()
        for n in range(15):
            resp = client.post("/api/orders", headers=BEARER, json={
                "orders": [{"number": f"{worker}{n:03d}", "status": "received"}]})
            with lock:
                statuses.append(resp.status_code)

    threads = [threading.Thread(target=push, args=(w,)) for w in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [200] * 60
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 60


def test_write_transaction_retries_a_locked_write(app):
    factory = sessionmaker(get_engine(app))
    attempts: list[int] = []
    with WriteLock(_database(app)) as lock, lock_wait(0.05), factory() as session:

        def work() -> None:
            attempts.append(1)
            if len(attempts) == 2:
                lock.release.set()  # the other writer finishes while we back off
                lock.released.wait(10)
            session.add(Order(number="4712", status="received", updated_at=AT))
            session.flush()

        write_transaction(session, work, attempts=5, pause=0.01)
    assert len(attempts) >= 2
    with session_scope(app) as session:
        assert session.scalars(select(Order.number)).all() == ["4712"]


def test_a_lock_that_outlasts_every_retry_is_raised_not_hidden(app):
    factory = sessionmaker(get_engine(app))
    with WriteLock(_database(app)), lock_wait(0.01), factory() as session:

        def work() -> None:
            session.add(Order(number="4713", status="received", updated_at=AT))
            session.flush()

        with pytest.raises(Exception) as raised:
            write_transaction(session, work, attempts=2, pause=0.01)
    assert is_lock_error(raised.value)


# --- contacts import: short transactions, retried, never a traceback --------------------------

def _contacts_csv(count: int) -> str:
    return "number,source\n" + "".join(f"+39347{n:07d},crm 2026\n" for n in range(count))


def test_a_contacts_import_commits_in_chunks_another_connection_can_see(app):
    other = sessionmaker(get_engine(app))
    seen: list[int] = []

    def look(done: int) -> None:
        with other() as session:
            seen.append(session.scalar(select(func.count()).select_from(Contact)) or 0)

    with session_scope(app) as session:
        report = importer.import_contacts_text(session, _contacts_csv(5), at=AT, recorded_by="test",
                                               commit_every=2, progress=look, clock=lambda: 0.0)
    assert report.created == 5
    assert seen == [2, 4, 5]  # each chunk was committed when its progress was reported


def test_a_contacts_import_commits_after_50_ms_of_work_however_many_rows_that_is(app):
    fake = {"now": 0.0}

    def clock() -> float:
        fake["now"] += 0.02  # each read of the clock (one per row) 20 ms after the last
        return fake["now"]

    seen: list[int] = []
    with session_scope(app) as session:
        report = importer.import_contacts_text(session, _contacts_csv(7), at=AT, recorded_by="test",
                                               commit_every=100, progress=seen.append, clock=clock)
    assert report.created == 7
    # Rows of 20 ms: the third passes 50 ms, so three rows a transaction, well under 100.
    assert seen == [3, 6, 7]


def test_the_cli_import_of_a_file_with_a_lock_held_throughout_says_what_to_do(app, cli, tmp_path, monkeypatch):
    monkeypatch.setattr(db, "DEFAULT_LOCK_WAIT_SECONDS", 0.05)
    path = tmp_path / "contacts.csv"
    path.write_text(_contacts_csv(3), encoding="utf-8")
    with WriteLock(_database(app)):
        result = cli("contacts", "import", str(path))
    assert result.exit_code == 3
    assert "run the same command again" in result.output and "Traceback" not in result.output
    result = cli("contacts", "import", str(path))
    assert result.exit_code == 0 and "3 created" in result.output


def test_the_cli_import_waits_for_a_short_write_and_imports_everything(app, cli, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(_contacts_csv(50), encoding="utf-8")
    with WriteLock(_database(app)) as lock:
        timer = threading.Timer(0.5, lock.release.set)  # the other write ends while we wait
        timer.start()
        result = cli("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "50 created" in result.output


@pytest.mark.postgres
def test_on_postgres_a_webhook_waits_for_a_locked_row_only_as_long_as_allowed(pg_url):
    """PostgreSQL readers never wait, but a row another transaction updates does: a webhook's
    connection gets lock_timeout, and a connection used afterwards by the API gets no limit."""
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE calls_probe (id INTEGER PRIMARY KEY, n INTEGER)"))
            conn.execute(text("INSERT INTO calls_probe VALUES (1, 0)"))
        holder = engine.connect()
        holder.begin()
        holder.execute(text("UPDATE calls_probe SET n = n + 1 WHERE id = 1"))
        try:
            with lock_wait(0.2), engine.connect() as conn:
                assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "200ms"
                with pytest.raises(Exception) as raised:
                    conn.execute(text("UPDATE calls_probe SET n = n + 1 WHERE id = 1"))
                assert is_lock_error(raised.value)
            with engine.connect() as conn:
                assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "0"
        finally:
            holder.rollback()
            holder.close()
    finally:
        engine.dispose()


# --- bulk work: transactions sized by time, a pause on SQLite only -------------------------------

@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_bulk_work_lets_go_of_the_lock_between_transactions_on_sqlite_only(backend, request, tmp_path, monkeypatch):
    """SQLite's busy handler polls (every 1-100 ms): a writer that takes the lock again at once
    can starve it, so bulk work pauses after each commit. PostgreSQL queues waiters and wakes
    them on release: a pause there only slows the import."""
    url = f"sqlite:///{tmp_path / 'bulk.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    migrate.upgrade(url)
    slept: list[float] = []
    monkeypatch.setattr(db.time, "sleep", slept.append)
    fake = {"now": 0.0}

    def clock() -> float:
        fake["now"] += 0.03
        return fake["now"]

    engine = db.make_engine(url)
    with sessionmaker(engine)() as session:
        def step(start: int, _end: int) -> None:
            session.add(Order(number=f"bulk-{start}", status="received", updated_at=AT))
            session.flush()

        db.write_in_slices(session, 4, step, per_step=1, clock=clock)
        assert session.scalar(select(func.count()).select_from(Order)) == 4
    engine.dispose()  # its pooled connection closed now, not by the garbage collector later
    # Two orders a transaction (30 ms each, 50 ms a transaction): one pause between the two.
    assert slept == ([db.BULK_PAUSE_SECONDS] if backend == "sqlite" else [])
