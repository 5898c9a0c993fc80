"""outbound: one claim per number across every dialer; calls.started_at indexed

Revision ID: 0013_outbound
Revises: 0012_simulated
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0013_outbound"
down_revision: str | Sequence[str] | None = "0012_simulated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_claims",
        sa.Column("e164", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("taken_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_number_claims")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started_at"))
    op.drop_table("number_claims")
