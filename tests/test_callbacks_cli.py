"""`cortese callbacks ...` and the services behind it (the API/console use the same ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from app.callbacks import service
from app.callbacks.cli import cli
from app.callbacks.models import (
    CANCELLED,
    FAILED,
    SCHEDULED,
    Callback,
    IllegalTransition,
    check_transition,
)
from app.db import session_scope
from tests.callback_support import book
from tests.conftest import ACCOUNT_SID

# The CLI runs on the real clock: book well in the future.
DUE = datetime(2031, 3, 4, 17, 0, tzinfo=UTC)  # Tuesday 18:00 in Rome
AT = datetime(2026, 1, 1, tzinfo=UTC)
CALLEE = "+393471234567"


@pytest.fixture
def run(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def cb_id(app) -> int:
    with session_scope(app) as session:
        return book(session, CALLEE, DUE, at=AT, reason="operator").id


def test_list_shows_local_time_and_masks_numbers(run, cb_id):
    result = run("list")
    assert result.exit_code == 0, result.output
    assert "Tue 2031-03-04 18:00" in result.output and "Europe/Rome" in result.output
    assert CALLEE not in result.output and "+39 3" in result.output
    assert "1 of 1 callback(s)" in result.output
    assert CALLEE in run("list", "--full").output
    assert "0 of 0" in run("list", "--status", "missed").output


def test_show_move_cancel_and_history(run, cb_id, app):
    moved = run("move", str(cb_id), "2031-03-05T10:30", "--by", "olga", "--note", "asked by email")
    assert moved.exit_code == 0, moved.output
    assert "due Wed 2031-03-05 10:30 Europe/Rome" in moved.output
    shown = run("show", str(cb_id))
    assert "booked for: 2031-03-05T10:30 Europe/Rome" in shown.output
    assert "moved from 2031-03-04T18:00 to 2031-03-05T10:30 Europe/Rome: asked by email" in shown.output
    assert run("cancel", str(cb_id), "--by", "olga", "--reason", "sorted out by email").exit_code == 0
    with session_scope(app) as session:
        assert session.get(Callback, cb_id).status == CANCELLED
    again = run("cancel", str(cb_id), "--by", "olga", "--reason", "twice")
    assert again.exit_code == 1 and "status: a cancelled callback cannot be cancelled" in again.output


def test_errors_are_one_clear_line(run, cb_id):
    assert "id: no callback 999" in run("show", "999").output
    past = run("move", str(cb_id), "2020-01-01T10:00", "--by", "olga")
    assert past.exit_code == 1 and "due_at: is in the past" in past.output
    bad = run("move", str(cb_id), "tomorrow", "--by", "olga")
    assert bad.exit_code == 2 and "ISO format" in bad.output


@responses.activate
def test_dispatch_now_places_what_is_due(run, app):
    with session_scope(app) as session:
        cb = book(session, CALLEE, datetime.now(UTC) - timedelta(minutes=1), at=AT)
        cb_id = cb.id
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    responses.add(responses.POST, url, status=201, json={
        "sid": "CA" + "e" * 32, "status": "queued", "to": CALLEE, "from": "+390212345678",
        "direction": "outbound-api"})
    result = run("dispatch-now")
    # The real clock decides whether Italy's calling window is open right now.
    with session_scope(app) as session:
        status = session.get(Callback, cb_id).status
    if status == "placed":
        assert f"placed: {cb_id}" in result.output and len(responses.calls) == 1
    else:
        assert status in (SCHEDULED, "refused") and len(responses.calls) == 0
    assert "nothing due" in run("dispatch-now").output


def test_services_validate_with_field_names(app):
    with session_scope(app) as session:
        with pytest.raises(ValueError, match="^language: "):
            service.book(session, service.Booking(e164=CALLEE, due_at=DUE, time_zone="Europe/Rome",
                                                  language="fr"), at=AT, by="x")
        with pytest.raises(ValueError, match="^time_zone: "):
            service.book(session, service.Booking(e164=CALLEE, due_at=DUE, time_zone="Mars/Base",
                                                  language="it"), at=AT, by="x")
        with pytest.raises(ValueError, match="^e164: "):
            service.book(session, service.Booking(e164="12", due_at=DUE, time_zone="Europe/Rome",
                                                  language="it"), at=AT, by="x")
        with pytest.raises(ValueError, match="^status: "):
            service.list_callbacks(session, status=["sleeping"])
        cb = book(session, CALLEE, DUE, at=AT)
        with pytest.raises(ValueError, match="^due_at: give a time zone"):
            service.move(session, cb.id, datetime(2031, 3, 5, 10, 0), at=AT, by="x")
        with pytest.raises(ValueError, match="^reason: "):
            service.cancel(session, cb.id, at=AT, by="x", reason=" ")


def test_a_failed_callback_can_be_put_back_by_an_operator(app):
    with session_scope(app) as session:
        cb = book(session, CALLEE, DUE, at=AT)
        service.transition(session, cb, "dispatching", at=AT, actor="w")
        service.transition(session, cb, FAILED, at=AT, actor="w", note="unreconciled")
        cb.attempts = 2
        moved = service.move(session, cb.id, DUE + timedelta(days=1), at=AT, by="olga")
        assert (moved.status, moved.attempts) == (SCHEDULED, 0)
        states = [e.to_status for e in service.history(session, cb.id)]
        assert states == [SCHEDULED, "dispatching", FAILED, SCHEDULED]


def test_the_state_machine_refuses_nonsense():
    check_transition("scheduled", "dispatching")
    for current, new in (("completed", "scheduled"), ("cancelled", "scheduled"), ("scheduled", "completed"),
                         ("answered", "cancelled")):
        with pytest.raises(IllegalTransition, match=f"a {current} callback cannot become {new}"):
            check_transition(current, new)


def test_list_filters_by_number_and_status(app):
    with session_scope(app) as session:
        book(session, CALLEE, DUE, at=AT)
        other = book(session, "+393479999999", DUE + timedelta(hours=1), at=AT)
        service.cancel(session, other.id, at=AT, by="x", reason="test")
        rows, total = service.list_callbacks(session, e164="+39 347 123 4567")
        assert total == 1 and rows[0].e164 == CALLEE
        rows, total = service.list_callbacks(session, status=[CANCELLED])
        assert [r.id for r in rows] == [other.id]
        assert len(session.scalars(select(Callback)).all()) == 2
