"""Callback times said the way callers say them, through the real flows and the simulator: a
weekday said on that weekday after its time, Dutch half hours, a vague part of a day leading to
a choice of concrete times, and a refusal that says which time was understood."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.callbacks.models import Callback
from app.db import session_scope

ROME, AMSTERDAM, LONDON = ZoneInfo("Europe/Rome"), ZoneInfo("Europe/Amsterdam"), ZoneInfo("Europe/London")
# Wednesday 25 November 2026, 15:00 in Rome and Amsterdam (14:00 in London).
WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)
# Friday 27 November 2026, 15:30 in London: the morning is over.
FRIDAY = datetime(2026, 11, 27, 15, 30, tzinfo=LONDON).astimezone(UTC)
LINES = {"it": ("+393471234567", "+390212345678"), "nl": ("+31612345678", "+31201234567"),
         "en": ("+447400123456", "+442071234567")}


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(WEDNESDAY)


def _to_booking(sim, language):
    caller, line = LINES[language]
    call = sim.inbound(from_=caller, to=line)
    call.press("5")  # support menu: book a callback
    return call


def _booked(app) -> list[str]:
    with session_scope(app) as session:
        return [c.local_due for c in session.scalars(select(Callback).order_by(Callback.id))]


def test_friday_at_10_said_on_a_friday_afternoon_is_next_friday(sim, app, clock):
    # The English prompt's own example, said after 10 on a Friday.
    clock.set(FRIDAY)
    call = _to_booking(sim, "en")
    assert call.heard("for example: Friday at 10 a.m.")
    call.speak("Friday at 10 a.m.")
    assert call.heard("We will call you back Friday 4 December at 10:00 am.")
    call.press("1")
    assert _booked(app) == ["2026-12-04T10:00"]
    call.assert_courteous()


@pytest.mark.parametrize(("said", "heard", "due"), [
    ("tien over half vier", "vandaag, woensdag 25 november, om 15:40", "2026-11-25T15:40"),
    ("vijf voor half vier", "vandaag, woensdag 25 november, om 15:25", "2026-11-25T15:25"),
    ("over een uurtje", "vandaag, woensdag 25 november, om 16:00", "2026-11-25T16:00"),
    ("morgen om kwart voor vier", "morgen, donderdag 26 november, om 15:45", "2026-11-26T15:45"),
])
def test_dutch_times_are_read_as_said(sim, app, said, heard, due):
    call = _to_booking(sim, "nl")
    call.speak(said)
    assert call.heard(f"Wij bellen u terug {heard}.")
    call.speak("ja")
    assert _booked(app) == [due]


def test_a_vague_part_of_the_day_leads_to_a_choice_never_a_guess(sim, app):
    call = _to_booking(sim, "it")
    call.speak("domani pomeriggio")
    # The window understood, then concrete times inside it; nothing is read back as chosen.
    assert call.heard("Va bene, domani, giovedì 26 novembre, tra le 14:00 e le 18:00.")
    assert call.heard("domani, giovedì 26 novembre, alle 14:00 prema 1; alle 16:00 prema 2; alle 17:30 prema 3.")
    assert not call.heard("La richiameremo")
    call.press("2")
    assert call.heard("La richiameremo domani, giovedì 26 novembre, alle 16:00.")
    call.press("1")
    assert _booked(app) == ["2026-11-26T16:00"]


@pytest.mark.parametrize(("language", "said", "window", "day", "hours"), [
    ("en", "next Tuesday after lunch", "All right, Tuesday 1 December between 2:00 pm and 4:00 pm.",
     "2026-12-01", ("14:00", "16:00")),
    ("nl", "in de loop van de middag", "Goed, vandaag, woensdag 25 november, tussen 14:00 en 18:00.",
     "2026-11-25", ("15:00", "18:00")),
    ("it", "in serata", "Va bene, oggi, mercoledì 25 novembre, tra le 18:00 e le 20:00.",
     "2026-11-25", ("18:00", "20:00")),
])
def test_vague_times_in_each_language_offer_times_in_their_window(sim, app, language, said, window,
                                                                 day, hours):
    call = _to_booking(sim, language)
    call.speak(said)
    assert call.heard(window)
    call.press("1")  # the first time offered
    call.press("1")  # confirmed
    [due] = _booked(app)
    assert due[:10] == day and hours[0] <= due[11:16] < hours[1]


@pytest.mark.parametrize(("language", "said", "heard"), [
    # Italy's window closes at 20:00, the Netherlands' at 21:00, Britain's at 20:00.
    ("it", "stasera alle nove", "Mi dispiace, alle 21:00 non possiamo chiamarla."),
    ("nl", "vanavond om tien uur", "Het spijt me, om 22:00 mogen wij u niet bellen."),
    ("en", "tomorrow at 9 pm",
     "I'm sorry, we are not allowed to call you tomorrow, Thursday 26 November, at 9:00 pm."),
    ("it", "domenica alle 11", "Mi dispiace, domenica 29 novembre alle 11:00 non possiamo chiamarla."),
])
def test_a_refused_time_says_which_time_was_understood(sim, app, language, said, heard):
    call = _to_booking(sim, language)
    call.speak(said)
    assert call.heard(heard)
    assert _booked(app) == []  # nothing booked until a concrete offered time is chosen
    call.press("1")
    call.press("1")
    assert len(_booked(app)) == 1


@pytest.mark.parametrize(("language", "said", "window"), [
    ("it", "la settimana prossima",
     "Va bene, da lunedì 30 novembre a venerdì 4 dicembre, tra le 9:00 e le 18:00."),
    ("nl", "ergens volgende week",
     "Goed, van maandag 30 november tot en met vrijdag 4 december, tussen 9:00 en 18:00."),
    ("en", "can you ring me next week in the afternoon",
     "All right, from Monday 30 November to Friday 4 December, between 2:00 pm and 6:00 pm."),
])
def test_next_week_without_a_day_offers_times_on_days_of_that_week_never_a_guess(sim, app, language, said,
                                                                                 window):
    call = _to_booking(sim, language)
    call.speak(said)
    assert call.heard(window), call.format_transcript()
    assert not call.heard({"it": "La richiameremo", "nl": "Wij bellen u terug", "en": "We will call you back"}[language])
    assert _booked(app) == []
    call.press("3")  # the last time offered
    call.press("1")  # confirmed
    [due] = _booked(app)
    # three concrete times on days spread over that week: the last is its Friday
    assert due[:10] == "2026-12-04", call.format_transcript()


def test_the_rest_of_this_week_offers_times_from_today_to_friday(sim, app):
    call = _to_booking(sim, "nl")
    call.speak("deze week nog graag")
    assert call.heard("Goed, van vandaag, woensdag 25 november, tot en met vrijdag 27 november, "
                      "tussen 9:00 en 18:00."), call.format_transcript()
    assert _booked(app) == []
    call.press("3")
    call.press("1")
    [due] = _booked(app)
    assert due[:10] == "2026-11-27"


@pytest.mark.parametrize(("language", "said", "heard"), [
    ("en", "in 9999999 hours", "we book callbacks at most three months ahead"),
    ("en", "on 31/12/9999 at 23:59", "we book callbacks at most three months ahead"),
    ("it", "tra sei mesi alle 10", "fissiamo richiamate al massimo tre mesi in anticipo"),
])
def test_a_time_months_or_centuries_away_is_explained_and_nearer_times_offered(sim, app, language, said, heard):
    call = _to_booking(sim, language)
    call.speak(said)
    assert call.heard(heard), call.format_transcript()
    assert not call.ended and _booked(app) == []
    call.press("1")  # the first time offered instead
    call.press("1")  # confirm
    [due] = _booked(app)
    assert due < "2026-12-01", due


@pytest.mark.parametrize("said", ["tra 100000000 ore", "in 100000000000 minutes"])
def test_a_number_of_hours_past_the_calendar_is_asked_again_never_a_dropped_call(sim, app, said):
    call = _to_booking(sim, "it" if said.startswith("tra") else "en")
    call.speak(said)
    assert not call.ended and not call.heard("problema tecnico") and not call.heard("technical problem")
    assert _booked(app) == []
    call.assert_courteous()
