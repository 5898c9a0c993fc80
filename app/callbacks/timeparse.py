"""A day and time in the caller's own words -> a wall-clock datetime in their zone.

dateparser understands dates well ("venerdì", "3 december", "next monday") but not the way
people say times on the phone: "alle sei di sera" (18:00), "half zeven" (6:30, i.e. 18:30 for a
callback), "kwart over vijf", "half past six", "domani sera". So a small layer per language
first takes the *time* out of the sentence (number words to digits, half/quarter, part of the
day, am/pm), hands what is left (the *day*) to dateparser, and combines the two.

Callbacks are never wanted at 1-7 in the morning, so an hour said without am/pm or a part of
the day between 1 and 7 means the afternoon/evening ("alle sei" = 18:00).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import dateparser

NUMBER_WORDS: dict[str, dict[str, int]] = {
    "it": {
        "zero": 0, "una": 1, "uno": 1, "l'una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5,
        "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "undici": 11, "dodici": 12,
        "tredici": 13, "quattordici": 14, "quindici": 15, "sedici": 16, "diciassette": 17,
        "diciotto": 18, "diciannove": 19, "venti": 20, "ventuno": 21, "ventidue": 22,
        "ventitre": 23, "trenta": 30, "quaranta": 40, "quarantacinque": 45, "cinquanta": 50,
        "venticinque": 25, "trentacinque": 35, "dieci minuti": 10,
    },
    "nl": {
        "nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
        "zeven": 7, "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13,
        "veertien": 14, "vijftien": 15, "zestien": 16, "zeventien": 17, "achttien": 18,
        "negentien": 19, "twintig": 20, "eenentwintig": 21, "tweeëntwintig": 22,
        "drieëntwintig": 23, "dertig": 30, "veertig": 40, "vijfenveertig": 45, "vijftig": 50,
    },
    "en": {
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "forty five": 45,
        "forty-five": 45, "fifty": 50, "an": 1, "a": 1,
    },
}

# Part of the day -> (default hour, shifts 1-11 to pm?)
PARTS_OF_DAY: dict[str, list[tuple[str, int, bool]]] = {
    "it": [(r"stamattina|stamani", 10, False), (r"stasera", 18, True), (r"stanotte", 21, True),
           (r"oggi pomeriggio", 15, True),
           (r"(?:di|in|della|alla|nella)? ?mattin[ao]|(?:del|al) mattino", 10, False),
           (r"(?:di|del|nel|al)? ?pomeriggio", 15, True), (r"(?:di|la|in)? ?sera(?:ta)?", 18, True),
           (r"(?:di|la)? ?notte", 21, True), (r"mezzogiorno", 12, False)],
    "nl": [(r"vanochtend|vanmorgen", 10, False), (r"vanmiddag", 15, True), (r"vanavond", 18, True),
           (r"vannacht", 21, True), (r"'?s ochtends|'?s morgens|(?:in de )?ochtend", 10, False),
           (r"'?s middags|(?:in de )?middag", 15, True), (r"'?s avonds|(?:in de )?avond", 18, True),
           (r"'?s nachts", 21, True)],
    "en": [(r"tonight", 18, True), (r"this morning", 10, False), (r"this afternoon", 15, True),
           (r"this evening", 18, True), (r"(?:in the )?morning", 10, False),
           (r"(?:in the )?afternoon", 15, True), (r"(?:in the )?evening", 18, True),
           (r"at night", 21, True), (r"noon|midday", 12, False)],
}
# Words that name "today" once a part of the day is taken out of them.
TODAY_PARTS = {"it": r"\bsta(?:mattina|mani|sera|notte)\b",
               "nl": r"\bvan(?:ochtend|morgen|middag|avond|nacht)\b",
               "en": r"\b(?:tonight|this (?:morning|afternoon|evening))\b"}
# Compound words: "morgenavond" = "morgen" + "avond", "domattina" = "domani mattina".
COMPOUNDS = {"nl": [(r"\bmorgen(ochtend|middag|avond)\b", r"morgen \1"),
                    (r"\bovermorgen(ochtend|middag|avond)\b", r"overmorgen \1")],
             "it": [(r"\bdomattina\b", "domani mattina"), (r"\bdopodomani\b", "tra 2 giorni")],
             "en": [(r"\bthe day after tomorrow\b", "in 2 days")]}
TODAY_WORDS = {"it": {"oggi"}, "nl": {"vandaag"}, "en": {"today"}}
TOMORROW_WORDS = {"it": {"domani"}, "nl": {"morgen"}, "en": {"tomorrow"}}
WEEKDAYS = {
    "it": ["lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}
NEXT_WORDS = {"it": r"prossim[oa]", "nl": r"volgende(?: week)?", "en": r"next"}
# Filler left around the day once the time is gone.
FILLER = {
    "it": r"\b(?:alle|all|ore|le|il|lo|la|di|del|per|verso|circa|a|e|in|giorno|richiamatemi|mi|richiami|pure)\b",
    "nl": r"\b(?:om|uur|rond|ongeveer|de|het|op|graag|bel|me|mij|maar|terug|in)\b",
    "en": r"\b(?:at|around|about|o'?clock|on|the|please|call|me|back|in|by)\b",
}
RELATIVE = {
    "it": [(r"\b(?:tra|fra) (\d+) or[ae]\b", 60), (r"\b(?:tra|fra) (\d+) minut[oi]\b", 1),
           (r"\b(?:tra|fra) (?:un'?|una )ora\b", -60), (r"\b(?:tra|fra) mezz'? ?ora\b", -30)],
    "nl": [(r"\b(?:over|binnen) (\d+) uur\b", 60), (r"\b(?:over|binnen) (\d+) minuten\b", 1),
           (r"\b(?:over|binnen) een half uur(?:tje)?\b", -30), (r"\b(?:over|binnen) een uur(?:tje)?\b", -60)],
    "en": [(r"\bin (\d+) hours?\b", 60), (r"\bin (\d+) minutes?\b", 1),
           (r"\bin half an hour\b", -30), (r"\bin an hour\b", -60)],
}


@dataclass(frozen=True)
class ParsedWhen:
    """What the caller said, as a naive local wall time, and how exact it was."""

    local: datetime  # naive, in the callee's zone
    time_given: bool  # an hour was said (not just a day or a part of the day)


def parse_when(text: str, language: str, now_local: datetime) -> ParsedWhen | None:
    """Parse a spoken/typed day and time relative to `now_local` (aware or naive local time).

    Returns None when nothing usable was said. The result may lie in the past or outside
    calling hours: the booking decides what to offer instead.
    """
    language = language if language in NUMBER_WORDS else "en"
    now = now_local.replace(tzinfo=None, second=0, microsecond=0)
    words = normalise(text, language)
    if not words:
        return None
    relative = _relative(words, language)
    if relative is not None:
        return ParsedWhen(now + relative, True)
    clock, rest = extract_time(words, language)
    part, rest = _part_of_day(rest, language)
    day, rest = _day(rest, language, now)
    if day is None and clock is None and part is None:
        return None
    if clock is not None:
        hour, minute, meridiem = clock
        hour = _resolve_hour(hour, meridiem, part)
        at = time(hour % 24, minute)
    elif part is not None:
        at = time(part[0], 0)
    else:
        at = time(10, 0)  # only a day was said: mid-morning, read back for confirmation
    if day is None:
        day = now.date()
        if datetime.combine(day, at) <= now:
            day += timedelta(days=1)
    return ParsedWhen(datetime.combine(day, at), clock is not None)


def normalise(text: str, language: str) -> str:
    """Lower case, spoken punctuation away, number words as digits, compounds split."""
    words = (text or "").lower().strip()
    words = words.replace("p.m.", "pm").replace("a.m.", "am").replace("’", "'")
    words = re.sub(r"(\d)[.h](\d\d)\b", r"\1:\2", words)  # 18.30 / 18h30 -> 18:30
    words = re.sub(r"[,;!?¿¡\"()]|\.(?!\d)", " ", words)
    for pattern, replacement in COMPOUNDS.get(language, []):
        words = re.sub(pattern, replacement, words)
    numbers = NUMBER_WORDS[language]
    for word in sorted(numbers, key=len, reverse=True):
        if language == "en" and word in ("a", "an"):
            continue  # "a"/"an" are numbers only in "an hour", handled by RELATIVE
        words = re.sub(rf"(?<![\w']){re.escape(word)}(?![\w'])", str(numbers[word]), words)
    # "20 5" (twenty five), "30 5": tens followed by a unit
    words = re.sub(r"\b([2-5]0) ([1-9])\b", lambda m: str(int(m.group(1)) + int(m.group(2))), words)
    return re.sub(r"\s+", " ", words).strip()


def _relative(words: str, language: str) -> timedelta | None:
    for pattern, unit in RELATIVE[language]:
        match = re.search(pattern, words)
        if match:
            if unit < 0:
                return timedelta(minutes=-unit)
            return timedelta(minutes=int(match.group(1)) * unit)
    return None


Clock = tuple[int, int, str | None]  # hour, minute, "am"/"pm"/None


def extract_time(words: str, language: str) -> tuple[Clock | None, str]:
    """Find the time of day in normalised words; return it and the words without it."""
    for pattern, build in _TIME_PATTERNS[language]:
        match = re.search(pattern, words)
        if match:
            clock = build(match)
            if clock is not None and 0 <= clock[0] <= 24 and 0 <= clock[1] < 60:
                rest = (words[: match.start()] + " " + words[match.end():]).strip()
                return clock, re.sub(r"\s+", " ", rest)
    return None, words


def _meridiem(match: re.Match[str]) -> str | None:
    value = match.groupdict().get("ampm")
    return value.replace(".", "") if value else None


def _hm(match: re.Match[str], minute_delta: int = 0, hour_delta: int = 0) -> Clock:
    hour = int(match.group("h")) + hour_delta
    minute = int(match.groupdict().get("m") or 0) + minute_delta
    if minute < 0:
        hour, minute = hour - 1, minute + 60
    return hour, minute, _meridiem(match)


_AMPM = r"(?:\s?(?P<ampm>am|pm))?"
_TIME_PATTERNS = {
    "it": [
        (r"\b(?:alle |le |ore |verso le )?(?P<h>\d{1,2}):(?P<m>\d{2})\b", _hm),
        (r"\b(?:alle |le |ore |verso le |all')(?P<h>\d{1,2}) e mezz[ao]\b", lambda m: _hm(m, 30)),
        (r"\b(?:alle |le |ore |verso le |all')(?P<h>\d{1,2}) e un quarto\b", lambda m: _hm(m, 15)),
        (r"\b(?:alle |le |ore |verso le |all')(?P<h>\d{1,2}) meno un quarto\b", lambda m: _hm(m, -15)),
        (r"\b(?:alle |le |ore |verso le |all')(?P<h>\d{1,2}) e (?P<m>\d{1,2})\b", _hm),
        (r"\b(?:alle |le |ore |verso le |all')(?P<h>\d{1,2})(?: in punto)?\b", _hm),
    ],
    "nl": [
        (r"\b(?:om |rond )?(?P<h>\d{1,2}):(?P<m>\d{2})(?: uur)?\b", _hm),
        (r"\b(?:om |rond )?half (?P<h>\d{1,2})\b", lambda m: _hm(m, 30, -1)),
        (r"\b(?:om |rond )?kwart over (?P<h>\d{1,2})\b", lambda m: _hm(m, 15)),
        (r"\b(?:om |rond )?kwart voor (?P<h>\d{1,2})\b", lambda m: _hm(m, -15)),
        (r"\b(?:om |rond )?(?P<m>\d{1,2}) over (?P<h>\d{1,2})\b", _hm),
        (r"\b(?:om |rond )?(?P<h>\d{1,2}) uur(?: (?P<m>\d{1,2}))?\b", _hm),
        (r"\b(?:om |rond )(?P<h>\d{1,2})\b", _hm),
    ],
    "en": [
        (r"\b(?P<h>\d{1,2}):(?P<m>\d{2})" + _AMPM + r"\b", _hm),
        (r"\bhalf past (?P<h>\d{1,2})" + _AMPM + r"\b", lambda m: _hm(m, 30)),
        (r"\b(?:a )?quarter past (?P<h>\d{1,2})" + _AMPM + r"\b", lambda m: _hm(m, 15)),
        (r"\b(?:a )?quarter to (?P<h>\d{1,2})" + _AMPM + r"\b", lambda m: _hm(m, -15)),
        (r"\b(?P<m>\d{1,2}) past (?P<h>\d{1,2})" + _AMPM + r"\b", _hm),
        (r"\b(?P<h>\d{1,2})\s?(?P<ampm>am|pm)\b", _hm),
        (r"\b(?P<h>\d{1,2}) (?P<m>\d{2})" + _AMPM + r"\b", _hm),  # "six thirty"
        (r"\bat (?P<h>\d{1,2})(?: o'?clock)?\b", _hm),
        (r"\b(?P<h>\d{1,2}) o'?clock\b", _hm),
    ],
}


def _part_of_day(words: str, language: str) -> tuple[tuple[int, bool] | None, str]:
    today = bool(re.search(TODAY_PARTS[language], words))
    for pattern, hour, pm in PARTS_OF_DAY[language]:
        match = re.search(rf"(?<![\w']){pattern}(?![\w])", words)
        if match:
            rest = (words[: match.start()] + " " + words[match.end():]).strip()
            if today:
                rest = f"{next(iter(TODAY_WORDS[language]))} {rest}".strip()
            return (hour, pm), rest
    return None, words


def _resolve_hour(hour: int, meridiem: str | None, part: tuple[int, bool] | None) -> int:
    if meridiem == "pm" and hour < 12:
        return hour + 12
    if meridiem == "am":
        return 0 if hour == 12 else hour
    if part is not None:
        return hour + 12 if part[1] and hour < 12 else hour
    return hour + 12 if 1 <= hour <= 7 else hour


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _day(words: str, language: str, now: datetime) -> tuple[date | None, str]:
    """The day named in what is left: today/tomorrow/weekday ourselves, the rest by dateparser."""
    rest = re.sub(FILLER[language], " ", words)
    rest = re.sub(r"\s+", " ", rest).strip()
    if not rest:
        return None, ""
    plain = _strip_accents(rest)
    tokens = plain.split()
    if set(tokens) & TODAY_WORDS[language] and len(tokens) == 1:
        return now.date(), ""
    if set(tokens) & TOMORROW_WORDS[language] and len(tokens) == 1:
        return now.date() + timedelta(days=1), ""
    for index, name in enumerate(WEEKDAYS[language]):
        if re.search(rf"\b{name}\b", plain):
            ahead = (index - now.weekday()) % 7
            if ahead == 0 and re.search(NEXT_WORDS[language], plain):
                ahead = 7
            return now.date() + timedelta(days=ahead), ""
    parsed = dateparser.parse(
        rest,
        languages=[language],
        settings={"RELATIVE_BASE": now, "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
                  "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first"},
    )
    if parsed is None:
        return None, rest
    return parsed.date(), ""
