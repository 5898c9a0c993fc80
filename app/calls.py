"""Call records keyed by CallSid: created from any webhook, moved forward by status callbacks.

Twilio may send a webhook twice and status callbacks out of order, so every write here is
idempotent, and a status only moves forward (a late `ringing` never overwrites `completed`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Executable,
    Insert,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    column,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy import values as sql_values
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.db import final_write, first_statement, insert_skipping_duplicates, statements
from app.models import STATUS_RANK, TERMINAL_STATUSES, Call, CallEvent, CallStep
from app.prepared import Prepared, Statements

_MAX_FIELD = 128
_CALLS = cast(Table, Call.__table__)


def _clip(value: str | None, limit: int = _MAX_FIELD) -> str:
    return (value or "")[:limit]


_BY_SID = select(Call).where(Call.call_sid == bindparam("sid"))  # built once: every webhook runs it


def get_call(session: Session, call_sid: str) -> Call | None:
    return session.scalar(_BY_SID, {"sid": call_sid})


@dataclass(slots=True)
class CallRecord:
    """The columns of a call's row a flow turn reads and saves, as plain data. The hot path of
    every webhook loads this with one prepared statement instead of an ORM object
    (app.prepared); code that reads or changes other columns of the call uses the ORM's Call."""

    id: int | None  # None: a call not in the database yet (NewCall)
    call_sid: str
    direction: str
    from_number: str
    to_number: str
    status: str
    last_sequence: int
    ended_at: datetime | None
    updated_at: datetime
    language: str | None
    flow: str | None
    node: str | None
    slots: dict[str, Any]
    counters: dict[str, Any]
    state_version: int
    simulated: bool

    @classmethod
    def of(cls, call: Call) -> CallRecord:
        """The record of an ORM Call (a route that holds one hands it to the flow engine)."""
        return cls(*(getattr(call, name) for name in RECORD_COLUMNS))


RECORD_COLUMNS = tuple(f.name for f in fields(CallRecord))


@dataclass(slots=True)
class NewCall(CallRecord):
    """A call heard of for the first time, not in the database yet: its first turn's save
    inserts it with that turn's state and steps (`start_turn`), one write where an INSERT, its
    commit and the turn's UPDATE were three. `columns`: the row as this webhook gives it."""

    columns: dict[str, Any] = field(default_factory=dict)


def new_call(params: Mapping[str, str], at: datetime) -> NewCall:
    """The record of a call whose first webhook this is (its status as the webhook says)."""
    row = {**_arriving(params, at, with_status=True), **_unmoved()}
    return NewCall(id=None, **{name: row[name] for name in RECORD_COLUMNS[1:]}, columns=row)


def load_record(session: Session, call_sid: str) -> CallRecord | None:
    """The call's record by CallSid, or None when we have never heard of the call."""
    prepared = statements(session).get("calls.by_sid", lambda: select(*(_CALLS.c[n] for n in RECORD_COLUMNS))
                                       .where(_CALLS.c.call_sid == bindparam("sid")))
    raw = first_statement(session, lambda db: prepared.fetch_one(db, {"sid": call_sid}))
    return CallRecord(*prepared.row(raw)) if raw is not None else None


# Simulated calls (the simulator and the browser softphone) carry this header: an HMAC of the
# CallSid under the auth token, which Twilio never sends. Such calls, and the callbacks and
# tickets they make, are marked simulated, and the gateway never dials for them.
SIMULATED_HEADER = "X-Cortese-Simulated"
SIMULATED_PARAM = "CorteseSimulated"  # set by the webhook guard, never taken from the request


def simulated_mark(auth_token: str, call_sid: str) -> str:
    return hmac.new(auth_token.encode(), b"cortese-simulated:" + call_sid.encode(), hashlib.sha256).hexdigest()


def is_simulated(session: Session, call_sid: str | None) -> bool:
    """True when `call_sid` names a call the simulator made."""
    if not call_sid:
        return False
    return bool(session.scalar(select(Call.simulated).where(Call.call_sid == call_sid)))


