"""references across packages as foreign keys, state columns checked against the code's states

Revision ID: 0018_references_and_states
Revises: 0017_desk_bridge

Foreign keys added (each was a bare column a join trusted):
- callbacks.campaign_id (was text) -> campaigns.id, ON DELETE SET NULL
- callbacks.decision_id -> consent_decisions.id
- campaign_attempts.consent_attempt_id -> consent_attempts.id
- desk_queue_entries.callback_id -> callbacks.id, ON DELETE SET NULL
- support_tickets.contact_id, support_warranty_claims.contact_id -> contacts.id, ON DELETE SET NULL

CHECK constraints: every state column holds one of the states its package's code names (the
tuples in the models; a frozen copy is below, and tests/test_migrations.py fails when the two
differ, so a new state needs a migration).

Existing rows that would violate, decided as follows:
- A reference to a row that does not exist (a callback naming a deleted campaign, a decision
  id that was never stored, a campaign id that is not a number) points at nothing a join could
  find: it is set to NULL, and the count is logged.
- A state no code knows cannot be mapped to a known one without guessing what wrote it: the
  upgrade stops before changing anything and names the table, column and values, so a person
  decides (fix the rows, or add the state to the code and this list).
The downgrade drops the constraints and turns callbacks.campaign_id back into text.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_references_and_states"
down_revision: str | None = "0017_desk_bridge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "answered", "completed", "busy",
                 "failed", "no-answer", "canceled")
CALLBACK_STATUSES = ("scheduled", "dispatching", "unknown", "placed", "answered", "completed",
                     "missed", "failed", "refused", "cancelled")
# (table, column, states) in the order they are checked.
STATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("calls", "status", CALL_STATUSES),
    ("callbacks", "status", CALLBACK_STATUSES),
    ("callbacks", "origin", ("call", "operator", "api", "campaign")),
    ("callback_events", "from_status", CALLBACK_STATUSES),
    ("callback_events", "to_status", CALLBACK_STATUSES),
    ("campaigns", "status", ("draft", "running", "paused", "stopped", "completed")),
    ("campaigns", "purpose", ("sales", "survey", "charity", "political", "service")),
    ("campaign_contacts", "status", ("queued", "claimed", "dialing", "in-call", "done", "cancelled")),
    ("campaign_attempts", "status", ("refused", "dialing", "placed", "ended", "error")),
    ("consent_registry_imports", "status", ("running", "complete", "refused", "abandoned", "superseded")),
    ("desk_operators", "state", ("available", "away", "wrapup", "busy", "offered")),
    ("desk_queue_entries", "status", ("waiting", "ringing", "connected", "done", "abandoned", "left")),
    ("desk_queue_entries", "bridge_status", ("pending", "working", "done", "failed")),
    ("desk_offers", "status", ("ringing", "accepted", "declined", "no-answer", "failed", "cancelled")),
    ("support_orders", "status", ("received", "processing", "shipped", "out_for_delivery", "delivered",
                                  "cancelled", "returned")),
    ("support_tickets", "status", ("draft", "open", "in_progress", "resolved", "closed")),
    ("support_tickets", "kind", ("fault", "warranty", "delivery_chase", "complaint", "unanswered_question")),
    ("support_tickets", "priority", ("low", "normal", "high", "urgent")),
    ("support_warranty_claims", "outcome", ("accepted", "refused", "needs_review")),
)
# (table, column, referred table, ON DELETE) for the integer references.
REFERENCES: tuple[tuple[str, str, str, str | None], ...] = (
    ("callbacks", "decision_id", "consent_decisions", None),
    ("campaign_attempts", "consent_attempt_id", "consent_attempts", None),
    ("desk_queue_entries", "callback_id", "callbacks", "SET NULL"),
    ("support_tickets", "contact_id", "contacts", "SET NULL"),
    ("support_warranty_claims", "contact_id", "contacts", "SET NULL"),
)


class UnknownStates(RuntimeError):
    """Rows hold states no code knows: a person must decide what they mean."""


def _refuse_unknown_states(conn: sa.Connection) -> None:
    found = []
    for table, column, states in STATES:
        col: sa.ColumnClause[str] = sa.column(column)
        rows = conn.execute(sa.select(col, sa.func.count()).select_from(sa.table(table, col))
                            .where(col.is_not(None), col.not_in(states)).group_by(col)).all()
        found += [f"{table}.{column} = {value!r} ({count} rows)" for value, count in rows]
    if found:
        raise UnknownStates("these rows hold states the code does not know; fix them (or add the "
                            "state to the code and to this migration) and upgrade again: " + "; ".join(found))


def _null_dangling(conn: sa.Connection) -> None:
    for table, column, referred, _ in REFERENCES:
        _null_where(conn, table, column,
                    sa.text(f"{column} IS NOT NULL AND {column} NOT IN (SELECT id FROM {referred})"))
    # The campaign id was stored as text: keep it only when it is the id of a campaign.
    _null_where(conn, "callbacks", "campaign_id", sa.text(
        "campaign_id IS NOT NULL AND campaign_id NOT IN (SELECT CAST(id AS VARCHAR(64)) FROM campaigns)"))


def _null_where(conn: sa.Connection, table: str, column: str, where: sa.TextClause) -> None:
    result = conn.execute(sa.text(f"UPDATE {table} SET {column} = NULL WHERE {where.text}"))
    if result.rowcount:
        print(f"0018: {table}.{column} named a row that does not exist in {result.rowcount} rows: set to NULL")


def _tables() -> list[str]:
    """Each table once, in first-mention order: one batch (on SQLite one copy) per table."""
    return list(dict.fromkeys([table for table, *_ in REFERENCES] + [table for table, *_ in STATES]))


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_unknown_states(conn)
    _null_dangling(conn)
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("campaign_id", existing_type=sa.String(length=64), type_=sa.Integer(),
                           postgresql_using="campaign_id::integer")
        batch.create_foreign_key(batch.f("fk_callbacks_campaign_id_campaigns"), "campaigns",
                                 ["campaign_id"], ["id"], ondelete="SET NULL")
    for name in _tables():
        with op.batch_alter_table(name) as batch:
            for table, column, referred, ondelete in REFERENCES:
                if table == name:
                    batch.create_foreign_key(batch.f(f"fk_{table}_{column}_{referred}"), referred,
                                             [column], ["id"], ondelete=ondelete)
            for table, column, states in STATES:
                if table == name:
                    batch.create_check_constraint(batch.f(f"ck_{table}_{column}"),
                                                  sa.column(column).in_(sorted(states)))


def downgrade() -> None:
    for name in reversed(_tables()):
        with op.batch_alter_table(name) as batch:
            for table, column, _states in STATES:
                if table == name:
                    batch.drop_constraint(batch.f(f"ck_{table}_{column}"), type_="check")
            for table, column, referred, _ in REFERENCES:
                if table == name:
                    batch.drop_constraint(batch.f(f"fk_{table}_{column}_{referred}"), type_="foreignkey")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint(batch.f("fk_callbacks_campaign_id_campaigns"), type_="foreignkey")
        batch.alter_column("campaign_id", existing_type=sa.Integer(), type_=sa.String(length=64),
                           postgresql_using="campaign_id::varchar")
