"""The conversions prepared statements use for UTCDateTime columns give exactly what
SQLAlchemy's own processors for the type give (app.db.UTCDateTime.prepared_*_processor)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from app.db import UTCDateTime

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
