"""A request's last write (app.db.final_write): inside `commits_after()` it is its own
transaction when nothing else is open, committed before the request goes on; else part of
the request's. Both databases; the DB-API connection's own transaction state is the witness.

On SQLite, which has one writer at a time, that is what keeps the write lock held for the
save alone: a webhook's save takes it for two statements (the call's UPDATE, its steps'
INSERT) and commits at once, whatever the turn does afterwards; SQLite's own statement trace
(the DB-API connection's trace callback) is the witness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from app.db import commits_after, db_session, driver, final_write, get_engine
from tests.conftest import app_on_each_database, make_scratch_table, scratch_rows, voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of

IDLE = 0  # libpq's PQTRANS_IDLE


@pytest.fixture(params=["sqlite", "postgresql"])
def each_app(request: Any, tmp_path: Any) -> Iterator[Flask]:
    yield from app_on_each_database(request, tmp_path, datetime(2026, 12, 5, 9, 0, tzinfo=UTC))


def _open(db: Any) -> bool:
    """A transaction is open on this DB-API connection (psycopg's or sqlite3's)."""
    return db.pgconn.transaction_status != IDLE if hasattr(db, "pgconn") else bool(db.in_transaction)


def test_a_final_write_inside_commits_after_is_committed_at_once(each_app):
    make_scratch_table(each_app)
    with each_app.test_request_context("/"):
        session = db_session()
        with commits_after():
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (1)"))
            assert not _open(driver(session))  # committed before the block ends
        session.rollback()  # nothing left to roll back
        each_app.do_teardown_appcontext()
    assert scratch_rows(each_app) == 1


def test_a_final_write_joins_what_the_request_wrote_before(each_app):
    make_scratch_table(each_app)
    with each_app.test_request_context("/"):
        session = db_session()
        driver(session).execute("INSERT INTO scratch_t VALUES (1)")
        with commits_after():
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (2)"))
            assert _open(driver(session))
        session.rollback()  # both go: they were one transaction
        each_app.do_teardown_appcontext()
    assert scratch_rows(each_app) == 0


def test_a_final_write_outside_commits_after_waits_for_the_requests_commit(each_app):
    make_scratch_table(each_app)
    with each_app.test_request_context("/"):
        session = db_session()
        final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (1)"))
        assert _open(driver(session))
        session.rollback()
        each_app.do_teardown_appcontext()
    assert scratch_rows(each_app) == 0


def test_a_final_write_of_two_statements_that_fails_half_way_leaves_nothing_on_sqlite(app):
    """(On PostgreSQL a final write is one statement, atomic by itself.)"""
    def two_statements(db: Any) -> None:
        db.execute("INSERT INTO scratch_t VALUES (1)")
        db.execute("INSERT INTO scratch_t_missing VALUES (2)")

    make_scratch_table(app)
    with app.test_request_context("/"):
        session = db_session()
        with commits_after(), pytest.raises(Exception, match="scratch_t_missing"):
            final_write(session, two_statements)
        assert not _open(driver(session))  # rolled back: the lock is not held
        app.do_teardown_appcontext()
    assert scratch_rows(app) == 0


@contextmanager
def _traced(app: Any) -> Iterator[list[str]]:
    """Every statement SQLite runs on the request connections during the block."""
    seen: list[str] = []
    engine = get_engine(app)
    engine.dispose()  # the next request's connection is a new one, traced from its start

    def trace(dbapi: Any, _record: Any) -> None:
        dbapi.set_trace_callback(seen.append)

    event.listen(engine, "connect", trace)
    try:
        yield seen
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()


def _inside_write_transactions(statements: list[str]) -> list[list[str]]:
    """The statements of each write transaction: from the first write to its COMMIT."""
    transactions: list[list[str]] = []
    current: list[str] | None = None
    for sql in (s.strip() for s in statements):
        verb = sql.split(None, 1)[0].upper()
        if current is None and verb in ("INSERT", "UPDATE", "DELETE"):
            current = []
        if current is not None:
            if verb in ("COMMIT", "ROLLBACK"):
                transactions.append(current)
                current = None
            elif verb != "BEGIN":
                current.append(verb)
    assert current is None, f"a write transaction was left open: {current}"
    return transactions


@pytest.mark.parametrize("kind", ["first", "menu"])
def test_a_webhook_holds_the_write_lock_for_its_save_alone(app, twilio, kind):
    """A turn of five steps: its save is one UPDATE and one INSERT, then COMMIT."""
    caller = "+393471234599"
    params = voice_params(From=caller, Caller=caller)
    if kind == "first":
        with _traced(app) as seen:
            assert_voice_answer(twilio.post("/voice/inbound", params))
    else:
        action = path_of(first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params))))
        with _traced(app) as seen:
            assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"}))
    writes = _inside_write_transactions(seen)
    # A first step also inserts the call, in a transaction of its own (the row must survive
    # a turn that fails); the turn's save is the last one.
    assert writes[-1] == ["UPDATE", "INSERT"], seen
    assert all(len(statements) <= 2 for statements in writes), seen
