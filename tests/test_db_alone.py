"""Statements run on their own (app.db.alone, final_write) on PostgreSQL: a read, or the write
a request commits right after, is its own transaction (no BEGIN, no COMMIT round trip), and
a write after another one stays in that one's transaction. libpq's own protocol trace and
transaction status are the witnesses. What final_write does on both databases:
tests/test_db_final_write.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, event, literal_column, select, text
from sqlalchemy import table as sql_table

from app.db import alone, commits_after, db_session, driver, final_write, get_engine
from app.prepared import Prepared
from tests.conftest import make_scratch_table, scratch_rows, voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of

IDLE, INTRANS = 0, 2  # libpq's PQTRANS_IDLE and PQTRANS_INTRANS


@pytest.fixture
def settings(pg_url: str, settings: dict[str, Any]) -> dict[str, Any]:
    settings["DATABASE_URL"] = pg_url
    return settings


def test_a_read_alone_leaves_no_transaction_open(app):
    with app.test_request_context("/"):
        session = db_session()
        assert alone(session, lambda db: db.execute("SELECT 1").fetchone()) == (1,)
        dbapi = driver(session)
        assert dbapi.pgconn.transaction_status == IDLE and dbapi.autocommit is False
        dbapi.execute("SELECT 1")  # the driver's usual way, for comparison: it begins one
        assert dbapi.pgconn.transaction_status == INTRANS
        app.do_teardown_appcontext()


def test_a_statement_inside_an_open_transaction_stays_in_it(app):
    make_scratch_table(app)
    with app.test_request_context("/"):
        session = db_session()
        session.execute(text("INSERT INTO scratch_t VALUES (1)"))
        with commits_after():
            final_write(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (2)"))
        alone(session, lambda db: db.execute("INSERT INTO scratch_t VALUES (3)"))
        session.rollback()
        app.do_teardown_appcontext()
    assert scratch_rows(app) == 0


def test_a_failed_statement_alone_leaves_the_connection_as_it_was(app):
    with app.test_request_context("/"):
        session = db_session()
        with pytest.raises(Exception, match="alone_missing"):
            alone(session, lambda db: db.execute("SELECT * FROM alone_missing"))
        dbapi = driver(session)
        assert dbapi.autocommit is False and dbapi.pgconn.transaction_status == IDLE
        assert alone(session, lambda db: db.execute("SELECT 2").fetchone()) == (2,)
        app.do_teardown_appcontext()


def _round_trips(app: Any, tmp_path: Path, request: Any) -> list[str]:
    """What the client sends per round trip (the message before each Sync or simple Query)
    during `request()`, from libpq's trace of every new connection."""
    engine = get_engine(app)
    path = tmp_path / "trace.txt"
    with path.open("w") as trace:
        def traced(dbapi: Any, _record: Any) -> None:
            dbapi.pgconn.trace(trace.fileno())

        event.listen(engine, "connect", traced)
        engine.dispose()  # the held connection too: the next request's is a traced new one
        request()  # the first checkout's own statements (the lock wait) are not the request's
        mark = path.stat().st_size
        request()
        event.remove(engine, "connect", traced)
        engine.dispose()  # no traced connection outlives the file
    sent = path.read_text()[mark:]
    return re.findall(r"\tF\t\d+\t(?:Query\t \"([^\"]*)\"|(Sync))", sent)


def test_a_menu_step_makes_two_round_trips_and_a_first_step_sends_no_begin(app, twilio, tmp_path):
    callers = iter(f"+3934712345{i:02d}" for i in range(10))

    def first() -> None:
        caller = next(callers)
        assert_voice_answer(twilio.post("/voice/inbound", voice_params(From=caller, Caller=caller)))

    sent = _round_trips(app, tmp_path, first)
    assert not [query for query, _sync in sent if query in ("BEGIN", "COMMIT")], sent
    started = []
    for _ in range(2):
        caller = next(callers)
        params = voice_params(From=caller, Caller=caller)
        started.append((params, path_of(first_gather_action(assert_voice_answer(twilio.post("/voice/inbound", params))))))
    answers = iter(started)

    def menu() -> None:
        params, action = next(answers)
        assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"}))

    sent = _round_trips(app, tmp_path, menu)
    assert len(sent) == 2 and all(sync for _query, sync in sent), sent  # the load and the save


def test_prepared_statements_keep_one_cursor_per_connection_and_survive_a_failure(app):
    """psycopg's cursors cost to make: one is kept with the connection, and a statement that
    failed leaves it usable for the next (after the rollback a failed transaction needs)."""
    with app.test_request_context("/"):
        session = db_session()
        dialect = session.get_bind().dialect
        one = Prepared(select(literal_column("1")), dialect)
        missing = Prepared(select(column("n")).select_from(sql_table("prepared_missing")), dialect)
        db = driver(session)
        assert one.fetch_one(db, {}) == (1,)
        kept = db.cortese_cursor
        assert one.fetch_all(db, {}) == [(1,)] and db.cortese_cursor is kept
        with pytest.raises(Exception, match="prepared_missing"):
            missing.fetch_one(db, {})
        session.rollback()
        assert one.fetch_one(db, {}) == (1,) and db.cortese_cursor is kept
        kept.close()  # e.g. closed with its connection: a new one is made
        assert one.fetch_one(db, {}) == (1,) and db.cortese_cursor is not kept
        app.do_teardown_appcontext()
