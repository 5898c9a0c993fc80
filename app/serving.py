"""How `cortese serve` runs the app in production: gunicorn's asyncio worker reads requests, and
the Flask app (WSGI) runs in a pool of threads only once a request has fully arrived.

With gunicorn's thread worker a connection holds one of the few threads while its request is
read: eight clients trickling a byte a second stalled every webhook. Here a slow client only
holds a coroutine (up to gunicorn's worker_connections per worker) until its request is
complete, and a body that takes longer than BODY_SECONDS is answered 408 and dropped. Above
thousands of hostile connections, put a reverse proxy with its own timeouts in front
(`deploy/nginx.conf`, README).

`run()` is the one way to serve: `cortese serve` and `cortese up` call it with cortese, and
`python -m app.serving MODULE:APP` serves any WSGI app the same way (the benches' reference
apps), so a bench measures exactly what production runs.

Why an adapter of our own (checked against the sources, December 2026): the maintained
ASGI-to-WSGI adapters do not both buffer the whole request before taking a thread and let
several requests run at once.
- a2wsgi 1.10 (`a2wsgi/wsgi.py`, WSGIResponder): starts the app in the thread pool at once;
  `wsgi.input` reads block that thread on the event loop (`run_coroutine_threadsafe(receive())`),
  so a trickling body holds a thread, which is what stalled the server.
- asgiref 3.13 (`asgiref/wsgi.py`, WsgiToAsgi): buffers the body first, but runs the app with
  `@sync_to_async` (thread_sensitive=True), one request at a time on a single thread per
  process, and sends the response from that thread (a slow reader holds it too).
- uvicorn 0.55 (`uvicorn/middleware/wsgi.py`): buffers, then runs in a pool, but is deprecated
  in favour of a2wsgi and private (`_WSGIMiddleware`).
None bounds how long a body may take or how large it may grow. What is left here is the
buffering, the two bounds and the environ of PEP 3333, about 100 lines.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# A webhook or API body arrives in milliseconds; Twilio itself waits 15 s for the answer.
BODY_SECONDS = 10.0
# The app refuses bodies over 4 MiB itself (MAX_CONTENT_LENGTH); a little slack, then 413.
MAX_BODY_BYTES = 5 * 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class _Gone(Exception):
    """The client went away before its request was complete."""


class BufferedWsgi:
    """An ASGI application that buffers each request, then runs `app` (WSGI) in a thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]], threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cortese-app")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            body = await asyncio.wait_for(_read_body(receive), BODY_SECONDS)
        except TimeoutError:
            await _plain(send, 408, "Request Timeout: the request body took too long to arrive")
            return
        except _Refused as exc:
            await _plain(send, exc.status, exc.text)
            return
        except _Gone:
            return
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(self.executor, self._run, scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _run(self, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda _data: None  # the legacy write() callable; Flask never uses it

        result = self.app(environ(scope, body), start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return int(status.split(" ", 1)[0]), encoded, content


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refused(413, "Content Too Large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": (text + "\n").encode()})


def environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) for an ASGI HTTP scope and its complete body."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    env: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        env[key] = f"{env[key]},{value}" if key in env else value
    # The body is complete: its length is known whatever the client sent (a chunked upload has
    # no Content-Length, and a WSGI app reads nothing without one).
    env["CONTENT_LENGTH"] = str(len(body))
    env.pop("HTTP_TRANSFER_ENCODING", None)
    return env


# --- the server -------------------------------------------------------------------------------

def gunicorn_settings(host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn's configuration for every served app."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # asyncio reads requests (a slow client holds a coroutine, not a thread); the app runs
        # in `threads` threads per worker once a request is complete (BufferedWsgi).
        "worker_class": "asgi",
        "asgi_lifespan": "off",
        "timeout": 30,
        # gunicorn's default, stated: a reverse proxy must let idle connections go sooner
        # (deploy/nginx.conf), or it may send a request on one this server is closing.
        "keepalive": 2,
        # gunicorn's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl): a second
        # instance on the host (several app instances, a bench beside a server) would take it
        # over. cortese is run by process signals and its own commands, not gunicornc.
        "control_socket_disable": True,
    }


def run(load: Callable[[], Callable[..., Iterable[bytes]]], *, host: str, port: int, workers: int,
        threads: int) -> None:
    """Serve the WSGI app `load()` returns (called in each worker) until gunicorn is stopped."""
    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in gunicorn_settings(host, port, workers).items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return BufferedWsgi(load(), threads)

    _Server().run()


def main(argv: list[str] | None = None) -> None:
    """`python -m app.serving MODULE:APP`: serve any WSGI app as `cortese serve` serves cortese."""
    parser = argparse.ArgumentParser(prog="python -m app.serving", description=main.__doc__)
    parser.add_argument("target", help="MODULE:APP or MODULE:factory(), as gunicorn takes it")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    run(lambda: import_app(args.target), host=args.host, port=args.port, workers=args.workers,
        threads=args.threads)


if __name__ == "__main__":
    main()
