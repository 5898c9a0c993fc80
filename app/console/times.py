"""Times on console pages: stored in UTC, shown where the operator is (their own zone when
they set one, else the setting CONSOLE_TIME_ZONE, by default the callbacks' default zone),
written the way the operator's language writes dates and times (Babel's CLDR formats), with
that zone named on the page.

A callee's own wall time (a callback booked for 18:30 in London) is the callee's business
and stays as booked, beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone_location
from flask import current_app

from app.console.i18n import current_language
from app.operators.users import current_operator


def desk_zone() -> ZoneInfo:
    """The zone of the operator logged in: their own, else the console's."""
    operator = current_operator()
    own = operator.time_zone if operator is not None else None
    return ZoneInfo(own or current_app.extensions["cortese.settings"].console_zone)


def local(value: datetime) -> datetime:
    """`value` on the operators' clock (a naive value is UTC, as the database stores it)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(desk_zone())


def when(value: datetime | None) -> str:
    """A moment as the operator reads it: "15 lug 2026, 00:05:09", "Jul 15, 2026, 12:05:09 AM"."""
    if value is None:
        return ""
    return format_datetime(local(value), "medium", locale=current_language())


def hour_label(start: datetime) -> str:
    """An hour's label on a chart: its local start ("00"; "05:30" where the zone is off the hour)."""
    moment = local(start)
    return moment.strftime("%H") if moment.minute == 0 else moment.strftime("%H:%M")


def zone_label() -> str:
    """The operators' zone named in the operator's language with its IANA name:
    "Ora Italia (Europe/Rome)", "tijd in Italië (Europe/Rome)"."""
    zone = desk_zone()
    return f"{get_timezone_location(zone, locale=current_language())} ({zone.key})"
