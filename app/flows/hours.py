"""Operator business hours per hotline: weekly opening ranges in the hotline's time zone,
closed on the country's national holidays (the `holidays` package).

Hours come from flows/hotlines.yaml: {mon: "09:00-18:00", sat: "09:00-13:00",
sun: closed}; a day may list several ranges ("09:00-13:00, 14:00-18:00"); a missing day is
closed. Everything here is pure: `at` is passed in, never read from a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class HoursError(ValueError):
    """Opening hours that cannot be understood; the message names the day and the text."""


@dataclass(frozen=True)
class OpeningHours:
    time_zone: str
    country: str | None
    week: tuple[tuple[tuple[time, time], ...], ...]  # 7 entries, Monday first

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_holiday(self, day: date) -> bool:
        return bool(self.country) and day in _holidays(self.country or "", day.year)

    def ranges_on(self, day: date) -> tuple[tuple[time, time], ...]:
        if self.is_holiday(day):
            return ()
        return self.week[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        now_t = local.time().replace(tzinfo=None)
        return any(start <= now_t < end for start, end in self.ranges_on(local.date()))

    def next_opening(self, at: datetime, horizon_days: int = 21) -> datetime | None:
        """The next moment (UTC-aware) the line opens after `at`, or None within the horizon."""
        local = at.astimezone(self.zone)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.ranges_on(day):
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate
        return None

    def closing_time(self, at: datetime) -> datetime | None:
        local = at.astimezone(self.zone)
        now_t = local.time().replace(tzinfo=None)
        for start, end in self.ranges_on(local.date()):
            if start <= now_t < end:
                return datetime.combine(local.date(), end, tzinfo=self.zone)
        return None


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def _parse_day(day: str, spec: Any) -> tuple[tuple[time, time], ...]:
    if spec is None or spec is False or (isinstance(spec, str) and spec.strip().lower() in ("closed", "")):
        return ()
    if not isinstance(spec, str):
        raise HoursError(f"hours.{day}: expected text like '09:00-18:00' or 'closed', got {spec!r}")
    ranges = []
    for part in spec.split(","):
        match = _RANGE.match(part)
        if not match:
            raise HoursError(f"hours.{day}: cannot read {part.strip()!r} (write it as 09:00-18:00)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2, m2)
        except ValueError:
            raise HoursError(f"hours.{day}: {part.strip()!r} is not a time of day") from None
        if end <= start:
            raise HoursError(f"hours.{day}: {part.strip()!r} ends before it starts")
        ranges.append((start, end))
    return tuple(sorted(ranges))


def parse_hours(hours: Mapping[str, Any] | None, *, time_zone: str, country: str | None) -> OpeningHours:
    """Build OpeningHours; raise HoursError for an unknown day, bad range or unknown zone/country."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"time_zone: unknown IANA zone {time_zone!r}") from None
    if country and country.upper() not in holidays.list_supported_countries():
        raise HoursError(f"country: no national holidays known for {country!r}")
    hours = dict(hours or {})
    unknown = set(hours) - set(DAYS)
    if unknown:
        raise HoursError(f"hours: unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
    week = tuple(_parse_day(day, hours.get(day)) for day in DAYS)
    return OpeningHours(time_zone=time_zone, country=country.upper() if country else None, week=week)


def hotline_hours(hotline: Any) -> OpeningHours | None:
    """OpeningHours of a Hotline object, or None when it sets no operator hours."""
    operator = getattr(hotline, "operator", None)
    if operator is None:
        return None
    raw = operator.get("hours") if isinstance(operator, Mapping) else getattr(operator, "hours", None)
    if not raw:
        return None
    return parse_hours(raw, time_zone=getattr(hotline, "time_zone", None) or "UTC",
                       country=getattr(hotline, "country", None))
