"""SQLite has one writer at a time: every webhook of every worker waits for the write lock the
others hold. A webhook's save takes it for two statements (the call's UPDATE, its steps'
INSERT) and commits at once, whatever the turn does afterwards. SQLite's own statement trace
(the DB-API connection's trace callback) is the witness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from app.db import commits_after, db_session, driver, final_write, get_engine
from tests.conftest import scratch_rows, voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of


def test_a_final_write_inside_commits_after_is_committed_at_once(app, scratch_table):
    with app.test_request_context("/"):
        session = db_session()
        with commits_after():
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (1)"))
            assert not driver(session).in_transaction  # committed before the block ends
        session.rollback()  # nothing left to roll back
        app.do_teardown_appcontext()
    assert scratch_rows(app) == 1


def test_a_final_write_joins_what_the_request_wrote_before(app, scratch_table):
    with app.test_request_context("/"):
        session = db_session()
        driver(session).execute("INSERT INTO scratch_t VALUES (1)")
        with commits_after():
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (2)"))
            assert driver(session).in_transaction
        session.rollback()  # both go: they were one transaction
        app.do_teardown_appcontext()
    assert scratch_rows(app) == 0


def test_a_final_write_outside_commits_after_waits_for_the_requests_commit(app, scratch_table):
    with app.test_request_context("/"):
        session = db_session()
        final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (1)"))
        assert driver(session).in_transaction
        session.rollback()
        app.do_teardown_appcontext()
    assert scratch_rows(app) == 0


def test_a_final_write_that_fails_half_way_leaves_nothing_and_no_lock(app, scratch_table):
    def two_statements(db: Any) -> None:
        db.execute("INSERT INTO scratch_t VALUES (1)")
        db.execute("INSERT INTO scratch_t_missing VALUES (2)")

    with app.test_request_context("/"):
        session = db_session()
        with commits_after(), pytest.raises(Exception, match="scratch_t_missing"):
            final_write(session, two_statements)
        assert not driver(session).in_transaction  # rolled back: the lock is not held
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
