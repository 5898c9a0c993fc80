"""operator desk: queue entries for operator-first callbacks

Revision ID: 0016_desk_callbacks
Revises: 0015_callback_slots
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_desk_callbacks"
down_revision: str | None = "0015_callback_slots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_desk_queue_entries_callback_id"), ["callback_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_queue_entries_callback_id"))
        batch_op.drop_column("callback_id")
