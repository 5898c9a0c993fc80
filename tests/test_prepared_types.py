"""The conversions prepared statements use for UTCDateTime columns give exactly what
SQLAlchemy's own processors for the type give (app.db.UTCDateTime.prepared_*_processor)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Integer, MetaData, Table, bindparam, null, update
from sqlalchemy.dialects import postgresql, sqlite

from app.db import UTCDateTime, make_engine
from app.prepared import Prepared

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]
TYPE = UTCDateTime()
offsets = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59))
aware = st.datetimes(timezones=st.one_of(st.just(UTC), offsets, st.timezones()))
naive = st.datetimes()


def _outcome(process: Any, value: Any) -> Any:
    """What a processor returns, or the kind of error it raises."""
    try:
        result = process(value)
    except (ValueError, OverflowError, TypeError) as exc:
        return type(exc)
    return (result, getattr(result, "tzinfo", None))


def _bind(dialect: Any) -> tuple[Any, Any]:
    return TYPE.prepared_bind_processor(dialect), TYPE.dialect_impl(dialect).bind_processor(dialect)


def _result(dialect: Any) -> tuple[Any, Any]:
    return TYPE.prepared_result_processor(dialect, None), TYPE.dialect_impl(dialect).result_processor(dialect, None)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(values=st.lists(st.one_of(aware, naive, st.none()), max_size=6))
def test_bound_values_are_sqlalchemys(dialect, values):
    fast, slow = _bind(dialect)
    for value in values + values[::-1]:  # the same objects again: a remembered text is still right
        assert _outcome(fast, value) == _outcome(slow, value)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_bound_edge_times_are_sqlalchemys(dialect):
    fast, slow = _bind(dialect)
    plus2 = timezone(timedelta(hours=2))
    for value in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC),
                  datetime.min.replace(tzinfo=plus2), datetime.max.replace(tzinfo=timezone(-timedelta(hours=2))),
                  datetime(2026, 3, 29, 1, 30, tzinfo=plus2), datetime(2026, 11, 25, 14, 0), None):
        assert _outcome(fast, value) == _outcome(slow, value)
    first, equal = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=plus2)
    for value in (first, equal, first, equal):  # equal times, distinct objects: each its own text
        assert _outcome(fast, value) == _outcome(slow, value)


@given(value=st.one_of(aware, st.none()))
def test_sqlite_reads_back_what_sqlalchemy_reads(value):
    dialect = sqlite.dialect()
    _, write = _bind(dialect)
    fast, slow = _result(dialect)
    try:
        stored = write(value)
    except OverflowError:
        return
    assert _outcome(fast, stored) == _outcome(slow, stored)


@given(text=st.one_of(st.from_regex(r"\A\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d{1,6})?)?\Z"),
                     st.from_regex(r"\A\d{4}-\d\d-\d\d [0-9:.+\-Z ,T]{15}\Z"), st.text(max_size=30)))
def test_sqlite_reads_any_text_as_sqlalchemy_does(text):
    fast, slow = _result(sqlite.dialect())
    assert _outcome(fast, text) == _outcome(slow, text)


@pytest.mark.parametrize("text", ["2026-11-25 14:00:00.123+01", "2026-11-25 14:00:00.12345Z",
                                  "2026-11-25 14:00:00,123456", "2026-11-25T14:00:00", "2026-11-25",
                                  "2026-11-25 24:00:00.000000", "", "now"])
def test_sqlite_reads_odd_text_as_sqlalchemy_does(text):
    fast, slow = _result(sqlite.dialect())
    assert _outcome(fast, text) == _outcome(slow, text)


@given(value=st.one_of(aware, naive, st.none()))
def test_postgresql_reads_back_what_sqlalchemy_reads(value):
    fast, slow = _result(postgresql.psycopg.dialect())
    assert _outcome(fast, value) == _outcome(slow, value)


# JSON columns: the processors prepared statements use are SQLAlchemy's own results, on the
# engine cortese makes (its JSON serializer), for any value a column may be given or hold.
JSON_ENGINES = [make_engine("sqlite://"), make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children, max_size=4)),
    max_leaves=12)
odd_values = st.one_of(st.datetimes(), st.just(null()), st.just(JSON.NULL), st.binary(max_size=4),
                       st.builds(lambda d: {"at": d}, st.datetimes()), st.tuples(st.integers()))


def _json(engine: Any) -> tuple[Prepared, Any]:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))
    prepared = Prepared(update(table).values(doc=bindparam("doc", type_=table.c.doc.type)).returning(table.c.doc),
                        engine.dialect)
    return prepared, table.c.doc.type.dialect_impl(engine.dialect)


def _outcome_of(process: Any, value: Any) -> Any:
    try:
        return process(value) if process is not None else value
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("engine", JSON_ENGINES, ids=lambda e: e.dialect.name)
@given(value=st.one_of(json_values, odd_values))
def test_json_bound_values_are_sqlalchemys(engine, value):
    prepared, impl = _json(engine)
    fast, slow = prepared._bind["doc"], impl.bind_processor(engine.dialect)
    assert repr(_outcome_of(fast, value)) == repr(_outcome_of(slow, value))


@pytest.mark.parametrize("engine", JSON_ENGINES, ids=lambda e: e.dialect.name)
@given(value=st.one_of(json_values.map(json.dumps), st.text(max_size=8), st.none(), st.integers(), st.floats()))
def test_json_read_values_are_sqlalchemys(engine, value):
    prepared, impl = _json(engine)
    fast, slow = prepared._result[0], impl.result_processor(engine.dialect, None)
    assert repr(_outcome_of(fast, value)) == repr(_outcome_of(slow, value))
