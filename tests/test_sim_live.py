"""The scenarios against a live `cortese serve` (gunicorn) on localhost, over real HTTP, via
`cortese sim run --url`: what a tester does against a running server or ngrok."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parent.parent
CORTESE = [sys.executable, "-m", "app.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "SYSTEMROOT")}
    env["HOME"] = str(tmp_path)
    env["PYTHONPATH"] = str(ROOT)
    settings: dict[str, Any] = {**base_settings(tmp_path),
                                "TWILIO_API_BASE_URL": "http://127.0.0.1:9"}  # never Twilio
    env.update({key: str(value) for key, value in settings.items()})
    subprocess.run(CORTESE + ["db", "upgrade"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    return env


@pytest.fixture
def live_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(CORTESE + ["serve", "--port", str(port), "--workers", "2"],
                            cwd=tmp_path, env=server_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # waiting for another process to listen: the one place we poll real time
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            try:
                if requests.get(url + "/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "cortese serve never answered /health"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.slow
def test_scenarios_against_gunicorn(live_server: str, server_env: dict[str, str],
                                    tmp_path: Path) -> None:
    result = subprocess.run(CORTESE + ["sim", "run", str(ROOT / "tests" / "scenarios"),
                                       "--url", live_server],
                            cwd=tmp_path, env=server_env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " 0 failed" in result.stdout
    passed = int(result.stdout.strip().splitlines()[-1].split()[0])
    assert passed >= 10


@pytest.mark.slow
def test_softphone_on_a_multi_worker_server(live_server: str) -> None:
    """Two gunicorn workers: a call started on one must be continued by the other."""
    session = requests.Session()
    state = session.post(live_server + "/sim/api/calls", json={"to": "+390212345678"},
                         timeout=30).json()
    for _ in range(4):  # enough requests to land on both workers
        state = session.post(f"{live_server}/sim/api/calls/{state['id']}/silence", json={},
                             timeout=30).json()
        assert "id" in state, state
    assert any("non ho sentito" in e["text"] for e in state["transcript"])
