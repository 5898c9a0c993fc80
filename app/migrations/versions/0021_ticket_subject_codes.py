"""ticket subjects we word ourselves are stored as a code with values, not an English sentence

Revision ID: 0021_ticket_subject_codes
Revises: 0020_desk_browser_phone

support_tickets gains subject_code and subject_values; a reader sees the subject in their own
language (app.support.subjects, the console's catalogs). Existing rows the code wrote as
English sentences are turned into what they mean, by kind, so a caller's own words that happen
to look alike (an unanswered question) are never touched:
- complaint "caller upset (LEVEL)" -> caller_LEVEL (frustrated, angry or abusive; any other
  level -> caller_angry, what the code wrote for an unknown level)
- complaint "call ended by the operator" -> ended_by_operator
- delivery_chase "order NUMBER late" -> order_late {"order": NUMBER}
Their subject becomes NULL. The downgrade writes the English sentences back.
"""
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_ticket_subject_codes"
down_revision: str | None = "0020_desk_browser_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("frustrated", "angry", "abusive")
UPSET = re.compile(r"^caller upset \((\w+)\)$")
LATE = re.compile(r"^order (.+) late$")

tickets = sa.table(
    "support_tickets",
    sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("subject", sa.String),
    sa.column("subject_code", sa.String), sa.column("subject_values", sa.JSON),
)


def meaning(kind: str, subject: str) -> tuple[str, dict[str, str] | None] | None:
    """(code, values) of a subject the code once wrote in English; None for anything else."""
    if kind == "complaint":
        if subject == "call ended by the operator":
            return "ended_by_operator", None
        upset = UPSET.match(subject)
        if upset:
            level = upset.group(1)
            return f"caller_{level if level in LEVELS else 'angry'}", None
    if kind == "delivery_chase":
        late = LATE.match(subject)
        if late:
            return "order_late", {"order": late.group(1)}
    return None


def english(code: str, values: dict[str, str] | None) -> str:
    if code == "ended_by_operator":
        return "call ended by the operator"
    if code == "order_late":
        return f"order {(values or {}).get('order', '')} late"
    return f"caller upset ({code.removeprefix('caller_')})"


def upgrade() -> None:
    with op.batch_alter_table("support_tickets") as batch:
        batch.add_column(sa.Column("subject_code", sa.String(40), nullable=True))
        batch.add_column(sa.Column("subject_values", sa.JSON(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(tickets.c.id, tickets.c.kind, tickets.c.subject).where(
        tickets.c.kind.in_(("complaint", "delivery_chase")), tickets.c.subject.is_not(None))).all()
    for row in rows:
        found = meaning(row.kind, row.subject)
        if found is not None:
            code, values = found
            bind.execute(tickets.update().where(tickets.c.id == row.id).values(
                subject=None, subject_code=code, subject_values=values))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(tickets.c.id, tickets.c.subject_code, tickets.c.subject_values).where(
        tickets.c.subject_code.is_not(None))).all()
    for row in rows:
        bind.execute(tickets.update().where(tickets.c.id == row.id).values(
            subject=english(row.subject_code, row.subject_values)))
    with op.batch_alter_table("support_tickets") as batch:
        batch.drop_column("subject_values")
        batch.drop_column("subject_code")