def webhook_record(session: Session, params: Mapping[str, str], at: datetime) -> CallRecord:
    """What a webhook that starts a flow reads first (the hot path of a new call): the call's
    record, inserted with this webhook's status the first time we hear of it (one prepared
    statement), else as stored (the turn saves this webhook's status with its state)."""
    arriving = _arriving(params, at, with_status=True)
    sqlite = session.get_bind().dialect.name == "sqlite"
    prepared = statements(session).get("calls.insert_new", lambda: _insert_new_call(session, arriving, sqlite))
    new_id = first_statement(session, lambda db: _inserted_id(db, prepared, arriving, sqlite))
    if new_id is not None:
        # The row holds what was sent: only its id is read back, not the row to convert again.
        row = {**arriving, **_unmoved()}
        return CallRecord(new_id, *(row[name] for name in RECORD_COLUMNS[1:]))
    record = load_record(session, arriving["call_sid"])  # Twilio retried the request: we have it
    if record is None:
        raise LookupError(f"call {arriving['call_sid']} neither inserted nor found")
    return record


def _insert_new_call(session: Session, arriving: Mapping[str, Any], sqlite: bool) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id (without RETURNING on SQLite, see
    `_inserted_id`): what the webhook says as parameters, the unmoved state as the
    statement's constants (converted once, app.prepared)."""
    columns = {name: bindparam(name, type_=_CALLS.c[name].type) for name in arriving}
    columns.update({name: bindparam(name, value, type_=_CALLS.c[name].type) for name, value in _unmoved().items()})
    statement = insert_skipping_duplicates(session, _CALLS).values(columns)
    return statement if sqlite else statement.returning(_CALLS.c.id)


def _inserted_id(db: Any, prepared: Prepared, arriving: Mapping[str, Any], sqlite: bool) -> int | None:
    """The new call's id, None when the call was there already. On SQLite the id is the
    cursor's last row id: a RETURNING row is handed back before the statement ends, and the
    autocommitted INSERT would commit (and let go of the write lock) only at the next step,
    after the thread has waited for the GIL again."""
    if not sqlite:
        raw = prepared.fetch_one(db, arriving)
        return None if raw is None else int(raw[0])
    cursor = db.cursor()
    try:
        prepared.execute(cursor, arriving)
        return cursor.lastrowid if cursor.rowcount == 1 else None  # 0 rows: a duplicate, skipped
    finally:
        cursor.close()


def ensure_call(session: Session, params: Mapping[str, str], at: datetime, *, with_status: bool = True) -> Call:
    """Return the Call for params['CallSid'], creating it if this is the first we hear of it
    (in the status params['CallStatus'] gives, unless `with_status` is False)."""
    call_sid = _clip(params.get("CallSid"), 64)
    if not call_sid:
        raise ValueError("webhook without CallSid")
    call = get_call(session, call_sid)
    if call is not None:
        return call
    values = _new_call(params, at, with_status=with_status)
    # No SAVEPOINT and no flush: the ORM makes the Call from the INSERT's RETURNING, and a
    # retried webhook that another worker has just created the call for inserts nothing.
    call = session.scalars(_insert_call(session), values).first()
    if call is None:
        call = get_call(session, call_sid)
        if call is None:
            raise LookupError(f"call {call_sid} neither inserted nor found")
    return call


def _new_call(params: Mapping[str, str], at: datetime, *, with_status: bool) -> dict[str, Any]:
    """The columns of a call we hear of for the first time."""
    return {**_arriving(params, at, with_status=with_status), **_unmoved()}


