"""The database becomes unavailable in the middle of a call, on SQLite and on PostgreSQL.

Whatever the moment — the first statement of a turn, the state save at its end, a database
server gone or a file that cannot be opened — the caller hears an apology in their language
and is put through to the operator (OPERATOR_NUMBER) or said goodbye to, with HTTP 200. The
half-done turn leaves nothing behind, and once the database is back the call goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import psycopg
import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from app import db
from app.db import session_scope
from app.models import Call, CallStep
from app.prepared import Prepared
from tests.conftest import on_new_connections, voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of, said

APOLOGY = {"it": "Ci scusi", "nl": "Excuses", "en": "We are sorry"}
GOODBYE = {"it": "richiamare più tardi", "nl": "later nog eens", "en": "call us again"}
# (caller, hotline, the language the call is in)
CALLS = [("+393471234567", "+390212345678", "it"), ("+31612345678", "+31201234567", "nl"),
         ("+447700900123", "+442071234567", "en")]
OPERATOR = "+390299999999"


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: Any, settings: dict[str, Any]) -> dict[str, Any]:
    if request.param == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("pg_url")
    return settings


@contextmanager
def failing_statements(app: Any, *match: str) -> Iterator[list[str]]:
    """Every SQL statement (or those containing all of `match`) fails as a lost connection does."""
    engine = app.extensions["cortese.engine"]
    failed: list[str] = []

    def refuse(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if all(part in statement for part in match):
            failed.append(statement)
            raise OperationalError(statement, params, Exception("server closed the connection unexpectedly"))

    def refuse_prepared(real: Any) -> Any:  # the webhooks' prepared statements skip the events
        def execute(self: Prepared, cursor: Any, values: Any) -> Any:
            refuse(None, cursor, self.sql, values, None, False)
            return real(self, cursor, values)
        return execute

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        with patch.object(Prepared, "execute", refuse_prepared(Prepared.execute)):
            yield failed
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


@contextmanager
def failing_writes(app: Any, verb: str, table: str) -> Iterator[list[str]]:
    """Every `verb` (INSERT, UPDATE) on `table` fails, inside the statement that makes it: on
    SQLite a write a trigger makes (a turn's save is one statement, through a view's trigger)
    fails where it is made; on PostgreSQL the statement doing it fails (`failing_statements`)."""
    engine = app.extensions["cortese.engine"]
    if engine.dialect.name == "postgresql":
        phrases = ("UPDATE calls SET", "state_version") if verb == "UPDATE" else (f"{verb} INTO {table}",)
        with failing_statements(app, *phrases) as failed:
            yield failed
        return
    failed = []

    def fail(what: str) -> None:
        failed.append(what)
        raise RuntimeError("disk I/O error")  # SQLite aborts the statement that ran into it

    def install(dbapi: Any, _record: Any) -> None:
        dbapi.create_function("injected_failure", 1, fail)
        dbapi.execute(f"CREATE TEMP TRIGGER injected_failure BEFORE {verb} ON {table} "
                      f"BEGIN SELECT injected_failure('{verb} {table}'); END")

    with on_new_connections(app, install):
        yield failed


@contextmanager
def dead_database(app: Any) -> Iterator[None]:
    """Point the app at a database nobody answers for (refused port / unopenable file)."""
    real_engine, real_factory = app.extensions["cortese.engine"], app.extensions["cortese.sessionmaker"]
    if real_engine.dialect.name == "postgresql":
        dead = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone",
                             connect_args={"connect_timeout": 2})
    else:
        dead = create_engine("sqlite:////proc/cortese-no-such-dir/cortese.db")
    app.extensions["cortese.engine"], app.extensions["cortese.sessionmaker"] = dead, sessionmaker(dead)
    try:
        yield
    finally:
        app.extensions["cortese.engine"], app.extensions["cortese.sessionmaker"] = real_engine, real_factory
        dead.dispose()


def _start(twilio: Any, caller: str, hotline: str) -> tuple[dict[str, str], str]:
    params = voice_params(From=caller, Caller=caller, To=hotline, Called=hotline)
    verbs = assert_voice_answer(twilio.post("/voice/inbound", params))
    action = first_gather_action(verbs)
    assert action, "the hotline's first answer asks something"
    return params, path_of(action)


def _snapshot(app: Any, sid: str) -> tuple[Any, ...]:
    with app.app_context(), session_scope() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        steps = session.scalar(select(func.count()).select_from(CallStep).where(CallStep.call_id == call.id))
        return call.state_version, call.flow, call.node, dict(call.slots or {}), steps


def _assert_apology(response: Any, language: str, *, operator: bool) -> None:
    verbs = assert_voice_answer(response)
    text = said(verbs)
    names = [v.name for v in verbs]
    assert APOLOGY[language] in text, text
    assert GOODBYE[language] in text, text
    assert names[-1] == "Hangup"
    if operator:
        dial = next(v for v in verbs if v.name == "Dial")
        assert [c.text for c in dial.children] == [OPERATOR]
        assert names.index("Dial") < len(names) - 2  # a goodbye follows an unanswered Dial
    else:
        assert "Dial" not in names


@pytest.mark.parametrize(("caller", "hotline", "language"), CALLS)
def test_every_statement_failing_mid_call_apologises_in_the_callers_language(app, twilio, caller, hotline,
                                                                              language):
    params, action = _start(twilio, caller, hotline)
    before = _snapshot(app, params["CallSid"])
    with failing_statements(app) as failed:
        response = twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"})
    assert failed, "the turn did reach the database"
    _assert_apology(response, language, operator=False)
    assert _snapshot(app, params["CallSid"]) == before


@pytest.mark.parametrize("write", [("UPDATE", "calls"), ("INSERT", "call_steps")], ids=["state-save", "steps-insert"])
def test_failure_while_saving_the_turn_leaves_no_half_written_state(app, twilio, write):
    params, action = _start(twilio, "+31612345678", "+31201234567")
    before = _snapshot(app, params["CallSid"])
    with failing_writes(app, *write) as failed:
        response = twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"})
    assert failed
    _assert_apology(response, "nl", operator=False)
    assert _snapshot(app, params["CallSid"]) == before  # the whole turn rolled back
    # The database is back: Twilio's next request for this call is served normally.
    again = assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"}))
    assert APOLOGY["nl"] not in said(again)
    assert _snapshot(app, params["CallSid"])[0] == before[0] + 1


class TestWithOperator:
    @pytest.fixture
    def settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        settings["OPERATOR_NUMBER"] = OPERATOR
        return settings

    @pytest.mark.parametrize(("caller", "hotline", "language"), CALLS)
    def test_database_gone_mid_call_routes_to_the_operator(self, app, twilio, caller, hotline, language):
        params, action = _start(twilio, caller, hotline)
        with dead_database(app):
            response = twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "2"})
        _assert_apology(response, language, operator=True)

    def test_database_gone_before_the_first_answer(self, app, twilio):
        params = voice_params(From="+31612345678", To="+31201234567")
        with dead_database(app):
            response = twilio.post("/voice/inbound", params)
        _assert_apology(response, "nl", operator=True)


@pytest.mark.parametrize("path", ["/voice/flow/silence?v=1", "/voice/flow/queue-wait?v=1",
                                  "/voice/flow/transfer?v=1", "/voice/fallback"])
def test_database_gone_on_every_flow_step(app, twilio, path):
    params, _ = _start(twilio, "+393471234567", "+390212345678")
    with dead_database(app):
        response = twilio.post(path, {**params, "CallStatus": "in-progress"})
    _assert_apology(response, "it", operator=False)


def test_status_callback_while_the_database_is_gone_is_not_a_500(app, twilio):
    params, _ = _start(twilio, "+393471234567", "+390212345678")
    with dead_database(app):
        response = twilio.post("/voice/status", {**params, "CallStatus": "completed", "SequenceNumber": "3"})
    assert response.status_code in (200, 204)


def test_health_says_unreachable_while_the_database_is_gone(app, client):
    with dead_database(app):
        response = client.get("/health")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_language_chosen_in_the_call_is_kept_when_the_database_dies(app, twilio):
    params, action = _start(twilio, "+393471234567", "+390212345678")
    menu = assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "*"}))
    chosen = assert_voice_answer(twilio.post(path_of(first_gather_action(menu)),
                                             {**params, "CallStatus": "in-progress", "Digits": "3"}))
    action = path_of(first_gather_action(chosen))
    with dead_database(app):
        response = twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"})
    _assert_apology(response, "en", operator=False)


def _drop_every_session(engine: Any, *, until_gone: bool = False) -> None:
    """What a PostgreSQL restart or failover does to the pool: the server ends every session of
    the app's database (`until_gone`: and waits until it has really let them go)."""
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", (engine.url.database,))
        for _ in range(100 if until_gone else 0):
            if not admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                 (engine.url.database,)).fetchone()[0]:
                return
            time.sleep(0.02)


@pytest.mark.parametrize("checkout_sees_it", [True, False])
def test_postgres_restart_mid_call_is_survived_by_the_next_turn(app, twilio, monkeypatch, checkout_sees_it):
    """Server-side disconnect of every pooled connection (a PostgreSQL restart or failover).
    The server closes a session's socket a moment after it is told to end it, so the checkout
    check may hand out a connection that is already dead (`checkout_sees_it` False makes that
    certain): then the request's first statement finds out and runs again on a new one."""
    engine = app.extensions["cortese.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to restart")
    params, action = _start(twilio, "+393471234567", "+390212345678")
    _drop_every_session(engine, until_gone=not checkout_sees_it)
    if not checkout_sees_it:
        monkeypatch.setattr(db, "_readable", lambda _fd: False)
    verbs = assert_voice_answer(twilio.post(action, {**params, "CallStatus": "in-progress", "Digits": "1"}))
    assert APOLOGY["it"] not in said(verbs)  # the dead connections were replaced: the call goes on
