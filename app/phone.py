"""Phone numbers at the edge: parse untrusted input to E.164 with region, line type and zones."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as pn_timezone
from pydantic import AfterValidator

from app.refusals import Refusal
from app.yamlfile import Shape, read_mapping, read_shape

_LINE_TYPES = {
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
# Every line type a parsed number may have (a pack refuses some of them by name).
# "fictional": Ofcom's drama ranges (DRAMA_RANGES), whatever libphonenumber says of them.
LINE_TYPES = (*_LINE_TYPES.values(), "unknown", "fictional")
# libphonenumber gives a UK mobile the zones of Guernsey, Jersey, the Isle of Man and London
# (the number may be used on any of them); their clocks are London's (tzdata links them to
# Europe/London), so such a number has London's zone only, not whichever is listed first.
LONDON_CLOCK = frozenset({"Europe/London", "Europe/Guernsey", "Europe/Jersey", "Europe/Isle_of_Man"})
# Ofcom keeps these UK ranges for TV and radio drama ("Telephone numbers for drama"): never
# allocated to anyone, so they are real-shaped numbers of a class of their own, "fictional",
# never dialled (consent's courtesy rules refuse the line type; the desk refuses it as a
# phone). libphonenumber cannot tell: it calls 07700 900xxx and 01632 960xxx invalid (a caller
# showing one looked withheld) and most geographic ones valid fixed lines. First and last
# number of each range, E.164 (in national form: 0113 496 0000 to 0999 ... 07700 900000 to 900999).
DRAMA_RANGES = tuple((f"+44{first}", f"+44{last}") for first, last in (
    ("1134960000", "1134960999"), ("1144960000", "1144960999"), ("1154960000", "1154960999"),
    ("1164960000", "1164960999"), ("1174960000", "1174960999"), ("1184960000", "1184960999"),
    ("1214960000", "1214960999"), ("1314960000", "1314960999"), ("1414960000", "1414960999"),
    ("1514960000", "1514960999"), ("1614960000", "1614960999"),
    ("2079460000", "2079460999"),  # London 020 7946 0xxx
    ("1914980000", "1914980999"),  # Tyneside, Durham, Sunderland 0191 498 0xxx
    ("2896496000", "2896496999"),  # Northern Ireland 028 9649 6xxx
    ("2920180000", "2920180999"),  # Cardiff 029 2018 0xxx
    ("1632960000", "1632960999"),  # no area 01632 960xxx
    ("7700900000", "7700900999"),  # mobile 07700 900xxx
    ("8081570000", "8081570999"),  # freephone 08081 570xxx
    ("9098790000", "9098790999"),  # premium rate 0909 8790xxx
    ("3069990000", "3069990999"),  # UK-wide 03069 990xxx
))
DRAMA_ZONES = ("Europe/London",)
# Twilio's placeholders for withheld or unknown caller ID.
_UNKNOWN_CALLERS = {"anonymous", "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253", ""}


# Why a text is not a phone number: the Refusal code (for the console) and the English words.
REASONS = {
    "number_empty": "empty",
    "number_too_long_text": "too long to be a phone number",
    "number_no_country_code": "no country code (write it as +CC...)",
    "number_not_a_number": "not a number",
    "number_too_short": "too short",
    "number_too_long": "too long",
    "number_invalid_for_country": "not a valid number for its country",
}


class InvalidNumber(Refusal):
    """The text is not a dialable phone number; `reason` says why in plain words, `code` which
    of REASONS it is."""

    def __init__(self, raw: str, code: str) -> None:
        super().__init__(code, f"{raw!r}: {REASONS[code]}", value=str(raw or ""))
        self.raw = raw
        self.reason = REASONS[code]


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    region: str | None
    line_type: str
    time_zones: tuple[str, ...]


@lru_cache(maxsize=4096)  # an import row, then the contact it creates, parse the same number
def parse(raw: str, default_region: str | None = None) -> ParsedNumber:
    """Parse a number typed by a person or sent by Twilio; raise InvalidNumber when it is not one."""
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber(raw, "number_empty")
    if len(text) > 40:
        raise InvalidNumber(raw[:40], "number_too_long_text")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        raise InvalidNumber(raw, _parse_reason(exc)) from None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if is_drama(e164):
        return ParsedNumber(e164=e164, region="GB", line_type="fictional", time_zones=DRAMA_ZONES)
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(raw, "number_invalid_for_country")
    zones = tuple(
        z for z in pn_timezone.time_zones_for_number(number) if z != pn_timezone.UNKNOWN_TIMEZONE
    )
    if number.country_code == 1:
        zones = tuple(dict.fromkeys((*zones, *nanp_extra_zones().get(e164[2:5], ()))))
    region = phonenumbers.region_code_for_number(number)
    if len(zones) > 1 and "Europe/London" in zones and LONDON_CLOCK.issuperset(zones):
        zones = ("Europe/London",)
    return ParsedNumber(
        e164=e164,
        region=region,
        line_type=_LINE_TYPES.get(phonenumbers.number_type(number), "unknown"),
        time_zones=zones,
    )


NUMBER_ZONES_FILE = Path(__file__).with_name("number_zones.yaml")


def _zone_name(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone") from None
    return name


def nanp_area_code(code: str) -> str:
    """`code` if it is a North American area code (three digits, not 0 or 1 first)."""
    if not (len(code) == 3 and code.isdigit() and code[0] not in "01"):
        raise ValueError(f"{code!r} is not a North American area code (three digits, not starting 0 or 1)")
    return code


class _Area(Shape):
    codes: list[Annotated[str, AfterValidator(nanp_area_code)]]
    zones: list[Annotated[str, AfterValidator(_zone_name)]]
    where: str


class _NumberZones(Shape):
    areas: list[_Area]


@lru_cache(maxsize=1)
def nanp_extra_zones(path: Path = NUMBER_ZONES_FILE) -> dict[str, tuple[str, ...]]:
    """Area code -> the zones number_zones.yaml adds to libphonenumber's for it (why: there)."""
    shape, problems = read_shape(_NumberZones, read_mapping(path.read_text(encoding="utf-8")))
    if shape is None or problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    extra: dict[str, tuple[str, ...]] = {}
    for area in shape.areas:
        for code in area.codes:
            extra[code] = tuple(dict.fromkeys((*extra.get(code, ()), *area.zones)))
    return extra


