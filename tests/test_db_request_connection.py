"""The request's connection, kept checked out by its thread between requests: the pool's own
counts say when it is back, and dispose() and a thread's end let go of it."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import g
from sqlalchemy import text

from app.db import db_session, driver, get_engine
from app.models import Call


def _use_the_database(app: Any) -> Any:
    """One request that uses the database; its DB-API connection."""
    with app.test_request_context("/"):
        session = db_session()
        session.execute(text("SELECT 1"))
        dbapi = driver(session)
        app.do_teardown_appcontext()
    return dbapi


def test_a_thread_that_ends_gives_its_connection_back_to_the_pool(app):
    pool = get_engine(app).pool
    worker = threading.Thread(target=_use_the_database, args=(app,))
    worker.start()
    worker.join()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_dispose_lets_go_of_the_held_connection(app):
    held = _use_the_database(app)
    get_engine(app).dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        held.execute("SELECT 1")


def test_a_request_inside_a_request_gets_its_own_connection(app):
    with app.test_request_context("/"):
        outer = db_session()
        with app.app_context(), app.test_request_context("/"):  # a context of its own
            inner = db_session()
            assert inner.bind is not outer.bind
            app.do_teardown_appcontext()
        app.do_teardown_appcontext()
    assert get_engine(app).pool.checkedout() <= 1  # type: ignore[attr-defined]


def _new_call(sid: str) -> Call:
    at = datetime(2026, 12, 5, tzinfo=UTC)
    return Call(call_sid=sid, direction="inbound", from_number="+390212345678", to_number="+390287654321",
                status="ringing", started_at=at, updated_at=at)


def test_what_a_request_added_and_never_committed_is_not_in_the_next_request(app):
    with app.test_request_context("/"):
        db_session().add(_new_call("CA" + "1" * 32))  # added, never flushed nor committed
        app.do_teardown_appcontext()
    with app.test_request_context("/"):
        session = db_session()
        assert not session.new and not session.identity_map
        session.commit()
        assert session.query(Call).count() == 0
        app.do_teardown_appcontext()


def test_objects_a_request_loaded_are_not_in_the_next_requests_session(app):
    with app.test_request_context("/"):
        session = db_session()
        session.add(_new_call("CA" + "2" * 32))
        session.commit()
        loaded = session.query(Call).one()
        app.do_teardown_appcontext()
    with app.test_request_context("/"):
        session = db_session()
        assert loaded not in session and not session.identity_map and not session.in_transaction()
        assert session.query(Call).one() is not loaded  # read again, from the database
        app.do_teardown_appcontext()


def test_a_session_a_failed_teardown_left_in_a_transaction_is_not_reused(app):
    with app.test_request_context("/"):
        first = db_session()
        first.execute(text("SELECT 1"))  # begins the session's transaction
        app.do_teardown_appcontext()
    with app.test_request_context("/"):
        second = db_session()
        second.execute(text("SELECT 1"))
        g.pop("cortese_session")  # as the webhook guard does before its own rollback, which fails here
        app.do_teardown_appcontext()
    with app.test_request_context("/"):
        assert db_session() is not second
        app.do_teardown_appcontext()
