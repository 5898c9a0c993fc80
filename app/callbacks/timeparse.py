"""A day and time in the caller's own words -> a wall-clock time in their zone, or a vague part
of a day that the caller must choose a concrete time in.

Number words become digits with text2num ("tien over half vier" -> "10 over half 4"); then the
clock is read the way people say it on the phone ("alle cinque meno un quarto", "vijf voor half
vier", "half nine", "8 p m"), the part of the day ("dopo pranzo", "in de loop van de middag",
"late afternoon") and the day (today, tomorrow, a weekday, or a date, which dateparser reads).
Every word lives in times/<lang>.yaml of the app's flows directory (app.flows.words: read and
checked once at start, the repository's outside an app), the clock's patterns too, so a
translator edits YAML only; here is the structure: how the numbers of a match make a time
(MEANINGS), and the order in which clock, part of the day and day are read.

A part of the day without a clock ("domani pomeriggio") is never turned into a guessed hour:
the result is `vague`, with the window the caller meant, and the booking offers concrete
times inside it. A week without a day ("la settimana prossima", "volgende week", "next week",
"entro questa settimana", "deze week nog", with or without a part of the day or a clock) is
vague the same way, over that week's working days (this week's from today): the caller
chooses the day among concrete times, never a guessed Monday. An hour said without am/pm or a part of the day between 1 and 7 means the
afternoon ("alle tre" = 15:00): nobody wants a callback at three in the night.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import dateparser
from dateutil.relativedelta import relativedelta
from text_to_num import alpha2digit

from app.flows.words import WordFiles

LANGUAGES = ("it", "nl", "en")


@dataclass(frozen=True)
class ParsedWhen:
    """What the caller said, as a naive local wall time, and how exact it was."""

    local: datetime  # naive, in the callee's zone; for a vague time, the window's start
    time_given: bool  # a clock time was said (not just a day or a part of the day)
    window: tuple[time, time] | None = None  # the part of the day meant, when vague
    days: int = 1  # the window on this many days from `local`'s ("next week": Monday to Friday)

    @property
    def vague(self) -> bool:
        return not self.time_given


@dataclass(frozen=True)
class Part:
    """A part of the day: the window it means and whether it makes 1-11 afternoon (None for a
    range of hours said outright, "tra le 14 e le 16", which no clock time narrows)."""

    start: time
    end: time
    pm: bool | None


def vocabulary(language: str) -> Mapping[str, Any]:
    """The current app's time words of `language`, as its file says them."""
    return WORDS.current()[language].said


def parse_when(text: str, language: str, now_local: datetime) -> ParsedWhen | None:
    """Parse a spoken/typed day and time relative to `now_local` (aware or naive local time).

    Returns None when no day or time was said. The result may lie in the past or outside
    calling hours: the booking decides what to offer instead.
    """
    language = language if language in LANGUAGES else "en"
    now = now_local.replace(tzinfo=None, second=0, microsecond=0)
    words = normalise(text, language)
    if not words:
        return None
    try:
        return _parse(words, language, now)
    except OverflowError:  # "in 100000000 hours": past the calendar's last year, no time at all
        return None


def _parse(words: str, language: str, now: datetime) -> ParsedWhen | None:
    relative = _relative(words, language)
    if relative is not None:
        return ParsedWhen(now + relative, True)
    part, words = _range(words, language)
    if part is None:
        part, words = _part_of_day(words, language)
    clock, words = extract_time(words, language) if part is None or part.pm is not None else (None, words)
    if clock is None and part is not None and part.pm is not None:
        clock, words = _bare_hour(words)
    day, ahead_weekday, words = _day(words, language, now)
    if day is None:
        week = _week(words, language, now)
        if week is not None:
            return _in_week(*week, clock, part, language)
    if day is None and clock is None and part is None:
        return None
    if clock is not None:
        hour, minute, meridiem = clock
        at = time(_resolve_hour(hour, meridiem, part) % 24, minute)
        return ParsedWhen(_on_day(day, ahead_weekday, at, now), True)
    start, end = (part.start, part.end) if part is not None else _whole_day(language)
    # A vague part of today already over (or about to end) means the next such part.
    when = _on_day(day, ahead_weekday, end, now, lead=timedelta(minutes=30))
    return ParsedWhen(datetime.combine(when.date(), start), False, (start, end))


