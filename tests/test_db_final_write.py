"""A request's last write (app.db.final_write): inside `commits_after()` it is its own
transaction when nothing else is open, committed before the request goes on; else part of
the request's. Both databases; the DB-API connection's own transaction state is the witness.

A write alone is one statement, committed by the database as it ends (autocommit) on both. On
SQLite, which has one writer at a time, that is what keeps the write lock held within one call
into SQLite: a webhook's save (the call's UPDATE and its steps' INSERT, through a view's
trigger) takes the lock and lets it go before the thread waits for the GIL again, whatever
the turn does afterwards; SQLite's own statement trace (the DB-API connection's trace
callback) is the witness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from app.calls import START_VIEW, TURN_VIEW
from app.db import commits_after, db_session, driver, final_write
from tests.conftest import (
    app_on_each_database,
    make_scratch_table,
    on_new_connections,
    scratch_rows,
    voice_params,
)
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


def test_a_final_write_that_fails_leaves_nothing_and_no_transaction(each_app):
    make_scratch_table(each_app)
    with each_app.test_request_context("/"):
        session = db_session()
        with commits_after(), pytest.raises(Exception, match="scratch_t_missing"):
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t_missing VALUES (2)"))
        assert not _open(driver(session))  # nothing held: no lock, no snapshot
        final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (1)"))  # usable
        session.commit()
        each_app.do_teardown_appcontext()
    assert scratch_rows(each_app) == 1


@contextmanager
def _traced(app: Any) -> Iterator[list[str]]:
    """Every statement SQLite runs on the request connections during the block."""
    seen: list[str] = []

    def trace(dbapi: Any, _record: Any) -> None:
        dbapi.set_trace_callback(seen.append)

    with on_new_connections(app, trace):
        yield seen


def _top_level(statements: list[str]) -> list[str]:
    """The statements as run, one line each: sqlite3 reports each statement of a trigger with
    the text of the statement that fired it, so a repeat of the line before is dropped."""
    out: list[str] = []
    for sql in (" ".join(s.split()) for s in statements):
        if not out or sql != out[-1]:
            out.append(sql)
    return out


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.mark.parametrize("kind", ["first", "menu"])
def test_a_webhook_holds_the_write_lock_within_one_statement(app, twilio, kind):
    """No BEGIN, no COMMIT: each write is a statement of its own, autocommitted. A webhook
    writes once: its turn's save (five steps here), into the turn view, or for a new call into
    the start view, which inserts the call with its first turn."""
    caller = "+393471234599"
    params = voice_params(From=caller, Caller=caller)
    if kind == "first":
        with _traced(app) as seen:
            assert_voice_answer(twilio.post("/voice/inbound", params))
    else:
        action = path_of(first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params))))
        with _traced(app) as seen:
            assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"}))
    statements = _top_level(seen)
    assert not [s for s in statements if s.upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT"))], seen
    writes = [s.split(" (", 1)[0] for s in statements if s.upper().startswith(WRITES)]
    # A new call is inserted by its first turn's save, with that turn's state and steps.
    assert writes == [f"INSERT INTO {START_VIEW if kind == 'first' else TURN_VIEW}"], seen
