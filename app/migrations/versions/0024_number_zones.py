"""contacts' candidate zones include every zone their area code spans

Revision ID: 0024_number_zones
Revises: 0023_operator_time_zone

libphonenumber gives many North American area codes one zone where the area keeps two (850:
Pensacola keeps Central time, New York's is the only one given); app/number_zones.yaml adds
the others when a number is parsed. Contacts stored before kept libphonenumber's zones, and
calls to them are decided on those: each such contact gains its area's other zones. A contact
whose zones were set by hand (any zone libphonenumber does not give its number) is left as
it is. The downgrade keeps the wider zones: they only narrow calling windows.
"""
from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op
from phonenumbers import timezone as pn_timezone

from app.phone import nanp_extra_zones

revision: str = "0024_number_zones"
down_revision: str | None = "0023_operator_time_zone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

contacts = sa.table("contacts", sa.column("id", sa.Integer), sa.column("e164", sa.String),
                    sa.column("time_zones", sa.JSON))


def widened(e164: str, stored: list[str]) -> list[str] | None:
    """The contact's zones with its area's others, or None when there is nothing to add or the
    stored zones are not (only) libphonenumber's."""
    extra = nanp_extra_zones().get(e164[2:5], ()) if e164.startswith("+1") else ()
    if not extra:
        return None
    try:
        given = set(pn_timezone.time_zones_for_number(phonenumbers.parse(e164)))
    except phonenumbers.NumberParseException:
        return None
    if not stored or not set(stored) <= given:
        return None
    zones = list(dict.fromkeys((*stored, *extra)))
    return zones if zones != list(stored) else None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.e164, contacts.c.time_zones)
                        .where(contacts.c.e164.like("+1%"))).all()
    for row in rows:
        zones = widened(row.e164, list(row.time_zones or ()))
        if zones is not None:
            bind.execute(contacts.update().where(contacts.c.id == row.id).values(time_zones=zones))


def downgrade() -> None:
    pass
