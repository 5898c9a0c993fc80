"""The console shows times where the operators are (CONSOLE_TIME_ZONE, by default the
callbacks' default zone, Europe/Rome), written as the operator's language writes dates
(Babel/CLDR), with the zone named on the page; never bare UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app import create_app
from app.config import ConfigError
from app.console.cli import cli as users_cli
from app.db import session_scope
from app.operators.models import OperatorUser
from tests.conftest import base_settings
from tests.console_support import (
    add_operator,
    page_csrf,
    seed_call,
    seed_callback,
    signed_in,
    speak,
)
from tests.desk_support import waiting

# 22:05:09 UTC on 14 July is five past midnight on the 15th in Rome (CEST, UTC+2) and five
# past eleven in the evening in London (BST, UTC+1).
SUMMER_NIGHT = datetime(2026, 7, 14, 22, 5, 9, tzinfo=UTC)


@pytest.fixture
def operator(app, client):
    return signed_in(app, client)


def _html(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("lang, shown, zone", [
    ("it", "15 lug 2026, 00:05:09", "Ora Italia (Europe/Rome)"),
    ("nl", "15 jul 2026, 00:05:09", "tijd in Italië (Europe/Rome)"),
    ("en", "Jul 15, 2026, 12:05:09\u202fAM", "Italy Time (Europe/Rome)"),
])
def test_the_call_list_shows_the_desks_time_in_the_operators_language(app, operator, lang, shown, zone):
    sid = seed_call(app, at=SUMMER_NIGHT)
    speak(operator, lang)
    for path in ("/console/calls", f"/console/calls/{sid}"):
        html = _html(operator, path)
        assert shown in html and zone in html, path
        assert "UTC" not in html and "2026-07-14 22:05:09" not in html


@pytest.fixture
def in_london(settings):
    settings["CONSOLE_TIME_ZONE"] = "Europe/London"


def test_a_desk_elsewhere_sets_its_zone(in_london, app, operator):
    speak(operator, "nl")
    seed_call(app, at=SUMMER_NIGHT)
    html = _html(operator, "/console/calls")
    assert "14 jul 2026, 23:05:09" in html and "tijd in Verenigd Koninkrijk (Europe/London)" in html


def test_a_callback_shows_the_callees_wall_time_and_the_desks(app, operator, clock):
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    # A Londoner's callback at 18:30 their time is 19:30 for a desk in Rome (both winter time).
    cb = seed_callback(app, e164="+447911123456", time_zone="Europe/London", language="en",
                       due_in=timedelta(hours=9, minutes=30))
    speak(operator, "it")
    for path in ("/console/callbacks", f"/console/callbacks/{cb}"):
        html = _html(operator, path)
        assert "2026-11-25 18:30" in html and "Europe/London" in html, path
        assert "25 nov 2026, 19:30:00" in html and "Ora Italia (Europe/Rome)" in html, path
        assert "UTC" not in html


def test_the_desk_board_counts_hours_of_the_desks_day(app, operator, clock):
    clock.set(datetime(2026, 7, 14, 22, 30, tzinfo=UTC))
    with session_scope(app) as session:
        waiting(session, at=datetime(2026, 7, 14, 22, 10, tzinfo=UTC))
    html = _html(operator, "/console/desk/board")
    assert "UTC" not in html and "Europe/Rome" in html
    assert "2026-07-15 00:00" in html  # the hour that began at 22:00 UTC


def test_the_zone_must_be_a_real_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        create_app({**base_settings(tmp_path), "CONSOLE_TIME_ZONE": "Mars/Olympus"})
    assert str(info.value).startswith("CONSOLE_TIME_ZONE: must be an IANA time zone such as Europe/Rome")


def test_without_its_own_zone_the_console_follows_the_callbacks_default(tmp_path):
    app = create_app({**base_settings(tmp_path), "CALLBACK_DEFAULT_TIME_ZONE": "Europe/Amsterdam"})
    assert app.extensions["cortese.settings"].console_zone == "Europe/Amsterdam"


# --- an operator's own zone ---------------------------------------------------------------


def test_an_operator_who_works_elsewhere_sees_their_own_clock(app, client):
    london = signed_in(app, client, time_zone="Europe/London")
    speak(london, "en")
    seed_call(app, at=SUMMER_NIGHT)
    html = _html(london, "/console/calls")
    assert "Jul 14, 2026, 11:05:09\u202fPM" in html and "(Europe/London)" in html
    assert "Europe/Rome" not in html.split("<main>", 1)[1].split("</main>")[0]


def test_an_operator_sets_their_zone_and_can_go_back_to_the_consoles(app, operator):
    speak(operator, "it")
    seed_call(app, at=SUMMER_NIGHT)
    token = page_csrf(operator, "/console/me")
    saved = operator.post("/console/me/time-zone", data={"time_zone": "Europe/London", "csrf_token": token},
                          follow_redirects=True)
    assert saved.status_code == 200 and "Gli orari sono ora mostrati nel fuso Europe/London." in saved.get_data(as_text=True)
    assert "14 lug 2026, 23:05:09" in _html(operator, "/console/calls")
    with session_scope(app) as session:
        assert session.scalar(select(OperatorUser.time_zone)) == "Europe/London"
    back = operator.post("/console/me/time-zone", data={"time_zone": "", "csrf_token": token}, follow_redirects=True)
    assert "Europe/Rome" in back.get_data(as_text=True)
    assert "15 lug 2026, 00:05:09" in _html(operator, "/console/calls")


def test_a_zone_that_is_no_zone_is_refused_and_nothing_changes(app, operator):
    speak(operator, "nl")
    token = page_csrf(operator, "/console/me")
    resp = operator.post("/console/me/time-zone", data={"time_zone": "Mars/Olympus", "csrf_token": token})
    assert resp.status_code == 400
    assert "«Mars/Olympus» is geen tijdzone" in resp.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.scalar(select(OperatorUser.time_zone)) is None
    unsigned = operator.post("/console/me/time-zone", data={"time_zone": "Europe/London"})
    assert unsigned.status_code == 400  # no CSRF token: refused, as every console form


def test_callbacks_due_today_are_the_operators_day_on_the_list_and_the_dashboard(app, client, clock):
    # 23:30 in London on 25 November is already the 26th in Rome: a callback due at 08:00 UTC
    # on the 26th is due today for a desk in Rome, tomorrow for an operator in London.
    clock.set(datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    seed_callback(app, e164="+447911123456", time_zone="Europe/London", language="en",
                  due_in=timedelta(hours=8, minutes=30))
    london = signed_in(app, client, time_zone="Europe/London")
    assert "/console/callbacks/" not in _html(london, "/console/callbacks?view=due_today")
    token = page_csrf(london, "/console/me")
    london.post("/console/me/time-zone", data={"time_zone": "", "csrf_token": token})
    assert "/console/callbacks/" in _html(london, "/console/callbacks?view=due_today")


def test_the_users_command_sets_and_clears_an_operators_zone(app, monkeypatch):
    add_operator(app, "piet")
    monkeypatch.setattr("app.commands.load_settings", lambda: app.extensions["cortese.settings"])
    runner = CliRunner()
    set_ = runner.invoke(users_cli, ["zone", "piet", "Europe/Amsterdam"])
    assert set_.exit_code == 0 and "piet sees the console's times in Europe/Amsterdam." in set_.output
    bad = runner.invoke(users_cli, ["zone", "piet", "Europe/Atlantis"])
    assert bad.exit_code == 2 and "is not an IANA time zone" in bad.output
    cleared = runner.invoke(users_cli, ["zone", "piet"])
    assert cleared.exit_code == 0 and "the console's zone (Europe/Rome)" in cleared.output
