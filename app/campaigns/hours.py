"""A campaign's own calling days and hours, in the callee's local time.

These sit on top of the legal windows (consent decides those): a campaign may be narrower,
never wider. A number whose area spans several zones is only inside the campaign's hours when
it is inside them in every candidate zone.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.campaigns.models import DAYS
from app.refusals import Refusal

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
STEP = timedelta(minutes=15)
HORIZON = timedelta(days=8)


def parse_hhmm(value: str, field: str) -> time:
    match = _HHMM.match((value or "").strip())
    if not match:
        raise Refusal("time_not_hhmm", f"{field}: {value!r} is not a time like 09:00", value=str(value))
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(value: str | list[str]) -> list[str]:
    """'mon-fri', 'mon,wed,sat' or a list -> ordered day codes; a Refusal (ValueError) on anything else."""
    items = value if isinstance(value, list) else [p.strip() for p in str(value).lower().split(",") if p.strip()]
    days: set[str] = set()
    for given in items:
        item = given.strip().lower()
        if "-" in item:
            first, _, last = item.partition("-")
            if first not in DAYS or last not in DAYS:
                raise Refusal("days_not_range", f"calling_days: {item!r} is not a range like mon-fri", item=item)
            lo, hi = DAYS.index(first), DAYS.index(last)
            if lo > hi:
                raise Refusal("days_backwards", f"calling_days: {item!r} runs backwards", item=item)
            days.update(DAYS[lo:hi + 1])
        elif item in DAYS:
            days.add(item)
        else:
            raise Refusal("day_unknown", f"calling_days: {item!r} is not one of {', '.join(DAYS)}",
                          item=item, known=", ".join(DAYS))
    if not days:
        raise Refusal("days_missing", "calling_days: at least one day is needed")
    return [d for d in DAYS if d in days]


def _zones(names: list[str] | tuple[str, ...]) -> list[ZoneInfo]:
    zones = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return zones or [ZoneInfo("UTC")]


def inside(at: datetime, zones: list[str] | tuple[str, ...], days: list[str], start: str, end: str) -> bool:
    """True when `at` is within the days and [start, end) in every candidate zone."""
    lo, hi = parse_hhmm(start, "calling_start"), parse_hhmm(end, "calling_end")
    for zone in _zones(zones):
        local = at.astimezone(zone)
        if DAYS[local.weekday()] not in days or not (lo <= local.time() < hi):
            return False
    return True


def next_opening(at: datetime, zones: list[str] | tuple[str, ...], days: list[str], start: str,
                 end: str) -> datetime | None:
    """The first quarter hour at or after `at` inside the campaign's hours (None within 8 days)."""
    if inside(at, zones, days, start, end):
        return at
    moment = at.replace(second=0, microsecond=0)
    moment += timedelta(minutes=(-moment.minute) % 15)
    limit = at + HORIZON
    while moment <= limit:
        if inside(moment, zones, days, start, end):
            return moment
        moment += STEP
    return None
