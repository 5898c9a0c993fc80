"""Prompts as the caller hears them: references, dates, times, greetings per language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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


# How people resolve a date said without its year: the day and month nearest to today. So on
# Friday 4 December 2026 "15 January" means January 2027 (the year is not needed), while
# 10 January 2026 must say its year or it is heard as next month; half a year is as far as the
# nearest reading goes, so a date further away, in either direction, says its year.
@pytest.mark.parametrize("day, spoken", [
    ("2027-01-15", "venerdì 15 gennaio"),          # next month, next year: no year
    ("2026-12-24", "giovedì 24 dicembre"),
    ("2026-11-28", "sabato 28 novembre"),           # just gone
    ("2027-05-31", "lunedì 31 maggio"),             # within half a year ahead
    ("2026-01-10", "sabato 10 gennaio 2026"),       # same year, but "10 gennaio" is heard as next month
    ("2026-05-20", "mercoledì 20 maggio 2026"),     # more than half a year ago
    ("2027-07-15", "giovedì 15 luglio 2027"),       # more than half a year ahead
    ("2031-11-20", "giovedì 20 novembre 2031"),     # a guarantee's end
])
def test_a_date_says_its_year_unless_the_nearest_reading_is_right(day, spoken):
    december = Speaker("it", ZoneInfo("Europe/Rome"), datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    assert december.render("{d|date}", {"d": day}) == spoken


@pytest.mark.parametrize("language, spoken", [
    ("nl", "zaterdag 10 januari 2026"), ("en", "Saturday 10 January 2026"),
])
def test_the_year_rule_holds_in_every_language(language, spoken):
    december = Speaker(language, ZoneInfo("Europe/Rome"), datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    assert december.render("{d|date}", {"d": "2026-01-10"}) == spoken
    assert str(2027) not in december.render("{d|date}", {"d": "2027-01-15"})


def test_when_one_date_of_a_sentence_says_its_year_every_date_does():
    """"Expired on 3 April 2026, covered until 3 April" sounds like one day twice: a listener
    needs the second year as much as the first."""
    december = Speaker("nl", ZoneInfo("Europe/Rome"), datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    text = "verlopen op {a|date}, gedekt tot {b|date}"
    assert december.render(text, {"a": "2026-04-03", "b": "2027-04-03"}) == (
        "verlopen op vrijdag 3 april 2026, gedekt tot zaterdag 3 april 2027")
    assert december.render(text, {"a": "2026-11-03", "b": "2027-04-03"}) == (
        "verlopen op dinsdag 3 november, gedekt tot zaterdag 3 april")
    assert december.render("{b|date}", {"b": "2027-04-03"}) == "zaterdag 3 april"  # nothing kept


def test_italian_says_the_first_of_the_month_as_primo():
    """"1 dicembre" would be read "uno dicembre"; Italians say "primo dicembre"."""
    december = Speaker("it", ZoneInfo("Europe/Rome"), datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    assert december.render("{d|date}", {"d": "2026-12-01"}) == "martedì primo dicembre"
    assert december.render("{d|date}", {"d": "2026-05-01"}) == "venerdì primo maggio 2026"
    assert december.render("{d|date}", {"d": "2026-12-11"}) == "venerdì 11 dicembre"
    assert Speaker("nl", ZoneInfo("Europe/Rome"), NOW).render("{d|date}", {"d": "2026-12-01"}) == "dinsdag 1 december"


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
    assert match_speech(choices, "non chiamarmi", "it") is never  # the same verb, another form
    # Short words that differ by a letter are other words: never taken as nearly the phrase's.
    assert match_speech(choices, "cal me bak", "en") is None
    assert normalise("Sì, così!") == "si cosi"


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list("a ,.?!;:\t\n\r\xa0\u2003\x1c")), max_size=12)
       | st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_slotless_prompt_is_tidied_as_the_regexes_say(text):
    """Rendering skips each tidying regex when it cannot match: the text comes out as the three
    passes (runs of whitespace to one space, no space before a comma or stop, no comma before
    a stop) applied in full would leave it, on any text."""
    text = text.replace("{", "(")  # no slot
    spoken = re.sub(r"\s{2,}", " ", text).replace(" ,", ",").replace(" .", ".")
    assert speaker("en").render(text, {}) == re.sub(r",([.?!;:])", r"\1", spoken).strip()
