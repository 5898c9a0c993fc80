"""contacts made on simulated calls are marked, like the calls themselves

Revision ID: 0019_simulated_contacts
Revises: 0018_references_and_states
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_simulated_contacts"
down_revision: str | None = "0018_references_and_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("simulated")
