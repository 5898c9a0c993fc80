"""No full phone number and no caller speech in the logs, also when the database fails: a
driver's exception text quotes the statement's parameters ("[parameters: ...]") and
PostgreSQL's messages quote key values ("Key (e164)=(+39...) already exists")."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app import create_app
from app.consent.models import Contact
from app.db import Base, get_engine, session_scope
from tests.conftest import base_settings, voice_params
from tests.reliability_support import assert_voice_answer, first_gather_action, path_of

NUMBER = "+393471234567"
SPEECH = "mi chiamo Giulia Rossi e abito in via Roma 12"


@pytest.fixture
def log_output(app):
    """What the app's own log handler writes (the formatter production uses)."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "cortese")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def _assert_masked(output: str) -> None:
    assert output, "nothing was logged"
    for secret in (NUMBER, NUMBER[1:], "3471234567", "347 123 4567", SPEECH, "Giulia Rossi"):
        assert secret not in output, f"{secret!r} in the log:\n{output}"


def _fail_inserts_into(app, table: str) -> None:
    """The database refuses every new row of `table` (as a full disk or a lost lock would)."""
    with session_scope(app) as session:
        session.execute(text(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                             "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))


def test_a_database_error_during_a_call_logs_no_number_or_speech(app, twilio, log_output):
    params = voice_params(From=NUMBER, Caller=NUMBER)
    menu = assert_voice_answer(twilio.post("/voice/inbound", params))
    _fail_inserts_into(app, "call_steps")  # the caller's answer cannot be stored
    answer = {**params, "CallStatus": "in-progress", "SpeechResult": SPEECH, "Confidence": "0.9"}
    assert_voice_answer(twilio.post(path_of(first_gather_action(menu)), answer))  # the apology
    _fail_inserts_into(app, "calls")  # a new call cannot be stored
    assert_voice_answer(twilio.post("/voice/inbound", voice_params(From=NUMBER, Caller=NUMBER)))
    output = log_output.getvalue()
    assert output.count("database or disk is full") >= 2  # both errors are logged
    _assert_masked(output)


def test_numbers_in_exception_text_are_masked(app, log_output):
    log = logging.getLogger("cortese.test")
    try:
        raise ValueError(f"Key (e164)=({NUMBER}) already exists; national 347-123-4567 and 347 123 4567")
    except ValueError:
        log.exception("import failed for %s", NUMBER)
    output = log_output.getvalue()
    _assert_masked(output)
    assert "+39 3** *** **67" in output  # country code and last two digits stay for support


def test_a_callsid_and_a_timestamp_are_left_alone(app, log_output):
    sid = "CA" + "0123456789abcdef" * 2
    logging.getLogger("cortese.test").warning("call %s at 2026-12-04T18:18:05 took 1234 ms", sid)
    output = log_output.getvalue()
    assert sid in output and "2026-12-04T18:18:05" in output and "1234 ms" in output


def test_postgresql_key_violation_logs_no_number(pg_url, tmp_path):
    settings = {**base_settings(tmp_path), "DATABASE_URL": pg_url}
    app = create_app(settings)
    Base.metadata.create_all(get_engine(app))
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "cortese")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        at = datetime(2026, 1, 5, tzinfo=UTC)
        with session_scope(app) as session:
            session.add(Contact(e164=NUMBER, name="Giulia Rossi", created_at=at, updated_at=at, source="x"))
        try:
            with session_scope(app) as session:
                session.add(Contact(e164=NUMBER, name=SPEECH, created_at=at, updated_at=at, source="x"))
        except Exception:
            logging.getLogger("cortese.test").exception("could not store the contact")
    finally:
        handler.setStream(previous)
        get_engine(app).dispose()
    output = stream.getvalue()
    assert "UniqueViolation" in output or "duplicate key" in output
    _assert_masked(output)
