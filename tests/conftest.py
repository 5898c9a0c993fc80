"""Shared fixtures: an app per test on a fresh database, a fake clock, signed requests."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from twilio.request_validator import RequestValidator

from app import cli as root_cli
from app import create_app
from app.clock import FakeClock
from app.db import Base, get_engine
from app.flows.actions import Actions

pytest_plugins = ["app.sim.pytest_plugin"]

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://cortese.example.test"
ACCOUNT_SID = "AC" + "ab" * 16
PG_ADMIN_URL = os.environ.get("CORTESE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


REPO_FLOWS = Path(__file__).resolve().parent.parent / "flows"
# What a flows directory carries besides its flows: the texts said outside them and the words
# callers are heard with, one file per language in each.
WORD_FOLDERS = ("prompts", "vocab", "times", "faq", "anger")
# ... and the company's data: which offers are alike, the warranty terms.
DATA_FILES = ("offers.yaml", "warranty.yaml")


def copy_word_files(directory: Path) -> None:
    """Give a test's own flows directory the repository's prompts, word files and company data."""
    for folder in WORD_FOLDERS:
        shutil.copytree(REPO_FLOWS / folder, directory / folder)
    for name in DATA_FILES:
        shutil.copy(REPO_FLOWS / name, directory / name)


def base_settings(tmp_path: Any) -> dict[str, Any]:
    return {
        "CORTESE_ENV": "test",
        "SECRET_KEY": "test-secret-key-0123456789",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_CALLER_ID": "+390212345678",
        "TWILIO_API_BASE_URL": "https://api.twilio.com",
        "TWILIO_RETRY_BASE_SECONDS": 0,
        "TWILIO_RETRY_MAX_SECONDS": 0,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "ADMIN_API_TOKEN": "test-admin-token-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "SCHEDULER_ENABLED": False,
        "LOG_FORMAT": "console",
    }


SCRATCH_TABLE = "scratch_t"


@contextmanager
def on_new_connections(app: Flask, setup: Callable[[Any, Any], None]) -> Iterator[None]:
    """`setup(dbapi_connection, record)` runs on each connection the app opens in the block;
    the engine's connections go before and after, so the next request's is a new one."""
    engine = get_engine(app)
    engine.dispose()
    event.listen(engine, "connect", setup)
    try:
        yield
    finally:
        event.remove(engine, "connect", setup)
        engine.dispose()


def make_scratch_table(app: Flask) -> None:
    """An empty table of one integer column `n`, for tests of how statements commit."""
    with get_engine(app).begin() as connection:
        connection.execute(text(f"CREATE TABLE {SCRATCH_TABLE} (n integer)"))


def scratch_rows(app: Flask) -> int:
    """How many rows the scratch table holds, read on a connection of its own."""
    with get_engine(app).connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {SCRATCH_TABLE}")).scalar_one())


def app_on_each_database(request: Any, tmp_path: Any, at: datetime) -> Iterator[Flask]:
    """For a fixture parametrized ["sqlite", "postgresql"]: an app on that database (the
    PostgreSQL one from the `pg_url` fixture, skipping with its reason when there is none),
    its tables created, its clock at `at`; the engine disposed afterwards."""
    settings = base_settings(tmp_path)
    if request.param == "postgresql":
        settings["DATABASE_URL"] = request.getfixturevalue("pg_url")
    app = create_app(settings, clock=FakeClock(at))
    Base.metadata.create_all(get_engine(app))
    yield app
    get_engine(app).dispose()


@pytest.fixture
def settings(tmp_path: Any) -> dict[str, Any]:
    """Override entries in this dict (before `app` is built) to configure a test's app."""
    return base_settings(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def extra_actions() -> Actions | None:
    """Flow actions a test's own flows call besides the packages' (override in a test file)."""
    return None


@pytest.fixture
def app(settings: dict[str, Any], clock: FakeClock, extra_actions: Actions | None) -> Iterator[Flask]:
    application = create_app(settings, clock=clock, extra_actions=extra_actions)
    Base.metadata.create_all(get_engine(application))
    yield application
    get_engine(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def sign(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, dict(params))


def voice_params(**overrides: str) -> dict[str, str]:
    params = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+393471234567",
        "To": "+390212345678",
        "Caller": "+393471234567",
        "Called": "+390212345678",
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    params.update(overrides)
    return params


class SignedClient:
    """Posts form webhooks signed exactly as Twilio signs them (over the public URL)."""

    def __init__(self, client: FlaskClient, base_url: str = PUBLIC_BASE_URL, token: str = AUTH_TOKEN):
        self.client, self.base_url, self.token = client, base_url, token

    def post(self, path: str, params: Mapping[str, str], **kwargs: Any) -> Any:
        signature = sign(self.base_url + path, params, self.token)
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}
        return self.client.post(
            path,
            data=urlencode(list(params.items())),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
            **kwargs,
        )


@pytest.fixture
def twilio(client: FlaskClient) -> SignedClient:
    return SignedClient(client)


def _pg_available() -> str | None:
    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 (user postgres, db test): {exc}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"cortese_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cli(settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`cortese ARGS...` in-process against the test's database (settings via the environment)."""

    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    return lambda *args: CliRunner().invoke(root_cli.cli, list(args), catch_exceptions=False)