def _arriving(params: Mapping[str, str], at: datetime, *, with_status: bool) -> dict[str, Any]:
    """The columns of a new call its first webhook gives (in UTC, as the database gives times
    back: a new call's record is made from these without reading the row)."""
    call_sid = _clip(params.get("CallSid"), 64)
    if not call_sid:
        raise ValueError("webhook without CallSid")
    if at.tzinfo is not UTC and at.tzinfo is not None:  # a naive time: the column's type refuses it
        at = at.astimezone(UTC)
    values: dict[str, Any] = {
        "call_sid": call_sid,
        "account_sid": _clip(params.get("AccountSid"), 64) or None,
        "direction": _clip(params.get("Direction") or "inbound", 20),
        "from_number": _clip(params.get("From")),
        "to_number": _clip(params.get("To")),
        "status": "queued", "started_at": at, "ended_at": None, "updated_at": at,
        "simulated": params.get(SIMULATED_PARAM) == "true",
    }
    if with_status:  # one INSERT, not INSERT + UPDATE; status callbacks apply theirs in order
        values.update(_moves("queued", -1, params.get("CallStatus"), at, None))
    return values


def _unmoved() -> dict[str, Any]:
    """The columns of a call no status callback or flow turn has moved yet."""
    return {"last_sequence": -1, "answered_by": None, "duration_seconds": None, "language": None, "flow": None,
            "node": None, "slots": {}, "counters": {}, "state_version": 0}


_INSERTS: dict[tuple[str, str], Insert] = {}


def _insert_returning(session: Session, table: Table, *returning: ColumnElement[Any]) -> Insert:
    key = (session.get_bind().dialect.name, table.name)
    if key not in _INSERTS:  # built once per database kind: every webhook runs one
        _INSERTS[key] = insert_skipping_duplicates(session, table).returning(*returning)
    return _INSERTS[key]


_EVENTS = cast(Table, CallEvent.__table__)


_CALL_INSERTS: dict[str, Executable] = {}


def _insert_call(session: Session) -> Executable:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING every column, read by the ORM as a Call
    (persistent in the session, as if a query had loaded it)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _CALL_INSERTS:  # built once per database kind: every new call runs it
        _CALL_INSERTS[dialect] = select(Call).from_statement(_insert_returning(session, _CALLS, *_CALLS.c))
    return _CALL_INSERTS[dialect]


def _insert_event(session: Session) -> Insert:
    return _insert_returning(session, _EVENTS, _EVENTS.c.id)


def _known_status(value: str | None) -> str | None:
    return value if value in STATUS_RANK else None


def status_changes(call: Call | CallRecord, status: str | None, at: datetime, sequence: int | None = None) -> dict[str, Any]:
    """The columns moving the call to `status` would write: empty when the update is stale,
    unknown, or (from a webhook, no sequence) repeats the status we already have."""
    return _moves(call.status, call.last_sequence, status, at, sequence)


def _moves(current: str, last_sequence: int, status: str | None, at: datetime,
           sequence: int | None) -> dict[str, Any]:
    status = _known_status(status)
    if status is None or current in TERMINAL_STATUSES:
        return {}
    if sequence is None and status == current:
        return {}
    # A terminal status is the last word on a call whatever its sequence number says.
    terminal = status in TERMINAL_STATUSES
    if not terminal and sequence is not None and sequence <= last_sequence:
        return {}
    if STATUS_RANK[status] < STATUS_RANK.get(current, 0):
        return {}
    changes: dict[str, Any] = {"status": status, "updated_at": at}
    if sequence is not None:
        changes["last_sequence"] = max(sequence, last_sequence)
    if terminal:
        changes["ended_at"] = at
    return changes


def advance_status(call: Call, status: str | None, at: datetime, sequence: int | None = None) -> bool:
    """Move the call's status forward; return False when the update is stale or unknown."""
    changes = status_changes(call, status, at, sequence)
    for key, value in changes.items():
        setattr(call, key, value)
    return bool(changes)


def webhook_call(session: Session, params: Mapping[str, str], at: datetime) -> Call:
    """What every voice webhook that answers a call does first: the call's record (created
    the first time we hear of it) with the status this webhook reports applied."""
    call = ensure_call(session, params, at)
    advance_status(call, params.get("CallStatus"), at)
    return call


