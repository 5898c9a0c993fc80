"""Prompts as the caller hears them: references, dates, times, greetings per language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.flows.matching import match_speech, normalise
from app.flows.model import Choice
from app.flows.render import Speaker, farewell, greeting

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday


def speaker(language: str, zone: str = "Europe/Rome") -> Speaker:
    return Speaker(language, ZoneInfo(zone), NOW)


@pytest.mark.parametrize("language, expected", [
    ("it", "domani, giovedì 26 novembre, alle 18:30"),
    ("nl", "morgen, donderdag 26 november, om 18:30"),
    ("en", "tomorrow, Thursday 26 November, at 6:30 pm"),
])
def test_datetimes_are_spoken_in_the_language_and_zone(language, expected):
    assert speaker(language).render("{t|datetime}", {"t": "2026-11-26T17:30:00+00:00"}) == expected


def test_italian_elides_at_one_oclock_and_dates_today():
    assert speaker("it").render("{t|datetime}", {"t": "2026-11-25T12:00:00+00:00"}) == "oggi, mercoledì 25 novembre, alle 13:00"
    assert speaker("it").render("{t|datetime}", {"t": "2026-11-27T00:15:00+00:00"}) == "venerdì 27 novembre all'1:15"


def test_references_digit_by_digit_and_missing_slots_are_blank():
    s = speaker("en")
    assert s.render("Ref {r|digits}.", {"r": "T-4K7"}) == "Ref T 4 K 7."
    assert s.render("Hello {name}, welcome.", {}) == "Hello, welcome."
    assert s.render("On {d|date}.", {"d": "not a date"}) == "On not a date."


@pytest.mark.parametrize("language, hour, hello, bye", [
    ("it", 9, "Buongiorno", "buona giornata"), ("it", 19, "Buonasera", "buona serata"),
    ("nl", 9, "Goedemorgen", "nog een fijne dag"), ("nl", 15, "Goedemiddag", "nog een fijne dag"),
    ("nl", 21, "Goedenavond", "nog een fijne avond"),
    ("en", 9, "Good morning", "have a good day"), ("en", 15, "Good afternoon", "have a good day"),
    ("en", 23, "Good evening", "have a good evening"),
])
def test_greeting_and_farewell_by_time_of_day(language, hour, hello, bye):
    local = datetime(2026, 11, 25, hour, 0)
    assert greeting(language, local) == hello and farewell(language, local) == bye


def test_speech_matching_whole_words_fuzzy_and_longest_phrase():
    yes = Choice("yes", "1", {"en": ("yes",), "it": ("sì",)}, "a")
    later = Choice("later", "2", {"en": ("call me back", "not now")}, "b")
    never = Choice("opt_out", "9", {"en": ("don't call me again",), "it": ("non chiamatemi",)}, "c")
    choices = [yes, later, never]
    assert match_speech(choices, "Please don't call me again!", "en") is never
    assert match_speech(choices, "could you call me back", "en") is later
    assert match_speech(choices, "Sì, certo", "it") is yes
    assert match_speech(choices, "yesterday", "en") is None  # not a whole word
    assert match_speech(choices, "cal me bak", "en") is later  # misheard, fuzzily
    assert normalise("Sì, così!") == "si cosi"
