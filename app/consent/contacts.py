"""Contact lookups and creation; CSV import lives in importer.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import phone
from app.consent.models import Contact
from app.db import alone, statements

# Fields a caller may set through get_or_create/update_contact (everything but bookkeeping).
CONTACT_FIELDS = frozenset(
    {
        "region", "line_type", "time_zone", "time_zones", "name", "language", "customer_ref",
        "is_business", "legal_person", "last_purchase_at", "last_inquiry_at", "customer_until", "is_customer",
    }
)


def _live_id() -> Any:
    return select(Contact.id).where(Contact.e164 == bindparam("e164"), Contact.erased_at.is_(None))


def find_by_number(session: Session, e164: str) -> Contact | None:
    """The live contact with this E.164 number, or None (erased contacts are never found).
    Every call asks, and most callers are nobody we know: a prepared statement says whether
    there is one before the ORM loads it."""
    prepared = statements(session).get("consent.contact_by_number", _live_id)
    found = alone(session, lambda db: prepared.fetch_one(db, {"e164": e164}))
    return session.get(Contact, found[0]) if found is not None else None


def get_or_create(session: Session, e164: str, *, source: str, at: datetime, simulated: bool = False,
                  **fields: Any) -> Contact:
    """Find the contact for `e164` or create it, filling region/line type/zones from the number.

    Given `fields` only fill blanks on an existing contact (an inbound call must not overwrite
    what an import or an operator recorded); use update_contact to overwrite. `simulated`: the
    number comes from a simulated call, so a new contact is marked simulated; a real source
    (simulated=False) of a contact known only from simulated calls makes it real.
    """
    unknown = set(fields) - CONTACT_FIELDS
    if unknown:
        raise TypeError(f"unknown contact fields: {', '.join(sorted(unknown))}")
    if not source or not source.strip():
        raise ValueError("a contact needs a source (where the number came from)")
    parsed = phone.parse(e164)  # raises phone.InvalidNumber
    contact = find_by_number(session, parsed.e164)
    if contact is not None:
        if contact.simulated and not simulated:
            contact.simulated, contact.updated_at = False, at
        for key, value in fields.items():
            if value is not None and getattr(contact, key) in (None, [], False):
                setattr(contact, key, value)
                contact.updated_at = at
        return contact
    zones = list(fields.pop("time_zones", None) or parsed.time_zones)
    explicit_zone = fields.pop("time_zone", None)
    contact = Contact(
        e164=parsed.e164,
        region=fields.pop("region", None) or parsed.region,
        line_type=fields.pop("line_type", None) or parsed.line_type,
        time_zone=explicit_zone or (zones[0] if zones else None),
        # An explicit zone wins over the number's candidates.
        time_zones=[explicit_zone] if explicit_zone else zones,
        source=source.strip(),
        created_at=at,
        updated_at=at,
        is_business=bool(fields.pop("is_business", False)),
        is_customer=bool(fields.pop("is_customer", False)),
        legal_person=bool(fields.pop("legal_person", False)),
        simulated=simulated,
        **fields,
    )
    session.add(contact)
    session.flush()
    return contact


def unsaved_contact(e164: str, *, at: datetime, time_zone: str | None = None) -> Contact:
    """A contact built from the number alone and never stored: what a decision is about when
    we hold no contact for a number (dispatching a callback must not create one)."""
    parsed = phone.parse(e164)
    zones = [time_zone] if time_zone else list(parsed.time_zones)
    return Contact(e164=parsed.e164, region=parsed.region, line_type=parsed.line_type,
                   time_zone=zones[0] if zones else None, time_zones=zones, source="unsaved",
                   is_business=False, is_customer=False, created_at=at, updated_at=at)


def update_contact(contact: Contact, *, at: datetime, **fields: Any) -> bool:
    """Overwrite the given fields; returns True when anything changed."""
    unknown = set(fields) - CONTACT_FIELDS
    if unknown:
        raise TypeError(f"unknown contact fields: {', '.join(sorted(unknown))}")
    if fields.get("time_zone"):
        fields.setdefault("time_zones", [fields["time_zone"]])
    changed = False
    for key, value in fields.items():
        if getattr(contact, key) != value:
            setattr(contact, key, value)
            changed = True
    if changed:
        contact.updated_at = at
    return changed
