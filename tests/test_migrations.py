"""Alembic migrations go up and down cleanly and match the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import migrate
from app.db import Base, import_models, make_engine


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
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads {heads}; add a merge revision"


@pytest.mark.postgres
def test_postgres_up_down_up(pg_url):
    _round_trip(pg_url)