def _on_day(day: date | None, bare_weekday: bool, at: time, now: datetime,
            lead: timedelta = timedelta(0)) -> datetime:
    """`at` on the day said. No day: today, or tomorrow once it has passed. A bare weekday that
    is today's ("Friday at 10" said on a Friday afternoon): next week's, once it has passed."""
    if day is None:
        moment = datetime.combine(now.date(), at)
        return moment if moment > now + lead else moment + timedelta(days=1)
    moment = datetime.combine(day, at)
    if bare_weekday and moment <= now + lead:
        moment += timedelta(days=7)
    return moment


WORKING_DAYS = 5  # a week on a support line: Monday to Friday
CLOCK_SLACK = timedelta(minutes=30)  # "next week at 10": a window from 10:00 that holds one slot


def _in_week(first: date, days: int, clock: Clock | None, part: Part | None, language: str) -> ParsedWhen:
    """A week without its day: the part of the day (or the clock, or the whole day) on each of
    its working days from `first`, for the caller to choose from."""
    if clock is not None:
        hour, minute, meridiem = clock
        start = time(_resolve_hour(hour, meridiem, part) % 24, minute)
        end = min(datetime.combine(first, start) + CLOCK_SLACK, datetime.combine(first, time(23, 59))).time()
    else:
        start, end = (part.start, part.end) if part is not None else _whole_day(language)
    return ParsedWhen(datetime.combine(first, start), False, (start, end), days)


def _whole_day(language: str) -> tuple[time, time]:
    start, end = vocabulary(language)["whole_day"]
    return _wall(start), _wall(end)


def _wall(value: str) -> time:
    hour, minute = str(value).split(":")
    return time(int(hour), int(minute))


# --- words to a canonical string ---------------------------------------------------------------


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def normalise(text: str, language: str) -> str:
    """Lower case, no accents, spoken punctuation away, idioms to plain words, number words as
    digits: "Tra mezz'ora!" -> "tra 30 minuti"."""
    words = strip_accents((text or "").lower().replace("’", "'")).strip()
    words = re.sub(r"(\d)[.h](\d\d)\b", r"\1:\2", words)  # 18.30 / 18h30 -> 18:30
    # "8 p m", "8 p.m.", "8pm" -> "8 pm" (ASR spells the letters out)
    words = re.sub(r"(\d)\s*([ap])\.?\s?m\b\.?", r"\1 \2m", words)
    words = re.sub(r"[,;!?¿¡\"()]|\.(?!\d)", " ", words)
    vocab = vocabulary(language)
    for pattern, replacement in vocab.get("rewrite", {}).items():
        words = re.sub(rf"(?<![\w'])(?:{pattern})(?![\w'])", replacement, words)
    words = words.replace("'", " ")
    words = alpha2digit(re.sub(r"\s+", " ", words).strip(), language, threshold=0)
    # "20 5" (twenty five) if text2num left it apart
    words = re.sub(r"\b([2-5]0) ([1-9])\b", lambda m: str(int(m.group(1)) + int(m.group(2))), words)
    words = re.sub(r"(\d)\s*([ap])\s?m\b", r"\1 \2m", words)  # "six p m" once it is "6 p m"
    for pattern, replacement in vocab.get("after_digits", {}).items():
        words = re.sub(rf"(?<![\w'])(?:{pattern})(?![\w'])", replacement, words)
    return re.sub(r"\s+", " ", words).strip()


def _days_ahead(words: str, relative: Mapping[str, str], today: date) -> date | None:
    """The day "in three days", "tra due settimane", "over een maand" means (a month as the
    calendar counts it); None when no such span is said."""
    if not relative.get("days"):
        return None
    units = f"{relative['days']}|{relative['weeks']}|{relative['months']}"
    match = re.search(rf"\b(?:{relative['in']})(?: (?:{relative['about']}))? (\d+|{relative['one']}) ({units})\b", words)
    if match is None:
        return None
    count = int(match.group(1)) if match.group(1).isdigit() else 1
    unit = match.group(2)
    if re.fullmatch(relative["months"], unit):
        return today + relativedelta(months=count)
    return today + timedelta(days=count * (7 if re.fullmatch(relative["weeks"], unit) else 1))


