"""one head: join the four branches the packages grew on

Revision ID: 0008_merge_heads
Revises: 0004_support, 0005_callbacks, 0006_campaigns, 0007_console
"""
from collections.abc import Sequence

revision: str = "0008_merge_heads"
down_revision: str | Sequence[str] | None = (
    "0004_support", "0005_callbacks", "0006_campaigns", "0007_console")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
