"""The benchmark's reference apps stay true to the schema: the floor (bench/floor_app.py) must do
a real menu step's writes on both databases, or its figure means nothing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from http.client import RemoteDisconnected
from pathlib import Path
from types import ModuleType

import pytest
import requests
from sqlalchemy import func, select
from urllib3.exceptions import ProtocolError

from app import migrate
from app.db import make_engine
from app.models import Call, CallStep
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, sign, voice_params

BENCH = Path(__file__).resolve().parent.parent / "bench"
PATH = "/voice/flow/input?v=1&l=it"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'floor.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    migrate.upgrade(url)
    return url


@pytest.fixture
def floor(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("FLOOR_DATABASE_URL", database)
    monkeypatch.setenv("FLOOR_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("FLOOR_BASE", PUBLIC_BASE_URL)
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.reload(sys.modules["floor_app"]) if "floor_app" in sys.modules else importlib.import_module("floor_app")
    yield module
    conn = getattr(module._local, "conn", None)
    if conn is not None:
        conn.close()


def _seed_call(url: str, sid: str) -> None:
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(Call.__table__.insert(), {
            "call_sid": sid, "direction": "inbound", "from_number": "+393471234567", "to_number": "+390212345678",
            "status": "in-progress", "last_sequence": -1, "started_at": at, "updated_at": at, "flow": "support_menu",
            "node": "menu", "slots": {"caller_name": ""}, "counters": {}, "state_version": 1})
    engine.dispose()


def _state(url: str, sid: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        call_id, version = conn.execute(select(Call.id, Call.state_version).where(Call.call_sid == sid)).one()
        steps = conn.scalar(select(func.count()).select_from(CallStep).where(CallStep.call_id == call_id))
    engine.dispose()
    return version, steps


def test_the_floor_reads_and_writes_a_menu_step(floor: ModuleType, database: str) -> None:
    params = voice_params(CallStatus="in-progress", Digits="1")
    _seed_call(database, params["CallSid"])
    client = floor.app.test_client()
    response = client.post(PATH, data=params, headers={"X-Twilio-Signature": sign(PUBLIC_BASE_URL + PATH, params)})
    assert response.status_code == 200 and b"<Gather" in response.data
    assert _state(database, params["CallSid"]) == (2, 1)


def test_the_floor_checks_the_signature(floor: ModuleType, database: str) -> None:
    params = voice_params(CallStatus="in-progress", Digits="1")
    _seed_call(database, params["CallSid"])
    forged = sign(PUBLIC_BASE_URL + PATH, {**params, "Digits": "9"})
    response = floor.app.test_client().post(PATH, data=params, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert _state(database, params["CallSid"]) == (1, 0)


def test_the_locks_bench_tells_a_keep_alive_race_from_a_request_left_waiting(monkeypatch):

    monkeypatch.syspath_prepend(str(BENCH))
    locks = importlib.import_module("locks")
    closed = requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected(
        "Remote end closed connection without response")))
    assert locks.failure_label(closed) == "idle keep-alive connection closed by the server"
    assert locks.failure_label(requests.ReadTimeout("read timed out"), "no answer in 15s") == \
        "no answer in 15s (ReadTimeout)"
    refused = requests.ConnectionError("[Errno 111] Connection refused")
    assert locks.failure_label(refused) == "ConnectionError"


# The scripts bench/README.md gives a command for, run as it says: from the repository root with
# the project's Python, nothing added to the path. A script that imports what only pytest puts
# on the path (tests.conftest) works in the suite and fails for whoever runs it.
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in ("bare_app.py", "floor_app.py"))


def test_every_bench_script_is_listed_in_the_bench_readme():
    readme = (BENCH / "README.md").read_text()
    assert [name for name in SCRIPTS if f"`{name}`" not in readme] == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_bench_script_starts_as_its_readme_says(script: str):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, f"bench/{script}", "--help"], cwd=BENCH.parent, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:"), result.stdout[:300]