def _relative(words: str, language: str) -> timedelta | None:
    vocab = vocabulary(language)["relative"]
    match = re.search(rf"\b(?:{vocab['in']})(?: (?:{vocab['about']}))? (\d+) ({vocab['hours']}|{vocab['minutes']})\b",
                      words)
    if match is None:
        return None
    amount = int(match.group(1))
    return timedelta(hours=amount) if re.fullmatch(vocab["hours"], match.group(2)) else timedelta(minutes=amount)


# --- the clock ----------------------------------------------------------------------------------

Clock = tuple[int, int, str | None]  # hour, minute, "am"/"pm"/None


def extract_time(words: str, language: str) -> tuple[Clock | None, str]:
    """Find the time of day in normalised words; return it and the words without it."""
    for pattern in _clock_patterns(language):
        match = pattern.regex.search(words)
        if match:
            clock = pattern.read(match)
            if 0 <= clock[0] <= 24 and 0 <= clock[1] < 60:
                rest = (words[: match.start()] + " " + words[match.end():]).strip()
                return clock, re.sub(r"\s+", " ", rest)
    return None, words


# How the numbers of a clock pattern make a time (`means` in times/<lang>.yaml of the flows
# directory): the hour said and the minutes said (or those a word stands for) -> hour, minute,
# before the minutes are brought into 0-59.
MEANINGS: dict[str, Callable[[int, int], tuple[int, int]]] = {
    "noon": lambda _hour, _minutes: (12, 0),
    "past": lambda hour, minutes: (hour, minutes),
    "to": lambda hour, minutes: (hour, -minutes),
    "past_half_before": lambda hour, minutes: (hour - 1, 30 + minutes),
    "to_half_before": lambda hour, minutes: (hour - 1, 30 - minutes),
}
# The numbers a clock pattern names, by placeholder; the words around them are the language's.
SLOTS = {
    "{h}": r"(?P<h>\d{1,2})",
    "{mm}": r"(?P<m>\d{2})",  # after a colon
    "{tens}": r"(?P<m>[1-5]\d)",  # minutes 10-59 said after the hour: "six thirty", never "six 05"
    "{m}": r"(?P<m>\d{1,2})",
    "{ampm?}": r"(?: (?P<ampm>am|pm))?",  # am/pm as normalise() writes them in every language
    "{ampm}": r"(?P<ampm>am|pm)",
}


@dataclass(frozen=True)
class ClockPattern:
    """One way a language says a clock time, and how its numbers make the time."""

    regex: re.Pattern[str]
    means: Callable[[int, int], tuple[int, int]]
    minutes: int  # what a word stands for when no minutes are said ("kwart": 15)

    def read(self, match: re.Match[str]) -> Clock:
        said = match.groupdict()
        hour, minute = self.means(int(said.get("h") or 0), int(said.get("m") or self.minutes))
        if minute < 0:
            hour, minute = hour - 1, minute + 60
        if minute >= 60:
            hour, minute = hour + 1, minute - 60
        return hour, minute, said.get("ampm")


def _clock_patterns(language: str) -> tuple[ClockPattern, ...]:
    return WORDS.current()[language].clock


def clock_patterns(entries: list[dict[str, Any]], at: str, where: str) -> tuple[ClockPattern, ...]:
    """A language's `clock` entries with their placeholders filled in; a ValueError naming
    `where` for a meaning or a placeholder the code does not know (a typo would otherwise
    leave a pattern that never matches)."""
    patterns = []
    for entry in entries:
        said, means = str(entry.get("say") or ""), MEANINGS.get(str(entry.get("means")))
        if means is None:
            raise ValueError(f"{where}: clock: {said!r} means {entry.get('means')!r}, "
                             f"not one of {', '.join(MEANINGS)}")
        regex = said.replace("{at}", f"(?:(?:{at}) )")
        for slot, numbers in SLOTS.items():
            regex = regex.replace(slot, numbers)
        unknown = re.findall(r"\{[^\d,}]*\}", regex)
        if unknown:
            raise ValueError(f"{where}: clock: {said!r} has {', '.join(unknown)}, "
                             f"not one of {{at}}, {', '.join(SLOTS)}")
        try:
            compiled = re.compile(rf"\b(?:{regex})\b")
        except re.error as exc:
            raise ValueError(f"{where}: clock: {said!r} is not a regular expression ({exc})") from None
        patterns.append(ClockPattern(compiled, means, int(entry.get("minutes", 0))))
    return tuple(patterns)


