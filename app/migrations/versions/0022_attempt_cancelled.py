"""a campaign attempt may be cancelled: its CHECK lists that state

Revision ID: 0022_attempt_cancelled
Revises: 0021_ticket_subject_codes

The dialer cancels an attempt whose campaign was paused or stopped between its claim and the
call (app/campaigns/dialer.py), but 0018's CHECK on campaign_attempts.status left "cancelled"
out, so that pause failed with an IntegrityError instead of holding the call. The downgrade
turns cancelled attempts into errors ("unknown" disposition kept as written) before restoring
the narrower CHECK.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_attempt_cancelled"
down_revision: str | None = "0021_ticket_subject_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("refused", "dialing", "placed", "ended", "error")
AFTER = (*BEFORE, "cancelled")


def _check(states: tuple[str, ...]) -> None:
    with op.batch_alter_table("campaign_attempts") as batch:
        batch.drop_constraint(batch.f("ck_campaign_attempts_status"), type_="check")
        batch.create_check_constraint(batch.f("ck_campaign_attempts_status"),
                                      sa.column("status").in_(sorted(states)))


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE campaign_attempts SET status = 'error' WHERE status = 'cancelled'")
    _check(BEFORE)
