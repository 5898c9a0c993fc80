"""Call records from webhooks: created once in the webhook's status, whatever the race.

Twilio retries a webhook it got no answer to, so two workers can meet on a CallSid the
database has never seen: both look it up, find nothing, and insert. The loser must get the
winner's row back, with its transaction (and whatever else it holds) intact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, func, inspect, select

from app import calls
from app.consent.models import Contact
from app.db import db_session, get_engine, session_scope
from app.models import Call, CallEvent, CallStep
from tests.conftest import app_on_each_database, voice_params

AT = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
SID = "CA" + "7" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, tmp_path):
    yield from app_on_each_database(request, tmp_path, AT)


_recorders: dict[int, Any] = {}


def _record(statements: list[str]) -> Any:
    """One listener per list, so event.remove gets the very function event.listen got."""
    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    return _recorders.setdefault(id(statements), listener)


def _count(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Call).where(Call.call_sid == SID))


def test_a_new_call_is_inserted_in_its_webhooks_status_fully_loaded(db_app):
    with session_scope(db_app) as session:
        call = calls.ensure_call(session, voice_params(CallSid=SID, CallStatus="ringing"), AT)
        state = inspect(call)
        assert state.persistent and call.id is not None
        # Every column is known: reading the call later costs no extra SELECT.
        statements: list[str] = []
        event.listen(get_engine(db_app), "before_cursor_execute", _record(statements))
        values = {c.key: getattr(call, c.key) for c in Call.__table__.columns}
        event.remove(get_engine(db_app), "before_cursor_execute", _record(statements))
        assert statements == [] and values["flow"] is None
        assert (call.status, call.last_sequence, call.state_version, call.slots) == ("ringing", -1, 0, {})
        assert call.started_at == AT and call.started_at.tzinfo is not None
        call.slots = {"language": "it"}  # the ORM still tracks it: this change is flushed
    with session_scope(db_app) as session:
        saved = calls.get_call(session, SID)
        assert (saved.status, saved.slots, saved.from_number) == ("ringing", {"language": "it"}, "+393471234567")


def test_without_status_a_new_call_starts_queued(db_app):
    with session_scope(db_app) as session:
        call = calls.ensure_call(session, voice_params(CallSid=SID, CallStatus="completed"), AT, with_status=False)
        assert call.status == "queued"
    with session_scope(db_app) as session:
        assert calls.get_call(session, SID).status == "queued"


def test_the_loser_of_a_creation_race_gets_the_winners_row_and_keeps_its_work(db_app, monkeypatch):
    with session_scope(db_app) as other_worker:
        winner = calls.ensure_call(other_worker, voice_params(CallSid=SID, CallStatus="ringing"), AT)
    real_get_call = calls.get_call
    looked: list[str] = []

    def missed_once(session: Any, call_sid: str) -> Call | None:
        # The first lookup ran before the other worker committed.
        looked.append(call_sid)
        return None if len(looked) == 1 else real_get_call(session, call_sid)

    monkeypatch.setattr(calls, "get_call", missed_once)
    with session_scope(db_app) as session:
        session.add(Contact(e164="+393471234567", region="IT", source="test", created_at=AT, updated_at=AT))
        call = calls.ensure_call(session, voice_params(CallSid=SID, CallStatus="in-progress"), AT)
        assert call.id == winner.id and len(looked) == 2
        assert call.status == "ringing"  # the winner's row, not our unsaved copy
    assert _count(db_app) == 1
    with session_scope(db_app) as session:  # the contact added before the race was committed
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_a_webhook_without_callsid_is_refused(db_app):
    with session_scope(db_app) as session, pytest.raises(ValueError):
        calls.ensure_call(session, voice_params(CallSid=""), AT)


def test_a_call_first_heard_of_as_ended_is_created_ended(db_app):
    with session_scope(db_app) as session:
        call = calls.ensure_call(session, voice_params(CallSid=SID, CallStatus="no-answer"), AT)
        assert (call.status, call.ended_at) == ("no-answer", AT)
    with session_scope(db_app) as session:
        assert calls.get_call(session, SID).ended_at == AT


def test_an_unknown_status_leaves_a_new_call_queued(db_app):
    with session_scope(db_app) as session:
        assert calls.ensure_call(session, voice_params(CallSid=SID, CallStatus="exploded"), AT).status == "queued"


def test_a_status_callback_delivered_twice_is_stored_and_applied_once(db_app):
    params = voice_params(CallSid=SID, CallStatus="completed", SequenceNumber="3", CallDuration="42")
    with session_scope(db_app) as session:
        call, changed = calls.apply_status_callback(session, params, AT)
        assert changed and (call.status, call.duration_seconds) == ("completed", 42)
    with session_scope(db_app) as session:
        call, changed = calls.apply_status_callback(session, params, AT)
        assert not changed and call.status == "completed"
        assert session.scalar(select(func.count()).select_from(CallEvent)) == 1


def test_a_webhook_answering_a_known_call_moves_its_status_on(db_app):
    """Twilio's Url webhook of an answered call says CallStatus=in-progress; the call we heard
    ringing is now in progress, and an older status arriving late does not move it back."""
    with session_scope(db_app) as session:
        calls.webhook_call(session, voice_params(CallSid=SID, CallStatus="ringing"), AT)
    with session_scope(db_app) as session:
        assert calls.webhook_call(session, voice_params(CallSid=SID, CallStatus="in-progress"), AT).status == "in-progress"
    with session_scope(db_app) as session:
        assert calls.webhook_call(session, voice_params(CallSid=SID, CallStatus="ringing"), AT).status == "in-progress"
    assert _count(db_app) == 1


# -- the hot path's plain records and the turn's save (app.prepared), on both databases ------


def _a_new_call(app: Any, sid: str = SID, at: datetime = AT, **params: str) -> calls.CallRecord:
    with app.test_request_context():
        session = db_session()
        record = calls.webhook_record(session, voice_params(**{"CallSid": sid, "CallStatus": "ringing", **params}), at)
        session.commit()
        return record


def test_a_new_call_is_read_back_as_the_orm_sees_it(db_app):
    record = _a_new_call(db_app)
    with session_scope(db_app) as session:
        call = calls.get_call(session, SID)
        assert calls.CallRecord.of(call) == record
        loaded = calls.load_record(session, SID)
    assert loaded == record
    assert record.status == "ringing" and record.ended_at is None and record.slots == {}
    assert record.simulated is False and record.state_version == 0


@pytest.mark.parametrize(("params", "at"), [
    ({"CallStatus": "in-progress", "From": "+39 02 1234 5678 " + "9" * 200}, AT),
    ({"CallStatus": "completed", calls.SIMULATED_PARAM: "true"}, AT),  # terminal: ended_at set
    ({"CallStatus": "made-up", "Direction": "outbound-api"}, AT.astimezone(timezone(timedelta(hours=-5)))),
])
def test_a_new_calls_record_is_the_row_the_database_holds(db_app, params, at):
    """The record a new call's first webhook returns is the stored row as the ORM reads it back
    (clipped texts, aware UTC times, the simulated mark, the state no turn has moved yet)."""
    record = _a_new_call(db_app, at=at, **params)
    with session_scope(db_app) as session:
        stored = calls.CallRecord.of(calls.get_call(session, SID))
    assert record == stored
    assert [(v, str(v)) for v in (record.updated_at, record.ended_at)] == \
        [(v, str(v)) for v in (stored.updated_at, stored.ended_at)]


def test_a_retried_first_webhook_finds_the_call_it_made(db_app):
    first = _a_new_call(db_app)
    assert _a_new_call(db_app) == first
    with session_scope(db_app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def _steps(n: int, call_id: int | None) -> list[dict[str, Any]]:
    return [{"call_id": call_id, "at": AT, "flow": "f", "node": f"n{i}", "kind": "say", "input": None,
             "outcome": None, "said": f"line {i} è già"} for i in range(n)]


def _state(version: int) -> dict[str, Any]:
    return {"flow": "f", "node": "n9", "language": "it", "slots": {"a": [1, "è"]}, "counters": {"seen": 2},
            "state_version": version, "status": "in-progress", "ended_at": None, "updated_at": AT}


@pytest.mark.parametrize("steps", [0, 1, 5, 40])
def test_a_turn_saves_its_state_and_its_steps_in_order(db_app, steps):
    record = _a_new_call(db_app)
    with session_scope(db_app) as session:
        assert calls.save_turn(session, record.id, 0, _state(1), _steps(steps, record.id))
    with session_scope(db_app) as session:
        saved = calls.load_record(session, SID)
        written = session.scalars(select(CallStep.said).where(CallStep.call_id == record.id)
                                  .order_by(CallStep.id)).all()
    assert (saved.node, saved.slots, saved.counters, saved.state_version) == ("n9", {"a": [1, "è"]}, {"seen": 2}, 1)
    assert written == [f"line {i} è già" for i in range(steps)]


@pytest.mark.parametrize("steps", [0, 1, 4])
def test_a_new_calls_first_turn_inserts_it_with_its_state_and_steps(db_app, steps):
    """The first webhook's record is not in the database until its first turn saves: then the
    call, its state and its steps are written together, and the call is as the webhook said."""
    record = calls.new_call(voice_params(CallSid=SID, CallStatus="ringing", From="+393471234567"), AT)
    assert record.id is None and _count(db_app) == 0
    with session_scope(db_app) as session:
        assert calls.start_turn(session, record, _state(1), _steps(steps, None))
    with session_scope(db_app) as session:
        call = calls.get_call(session, SID)
        written = session.scalars(select(CallStep.said).where(CallStep.call_id == call.id)
                                  .order_by(CallStep.id)).all()
    assert (call.from_number, call.direction, call.started_at, call.answered_by) == ("+393471234567", "inbound", AT, None)
    assert (call.node, call.slots, call.state_version, call.status) == ("n9", {"a": [1, "è"]}, 1, "in-progress")
    assert written == [f"line {i} è già" for i in range(steps)]
    postgres = get_engine(db_app).dialect.name == "postgresql"
    assert record.id == (call.id if postgres else None)  # SQLite's trigger cannot say it


def test_a_first_turn_for_a_call_already_written_writes_nothing(db_app):
    """Twilio's retry of the first webhook (or a status callback) wrote the call first: the
    second first turn writes neither the call nor its steps."""
    _a_new_call(db_app)
    again = calls.new_call(voice_params(CallSid=SID, CallStatus="ringing"), AT)
    with session_scope(db_app) as session:
        assert not calls.start_turn(session, again, _state(1), _steps(3, None))
    with session_scope(db_app) as session:
        assert calls.load_record(session, SID).state_version == 0
        assert session.scalar(select(func.count()).select_from(CallStep)) == 0
    assert _count(db_app) == 1


def test_a_turn_another_worker_beat_writes_nothing(db_app):
    record = _a_new_call(db_app)
    with session_scope(db_app) as session:
        assert calls.save_turn(session, record.id, 0, _state(1), _steps(1, record.id))
    with session_scope(db_app) as session:  # a second turn computed from version 0
        assert not calls.save_turn(session, record.id, 0, {**_state(1), "node": "elsewhere"}, _steps(3, record.id))
    with session_scope(db_app) as session:
        assert calls.load_record(session, SID).node == "n9"
        assert session.scalar(select(func.count()).select_from(CallStep)) == 1


def test_a_turn_saved_in_an_open_transaction_goes_with_its_rollback(db_app):
    """A save joins what the request wrote before it; a rollback takes both, and the next
    turn on the same connection saves as usual. On SQLite the first save on a connection
    also makes its turn view (calls.TURN_VIEW): the rollback undoes that too, and the next
    save makes it again."""
    record = _a_new_call(db_app)
    engine = get_engine(db_app)
    engine.dispose()  # a new connection: no turn view yet
    with engine.connect() as connection:
        session = db_app.extensions["cortese.sessionmaker"](bind=connection)
        connection.begin()
        connection.exec_driver_sql(f"UPDATE calls SET answered_by = 'human' WHERE id = {record.id}")
        assert calls.save_turn(session, record.id, 0, _state(1), _steps(2, record.id))
        connection.rollback()
        assert _turn_views(connection) in ([], None)
        connection.begin()
        assert calls.save_turn(session, record.id, 0, _state(1), _steps(3, record.id))
        connection.commit()
        assert _turn_views(connection) in ([calls.TURN_VIEW], None)
        session.close()
    with session_scope(db_app) as session:
        assert calls.load_record(session, SID).state_version == 1
        assert session.scalar(select(func.count()).select_from(CallStep)) == 3
        assert session.get(Call, record.id).answered_by is None


def _turn_views(connection: Any) -> list[str] | None:
    """The connection's own views on SQLite (None on PostgreSQL, which needs none)."""
    if connection.dialect.name != "sqlite":
        return None
    dbapi = connection.connection.dbapi_connection
    return [name for (name,) in dbapi.execute("SELECT name FROM sqlite_temp_master WHERE type = 'view'")]


