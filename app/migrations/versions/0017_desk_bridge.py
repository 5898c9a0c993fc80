"""operator desk: the bridge of an accepted offer is a job (claimed, retried)

Revision ID: 0017_desk_bridge
Revises: 0016_desk_callbacks
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0017_desk_bridge"
down_revision: str | None = "0016_desk_callbacks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bridge_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("bridge_after", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("bridge_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_desk_queue_entries_bridge", ["bridge_status", "bridge_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("desk_queue_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_desk_queue_entries_bridge")
        batch_op.drop_column("bridge_attempts")
        batch_op.drop_column("bridge_after")
        batch_op.drop_column("bridge_status")
