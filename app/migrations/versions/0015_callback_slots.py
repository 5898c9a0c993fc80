"""callback slots: a row per booked 15-minute slot, locked while a booking counts its seats

Revision ID: 0015_callback_slots
Revises: 0014_offer_codes_legal_person
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0015_callback_slots"
down_revision: str | Sequence[str] | None = "0014_offer_codes_legal_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_slots",
        sa.Column("start", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("start", name=op.f("pk_callback_slots")),
    )


def downgrade() -> None:
    op.drop_table("callback_slots")
