"""The request's connection, kept checked out by its thread between requests: the pool's own
counts say when it is back, and dispose() and a thread's end let go of it."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import text

from app.db import db_session, driver, get_engine


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