def is_drama(e164: str) -> bool:
    """True for a number in one of Ofcom's drama ranges (E.164)."""
    return any(len(e164) == len(first) and first <= e164 <= last for first, last in DRAMA_RANGES)


def _parse_reason(exc: NumberParseException) -> str:
    return {
        NumberParseException.INVALID_COUNTRY_CODE: "number_no_country_code",
        NumberParseException.NOT_A_NUMBER: "number_not_a_number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "number_too_short",
        NumberParseException.TOO_SHORT_NSN: "number_too_short",
        NumberParseException.TOO_LONG: "number_too_long",
    }.get(exc.error_type, "number_not_a_number")


def parse_caller(raw: str | None) -> ParsedNumber | None:
    """Caller ID from a webhook: None when withheld, unknown, a client id or a SIP URI."""
    return _parse_caller((raw or "")[:64])


@lru_cache(maxsize=4096)  # every webhook of a call parses the same two numbers again
def _parse_caller(raw: str) -> ParsedNumber | None:
    text = raw.strip()
    if text.lower() in _UNKNOWN_CALLERS or not text.startswith("+"):
        return None
    try:
        return parse(text)
    except InvalidNumber:
        return None


def mask(raw: str | None) -> str:
    """Mask a number for logs, keeping country code and last two digits: +39 3** *** **67."""
    text = (raw or "").strip()
    if not text.startswith("+"):
        return "anonymous" if not text or text.lower() == "anonymous" else "<non-e164>"
    try:
        number = phonenumbers.parse(text)
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        prefix = f"+{number.country_code}"
    except NumberParseException:
        return "<invalid>"
    national = international.removeprefix(prefix)
    digits_seen = sum(c.isdigit() for c in national)
    out: list[str] = []
    index = 0
    for char in national:
        if char.isdigit():
            keep = index == 0 or index >= digits_seen - 2
            out.append(char if keep else "*")
            index += 1
        else:
            out.append(" " if char in " -" else char)
    return prefix + "".join(out)
