"""The scenarios against a live `cortese serve` (gunicorn) on localhost, over real HTTP, via
`cortese sim run --url`: what a tester does against a running server or ngrok."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from twilio.rest import Client
from werkzeug.serving import make_server

from app.sim.web import CallStore
from app.telephony import RebasedHttpClient
from tests.conftest import base_settings
from tests.sim_support import ACCOUNT, BASE, TOKEN, TwimlApp, doc

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


@pytest.mark.slow
@pytest.mark.parametrize("softphone", [False, True])
def test_cortese_sim_twilio_standalone_rings_in_the_background(tmp_path: Path,
                                                               softphone: bool) -> None:
    """`cortese sim twilio` as testers run it: the app (here a small TwiML app on a real
    port) creates a call with the REST API; the fake rings it and reports its status."""

    twiml = TwimlApp().on("/out", doc("<Say>Promemoria: domani alle dieci.</Say>",
                                      '<Gather action="/ok"><Say>Prema 1</Say></Gather>',
                                      "<Say>Arrivederci</Say>"))
    app_server = make_server("127.0.0.1", 0, twiml.flask, threaded=True)
    threading.Thread(target=app_server.serve_forever, args=(0.05,), daemon=True).start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    env.update({k: str(v) for k, v in base_settings(tmp_path).items()})
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT), TWILIO_ACCOUNT_SID=ACCOUNT,
               TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE)
    extra = ["--softphone", "--store", str(tmp_path / "calls")] if softphone else []
    proc = subprocess.Popen(CORTESE + ["sim", "twilio", "--port", str(port), "--app-url",
                                       f"http://127.0.0.1:{app_server.server_port}", *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(
            f"http://127.0.0.1:{port}", 5))
        deadline = time.monotonic() + 60
        while True:  # the fake starts in another process: poll until it listens
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            try:
                created = client.calls.create(to="+393471234567", from_="+390212345678",
                                              url=BASE + "/out",
                                              status_callback=BASE + "/voice/status")
                break
            except Exception:
                assert time.monotonic() < deadline, "cortese sim twilio never listened"
                time.sleep(0.2)
        if softphone:
            store = CallStore(tmp_path / "calls", "test-secret-key-0123456789")
            while not store.incoming():  # saved once the call waits for the callee
                assert time.monotonic() < deadline, "the call never reached the softphone"
                time.sleep(0.2)
            ((_, call),) = store.incoming()
            assert call.sid == created.sid and call.waiting_for == "gather"
        else:
            while client.calls(created.sid).fetch().status != "completed":
                assert time.monotonic() < deadline, "the call was never rung"
                time.sleep(0.2)
            assert twiml.paths() == ["/out", "/voice/status"]
        assert all(s.signed_ok for s in twiml.seen)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
        app_server.shutdown()
    assert "Promemoria" in output or "ringing on the softphone" in output
    assert "TWILIO_API_BASE_URL" in output
