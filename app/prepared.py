"""Statements SQLAlchemy compiles once and the DB-API cursor runs: the webhook hot path.

A voice webhook runs the same three or four statements for every caller. Through the ORM or
even Core, each costs hundreds of Python calls per execution (cache keys, parameter
processing, result wrappers); a menu step spent more than half its CPU there. A `Prepared`
statement is written with SQLAlchemy (so its SQL, its parameter style and its type handling
are the dialect's own: JSON, aware datetimes, booleans), compiled once per dialect, and then
executed on the raw DB-API cursor with only the type conversions its columns need.

Only plain statements belong here: no statement-level defaults, no ORM events. Everything
else keeps using the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]
Statement = Select[Any] | CompoundSelect | UpdateBase


class Prepared:
    """One statement compiled for one dialect; `parameters()` turns named Python values of its
    free parameters into what the driver takes (in the dialect's order for positional parameter
    styles), with the statement's own constants (bind parameters given a value) added."""

    def __init__(self, statement: Statement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        # The parameters each execution gives; the others are the statement's own constants
        # (literals, IN lists: expanded into one parameter per value, once, here).
        free = {name for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(dict.fromkeys(free))
        self.sql = expanded.statement
        self.positional = compiled.positional
        self.names: tuple[str, ...] = tuple(expanded.positiontup or ()) if compiled.positional else ()
        self._bind: dict[str, Processor] = {}
        for name in expanded.parameters:
            bind = compiled.binds.get(name)
            process = (_bind_processor(bind.type, dialect) if bind is not None
                       else expanded.processors.get(name))  # one value of an expanded IN list
            if process is not None:
                self._bind[name] = process
        # The constants are converted here, once, not at every execution.
        self._constants = {name: self._bind.pop(name, _same)(value)
                           for name, value in expanded.parameters.items() if name not in free}
        # What a SELECT or a RETURNING gives back, converted per column.
        self._result: list[Processor | None] = [
            _result_processor(column.type, dialect) for column in statement.exported_columns]
        self._order = [(name, self._bind.get(name)) for name in self.names]

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        bind = self._bind
        if self.positional:
            if self._constants:
                values = {**self._constants, **values}
            return [values[n] if p is None else p(values[n]) for n, p in self._order]
        given = {n: bind[n](v) if n in bind else v for n, v in values.items()}
        return {**self._constants, **given} if self._constants else given

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        cursor.execute(self.sql, self.parameters(values))
        return cursor

    def fetch_one(self, db: Any, values: Mapping[str, Any]) -> Any:
        """The first row of this statement on DB-API connection `db` (None when there is none),
        as the driver gives it (`row()` converts it)."""
        kept = _kept_cursor(db)
        cursor = self.execute(db.cursor() if kept is None else kept, values)
        try:
            return cursor.fetchone()
        finally:
            if kept is None:
                cursor.close()

    def fetch_all(self, db: Any, values: Mapping[str, Any]) -> list[Any]:
        kept = _kept_cursor(db)
        cursor = self.execute(db.cursor() if kept is None else kept, values)
        try:
            return list(cursor.fetchall())
        finally:
            if kept is None:
                cursor.close()

    def row(self, raw: Sequence[Any]) -> list[Any]:
        """A result row with each column's type conversion applied (JSON parsed, datetimes aware)."""
        return [p(v) if p is not None else v for p, v in zip(self._result, raw, strict=True)]


def _kept_cursor(db: Any) -> Any:
    """A cursor kept with a psycopg connection for its statements here: psycopg's cursors cost
    about 6 us to make and close, two to four times a webhook. A connection serves one thread
    at a time and each statement here reads its rows before the next runs, so one is enough.
    None for sqlite3, whose cursors cost next to nothing (nor could its connection keep one)."""
    kept = getattr(db, "cortese_cursor", None)
    if kept is not None and not kept.closed:
        return kept
    if not hasattr(db, "pgconn"):
        return None
    kept = db.cortese_cursor = db.cursor()  # dies with the connection (a cycle the GC collects)
    return kept


def _same(value: Any) -> Any:
    return value


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The type's bind processor, or the faster one with the same results a type may offer
    for prepared statements (`prepared_bind_processor`, as app.db.UTCDateTime does)."""
    offered = getattr(type_, "prepared_bind_processor", None)
    if offered is not None:
        return cast("Processor | None", offered(dialect))
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    offered = getattr(type_, "prepared_result_processor", None)
    if offered is not None:
        return cast("Processor | None", offered(dialect, None))
    return type_.dialect_impl(dialect).result_processor(dialect, None)


class Statements:
    """The prepared statements of one database, compiled on first use: `get(key, build)`."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[str, Prepared] = {}

    def get(self, key: str, build: Callable[[], Statement]) -> Prepared:
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = Prepared(build(), self.dialect)
        return found