# --- a language's file -------------------------------------------------------------------------

# What every times file says (`next_week`, `this_week`, `rewrite`, `after_digits` may be left out).
REQUIRED = ("at", "clock", "relative", "range", "whole_day", "parts_of_day", "today", "tomorrow",
            "day_after_tomorrow", "weekdays", "next", "months", "ordinal")


@dataclass(frozen=True)
class TimeWords:
    """One language's times file: as written, and its clock patterns made."""

    said: Mapping[str, Any]
    clock: tuple[ClockPattern, ...]


def parse(raw: Any, language: str, where: str) -> TimeWords:
    """A times file checked whole: its keys there, every pattern a regular expression, each clock
    pattern known; a ValueError naming `where` and the entry (a broken pattern would otherwise
    fail mid-call, or never match)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping of the words for times")
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    try:
        for what, pattern in _patterns(raw):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{where}: {what}: {pattern!r} is not a regular expression ({exc})") from None
        for window in (raw["whole_day"], *(part["window"] for part in raw["parts_of_day"])):
            _window(window, where)
        return TimeWords(raw, clock_patterns(raw["clock"], raw["at"], where))
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"{where}: not in the shape the other times files have ({exc!r})") from None


def _patterns(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (where, pattern) the parser puts into a regular expression."""
    for key in ("rewrite", "after_digits"):
        yield from ((key, str(pattern)) for pattern in (raw.get(key) or {}))
    for key in ("at", "next", "ordinal", "next_week", "this_week"):
        if raw.get(key):
            yield key, str(raw[key])
    for key in ("relative", "range"):
        yield from ((f"{key}: {part}", str(pattern)) for part, pattern in raw[key].items())
    for index, part in enumerate(raw["parts_of_day"]):
        yield f"parts_of_day[{index}]", str(part["say"])
    for key in ("today", "tomorrow", "day_after_tomorrow", "weekdays"):
        yield from ((key, str(word)) for word in raw[key])


def _window(window: Any, where: str) -> None:
    try:
        start, end = window
        _wall(start), _wall(end)  # read to be checked
    except ValueError:
        raise ValueError(f"{where}: window {window!r} is not two times like [\"09:00\", \"12:00\"]") from None


WORDS = WordFiles("times", parse)


def _bare_hour(words: str) -> tuple[Clock | None, str]:
    """"seven in the evening", "om acht 's avonds": a lone hour beside a part of the day."""
    match = re.search(r"(?<![\d/:])\b(?P<h>1[0-2]|[1-9])\b(?![\d/:]| \w+ ?\d)", words)
    if match is None:
        return None, words
    return (int(match["h"]), 0, None), (words[: match.start()] + words[match.end():]).strip()


def _resolve_hour(hour: int, meridiem: str | None, part: Part | None) -> int:
    if hour == 0 and meridiem is None:
        return 12  # "half een" is half past twelve: nobody wants a callback at half past midnight
    if meridiem == "pm" and hour < 12:
        return hour + 12
    if meridiem == "am":
        return 0 if hour == 12 else hour
    if part is not None:
        return hour + 12 if part.pm and hour < 12 else hour
    return hour + 12 if 1 <= hour <= 7 else hour


# --- part of the day and the day ---------------------------------------------------------------