def test_a_turns_steps_are_stored_value_for_value(db_app):
    """Whatever a step holds (no value, quotes, backslashes, any script, the longest words,
    a time with microseconds in another zone) is what the database gives back, in order."""
    record = _a_new_call(db_app)
    rome = timezone(timedelta(hours=1))
    odd = ['say "ciao"', "a\\b\nc\td", "è già 👋 日本", "x" * 2000, "", "{}", "[1, null]"]
    steps = [{"call_id": record.id, "at": datetime(2026, 11, 25, 15, 0, 0, 123456, tzinfo=rome), "flow": "f" * 64,
              "node": "n" * 64, "kind": "k" * 32, "input": said, "outcome": None if i % 2 else "o", "said": said}
             for i, said in enumerate(odd)]
    steps.append({"call_id": record.id, "at": AT, "flow": None, "node": None, "kind": "say", "input": None,
                  "outcome": None, "said": None})
    with session_scope(db_app) as session:
        assert calls.save_turn(session, record.id, 0, _state(1), steps)
    with session_scope(db_app) as session:
        stored = session.scalars(select(CallStep).where(CallStep.call_id == record.id).order_by(CallStep.id)).all()
        got = [{name: getattr(step, name) for name in calls.STEP_COLUMNS} for step in stored]
    assert got == steps
    assert all(step["at"].tzinfo is UTC for step in got)
