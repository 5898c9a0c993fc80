"""How the simulator reaches the app: in-process (a Flask test client) or over HTTP.

Both take the *public* URL Twilio would request (PUBLIC_BASE_URL + path) and the signed
request; they differ only in how the bytes travel. The signature is always computed over the
public URL, exactly as Twilio signs what it requested.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from flask import Flask

from app.calls import SIMULATED_HEADER, simulated_mark
from app.sim.params import signature, with_query

# Twilio waits this long for a webhook answer before it gives up (error 11205).
TWILIO_TIMEOUT_SECONDS = 15.0
USER_AGENT = "TwilioProxy/1.1"


@dataclass
class Fetched:
    """One webhook request and what came back; status None means no HTTP answer at all."""

    method: str
    url: str
    params: dict[str, str]
    status: int | None
    content_type: str
    body: str
    elapsed: float
    error: str | None = None


class Transport(Protocol):
    def send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> Fetched: ...


def _split_public(url: str, public_base_url: str) -> str | None:
    """The path+query of `url` when it lies under the public base URL, else None."""
    base = public_base_url.rstrip("/")
    if url == base:
        return "/"
    if not url.startswith(base + "/") and not url.startswith(base + "?"):
        return None
    parts = urlsplit(url)
    base_path = urlsplit(base).path
    path = parts.path[len(base_path):] if base_path and parts.path.startswith(base_path) else parts.path
    return urlunsplit(("", "", path or "/", parts.query, ""))


class InProcessTransport:
    """Calls the app under test through its Flask test client (nothing listens on a port).

    `timer` measures how long the app took: tests swap it for a fake one to simulate a slow
    answer deterministically.
    """

    def __init__(
        self, app: Flask, public_base_url: str, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.public_base_url = public_base_url.rstrip("/")
        self.timer = timer

    def send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> Fetched:
        target = _split_public(url, self.public_base_url)
        if target is None:
            return Fetched(method, url, dict(params), None, "", "", 0.0,
                           error=f"{url} is not served by the app under test ({self.public_base_url})")
        client = self.app.test_client()
        started = self.timer()
        if method == "GET":
            response = client.get(target, headers=dict(headers))
        else:
            response = client.post(
                target,
                data=urlencode(list(params.items())),
                content_type="application/x-www-form-urlencoded",
                headers=dict(headers),
            )
        elapsed = self.timer() - started
        body = response.get_data(as_text=True)
        response.close()  # as a WSGI server does once the answer is sent: runs call_on_close work
        return Fetched(method, url, dict(params), response.status_code,
                       response.headers.get("Content-Type", ""), body, elapsed)


class HttpTransport:
    """Real HTTP to a running server (gunicorn on localhost, or the ngrok URL).

    `send_to` (e.g. http://127.0.0.1:5000) receives requests meant for `public_base_url`
    (e.g. https://abc.ngrok.app) while the signature stays computed over the public URL,
    which is what the app checks. Without `send_to` the public URL itself is requested.
    """

    def __init__(
        self,
        public_base_url: str,
        *,
        send_to: str | None = None,
        timeout: float = TWILIO_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.send_to = send_to.rstrip("/") if send_to else None
        self.timeout = timeout
        self.session = session or requests.Session()

    def _physical(self, url: str) -> str:
        if self.send_to:
            rest = _split_public(url, self.public_base_url)
            if rest is not None:
                return self.send_to + rest
        return url

    def send(
        self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> Fetched:
        started = time.monotonic()
        try:
            if method == "GET":
                response = self.session.get(self._physical(url), headers=dict(headers),
                                            timeout=self.timeout, allow_redirects=False)
            else:
                response = self.session.post(self._physical(url), data=list(params.items()),
                                             headers=dict(headers), timeout=self.timeout,
                                             allow_redirects=False)
        except requests.Timeout:
            return Fetched(method, url, dict(params), None, "", "", self.timeout,
                           error=f"no answer within {self.timeout:g} s")
        except requests.RequestException as exc:
            return Fetched(method, url, dict(params), None, "", "", time.monotonic() - started,
                           error=f"connection failure: {exc}")
        return Fetched(method, url, dict(params), response.status_code,
                       response.headers.get("Content-Type", ""), response.text,
                       time.monotonic() - started)


class Requester:
    """Signs and sends webhook requests the way Twilio does (POST form or GET query)."""

    def __init__(self, transport: Transport, auth_token: str) -> None:
        self.transport = transport
        self.auth_token = auth_token

    def request(self, method: str, url: str, params: Mapping[str, str], *,
                times: int = 1) -> Fetched:
        """Send one webhook request; `times` > 1 repeats it identically (same idempotency
        token), like Twilio retrying after a lost answer, and returns the last answer."""
        method = method.upper()
        headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": _token(),
                   SIMULATED_HEADER: simulated_mark(self.auth_token, params.get("CallSid", ""))}
        if method == "GET":
            full = with_query(url, params)
            headers["X-Twilio-Signature"] = signature(self.auth_token, full, None)
            for _ in range(times):
                fetched = self.transport.send("GET", full, {}, headers)
            fetched.params = dict(params)
            return fetched
        headers["X-Twilio-Signature"] = signature(self.auth_token, url, params)
        for _ in range(times):
            fetched = self.transport.send("POST", url, params, headers)
        return fetched


def _token() -> str:
    return str(uuid.uuid4())
