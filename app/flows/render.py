"""Prompt text as a caller hears it: slots interpolated and spoken the right way per language.

`{ref|digits}` reads a reference character by character; `{d|date}`, `{t|time}` and
`{dt|datetime}` speak dates and times in the call's language (Babel's CLDR data) and in the
callee's own time zone; "today"/"tomorrow" are said as such. A missing slot renders as ""
(logged), never as a crash on a live call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time

from app import prompts
from app.phone import parse_caller

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\|([a-zA-Z_]+))?\}")
LOCALES = {"it": "it_IT", "nl": "nl_NL", "en": "en_GB"}
# The words around dates and times ("oggi", "alle", "tra le ... e le ...") are "time.*" in
# prompts/<lang>.yaml of the flows directory; time.at_one is said before 1 o'clock
# (Italian: "all'1:15").
# Spoken clock times: 24-hour in Italian and Dutch, "6:30 pm" in English.
TIME_PATTERNS = {"it": "H:mm", "nl": "H:mm", "en": "h:mm a"}


Day = date  # Speaker.date (the filter) shadows the type inside the class body
SPACES = re.compile(r"\s{2,}")
COMMA_BEFORE_STOP = re.compile(r",([.?!;:])")


@lru_cache(maxsize=4096)
def placeholders(text: str) -> tuple[tuple[str, str | None], ...]:
    """The (slot, filter) pairs a prompt fills in, in order. Prompts are the flows' and the
    prompts files' texts, read once: each is parsed once."""
    return tuple((match.group(1), match.group(2)) for match in PLACEHOLDER.finditer(text))


def _tidy(spoken: str) -> str:
    """Spaces and punctuation left around an empty slot: "Good afternoon, {caller_name}." with
    no name known reads "Good afternoon."."""
    # Each regex only when it can match (most texts have nothing to tidy, and a regex pass costs
    # more than these checks): the only whitespace `isprintable` lets through is the space.
    if "  " in spoken or not spoken.isprintable():
        spoken = SPACES.sub(" ", spoken)
    spoken = spoken.replace(" ,", ",").replace(" .", ".")
    if ",." in spoken or ",?" in spoken or ",!" in spoken or ",;" in spoken or ",:" in spoken:
        spoken = COMMA_BEFORE_STOP.sub(r"\1", spoken)
    return spoken.strip()


# A prompt without slots is said the same on every call.
tidy = lru_cache(maxsize=4096)(_tidy)


class Speaker:
    """Renders texts for one call: its language, its time zone and its notion of today."""

    def __init__(self, language: str, zone: ZoneInfo, now: datetime) -> None:
        self.language = language
        self.zone = zone
        self.now = now.astimezone(zone)
        self.every_year = False  # set while a text with a date that needs its year is rendered

    def render(self, text: str, slots: Mapping[str, Any]) -> str:
        """`text` (a prompt of the flows or the prompts files, whose parsed form is kept) with
        its slots filled in from `slots`."""
        found = placeholders(text)
        if not found:
            return tidy(text)
        dated = any(flt in ("date", "datetime") for _, flt in found)
        self.every_year = dated and self._a_date_needs_its_year(text, slots)
        try:
            return self._render(text, slots)
        finally:
            self.every_year = False

    def _a_date_needs_its_year(self, text: str, slots: Mapping[str, Any]) -> bool:
        """Whether one of the text's dates says its year: then they all do, or "ended on 3 April
        2026, covered until 3 April" sounds like the same day twice."""
        today = self.now.date()
        for name, flt in placeholders(text):
            value = slots.get(name)
            if flt not in ("date", "datetime") or value is None:
                continue
            try:
                if needs_year(_as_date(value, self.zone), today):
                    return True
            except (ValueError, TypeError):
                continue
        return False

    def _render(self, text: str, slots: Mapping[str, Any]) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, flt = match.group(1), match.group(2)
            value = slots.get(name)
            if value is None:
                if name not in slots:
                    log.warning("prompt slot %r is not set", name)
                return ""
            try:
                return FILTERS[flt](self, value) if flt else _plain(value)
            except (KeyError, ValueError, TypeError):
                log.warning("slot %r=%r cannot be spoken with filter %r", name, value, flt)
                return _plain(value)

        return _tidy(PLACEHOLDER.sub(substitute, text))

    # -- filters -----------------------------------------------------------------------------

    def digits(self, value: Any) -> str:
        return " ".join(ch for ch in str(value) if ch.isalnum())

    def date(self, value: Any) -> str:
        day = _as_date(value, self.zone)
        return self._day_words(day)

    def time(self, value: Any) -> str:
        moment = _as_time(value, self.zone)
        spoken = format_time(moment, TIME_PATTERNS[self.language], locale=LOCALES[self.language])
        return spoken.replace("\u202f", " ")  # CLDR's narrow no-break space before "pm"

    def datetime(self, value: Any) -> str:
        """"domani, giovedì 26 novembre, alle 18:30": the comma closes "today"/"tomorrow"'s
        apposition; another day reads "venerdì 27 novembre alle 9:00"."""
        moment = _as_datetime(value, self.zone)
        return f"{self.day_phrase(moment.date())} {self.at_time(moment)}"

    def at_time(self, value: Any) -> str:
        """"alle 18:30", "all'1:15" (Italian elides before "una"), "om 18:30", "at 6:30 pm"."""
        moment = _as_time(value, self.zone)
        at = prompts.text("time.at_one" if moment.hour == 1 else "time.at", self.language)
        return f"{at} {self.time(moment)}".replace("' ", "'")

    def span(self, start: Any, end: Any) -> str:
        """A part of a day: "tra le 14:00 e le 18:00", "tussen 14:00 en 18:00", "between ..."."""
        first, last = self.time(start), self.time(end)
        return prompts.text("time.between", self.language, start=first, end=last)

    def day_phrase(self, day: Day) -> str:
        """The day as said before a time or a span: "domani, giovedì 26 novembre," (the comma
        closes the apposition) or "sabato 28 novembre"."""
        words = self._day_words(day)
        return f"{words}," if self._is_near(day) else words

    def _is_near(self, day: Day) -> bool:
        return day in (self.now.date(), self.now.date() + timedelta(days=1))

    def _day_words(self, day: Day) -> str:
        locale = LOCALES.get(self.language, LOCALES["en"])
        with_year = self.every_year or needs_year(day, self.now.date())
        pattern = "EEEE d MMMM y" if with_year else "EEEE d MMMM"
        if day.day == 1:  # time.first_day: Italians say "primo dicembre", never "uno dicembre"
            first = prompts.text("time.first_day", self.language).replace("'", "''")  # CLDR quoting
            pattern = pattern.replace(" d ", f" '{first}' ")
        full = format_date(day, pattern, locale=locale)
        if day == self.now.date():
            return f"{prompts.text('time.today', self.language)}, {full}"
        if day == self.now.date() + timedelta(days=1):
            return f"{prompts.text('time.tomorrow', self.language)}, {full}"
        return full