def record_status_callback(session: Session, params: Mapping[str, str], at: datetime) -> Call:
    """Store one status callback (once, however often Twilio sends it) and apply it in order."""
    return apply_status_callback(session, params, at)[0]


def apply_status_callback(session: Session, params: Mapping[str, str], at: datetime) -> tuple[Call, bool]:
    """Like record_status_callback, and say whether it changed anything: a duplicate or a stale
    (out-of-order) delivery does not, so receivers of call_status_changed act once per change."""
    call = ensure_call(session, params, at, with_status=False)
    sequence = _int(params.get("SequenceNumber"))
    status = _clip(params.get("CallStatus"), 20) or "unknown"
    stored = session.connection().execute(_insert_event(session), {
        "call_id": call.id,
        "sequence_number": sequence if sequence is not None else -1,
        "status": status,
        "received_at": at,
        "twilio_timestamp": _clip(params.get("Timestamp"), 64) or None,
        "params": {k: _clip(v, 512) for k, v in list(params.items())[:64]},
    }).first()
    if stored is None:
        return call, False  # a duplicate delivery: already applied
    changed = advance_status(call, status, at, sequence)
    if changed:
        duration = _int(params.get("CallDuration"))
        if duration is not None:
            call.duration_seconds = duration
    answered_by = params.get("AnsweredBy")
    if answered_by and not call.answered_by:
        call.answered_by = _clip(answered_by, 32)
        changed = True
    return call, changed


def add_step(
    session: Session,
    call: Call,
    at: datetime,
    kind: str,
    *,
    node: str | None = None,
    input: str | None = None,
    outcome: str | None = None,
    said: str | None = None,
) -> CallStep:
    """One line of the call's history outside a flow turn (a turn's actions use
    `ActionContext.add_step`, written with the turn's own steps)."""
    if call.id is None:
        session.flush()  # a brand-new call needs its id first
    step = CallStep(
        call_id=call.id, at=at, flow=call.flow, node=node or call.node, kind=kind,
        input=input[:2000] if input else None, outcome=outcome, said=said,
    )
    session.add(step)
    return step


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# A flow turn's save: the call's state, if nobody moved the call since it was read, and the
# turn's lines of history. Prepared once per database (app.prepared).
STATE_COLUMNS = ("flow", "node", "language", "slots", "counters", "state_version", "status", "ended_at",
                 "updated_at")
STEP_COLUMNS = ("call_id", "at", "flow", "node", "kind", "input", "outcome", "said")
NEW_CALL_COLUMNS = tuple(c.name for c in _CALLS.columns if c.name != "id")
_STEPS = cast(Table, CallStep.__table__)


def save(session: Session, call: CallRecord, expected_version: int, state: Mapping[str, Any],
         steps: Sequence[Mapping[str, Any]]) -> bool:
    """A turn's save: the first turn of a call not in the database yet inserts it
    (`start_turn`), any other moves it on (`save_turn`)."""
    if isinstance(call, NewCall):
        return start_turn(session, call, state, steps)
    assert call.id is not None  # only a NewCall has none
    return save_turn(session, call.id, expected_version, state, steps)


def save_turn(session: Session, call_id: int, expected_version: int, state: Mapping[str, Any],
              steps: Sequence[Mapping[str, Any]]) -> bool:
    """Save a turn: False (and nothing written) when the call is no longer at
    `expected_version`, because another webhook's turn moved it first. The request's last
    write (`final_write`): inside `commits_after()` it may commit by itself.

    One statement on either database (the UPDATE and the steps it allows), so a save that
    commits by itself holds the write lock within one call into the driver: SQLite's lock,
    which every writer of every worker waits for, is not held while the thread waits to get
    the GIL back between statements."""
    prepared = statements(session)
    values = {"call_id": call_id, "expected": expected_version, **state}
    if session.get_bind().dialect.name == "postgresql":
        return _written_id(session, prepared, "calls.save_turn_and_steps", _save_state_and_steps, values,
                           steps) is not None
    return final_write(session, lambda db: _through_view(db, prepared, _TURN, values, steps))


