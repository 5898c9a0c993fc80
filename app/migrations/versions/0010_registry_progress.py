"""registry imports: progress per chunk (resumable), formats, refusal threshold and note

Revision ID: 0010_registry_progress
Revises: 0009_desk
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_registry_progress"
down_revision: str | Sequence[str] | None = "0009_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("duplicates", "lines_read", "bytes_read", "formats", "refused_sample",
           "max_refused_percent", "note")


def upgrade() -> None:
    with op.batch_alter_table("consent_registry_imports") as batch:
        batch.add_column(sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lines_read", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("bytes_read", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("formats", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("refused_sample", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("max_refused_percent", sa.Float(), nullable=False, server_default="1.0"))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_registry_imports") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
