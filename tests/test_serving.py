"""The production server (`cortese serve`) keeps answering while slow clients trickle their
requests: they hold coroutines, not the threads that run the app. Runs the real gunicorn on a
free localhost port; every socket has a timeout, so the test is bounded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.wrappers import Request

from app.serving import environ
from tests.conftest import base_settings

SLOW_CLIENTS = 8
BOUND_SECONDS = 60.0  # a bound on the test, never an assertion about speed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path) -> Iterator[int]:
    """`cortese serve --workers 1 --threads 2` (two app threads: fewer than the slow clients)."""
    port = _free_port()
    env = {**os.environ, **{k: str(v) for k, v in base_settings(tmp_path).items()},
           "HOME": str(tmp_path / "home")}
    env.pop("XDG_RUNTIME_DIR", None)
    code = f"from app.cli import _run_gunicorn; _run_gunicorn('127.0.0.1', {port}, 1, 2)"
    server = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=BOUND_SECONDS)


def _get(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND_SECONDS) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while True:
        try:
            if _get(port, "/health")[0] == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_request_is_answered_while_slow_clients_trickle(served):
    _wait_until_up(served)
    slow = []
    try:
        for n in range(SLOW_CLIENTS):  # half stall in the headers, half in a webhook's body
            conn = socket.create_connection(("127.0.0.1", served), timeout=BOUND_SECONDS)
            conn.sendall(b"POST /voice/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            if n % 2:
                conn.sendall(b"Content-Type: application/x-www-form-urlencoded\r\n"
                             b"Content-Length: 1000\r\n\r\nCallSid=CA")
            slow.append(conn)
        for conn in slow:  # a byte each, as a trickling client does, and never the rest
            conn.sendall(b"X" if slow.index(conn) % 2 == 0 else b"0")
        status, body = _get(served, "/health")  # raises socket.timeout if it is never answered
        assert status == 200 and json.loads(body) == {"database": "ok", "status": "ok"}
        status, body = _get(served, "/api/openapi.json")
        assert status == 200 and json.loads(body)["info"]["title"] == "cortese API"
    finally:
        for conn in slow:
            conn.close()


def test_instances_on_one_host_do_not_share_a_control_socket(served, tmp_path):
    # gunicorn would otherwise bind $HOME/.gunicorn/gunicorn.ctl, one path for every instance.
    _wait_until_up(served)
    assert not (tmp_path / "home" / ".gunicorn").exists()


def test_environ_follows_pep_3333():
    scope = {"type": "http", "method": "POST", "path": "/voice/inbound", "root_path": "",
             "query_string": b"v=2&l=it", "http_version": "1.1", "scheme": "https",
             "server": ("127.0.0.1", 5000), "client": ("203.0.113.7", 40000),
             "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"3"),
                         (b"x-twilio-signature", b"abc="), (b"x-forwarded-for", b"1.1.1.1"),
                         (b"x-forwarded-for", b"2.2.2.2")]}
    env = environ(scope, b"a=b")
    assert env["REQUEST_METHOD"] == "POST" and env["PATH_INFO"] == "/voice/inbound"
    assert env["QUERY_STRING"] == "v=2&l=it" and env["wsgi.url_scheme"] == "https"
    assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded" and env["CONTENT_LENGTH"] == "3"
    assert env["HTTP_X_TWILIO_SIGNATURE"] == "abc=" and env["HTTP_X_FORWARDED_FOR"] == "1.1.1.1,2.2.2.2"
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["wsgi.input"].read() == b"a=b"


def test_a_chunked_body_reaches_the_app_with_its_length():
    """A client that streams its body (Transfer-Encoding: chunked) sends no Content-Length; the
    server has the whole body by then, so the app reads all of it instead of nothing."""
    scope = {"type": "http", "method": "POST", "path": "/api/optouts", "headers": [
        (b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]}
    body = b'{"e164": "+393471234567"}'
    env = environ(scope, body)
    assert env["CONTENT_LENGTH"] == str(len(body)) and "HTTP_TRANSFER_ENCODING" not in env
    assert Request(env).get_json() == {"e164": "+393471234567"}


# --- the benches serve what production serves ---------------------------------------------------

def _bench_module():
    bench = Path(__file__).resolve().parent.parent / "bench"
    sys.path.insert(0, str(bench))
    try:
        import webhook_throughput  # noqa: PLC0415 - a bench script, importable only with bench/ on the path
    finally:
        sys.path.remove(str(bench))
    return webhook_throughput


def test_the_benches_run_cortese_under_cortese_serve():
    bench = _bench_module()
    command = bench.server_command(bench.CORTESE, 5301, 2, 2)
    assert Path(command[0]).name == "cortese" and command[1] == "serve"
    assert command[2:] == ["--host", "127.0.0.1", "--port", "5301", "--workers", "2", "--threads", "2"]


def test_a_bench_reference_app_is_served_like_cortese_and_survives_slow_clients(tmp_path):
    """The bare-Flask ceiling under the benches' server, one app thread: a trickling client
    would hold that thread under a thread worker, and the request below would never be answered."""
    bench = _bench_module()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(bench.__file__).parent)}
    command = bench.server_command("bare_app:app", port, 1, 1)
    assert command[1:4] == ["-m", "app.serving", "bare_app:app"]
    server = subprocess.Popen(command, env=env, cwd=Path(bench.__file__).parent.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    slow = []
    try:
        _wait_until_answered(port)
        for _ in range(SLOW_CLIENTS):
            conn = socket.create_connection(("127.0.0.1", port), timeout=BOUND_SECONDS)
            conn.sendall(b"POST /voice/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nX")
            slow.append(conn)
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND_SECONDS) as conn:
            conn.sendall(b"POST /voice/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and b"<Gather" in data
    finally:
        for conn in slow:
            conn.close()
        server.terminate()
        server.wait(timeout=BOUND_SECONDS)


def _wait_until_answered(port: int) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while True:
        try:
            _get(port, "/")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