# A listener who hears "15 January" without a year takes the 15 January nearest to today: in
# December that is next January, in March the January just gone. Half a year either way is as
# far as that reading holds; beyond it the year is said, whatever the calendar year.
NEAREST_READING_DAYS = 182


def needs_year(day: Day, today: Day) -> bool:
    """Whether a spoken date needs its year: yes unless it is the occurrence of its day and
    month nearest to today (within half a year), which is how listeners resolve "15 January"."""
    return abs((day - today).days) > NEAREST_READING_DAYS


FILTERS: dict[str, Callable[[Speaker, Any], str]] = {
    "digits": Speaker.digits,
    "date": Speaker.date,
    "time": Speaker.time,
    "datetime": Speaker.datetime,
}


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    return str(value)


def _parse(value: Any) -> datetime | date | time:
    if isinstance(value, (datetime, date, time)):
        return value
    text = str(value).strip()
    for parser in (datetime.fromisoformat, date.fromisoformat, time.fromisoformat):
        try:
            return parser(text)
        except ValueError:
            continue
    raise ValueError(f"not an ISO date or time: {text!r}")


def _as_datetime(value: Any, zone: ZoneInfo) -> datetime:
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)
    raise ValueError(f"{value!r} has no time of day")


def _as_date(value: Any, zone: ZoneInfo) -> date:
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return _as_datetime(parsed, zone).date()
    if isinstance(parsed, date):
        return parsed
    raise ValueError(f"{value!r} is not a date")


def _as_time(value: Any, zone: ZoneInfo) -> time:
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return _as_datetime(parsed, zone).time()
    if isinstance(parsed, time):
        return parsed
    raise ValueError(f"{value!r} is not a time")


# -- courtesy -------------------------------------------------------------------------------

COURTESY_SLOTS = frozenset({"greeting", "farewell"})  # the slots `courtesy` fills


def courtesy(language: str, at: datetime, zone: str | ZoneInfo | None) -> dict[str, str]:
    """`greeting` and `farewell` for the hour where the other party is: every text said on a
    call (flows, machine messages, apologies) takes them from here, never a fixed "good day".
    An unknown zone falls back to UTC rather than failing a call."""
    try:
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    texts = prompts.catalogue(language)
    return {"greeting": texts[_greeting_key(local)], "farewell": texts[_farewell_key(local)]}


def number_zone(e164: str | None) -> str | None:
    """The zone of a phone number when it has exactly one (a mobile may roam; it is our best
    guess when nothing better is known)."""
    party = parse_caller(e164)
    return party.time_zones[0] if party and len(party.time_zones) == 1 else None


def greeting(language: str, local: datetime) -> str:
    """Buongiorno/buonasera, goedemorgen/-middag/-avond, good morning/afternoon/evening: the
    words are time.greeting.* in prompts/<lang>.yaml of the flows directory, one per part of
    the day (Italian says "buonasera" from 14:00, Dutch and English change at noon)."""
    return prompts.text(_greeting_key(local), language)


def farewell(language: str, local: datetime) -> str:
    """The wish at goodbye: a good day until late afternoon, a good evening after
    (time.farewell.day / time.farewell.evening)."""
    return prompts.text(_farewell_key(local), language)


def _greeting_key(local: datetime) -> str:
    hour = local.hour
    return ("time.greeting.morning" if 4 <= hour < 12 else "time.greeting.midday" if 12 <= hour < 14
            else "time.greeting.afternoon" if 14 <= hour < 18 else "time.greeting.evening")


def _farewell_key(local: datetime) -> str:
    evening = local.hour >= 17 or local.hour < 4
    return "time.farewell.evening" if evening else "time.farewell.day"
