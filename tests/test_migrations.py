"""Alembic migrations go up and down cleanly and match the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, MetaData, Table, inspect, text
from sqlalchemy import types as sa_types
from sqlalchemy.exc import IntegrityError

from app import migrate
from app.callbacks.models import STATUSES as CALLBACK_STATUSES
from app.campaigns.models import CONTACT_STATES
from app.db import Base, import_models, make_engine
from app.desk.models import OPERATOR_STATES
from app.models import STATUS_RANK
from app.support.models import TICKET_STATUSES


def _round_trip(url: str) -> None:
    import_models()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == [], f"models and migrations disagree; run `cortese db revision`: {diff}"
        migrate.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_up_down_up(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


def test_migrations_have_one_head():
    """Two heads make `cortese db revision` fail: a new migration must name the current head."""
    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads {heads}; add a merge revision"


@pytest.mark.postgres
def test_postgres_up_down_up(pg_url):
    _round_trip(pg_url)


# -- 0018: references as foreign keys, states checked -----------------------------------------

BEFORE_REFERENCES = "0017_desk_bridge"


def _state_columns() -> dict[tuple[str, str], set[str]]:
    """Every CHECK in the models that lists a column's states, as (table, column) -> states."""
    import_models()
    found = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                found[(table.name, constraint.name.split(f"ck_{table.name}_", 1)[1])] = _quoted(
                    str(constraint.sqltext.compile(compile_kwargs={"literal_binds": True})))
    return found


