"""What operators ask about callbacks, for the API and the console alike: the callee's
contact, the lawful free times near a moment, why a time is refused, and the list's views
("due today", "missed", "pending") as the service's filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.callbacks import booking
from app.callbacks.models import MISSED, PENDING, Callback
from app.clock import as_utc
from app.consent.contacts import find_by_number
from app.consent.models import Contact

# What an operator can still act on: ringing soon, or finished without reaching anyone.
MISSED_STATUSES = (MISSED,)
VIEWS = ("due_today", "missed", "pending")


def contact_of(session: Session, row: Callback) -> Contact | None:
    """The callee's consent record (by id, else by number), or None when there is none."""
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    return contact if contact is not None and contact.erased_at is None else find_by_number(session, row.e164)


def offers_for(session: Session, row: Callback, *, settings: Any, at: datetime,
               near: datetime | None = None) -> list[datetime]:
    """The nearest lawful, free slots near `near` (the time asked for; by default the
    callback's own time), as booking.nearest_slots offers them to a caller."""
    contact = contact_of(session, row)
    if contact is None:
        return []
    return booking.nearest_slots(session, contact, max(as_utc(near or row.due_at), at), now=at,
                                 settings=settings, exclude_id=row.id)


def refusal(session: Session, row: Callback, due: datetime, *, settings: Any, at: datetime) -> str | None:
    """Why `due` is no lawful, free time for this callback ("past", "closed", "full", "never"),
    checked like a booking with the caller (booking.evaluate); None when it is fine or when the
    number has no contact record to check against."""
    contact = contact_of(session, row)
    if contact is None:
        return None
    verdict = booking.evaluate(session, contact, as_utc(due), now=at, settings=settings, exclude_id=row.id)
    return None if verdict.ok else verdict.why


def operator_today(at: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """Start and end (UTC) of today in the operators' zone (the callbacks' default zone)."""
    local = at.astimezone(ZoneInfo(zone_name))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Aware arithmetic on one zone is wall-clock arithmetic: the next local midnight, so a DST
    # day is 23 or 25 hours long.
    return as_utc(start), as_utc(start + timedelta(days=1))


def filters(*, status: str | None, view: str | None, number: str | None, due_from: datetime | None,
            due_until: datetime | None, at: datetime, zone_name: str) -> dict[str, Any]:
    """service.list_callbacks' filters for a list view (a view narrows status and due window);
    status [] means nothing can match (a status outside the view)."""
    statuses: list[str] | None = [status] if status else None
    if view == "due_today":
        start, end = operator_today(at, zone_name)
        due_from = max(due_from, start) if due_from else start
        due_until = min(due_until, end) if due_until else end
    elif view == "missed":
        statuses = [s for s in (statuses or MISSED_STATUSES) if s in MISSED_STATUSES]
    elif view == "pending":
        statuses = [s for s in (statuses or sorted(PENDING)) if s in PENDING]
    return {"status": statuses, "e164": number, "due_from": due_from, "due_until": due_until}


def local_to_utc(row: Callback, text: str) -> datetime:
    """The callee's wall time ("2026-11-26T18:30") in the callback's own zone, as an aware
    datetime; ValueError when the text is no such time."""
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=ZoneInfo(row.time_zone))
