"""offer codes in one normal form; every campaign has an offer or appeal; contacts.legal_person

Offer codes were compared as typed, so `FIBRA-1G` and `fibra-1g` were two offers and an owner
got pitched (issue 17 gap 6). Codes in campaigns, callbacks, owned products and consent
records are rewritten in their normal form (app/consent/offers.py); an owned product that
becomes a duplicate of another row of the same contact is dropped. Campaigns without an offer
get the appeal derived from their purpose and reason (gap 7). Decisions and attempts are
records of what happened and keep their text (comparisons normalise them on reading).
`contacts.legal_person` marks a company: sole traders and partnerships are natural persons
under Telecommunicatiewet art. 11.7 (gap 8).

Revision ID: 0014_offer_codes_legal_person
Revises: 0013_outbound
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.consent import offers

revision: str = "0014_offer_codes_legal_person"
down_revision: str | Sequence[str] | None = "0013_outbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *columns: str) -> Any:
    return sa.table(name, sa.column("id", sa.Integer), *(sa.column(c) for c in columns))


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("legal_person", sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    for name in ("campaigns", "callbacks"):
        table = _table(name, "offer_id")
        for row_id, code in bind.execute(sa.select(table.c.id, table.c.offer_id).where(table.c.offer_id.isnot(None))):
            normal = offers.lenient(code)
            if normal != code:
                bind.execute(table.update().where(table.c.id == row_id).values(offer_id=normal))
    campaigns = sa.table("campaigns", sa.column("id", sa.Integer), sa.column("offer_id", sa.String),
                         sa.column("purpose", sa.String), sa.column("reason", sa.JSON),
                         sa.column("languages", sa.JSON))
    query = sa.select(campaigns.c.id, campaigns.c.purpose, campaigns.c.reason, campaigns.c.languages)
    for row_id, purpose, reason, languages in bind.execute(query.where(campaigns.c.offer_id.is_(None))):
        derived = offers.derived_offer(purpose, reason or {}, languages or ())
        bind.execute(campaigns.update().where(campaigns.c.id == row_id).values(offer_id=derived))
    owned = _table("consent_owned_products", "contact_id", "offer_id")
    seen: set[tuple[int, str | None]] = set()
    for row_id, contact_id, code in bind.execute(sa.select(owned.c.id, owned.c.contact_id, owned.c.offer_id)
                                                 .order_by(owned.c.id)):
        normal = offers.lenient(code)
        if (contact_id, normal) in seen:
            bind.execute(owned.delete().where(owned.c.id == row_id))
            continue
        seen.add((contact_id, normal))
        if normal != code:
            bind.execute(owned.update().where(owned.c.id == row_id).values(offer_id=normal))
    consents = sa.table("consent_records", sa.column("id", sa.Integer), sa.column("offer_ids", sa.JSON))
    for row_id, codes in bind.execute(sa.select(consents.c.id, consents.c.offer_ids)):
        normal_codes = [c for c in dict.fromkeys(offers.lenient(code) for code in codes or ()) if c]
        if normal_codes != list(codes or ()):
            bind.execute(consents.update().where(consents.c.id == row_id).values(offer_ids=normal_codes))


def downgrade() -> None:
    # Normalised codes stay normalised (the old spellings are not kept); only the column goes.
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("legal_person")