def start_turn(session: Session, call: NewCall, state: Mapping[str, Any],
               steps: Sequence[Mapping[str, Any]]) -> bool:
    """Insert a new call with its first turn's state and steps, in one statement as
    `save_turn` saves: False (and nothing written) when a call with its CallSid is there
    already (Twilio's retry of the same webhook, or a status callback, made it first). On
    PostgreSQL the record gets its id; SQLite's trigger cannot say it (nothing after the
    first turn needs it)."""
    prepared = statements(session)
    values = {**call.columns, **state}
    if session.get_bind().dialect.name == "postgresql":
        call.id = _written_id(session, prepared, "calls.start_call_and_steps", _start_call_and_steps, values, steps)
        return call.id is not None
    return final_write(session, lambda db: _through_view(db, prepared, _START, values, steps))


def _written_id(session: Session, prepared: Statements, key: str, build: Callable[[int], Any],
                values: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> int | None:
    """PostgreSQL: run the statement `build` makes for this many steps (prepared once per
    count): the id of the call it wrote, None when it wrote nothing."""
    count = len(steps)
    statement = prepared.get(f"{key}.{count}", lambda: build(count))
    row = final_write(session, lambda db: statement.fetch_one(db, {**values, **_numbered(steps)}))
    return None if row is None else int(row[0])


def _numbered(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The steps' values as the VALUES list of `_with_steps` names them: `<column>_<i>`."""
    return {f"{name}_{i}": step[name] for i, step in enumerate(steps) for name in STEP_COLUMNS[1:]}


class _View:
    """SQLite: a TEMP view whose INSTEAD OF trigger does a whole write, `body` and then the
    steps' INSERT for the call `call_id` names (SQLite has no writable CTE). An INSERT into it
    is one statement: the write lock is taken and let go within one call into SQLite. The view
    has the write's values as columns, and `steps`: one JSON array of rows in STEP_COLUMNS'
    order after call_id, each value already converted as its column stores it. View and
    trigger are the connection's own: made the first time it writes through them, or again
    after a rollback undid their making (`_through_view`)."""

    def __init__(self, name: str, columns: Sequence[Column[Any]], body: str, call_id: str) -> None:
        self.name = name
        self.table = Table(name, MetaData(), *columns, Column("steps", Text))
        self.ddl = (
            f"CREATE TEMP VIEW IF NOT EXISTS {name} AS SELECT "
            + ", ".join(f"NULL AS {column.name}" for column in self.table.columns),
            f"CREATE TEMP TRIGGER IF NOT EXISTS {name} INSTEAD OF INSERT ON {name} BEGIN {body} "
            "SELECT RAISE(IGNORE) WHERE changes() = 0; "
            f"INSERT INTO {_STEPS.name} ({', '.join(STEP_COLUMNS)}) SELECT {call_id}, "
            + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(STEP_COLUMNS) - 1))
            + " FROM json_each(NEW.steps) ORDER BY key; END",
        )

    def insert(self) -> Any:
        return insert(self.table).values({column.name: bindparam(column.name, type_=column.type)
                                          for column in self.table.columns})


def _typed(names: Sequence[str]) -> list[Column[Any]]:
    return [Column(name, _CALLS.c[name].type) for name in names]


# A turn's save: the UPDATE, if nobody moved the call since it was read.
TURN_VIEW = "cortese_turn_save"
_TURN = _View(
    TURN_VIEW, [Column("call_id", Integer), Column("expected", Integer), *_typed(STATE_COLUMNS)],
    f"UPDATE {_CALLS.name} SET " + ", ".join(f"{name} = NEW.{name}" for name in STATE_COLUMNS)
    + " WHERE id = NEW.call_id AND state_version = NEW.expected;",
    "NEW.call_id")
