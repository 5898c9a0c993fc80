"""an opt-out may be lifted at the person's own later request, with who took it and proof

Revision ID: 0025_optout_lift
Revises: 0024_number_zones

An opt-out held for ever: a person who asked not to be called and later asked to be called
again could not be, whatever they said. Lifting one (app/consent/optouts.py) keeps the row
and says when, by whom and on what proof; only opt-outs not lifted stop calls.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0025_optout_lift"
down_revision: str | None = "0024_number_zones"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_optouts") as batch:
        batch.add_column(sa.Column("lifted_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lifted_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("lift_proof", sa.Text(), nullable=True))


def downgrade() -> None:
    # A lifted opt-out would stop calls again once the columns are gone: such rows go, as the
    # person asked, rather than coming back as a do-not-call entry they withdrew.
    op.execute(sa.text("DELETE FROM consent_optouts WHERE lifted_at IS NOT NULL"))
    with op.batch_alter_table("consent_optouts") as batch:
        batch.drop_column("lift_proof")
        batch.drop_column("lifted_by")
        batch.drop_column("lifted_at")