def _range(words: str, language: str) -> tuple[Part | None, str]:
    """"tra le 14 e le 16", "tussen twee en vier", "between 2 and 4 pm": a window to choose in."""
    vocab = vocabulary(language)["range"]
    word = f" (?:{vocab['hour']})|" if vocab.get("hour") else ""  # Dutch "tussen 2 uur en 4 uur"
    hour = rf"(\d{{1,2}})(?::(\d\d))?(?:{word} (am|pm))?"
    match = re.search(rf"\b(?:{vocab['from']}) {hour} (?:{vocab['to']}) {hour}\b", words)
    if match is None:
        return None, words
    h1, m1, ap1, h2, m2, ap2 = match.groups()
    end_hour = _resolve_hour(int(h2), ap2, None)
    start_hour = _resolve_hour(int(h1), ap1 or (ap2 if int(h1) <= int(h2) else None), None)
    if not (0 <= start_hour < end_hour <= 23 and int(m1 or 0) < 60 and int(m2 or 0) < 60):
        return None, words
    rest = (words[: match.start()] + " " + words[match.end():]).strip()
    return Part(time(start_hour, int(m1 or 0)), time(end_hour, int(m2 or 0)), None), rest


def _part_of_day(words: str, language: str) -> tuple[Part | None, str]:
    """The first part of the day named (longest phrases are listed first in the vocabulary);
    words that also name today ("stasera", "vanavond") leave "today" behind."""
    vocab = vocabulary(language)
    for entry in vocab["parts_of_day"]:
        match = re.search(rf"(?<![\w])(?:{entry['say']})(?![\w])", words)
        if match:
            start, end = entry["window"]
            rest = (words[: match.start()] + " " + (vocab["today"][0] if entry.get("today") else "") + " "
                    + words[match.end():])
            return Part(_wall(start), _wall(end), bool(entry.get("pm"))), re.sub(r"\s+", " ", rest).strip()
    return None, words


def _week(words: str, language: str, now: datetime) -> tuple[date, int] | None:
    """The working days of the week named, as (first day, how many): next week's Monday to
    Friday ("la settimana prossima", "volgende week"), or this week's from today ("entro questa
    settimana", "deze week nog"; none left at a weekend). None when no week is named."""
    vocab = vocabulary(language)
    if _says(words, vocab.get("next_week")):
        return now.date() + timedelta(days=7 - now.weekday()), WORKING_DAYS
    if _says(words, vocab.get("this_week")) and now.weekday() < WORKING_DAYS:
        return now.date(), WORKING_DAYS - now.weekday()
    return None


def _says(words: str, pattern: str | None) -> bool:
    return bool(pattern) and re.search(rf"(?<![\w])(?:{pattern})(?![\w])", words) is not None


def _day(words: str, language: str, now: datetime) -> tuple[date | None, bool, str]:
    """The day named in what is left, and whether it was a bare weekday (which means its next
    occurrence, a week ahead when today's is already past). Today, tomorrow and weekdays from
    the vocabulary; a date ("il 3 aprile", "3/4") by dateparser."""
    vocab = vocabulary(language)
    tokens = words.split()
    spanned = _days_ahead(words, vocab["relative"], now.date())
    if spanned is not None:
        return spanned, False, words
    for word, offset in (*((w, 2) for w in vocab["day_after_tomorrow"]), *((w, 0) for w in vocab["today"]),
                         *((w, 1) for w in vocab["tomorrow"])):
        if re.search(rf"\b{word}\b", words):
            return now.date() + timedelta(days=offset), False, words
    for index, name in enumerate(vocab["weekdays"]):
        if re.search(rf"\b{name}", words):
            ahead = (index - now.weekday()) % 7
            if ahead == 0 and re.search(rf"\b(?:{vocab['next']})\b", words):
                return now.date() + timedelta(days=7), False, words
            return now.date() + timedelta(days=ahead), ahead == 0, words
    # Only the date's own tokens go to dateparser: the rest of a sentence confuses it. An
    # ordinal's ending goes too: dateparser reads "3 december" but not "3e december".
    ordinal = rf"(?:{vocab['ordinal']})"
    date_words = [re.sub(rf"(?<=\d){ordinal}$", "", t) for t in tokens
                  if re.fullmatch(rf"[\d/.-]+{ordinal}?", t)
                  or any(t.startswith(m[:3]) and m.startswith(t[:3]) for m in vocab["months"])]
    if not date_words:
        return None, False, words
    parsed = dateparser.parse(
        " ".join(date_words), languages=[language],
        settings={"RELATIVE_BASE": now, "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
                  "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first",
                  "REQUIRE_PARTS": ["day", "month"]},
    )
    return (parsed.date(), False, words) if parsed is not None else (None, False, words)