# A new call's first turn: the call's row, unless its CallSid is there already.
START_VIEW = "cortese_call_start"
_START = _View(
    START_VIEW, _typed(NEW_CALL_COLUMNS),
    f"INSERT INTO {_CALLS.name} ({', '.join(NEW_CALL_COLUMNS)}) "
    f"VALUES ({', '.join(f'NEW.{name}' for name in NEW_CALL_COLUMNS)}) ON CONFLICT DO NOTHING;",
    f"(SELECT id FROM {_CALLS.name} WHERE call_sid = NEW.call_sid)")
_JSON_ROWS = json.JSONEncoder(separators=(",", ":")).encode


def _through_view(db: Any, prepared: Statements, view: _View, values: Mapping[str, Any],
                  steps: Sequence[Mapping[str, Any]]) -> bool:
    """One INSERT into `view`: True when its trigger wrote (it writes nothing when the call
    had moved, or was there already)."""
    write = prepared.get(f"calls.{view.name}", view.insert)
    # Each step's values converted as their columns store them (an INSERT of one step's
    # values, never run, knows how), in STEP_COLUMNS' order after call_id.
    row = prepared.get("calls.step_values", _insert_step_values)
    parameters = {**values, "steps": _JSON_ROWS([row.parameters(step) for step in steps])}
    before = db.total_changes
    cursor = db.cursor()
    try:
        try:
            write.execute(cursor, parameters)
        except sqlite3.OperationalError as exc:
            if view.name not in str(exc):
                raise
            for ddl in view.ddl:
                cursor.execute(ddl)
            write.execute(cursor, parameters)
    finally:
        cursor.close()
    return db.total_changes != before


def _save_state() -> Any:
    return (update(_CALLS)
            .where(_CALLS.c.id == bindparam("call_id"), _CALLS.c.state_version == bindparam("expected"))
            .values({name: bindparam(name, type_=_CALLS.c[name].type) for name in STATE_COLUMNS}))


def _insert_step_values() -> Any:
    return insert(_STEPS).values({name: bindparam(name, type_=_STEPS.c[name].type) for name in STEP_COLUMNS[1:]})


def _save_state_and_steps(count: int) -> Any:
    """PostgreSQL: WITH moved AS (UPDATE ... RETURNING id), written AS (INSERT the `count`
    steps, for the moved row only) SELECT id FROM moved."""
    moved = _save_state().returning(_CALLS.c.id).cte("moved")
    return _with_steps(moved, count, select(moved.c.id))


def _start_call_and_steps(count: int) -> Any:
    """PostgreSQL: WITH new AS (INSERT ... ON CONFLICT DO NOTHING RETURNING id), written AS
    (INSERT the `count` steps, for the new row only) SELECT id FROM new."""
    new = (postgresql.insert(_CALLS).on_conflict_do_nothing()
           .values({name: bindparam(name, type_=_CALLS.c[name].type) for name in NEW_CALL_COLUMNS})
           .returning(_CALLS.c.id).cte("new"))
    return _with_steps(new, count, select(new.c.id))


def _with_steps(written_for: Any, count: int, result: Any) -> Any:
    """`result`, with a CTE inserting `count` steps for the row `written_for` returns. The
    steps are a VALUES list of typed parameters (`_numbered`), one statement per number of
    steps: the server reads them as they are, where a JSON array of the same rows cost it
    about a quarter more CPU for a menu step's five (parsed, taken apart and cast again)."""
    if count == 0:
        return result
    names = STEP_COLUMNS[1:]
    # The row's position is the SQL's own constant: the steps' ids follow the turn's order.
    rows = sql_values(*(column(n, _STEPS.c[n].type) for n in names), column("position", Integer), name="steps").data(
        [(*(bindparam(f"{n}_{i}", type_=_STEPS.c[n].type) for n in names), literal_column(str(i)))
         for i in range(count)])
    written = (insert(_STEPS)
               .from_select(STEP_COLUMNS, select(written_for.c.id, *(rows.c[n] for n in names))
                            .select_from(written_for).join(rows, true()).order_by(rows.c.position))
               .cte("written"))
    return result.add_cte(written)
