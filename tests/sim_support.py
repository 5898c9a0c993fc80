"""A tiny TwiML app for simulator tests: each path answers what the test says, signatures are
checked like the real app checks them, and every request is kept for assertions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from app.sim.simulator import Simulator
from app.sim.transport import InProcessTransport

TOKEN = "sim-test-token-0123456789abcdef"
ACCOUNT = "AC" + "cd" * 16
BASE = "https://twiml.example.test"
OUR_NUMBER = "+390212345678"

Answer = str | tuple[str, int, str] | Callable[[Mapping[str, str]], Any]


def doc(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


@dataclass
class Seen:
    path: str
    method: str
    form: dict[str, str]
    query: dict[str, str]
    signed_ok: bool


class TwimlApp:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.answers: dict[str, Answer] = {"/voice/status": ("", 204, "text/plain")}
        self.seen: list[Seen] = []
        self.flask = Flask("twiml_test_app")
        self.flask.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def on(self, path: str, answer: Answer) -> TwimlApp:
        self.answers[path] = answer
        return self

    def _serve(self, path: str) -> Response:
        full = "/" + path
        url = BASE + full + (f"?{request.query_string.decode()}" if request.query_string else "")
        params = request.form if request.method == "POST" else {}
        ok = RequestValidator(self.token).validate(url, params,
                                                   request.headers.get("X-Twilio-Signature", ""))
        self.seen.append(Seen(full, request.method, dict(request.form), dict(request.args), ok))
        if not ok:
            return Response("bad signature", status=403)
        answer = self.answers.get(full)
        if answer is None:
            return Response("not found", status=404)
        if callable(answer):
            answer = answer(request.form if request.method == "POST" else request.args)
        if isinstance(answer, tuple):
            body, status, ctype = answer
            return Response(body, status=status, content_type=ctype)
        return Response(answer, status=200, content_type="text/xml")

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def simulator(self, token: str | None = None, **kwargs: Any) -> Simulator:
        transport = InProcessTransport(self.flask, BASE, **kwargs)
        return Simulator(transport, account_sid=ACCOUNT, auth_token=token or self.token,
                         public_base_url=BASE, our_number=OUR_NUMBER)
