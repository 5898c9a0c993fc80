"""an operator may have a time zone of their own

Revision ID: 0023_operator_time_zone
Revises: 0022_attempt_cancelled

Operators of one console may work in different countries (an Italian and a Dutch desk share
Central European time, an English one does not): each may set where they are, and the
console's times and "today" follow it. NULL: the console's zone (CONSOLE_TIME_ZONE).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_operator_time_zone"
down_revision: str | None = "0022_attempt_cancelled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_operators") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_operators") as batch:
        batch.drop_column("time_zone")
