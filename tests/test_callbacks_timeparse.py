"""A day and time in the caller's words: dateparser plus our normalisation per language."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from app.callbacks.timeparse import clock_patterns, normalise, parse_when

NOW = datetime(2026, 11, 25, 15, 0)  # a Wednesday afternoon, local time
FRIDAY = datetime(2026, 11, 27, 16, 0)  # a Friday afternoon


@pytest.mark.parametrize(("language", "said", "expected"), [
    ("it", "domani alle sei di sera", "2026-11-26 18:00"),
    ("it", "domani alle 18", "2026-11-26 18:00"),
    ("it", "domani alle 18:30", "2026-11-26 18:30"),
    ("it", "domani alle sei", "2026-11-26 18:00"),  # 1-7 without a part of day: evening
    ("it", "venerdì alle 10", "2026-11-27 10:00"),
    ("it", "venerdi alle dieci", "2026-11-27 10:00"),
    ("it", "stasera alle sette e mezza", "2026-11-25 19:30"),
    ("it", "lunedì prossimo alle 9 e un quarto", "2026-11-30 09:15"),
    ("it", "dopodomani alle 11", "2026-11-27 11:00"),
    ("it", "il 3 dicembre alle 10", "2026-12-03 10:00"),
    ("it", "mercoledì alle 18", "2026-11-25 18:00"),  # today's weekday, still ahead: today
    ("it", "alle 10", "2026-11-26 10:00"),  # already past today: tomorrow
    ("it", "tra due ore", "2026-11-25 17:00"),
    ("it", "alle 18 meno un quarto", "2026-11-25 17:45"),
    ("nl", "morgen om half zeven", "2026-11-26 18:30"),
    ("nl", "morgen om 18:30", "2026-11-26 18:30"),
    ("nl", "vrijdag om 10 uur", "2026-11-27 10:00"),
    ("nl", "morgen om zes uur 's avonds", "2026-11-26 18:00"),
    ("nl", "morgenavond", "2026-11-26 18:00"),
    ("nl", "kwart over vijf", "2026-11-25 17:15"),
    ("nl", "kwart voor negen 's ochtends", "2026-11-26 08:45"),
    ("nl", "overmorgen om 11 uur", "2026-11-27 11:00"),
    ("nl", "3 december om 10 uur", "2026-12-03 10:00"),
    ("nl", "vanavond om 7 uur", "2026-11-25 19:00"),
    ("nl", "over twee uur", "2026-11-25 17:00"),
    ("en", "Friday at 10am", "2026-11-27 10:00"),
    ("en", "tomorrow at 6pm", "2026-11-26 18:00"),
    ("en", "tomorrow at 6 p.m.", "2026-11-26 18:00"),
    ("en", "tomorrow evening", "2026-11-26 18:00"),
    ("en", "next monday at 9", "2026-11-30 09:00"),
    ("en", "tomorrow at half past six", "2026-11-26 18:30"),
    ("en", "6:30 p.m. tomorrow", "2026-11-26 18:30"),
    ("en", "tonight at 7", "2026-11-25 19:00"),
    ("en", "December 3rd at 11", "2026-12-03 11:00"),
    ("en", "tomorrow at six thirty", "2026-11-26 18:30"),
    ("en", "in half an hour", "2026-11-25 15:30"),
    ("en", "the day after tomorrow at noon", "2026-11-27 12:00"),
    ("en", "a quarter to five", "2026-11-25 16:45"),
])
def test_phrases(language, said, expected):
    parsed = parse_when(said, language, NOW)
    assert parsed is not None, said
    assert parsed.local.strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize(("language", "said"), [
    ("it", "boh non so"), ("it", ""), ("nl", "geen idee"), ("en", "blah"), ("en", "   "),
])
def test_nonsense_is_not_a_time(language, said):
    assert parse_when(said, language, NOW) is None


def test_a_day_alone_is_vague_over_calling_hours():
    parsed = parse_when("giovedì", "it", NOW)
    assert parsed is not None and parsed.vague and parsed.local.date() == date(2026, 11, 26)
    assert parsed.window == (time(9, 0), time(18, 0))
    assert parse_when("domani alle 18", "it", NOW).time_given is True


@pytest.mark.parametrize(("language", "said", "day", "window"), [
    # A part of the day is never turned into a guessed hour: the caller picks inside it.
    ("it", "domattina", "2026-11-26", ("09:00", "12:00")),
    ("it", "nel pomeriggio", "2026-11-25", ("14:00", "18:00")),  # 15:00 now: still today
    ("it", "in serata", "2026-11-25", ("18:00", "20:00")),
    ("nl", "in de loop van de middag", "2026-11-25", ("14:00", "18:00")),
    ("nl", "morgenochtend", "2026-11-26", ("09:00", "12:00")),
    ("en", "after lunch", "2026-11-25", ("14:00", "16:00")),
    ("en", "late afternoon", "2026-11-25", ("16:00", "18:00")),
    ("en", "next Tuesday after lunch", "2026-12-01", ("14:00", "16:00")),
    # A range said outright is a window too: the caller picks a time inside it.
    ("it", "domani tra le 14 e le 16", "2026-11-26", ("14:00", "16:00")),
    ("nl", "morgen tussen twee en vier", "2026-11-26", ("14:00", "16:00")),
    ("en", "tomorrow between 10 and 12", "2026-11-26", ("10:00", "12:00")),
    ("en", "tomorrow between 2 and 4 pm", "2026-11-26", ("14:00", "16:00")),
    ("en", "this morning", "2026-11-25", ("09:00", "12:00")),  # said outright: today, past
])
def test_a_part_of_the_day_is_a_window_to_choose_in(language, said, day, window):
    parsed = parse_when(said, language, NOW)
    assert parsed is not None and parsed.vague, said
    assert parsed.local.date().isoformat() == day
    assert parsed.window is not None
    assert tuple(t.strftime("%H:%M") for t in parsed.window) == window


@pytest.mark.parametrize(("language", "said", "expected"), [
    # Friday 2026-11-27 at 16:00: a weekday said on that weekday after its time is next week.
    ("en", "Friday at 10 a.m.", "2026-12-04 10:00"),
    ("it", "venerdì alle 10", "2026-12-04 10:00"),
    ("nl", "vrijdag om 10 uur", "2026-12-04 10:00"),
    ("en", "Friday at 5 pm", "2026-11-27 17:00"),  # still ahead today: today
    ("en", "today at 10", "2026-11-27 10:00"),  # said outright: today, and refused as past
    # Dutch half hours count from the next hour; minutes before/after that half.
    ("nl", "tien over half vier", "2026-11-28 15:40"),
    ("nl", "vijf voor half vier", "2026-11-28 15:25"),
    ("nl", "kwart over drie", "2026-11-28 15:15"),
    ("nl", "kwart voor vier", "2026-11-28 15:45"),
    ("nl", "over een half uur", "2026-11-27 16:30"),
    ("nl", "over een uurtje", "2026-11-27 17:00"),
    ("nl", "over twee uurtjes", "2026-11-27 18:00"),
    ("en", "tomorrow at half nine", "2026-11-28 09:30"),  # British: 9:30, not 8:30
    ("en", "8 p m", "2026-11-27 20:00"),
    ("it", "domani verso le tre", "2026-11-28 15:00"),
    ("it", "dopo le 17", "2026-11-27 17:00"),
    ("en", "tomorrow around noon", "2026-11-28 12:00"),
    ("en", "half past four", "2026-11-27 16:30"),
    ("nl", "morgen om half een", "2026-11-28 12:30"),  # half one: 12:30, never 00:30
    ("it", "domani a mezzogiorno e mezzo", "2026-11-28 12:30"),
])
def test_times_as_people_say_them(language, said, expected):
    parsed = parse_when(said, language, FRIDAY)
    assert parsed is not None and parsed.time_given, said
    assert parsed.local.strftime("%Y-%m-%d %H:%M") == expected


def test_normalisation_layer():
    assert normalise("Domani alle SEI di sera.", "it") == "domani alle 6 di sera"
    assert normalise("morgen om half zeven", "nl") == "morgen om half 7"
    assert normalise("six thirty p.m.", "en") == "6 30 pm"
    assert normalise("18.30", "nl") == "18:30"
    assert normalise("morgenavond", "nl") == "morgen avond"


def test_an_unknown_language_falls_back_to_english():
    assert parse_when("tomorrow at 6pm", "fr", NOW).local == datetime(2026, 11, 26, 18, 0)


@pytest.mark.parametrize(("language", "said", "expected"), [
    # How a time is said on the phone, Wednesday 15:00: an hour from 1 to 7 alone is the
    # afternoon or evening; a time already past today is tomorrow's.
    ("it", "alle sei e mezza", "2026-11-25 18:30"),
    ("it", "le cinque e mezzo", "2026-11-25 17:30"),
    ("it", "verso le otto di sera", "2026-11-25 20:00"),
    ("it", "alle sette meno un quarto", "2026-11-25 18:45"),
    ("it", "alle cinque meno dieci", "2026-11-25 16:50"),
    ("it", "per le quattro e un quarto", "2026-11-25 16:15"),
    ("it", "alle quattro del pomeriggio", "2026-11-25 16:00"),
    ("it", "domani alle nove e venti di mattina", "2026-11-26 09:20"),
    ("it", "verso mezzogiorno", "2026-11-26 12:00"),
    ("it", "all'una e mezza", "2026-11-26 13:30"),
    # A quarter without "un", and three quarters: "le sei e quarto" is 6:15, "le sette e tre
    # quarti" 7:45, "le sei meno quarto" 5:45.
    ("it", "alle sei e quarto", "2026-11-25 18:15"),
    ("it", "alle sette e tre quarti", "2026-11-25 19:45"),
    ("it", "alle sei meno quarto", "2026-11-25 17:45"),
    ("it", "alle undici e tre quarti", "2026-11-26 11:45"),
    # Dutch counts the half hour towards the next hour: "half zeven" is 6:30.
    ("nl", "om half zeven", "2026-11-25 18:30"),
    ("nl", "morgen om half negen", "2026-11-26 08:30"),
    ("nl", "kwart over drie", "2026-11-25 15:15"),
    ("nl", "om kwart over vier", "2026-11-25 16:15"),
    ("nl", "kwart voor twaalf", "2026-11-26 11:45"),
    ("nl", "om tien voor zeven", "2026-11-25 18:50"),
    ("nl", "om vijf over half acht 's avonds", "2026-11-25 19:35"),
    ("nl", "rond een uur of vier", "2026-11-25 16:00"),
    ("nl", "om acht uur 's avonds", "2026-11-25 20:00"),
    ("nl", "om vier uur 's middags", "2026-11-25 16:00"),
    ("nl", "morgenochtend om half tien", "2026-11-26 09:30"),
    ("en", "quarter to five", "2026-11-25 16:45"),
    ("en", "half past six", "2026-11-25 18:30"),
    ("en", "half six", "2026-11-25 18:30"),  # British: half past six
    ("en", "ten past seven", "2026-11-25 19:10"),
    ("en", "twenty five past five", "2026-11-25 17:25"),
    ("en", "twenty to eight in the evening", "2026-11-25 19:40"),
    ("en", "at quarter past four", "2026-11-25 16:15"),
    ("en", "five o'clock", "2026-11-25 17:00"),
    ("en", "around eight tonight", "2026-11-25 20:00"),
    ("en", "at seven in the evening", "2026-11-25 19:00"),
    ("en", "a quarter past eleven tomorrow morning", "2026-11-26 11:15"),
])
def test_clock_times_said_on_the_phone(language, said, expected):
    parsed = parse_when(said, language, NOW)
    assert parsed is not None and parsed.time_given, said
    assert parsed.local.strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize(("language", "said", "expected"), [
    # A day of the month said as an ordinal: Italian says only the first so ("il primo
    # dicembre", written 1º), Dutch any ("de derde december", written 3e), English any.
    ("it", "il primo dicembre alle 10", "2026-12-01 10:00"),
    ("it", "il 1º dicembre alle 10", "2026-12-01 10:00"),
    ("nl", "de eerste december om 10 uur", "2026-12-01 10:00"),
    ("nl", "3e december om 10 uur", "2026-12-03 10:00"),
    ("nl", "op de 2de december om 10 uur", "2026-12-02 10:00"),
    ("en", "the first of December at 10", "2026-12-01 10:00"),
    ("en", "on the 3rd of December at 11", "2026-12-03 11:00"),
])
def test_a_day_of_the_month_said_as_an_ordinal(language, said, expected):
    parsed = parse_when(said, language, NOW)
    assert parsed is not None and parsed.time_given, said
    assert parsed.local.strftime("%Y-%m-%d %H:%M") == expected


def test_a_clock_pattern_with_a_meaning_or_placeholder_the_code_does_not_know_is_named():
    with pytest.raises(ValueError, match=r"nl\.yaml: clock: 'kwart over \{h\}' means 'pas', not one of noon"):
        clock_patterns([{"say": "kwart over {h}", "means": "pas", "minutes": 15}], "om", "nl.yaml")
    with pytest.raises(ValueError, match=r"en\.yaml: clock: '\{hour\} oclock' has \{hour\}"):
        clock_patterns([{"say": "{hour} oclock", "means": "past"}], "at", "en.yaml")
    [pattern] = clock_patterns([{"say": "{at}?kwart voor {h}", "means": "to", "minutes": 15}], "om", "nl.yaml")
    assert pattern.read(pattern.regex.search("om kwart voor 7")) == (6, 45, None)


# A span of days said outright: "in three days", "tra due settimane", "over een maand" (a month as
# the calendar counts it). Before, the span was dropped and "at 11" read as tomorrow's 11:00.
@pytest.mark.parametrize(("language", "said", "expected", "vague"), [
    ("en", "in 3 days at 11", "2026-11-28 11:00", False),
    ("en", "in two weeks at 10 am", "2026-12-09 10:00", False),
    ("en", "in a month", "2026-12-25", True),
    ("it", "tra tre giorni alle 11", "2026-11-28 11:00", False),
    ("it", "fra una settimana alle 9", "2026-12-02 09:00", False),
    ("it", "tra sei mesi alle 10", "2027-05-25 10:00", False),
    ("nl", "over twee weken om 10 uur", "2026-12-09 10:00", False),
    ("nl", "over een maand", "2026-12-25", True),
    # an hour or a few minutes stay what they were
    ("it", "tra un'ora", "2026-11-25 16:00", False),
    ("nl", "over een uurtje", "2026-11-25 16:00", False),
])
def test_a_span_of_days_weeks_or_months(language, said, expected, vague):
    parsed = parse_when(said, language, NOW)
    assert parsed is not None, said
    assert parsed.local.strftime("%Y-%m-%d %H:%M" if not vague else "%Y-%m-%d") == expected
    assert parsed.vague is vague


@pytest.mark.parametrize(("language", "said"), [("it", "tra 100000000 ore"), ("en", "in 100000000 days")])
def test_a_span_past_the_calendar_is_no_time_never_a_crash(language, said):
    assert parse_when(said, language, NOW) is None
