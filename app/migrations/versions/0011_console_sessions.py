"""console: revocable sessions (per-operator generation) and the login throttle

Revision ID: 0011_console_sessions
Revises: 0010_registry_progress
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011_console_sessions"
down_revision: str | None = "0010_registry_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_operators") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_failures")),
    )
    op.create_index("ix_console_login_failures_key_at", "console_login_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_console_login_failures_key_at", table_name="console_login_failures")
    op.drop_table("console_login_failures")
    with op.batch_alter_table("console_operators") as batch:
        batch.drop_column("session_generation")