def _quoted(sql: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", sql))


def _insert(conn, table: str, **values) -> int:
    """Insert a row giving every required column a plain value (the test names what matters)."""
    meta = MetaData()
    reflected = Table(table, meta, autoload_with=conn)
    row = {}
    for col in reflected.columns:
        if col.name in values or col.nullable or col.server_default is not None or col.primary_key:
            continue
        python = col.type.python_type if not isinstance(col.type, sa_types.NullType) else str
        row[col.name] = {int: 0, str: "x", bool: False, dict: {}, float: 0.0}.get(python) \
            if python is not datetime else datetime(2026, 1, 1, tzinfo=UTC)
    row.update(values)
    return conn.execute(reflected.insert().values(row)).inserted_primary_key[0]


def test_every_state_column_is_checked_against_the_codes_states(tmp_path):
    """The states a CHECK allows are the tuple the package's code uses; after migrating, the
    database allows exactly those (a state added to the code without a migration fails here)."""
    expected = _state_columns()
    # The statuses the issue names, from the code that moves them, not from the constraints.
    assert expected[("calls", "status")] == set(STATUS_RANK)
    assert expected[("callbacks", "status")] == set(CALLBACK_STATUSES)
    assert expected[("campaign_contacts", "status")] == set(CONTACT_STATES)
    assert expected[("desk_operators", "state")] == set(OPERATOR_STATES)
    assert expected[("support_tickets", "status")] == set(TICKET_STATUSES)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        migrated = {(table, c["name"].split(f"ck_{table}_", 1)[1]): _quoted(c["sqltext"])
                    for table in inspector.get_table_names() for c in inspector.get_check_constraints(table)
                    if c["name"] and c["name"].startswith(f"ck_{table}_")}
    finally:
        engine.dispose()
    assert migrated == expected


def _violations_before_references(url: str) -> dict[str, int]:
    """A database before 0018 holding the references it must settle: returns the rows' ids."""
    migrate.upgrade(url, BEFORE_REFERENCES)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            campaign = _insert(conn, "campaigns", name="spring", purpose="service", status="running")
            contact = _insert(conn, "contacts", e164="+390212345678")
            call = _insert(conn, "calls", call_sid="CA" + "0" * 32, status="completed")
            _insert(conn, "call_events", call_id=call, sequence_number=0, status="completed")
            _insert(conn, "call_steps", call_id=call, kind="say")
            ids = {
                "kept": _insert(conn, "callbacks", campaign_id=str(campaign), status="scheduled", origin="campaign"),
                "gone": _insert(conn, "callbacks", campaign_id="999", decision_id=4242, status="scheduled",
                                origin="campaign"),
                "words": _insert(conn, "callbacks", campaign_id="spring", status="scheduled", origin="api"),
                "ticket": _insert(conn, "support_tickets", reference="1", kind="fault", status="open",
                                  priority="normal", contact_id=contact),
                "ticket_gone": _insert(conn, "support_tickets", reference="2", kind="fault", status="open",
                                       priority="normal", contact_id=contact + 100),
                "campaign": campaign,
            }
    finally:
        engine.dispose()
    return ids


def _references_settle(url: str) -> None:
    ids = _violations_before_references(url)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            campaigns = dict(conn.execute(text("SELECT id, campaign_id FROM callbacks")).all())
            decisions = dict(conn.execute(text("SELECT id, decision_id FROM callbacks")).all())
            contacts = dict(conn.execute(text("SELECT id, contact_id FROM support_tickets")).all())
        # A campaign that exists is kept, now as its number; one that does not is no reference.
        assert campaigns == {ids["kept"]: ids["campaign"], ids["gone"]: None, ids["words"]: None}
        assert decisions[ids["gone"]] is None
        assert contacts[ids["ticket"]] is not None and contacts[ids["ticket_gone"]] is None
        with engine.connect() as conn:  # copying `calls` (SQLite) deleted none of its children
            assert conn.execute(text("SELECT count(*) FROM call_events")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM call_steps")).scalar() == 1
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the database now refuses both
            conn.execute(text("UPDATE callbacks SET campaign_id = 999 WHERE id = :id"), {"id": ids["kept"]})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE callbacks SET status = 'lost' WHERE id = :id"), {"id": ids["kept"]})
        # Down again: the campaign id is text as before, the row kept.
        migrate.downgrade(url, BEFORE_REFERENCES)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT campaign_id FROM callbacks WHERE id = :id"),
                                {"id": ids["kept"]}).scalar() == str(ids["campaign"])
    finally:
        engine.dispose()


def _unknown_state_stops(url: str) -> None:
    ids = _violations_before_references(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE callbacks SET status = 'paused' WHERE id = :id"), {"id": ids["kept"]})
        with pytest.raises(Exception, match=r"callbacks\.status = 'paused' \(1 rows\)"):
            migrate.upgrade(url)
        with engine.connect() as conn:  # nothing changed: the text reference is still there
            assert conn.execute(text("SELECT campaign_id FROM callbacks WHERE id = :id"),
                                {"id": ids["gone"]}).scalar() == "999"
    finally:
        engine.dispose()


def test_sqlite_references_settle_and_come_back_down(tmp_path):
    _references_settle(f"sqlite:///{tmp_path / 'm.db'}")


def test_sqlite_unknown_state_stops_the_upgrade(tmp_path):
    _unknown_state_stops(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgres_references_settle_and_come_back_down(pg_url):
    _references_settle(pg_url)


@pytest.mark.postgres
def test_postgres_unknown_state_stops_the_upgrade(pg_url):
    _unknown_state_stops(pg_url)


def _ticket_subjects_become_codes(url: str) -> None:
    """English sentences the code once stored as subjects become what they mean; a caller's own
    words stay as said, even when they look like one; the downgrade writes the sentences back."""
    migrate.upgrade(url, "0020_desk_browser_phone")
    old = {"upset": ("complaint", "caller upset (abusive)"), "ended": ("complaint", "call ended by the operator"),
           "late": ("delivery_chase", "order 4712 late"), "words": ("unanswered_question", "order 5 late"),
           "product": ("fault", "Lavatrice Aurora 7")}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            ids = {name: _insert(conn, "support_tickets", reference=str(i), kind=kind, status="open",
                                 priority="normal", subject=subject)
                   for i, (name, (kind, subject)) in enumerate(old.items())}
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = {r.id: (r.subject, r.subject_code, r.subject_values) for r in conn.execute(
                text("SELECT id, subject, subject_code, subject_values FROM support_tickets"))}
        decode = {k: (s, c, v if not isinstance(v, str) else json.loads(v)) for k, (s, c, v) in rows.items()}
        assert decode[ids["upset"]] == (None, "caller_abusive", None)
        assert decode[ids["ended"]] == (None, "ended_by_operator", None)
        assert decode[ids["late"]] == (None, "order_late", {"order": "4712"})
        assert decode[ids["words"]] == ("order 5 late", None, None)
        assert decode[ids["product"]] == ("Lavatrice Aurora 7", None, None)
        migrate.downgrade(url, "0020_desk_browser_phone")
        with engine.connect() as conn:
            back = dict(conn.execute(text("SELECT id, subject FROM support_tickets")).all())
        assert back == {ids[name]: subject for name, (_, subject) in old.items()}
    finally:
        engine.dispose()


def test_sqlite_ticket_subjects_become_codes(tmp_path):
    _ticket_subjects_become_codes(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgres_ticket_subjects_become_codes(pg_url):
    _ticket_subjects_become_codes(pg_url)


# -- 0024: contacts' candidate zones include every zone their area code spans -----------------


def _contacts_gain_their_areas_zones(url: str) -> None:
    migrate.upgrade(url, "0023_operator_time_zone")
    stored = {
        "pensacola": ("+18505550143", ["America/New_York"]),      # libphonenumber's only zone
        "by_hand": ("+18505550144", ["America/Chicago"]),         # set by an operator: kept
        "new_york": ("+12125550143", ["America/New_York"]),       # one zone, nothing to add
        "rome": ("+390612345678", ["Europe/Rome"]),
    }
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            ids = {name: _insert(conn, "contacts", e164=e164, time_zones=zones, source="crm")
                   for name, (e164, zones) in stored.items()}
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = {r.id: r.time_zones for r in conn.execute(text("SELECT id, time_zones FROM contacts"))}
        zones = {name: rows[i] if not isinstance(rows[i], str) else json.loads(rows[i]) for name, i in ids.items()}
        assert zones["pensacola"] == ["America/New_York", "America/Chicago"]
        assert zones["by_hand"] == ["America/Chicago"]
        assert zones["new_york"] == ["America/New_York"]
        assert zones["rome"] == ["Europe/Rome"]
    finally:
        engine.dispose()


def test_sqlite_contacts_gain_their_areas_zones(tmp_path):
    _contacts_gain_their_areas_zones(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgres_contacts_gain_their_areas_zones(pg_url):
    _contacts_gain_their_areas_zones(pg_url)


# -- 0025: an opt-out may be lifted; going back removes the lifted ones, never the others ------


def test_sqlite_lifted_opt_outs_do_not_come_back_on_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            held = _insert(conn, "consent_optouts", e164="+12125550123", at=datetime(2026, 1, 1, tzinfo=UTC),
                           source="api", recorded_by="x")
            _insert(conn, "consent_optouts", e164="+12125550124", at=datetime(2026, 1, 1, tzinfo=UTC),
                    source="api", recorded_by="x", lifted_at=datetime(2026, 2, 1, tzinfo=UTC),
                    lifted_by="ann", lift_proof="her letter")
        migrate.downgrade(url, "0024_number_zones")
        with engine.connect() as conn:
            assert [r.id for r in conn.execute(text("SELECT id FROM consent_optouts"))] == [held]
    finally:
        engine.dispose()
