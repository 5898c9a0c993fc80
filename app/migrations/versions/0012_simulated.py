"""simulated calls, and the callbacks and tickets they make, are marked

Revision ID: 0012_simulated
Revises: 0011_console_sessions
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_simulated"
down_revision: str | None = "0011_console_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("calls", "callbacks", "support_tickets")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("simulated")
