"""operator desk: an operator may be rung on the console's browser phone

Revision ID: 0020_desk_browser_phone
Revises: 0019_simulated_contacts
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_desk_browser_phone"
down_revision: str | None = "0019_simulated_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ring_browser", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("desk_operators", schema=None) as batch_op:
        batch_op.drop_column("ring_browser")
