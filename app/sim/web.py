"""The browser softphone: /sim/softphone places simulated calls against this same app.

Served only when CORTESE_ENV is development or test, or SIM_ENABLED is true (404 otherwise;
with SIM_ENABLED in production a console login is required too). The browser never talks to
Twilio: it posts to /sim/api/..., which drives a SimCall in-process and keeps it between
requests in a signed file under the instance folder, so any gunicorn worker can continue it.
The JSON API only accepts `Content-Type: application/json`, which a cross-site form cannot
send without a CORS preflight (that we never allow).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import pickle
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from app.operators.users import current_operator
from app.sim.call import SimCall, SimulatorError
from app.sim.line import line_of
from app.sim.simulator import DEFAULT_CALLER, Simulator

bp = Blueprint("sim", __name__, url_prefix="/sim", template_folder="templates",
               static_folder="static", static_url_path="/static")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'")
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_AGE_SECONDS = 6 * 3600
MAX_TEXT = 500
SHOWN = frozenset({"say", "play", "pause", "press", "speak", "silence", "record", "dial", "queue",
                   "hangup", "error"})


def enabled(app: Flask) -> bool:
    return bool(app.extensions["cortese.settings"].simulator_served)


def init_app(app: Flask) -> None:
    """Register the softphone when it may be served; otherwise its URLs stay 404."""
    if enabled(app):
        app.register_blueprint(bp)


@bp.before_request
def _guard() -> Response | BaseResponse | None:
    # Whoever reaches the softphone can call as any caller and hear what the line tells them
    # (their name, their orders): a console login, except in the test suite. A development
    # server is often reachable from outside (ngrok); production hides the softphone entirely.
    settings = current_app.extensions["cortese.settings"]
    if settings.cortese_env != "test" and current_operator() is None:
        if settings.cortese_env == "production":
            abort(404)
        if request.path.startswith("/sim/api/"):
            return _problem(401, "log in to the console first (/console/login)")
        return redirect(url_for("console.login", next=request.path))
    if request.method == "POST" and not request.is_json:
        return _problem(415, "send JSON (Content-Type: application/json)")
    return None


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _problem(status: int, detail: str) -> Response:
    resp = jsonify(title="softphone error", status=status, detail=detail)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


# ---------------------------------------------------------------------------- storage


class CallStore:
    """SimCalls pickled to files, each signed with an HMAC of SECRET_KEY (never trust a file
    we did not write), locked while a request acts on it."""

    def __init__(self, folder: Path, secret: str) -> None:
        self.folder = folder
        self.key = hashlib.sha256(b"cortese-sim-store:" + secret.encode()).digest()
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, call_id: str) -> Path:
        if not _ID.match(call_id):
            raise KeyError(call_id)
        return self.folder / f"{call_id}.call"

    def new_id(self) -> str:
        return secrets.token_urlsafe(18)

    def save(self, call_id: str, call: SimCall) -> None:
        blob = pickle.dumps(call)
        digest = hmac.new(self.key, blob, hashlib.sha256).digest()
        tmp = self._path(call_id).with_suffix(".tmp")
        tmp.write_bytes(digest + blob)
        tmp.replace(self._path(call_id))

    def load(self, call_id: str) -> SimCall:
        data = self._path(call_id).read_bytes()  # FileNotFoundError: unknown call
        digest, blob = data[:32], data[32:]
        if not hmac.compare_digest(digest, hmac.new(self.key, blob, hashlib.sha256).digest()):
            raise KeyError(call_id)
        call = pickle.loads(blob)
        if not isinstance(call, SimCall):
            raise KeyError(call_id)
        return call

    @contextmanager
    def locked(self, call_id: str) -> Iterator[None]:
        with open(self._path(call_id).with_suffix(".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def incoming(self) -> list[tuple[str, SimCall]]:
        """Live outbound calls (rung by `cortese sim twilio --softphone`), oldest first."""
        found: list[tuple[float, str, SimCall]] = []
        for path in self.folder.glob("*.call"):
            try:
                call = self.load(path.stem)
                found.append((path.stat().st_mtime, path.stem, call))
            except (KeyError, FileNotFoundError, pickle.UnpicklingError, EOFError):
                continue
        found.sort(key=lambda item: item[0])
        return [(cid, call) for _, cid, call in found
                if call.direction != "inbound" and not call._ended]

    def prune(self, max_age: float = MAX_AGE_SECONDS) -> None:
        limit = time.time() - max_age
        for path in self.folder.glob("*.*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except FileNotFoundError:
                pass


def store_folder(instance_path: str | Path) -> Path:
    return Path(instance_path) / "sim-calls"


def _store() -> CallStore:
    folder = current_app.config.get("SIM_STORE_DIR") or store_folder(current_app.instance_path)
    return CallStore(Path(folder), current_app.extensions["cortese.settings"].secret_key)


def _simulator() -> Simulator:
    return Simulator.for_app(current_app._get_current_object())  # type: ignore[attr-defined]


def _state(call_id: str, call: SimCall) -> dict[str, Any]:
    return {
        "id": call_id,
        "sid": call.sid,
        "from": call.from_,
        "to": call.to,
        "status": call.status,
        "ended": call.ended,
        "end_reason": call.end_reason,
        "waiting_for": call.waiting_for,
        "in_conference": call.waiting_for == "conference",
        "talking_with": len(call.switchboard.talking_with(call)) if call.switchboard else 0,
        "problems": [{"kind": str(p), "detail": p.detail} for p in call.problems],
        "transcript": [
            {"kind": e.kind, "text": e.text, "at": e.at,
             "language": e.data.get("language") or ""}
            for e in call.transcript if e.kind in SHOWN
        ],
    }


def _text_field(name: str, default: str = "", limit: int = MAX_TEXT) -> str:
    body = request.get_json(silent=True) or {}
    value = body.get(name, default)
    if not isinstance(value, str):
        abort(_problem(422, f"{name} must be text"))
    value = value.strip()
    if len(value) > limit:
        abort(_problem(422, f"{name} is longer than {limit} characters"))
    return value


# ---------------------------------------------------------------------------- routes


@bp.get("/softphone")
def softphone() -> str:
    settings = current_app.extensions["cortese.settings"]
    return render_template("sim/softphone.html", default_from=DEFAULT_CALLER,
                           default_to=settings.twilio_caller_id)


@bp.post("/api/calls")
def start_call() -> tuple[Response, int]:
    from_ = _text_field("from", DEFAULT_CALLER, 64) or DEFAULT_CALLER
    to = _text_field("to", "", 64) or None
    line = line_of(current_app)
    if line is not None:  # the fake Twilio runs here: keep the call live (app/sim/line.py)
        call_id, call = line.place(from_, to)
        return jsonify(_state(call_id, call)), 201
    store = _store()
    store.prune()
    call_id = store.new_id()
    call = _simulator().inbound(from_=from_, to=to)
    store.save(call_id, call)
    return jsonify(_state(call_id, call)), 201


@bp.get("/api/incoming")
def incoming() -> Response:
    """Outbound calls the fake Twilio rang for the softphone, waiting to be picked up."""
    line = line_of(current_app)
    rung = (line.incoming() if line is not None else []) + _store().incoming()
    items = [{"id": cid, "from": call.from_, "to": call.to, "last_said": call.last_said} for cid, call in rung]
    return jsonify(items=items)


def _act(call_id: str, action: str) -> Response:
    line = line_of(current_app)
    if line is not None and call_id in line:
        with line.using(call_id) as call:
            refused = _do(call, action)
            line.settle()
            return refused or jsonify(_state(call_id, call))
    store = _store()
    try:
        with store.locked(call_id):
            call = store.load(call_id).attach(_simulator().requester)
            refused = _do(call, action)
            if refused is not None:
                return refused
            store.save(call_id, call)
    except (KeyError, FileNotFoundError):
        return _problem(404, "no such simulated call")
    return jsonify(_state(call_id, call))


def _do(call: SimCall, action: str) -> Response | None:
    """Play one action on the call; a problem response when it cannot be played."""
    if action != "show" and call.ended and action != "hangup":
        return _problem(409, f"the call has ended ({call.end_reason})")
    try:
        if action == "press":
            digits = _text_field("digits", "", 40)
            if not digits or not re.fullmatch(r"[0-9#*]+", digits):
                return _problem(422, "digits: use 0-9, * and #")
            call.press(digits)
        elif action == "speak":
            text = _text_field("text")
            if not text:
                return _problem(422, "text: say something (or use silence)")
            call.speak(text)
        elif action == "silence":
            call.silence()
        elif action == "hangup":
            call.hangup()
    except SimulatorError as exc:  # e.g. a key pressed while talking in a conference
        return _problem(409, str(exc))
    return None


@bp.get("/api/calls/<call_id>")
def show_call(call_id: str) -> Response:
    return _act(call_id, "show")


@bp.post("/api/calls/<call_id>/<action>")
def act(call_id: str, action: str) -> Response:
    if action not in ("press", "speak", "silence", "hangup"):
        return _problem(404, f"unknown action {action}")
    return _act(call_id, action)
