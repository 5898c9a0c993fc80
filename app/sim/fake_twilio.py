"""FakeTwilio: a local stand-in for Twilio's Calls REST API, with faults and scripted callees.

It serves the paths the twilio library uses (POST/GET /2010-04-01/Accounts/{sid}/Calls.json,
POST/GET .../Calls/{CallSid}.json) with Twilio's JSON shapes and error bodies, checks HTTP
basic auth, and records every created call. `ring_pending()` then rings the created calls:
the scripted callee answers (or not), the call's Url is fetched with signed parameters and
status callbacks are sent, exactly like an inbound SimCall. Nothing rings by itself in tests;
`start_ringing()` runs a background ringer for the standalone `cortese sim twilio`.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.sim.call import STATUS_EVENTS, SimCall
from app.sim.conference import Switchboard
from app.sim.params import API_VERSION, new_sid, rfc2822
from app.sim.script import parse_steps, run_steps
from app.sim.transport import Requester

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
ANSWERS = ("human", "machine_start", "machine_end_beep", "machine_end_silence",
           "machine_end_other", "fax", "unknown", "busy", "no-answer", "failed", "blocked")
MACHINE = frozenset({"machine_start", "machine_end_beep", "machine_end_silence",
                     "machine_end_other"})


def twilio_error(status: int, code: int, message: str) -> Response:
    """Twilio's error body: {"code", "message", "more_info", "status"}."""
    response = jsonify(code=code, message=message,
                       more_info=f"https://www.twilio.com/docs/errors/{code}", status=status)
    response.status_code = status
    return response


@dataclass
class Callee:
    """How the person (or machine) at a number behaves when FakeTwilio rings it.

    answer: human, a machine (AnsweredBy value), fax, unknown, busy, no-answer, failed, or
    blocked (the create request itself fails with 21216). `hangup_after`: the callee hangs up
    once that many TwiML documents have been played. `inputs`: caller steps played at once
    by ring_pending (see app.sim.script), e.g. ["1", "say:sì"].
    """

    answer: str = "human"
    hangup_after: int | None = None
    inputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.answer not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}")
        parse_steps(self.inputs)  # fail at scripting time, not mid-call

    def answered_by(self, machine_detection: str) -> str | None:
        """The AnsweredBy Twilio reports: only with MachineDetection, and machine_end_* only
        with DetectMessageEnd (with Enable a machine is reported at its start)."""
        if not machine_detection or self.answer in ("busy", "no-answer", "failed", "blocked"):
            return None
        if self.answer in MACHINE:
            if machine_detection == "DetectMessageEnd":
                return self.answer if self.answer != "machine_start" else "machine_end_other"
            return "machine_start"
        return self.answer


@dataclass
class Fault:
    kind: str  # fail | delay | drop
    times: int
    endpoint: str | None = None  # create | update | fetch | list, or any
    status: int = 500
    code: int = 20500
    message: str = ""
    seconds: float = 0.0
    after_processing: bool = False


@dataclass
class FakeCall:
    sid: str
    account_sid: str
    to: str
    from_: str
    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    events: tuple[str, ...]
    machine_detection: str
    async_amd: bool
    async_amd_callback: str | None
    timeout: int
    date_created: datetime
    status: str = "queued"
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    sim: SimCall | None = None
    form: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": "outbound-api",
            "duration": None if self.duration is None else str(self.duration),
            "end_time": rfc2822(self.end_time) if self.end_time else None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time) if self.start_time else None,
            "status": self.status,
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "events": f"{base}/Events.json",
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": f"{base}.json",
        }


class FakeTwilio:
    """The fake REST server. `start()` serves it on 127.0.0.1 (port 0 = any free port)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_key_sid: str | None = None,
        api_key_secret: str | None = None,
        clock: Any | None = None,
        delivery: str = "ordered",
        seed: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_key = (api_key_sid, api_key_secret) if api_key_sid else None
        self.clock = clock
        self.delivery = delivery
        self.seed = seed
        self.calls: list[FakeCall] = []
        self.requests: list[dict[str, Any]] = []
        self.callees: dict[str, Callee] = {}
        self.default_callee = Callee()  # for numbers without a script
        self.requester: Requester | None = None
        self.on_ring: Callable[[SimCall], None] | None = None
        self.switchboard = Switchboard()  # conferences of every call on this account
        self.inbound: list[SimCall] = []  # calls to our numbers (Simulator.inbound adopts them)
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._ringer: threading.Thread | None = None
        self._stop = threading.Event()
        self.wsgi = self._build_app()

    # ---------------------------------------------------------------- lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = make_server(host, port, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-twilio",
                                        daemon=True)
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not started")
        return f"http://{self._server.host}:{self._server.server_port}"

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def attach(self, requester: Requester) -> FakeTwilio:
        """How rung calls reach the app (in-process or HTTP transport, signed)."""
        self.requester = requester
        return self

    # ---------------------------------------------------------------- scripting
    def script(self, number: str, answer: str = "human", *, hangup_after: int | None = None,
               inputs: Iterable[str] = ()) -> Callee:
        callee = Callee(answer, hangup_after, list(inputs))
        with self._lock:
            self.callees[number] = callee
        return callee

    def fail_next(self, status: int = 500, code: int = 20500, *, times: int = 1,
                  message: str | None = None, endpoint: str | None = None) -> None:
        """The next `times` requests (to `endpoint`, or any) fail with Twilio's error body."""
        text = message or {429: "Too Many Requests", 401: "Authenticate",
                           500: "Internal Server Error", 503: "Service Unavailable"}.get(
            status, f"Error {code}")
        self._add(Fault("fail", times, endpoint, status=status, code=code, message=text))

    def delay_next(self, seconds: float, *, times: int = 1, endpoint: str | None = None) -> None:
        """Answer the next requests late (the client's timeout may fire first)."""
        self._add(Fault("delay", times, endpoint, seconds=seconds))

    def drop_next(self, *, times: int = 1, endpoint: str | None = None,
                  after_processing: bool = False) -> None:
        """Close the connection without an answer. With after_processing the request takes
        effect first (a call is created), the ambiguous case a client cannot tell apart."""
        self._add(Fault("drop", times, endpoint, after_processing=after_processing))

    def _add(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ---------------------------------------------------------------- time
    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    # ---------------------------------------------------------------- the WSGI app
    def _build_app(self) -> Flask:
        app = Flask("fake_twilio")
        prefix = f"/{API_VERSION}/Accounts/<account>"
        app.add_url_rule(f"{prefix}/Calls.json", "create", self._create, methods=["POST"])
        app.add_url_rule(f"{prefix}/Calls.json", "list", self._list, methods=["GET"])
        app.add_url_rule(f"{prefix}/Calls/<sid>.json", "fetch", self._fetch, methods=["GET"])
        app.add_url_rule(f"{prefix}/Calls/<sid>.json", "update", self._update, methods=["POST"])
        app.add_url_rule(f"{prefix}/Queues/<queue_sid>/Members/<call_sid>.json", "dequeue", self._dequeue,
                         methods=["POST"])
        app.register_error_handler(404, lambda e: twilio_error(
            404, 20404, f"The requested resource {request.path} was not found"))
        app.register_error_handler(405, lambda e: twilio_error(
            405, 20004, "Method not allowed"))
        app.before_request(self._before)
        app.after_request(self._after)
        return app

    def _before(self) -> Response | None:
        endpoint = request.endpoint or "unknown"
        self.requests.append({"method": request.method, "path": request.path,
                              "form": request.form.to_dict(flat=False), "endpoint": endpoint})
        fault = self._take_fault(endpoint)
        if fault is not None:
            if fault.kind == "fail":
                return twilio_error(fault.status, fault.code, fault.message)
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault.kind == "drop":
                if not fault.after_processing:
                    return self._drop()
                request.environ["sim.drop"] = True
        if not self._authorised():
            return twilio_error(401, 20003, "Authenticate")
        account = (request.view_args or {}).get("account")
        if account != self.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return None

    def _after(self, response: Response) -> Response:
        if request.environ.get("sim.drop"):
            return self._drop()
        return response

    @staticmethod
    def _drop() -> Response:
        sock = request.environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)

    def _authorised(self) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if (user, password) == (self.account_sid, self.auth_token):
            return True
        return self.api_key is not None and (user, password) == self.api_key

    def _create(self, account: str) -> Response:
        form = request.form
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return twilio_error(400, 21201, "No 'To' number is specified")
        if not (E164.match(to) or to.startswith(("client:", "sip:"))):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_:
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not (E164.match(from_) or from_.startswith("client:")):
            return twilio_error(400, 21212, f"The 'From' number {from_} is not a valid phone "
                                            "number, shortcode, or alphanumeric sender ID.")
        if not form.get("Url") and not form.get("Twiml"):
            return twilio_error(400, 21205, "Url parameter is required.")
        events = tuple(e for e in form.getlist("StatusCallbackEvent") if e) or ("completed",)
        bad = [e for e in events if e not in STATUS_EVENTS]
        if bad:
            return twilio_error(400, 21626, f"Invalid StatusCallbackEvent {bad[0]}")
        with self._lock:
            callee = self.callees.get(to, self.default_callee)
        if callee.answer == "blocked":
            return twilio_error(400, 21216, f"Account not allowed to call {to}")
        timeout = form.get("Timeout", "60")
        if not timeout.isdigit():
            return twilio_error(400, 21230, "Timeout must be a whole number of seconds")
        call = FakeCall(
            sid=new_sid("CA"), account_sid=account, to=to, from_=from_, url=form.get("Url"),
            method=form.get("Method", "POST").upper(), twiml=form.get("Twiml"),
            status_callback=form.get("StatusCallback"),
            status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
            events=events, machine_detection=form.get("MachineDetection", ""),
            async_amd=form.get("AsyncAmd", "false").lower() == "true",
            async_amd_callback=form.get("AsyncAmdStatusCallback"), timeout=int(timeout),
            date_created=self._now(), form=form.to_dict(flat=False),
        )
        with self._lock:
            self.calls.append(call)
        response = jsonify(call.json())
        response.status_code = 201
        return response

    def _list(self, account: str) -> Response:
        with self._lock:
            items = [c.json() for c in self.calls if c.account_sid == account]
        uri = f"/{API_VERSION}/Accounts/{account}/Calls.json"
        return jsonify(calls=items, end=max(len(items) - 1, 0), first_page_uri=uri,
                       next_page_uri=None, page=0, page_size=50, previous_page_uri=None,
                       start=0, uri=uri)

    def _find(self, sid: str) -> FakeCall | None:
        with self._lock:
            return next((c for c in self.calls if c.sid == sid), None)

    def _fetch(self, account: str, sid: str) -> Response:
        call = self._find(sid)
        if call is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(call.json())

    def _update(self, account: str, sid: str) -> Response:
        call = self._find(sid)
        form = request.form
        status, url, twiml = form.get("Status"), form.get("Url"), form.get("Twiml")
        if status and status not in ("completed", "canceled"):
            return twilio_error(400, 21218, f"Invalid Status {status}: use completed or canceled")
        if call is None:
            return self._update_inbound(account, sid)
        with self._lock:
            ended = call.status in ("completed", "busy", "failed", "no-answer", "canceled")
            if ended and (url or twiml):
                return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
            if not ended:
                self._apply_update(call, status, url, form.get("Method", "POST"), twiml)
            call.date_updated = self._now()
            return jsonify(call.json())

    def adopt(self, sim: SimCall) -> SimCall:
        """An inbound call the Simulator placed: the REST API can see it (queue members)."""
        with self._lock:
            self.inbound.append(sim)
        return sim

    def _dequeue(self, account: str, queue_sid: str, call_sid: str) -> Response:
        """Queue Members API: take one caller (a CallSid, or `Front`) out of the queue; the
        call goes on with the TwiML at Url. 404 when that call is not waiting in that queue."""
        url = request.form.get("Url")
        if not url:
            return twilio_error(400, 20001, "Missing required parameter Url in the post body")
        with self._lock:
            live = [c.sim for c in self.calls if c.sim is not None] + self.inbound
        members = [sim for sim in live if not sim._ended and sim.queue_sid == queue_sid]
        member = members[0] if call_sid == "Front" and members else next(
            (sim for sim in members if sim.sid == call_sid), None)
        if member is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        member.remote_update(Url=url, Method=request.form.get("Method", "POST"))
        base = f"/{API_VERSION}/Accounts/{account}/Queues/{queue_sid}/Members/{member.sid}.json"
        return jsonify(call_sid=member.sid, queue_sid=queue_sid, position=1, wait_time=int(member.elapsed),
                       date_enqueued=rfc2822(self._now()), uri=base)

    def _update_inbound(self, account: str, sid: str) -> Response:
        """Hang up or redirect a call to one of our numbers (an adopted inbound SimCall)."""
        with self._lock:
            sim = next((c for c in self.inbound if c.sid == sid), None)
        if sim is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if sim._ended:
            return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
        form = request.form
        sim.remote_update(**{k: form[k] for k in ("Status", "Url", "Method", "Twiml") if form.get(k)})
        return jsonify(sid=sim.sid, account_sid=account, status=sim._status, to=sim.to, direction="inbound",
                       uri=f"/{API_VERSION}/Accounts/{account}/Calls/{sim.sid}.json", **{"from": sim.from_})

    def _apply_update(self, call: FakeCall, status: str | None, url: str | None,
                      method: str, twiml: str | None) -> None:
        if call.sim is None:  # not rung yet: change what will happen when it is
            if status:
                call.status = "canceled"
                call.end_time = self._now()
            if url:
                call.url, call.method, call.twiml = url, method.upper(), None
            if twiml:
                call.twiml, call.url = twiml, None
            return
        changes = {k: v for k, v in {"Status": status, "Url": url, "Method": method,
                                     "Twiml": twiml}.items() if v}
        call.sim.remote_update(**changes)

    # ---------------------------------------------------------------- ringing
    def ring_pending(self) -> list[SimCall]:
        """Ring every created, not yet rung call; return their SimCalls (in creation order).

        Unanswered outcomes come back already ended (status busy, no-answer, failed);
        answered ones wait for the test at their first <Gather>, after any scripted inputs.
        """
        with self._lock:
            pending = [c for c in self.calls if c.status == "queued" and c.sim is None]
            if pending and self.requester is None:
                raise RuntimeError("FakeTwilio.attach(requester) first: rung calls need the app")
            for call in pending:
                call.status = "ringing"
        return [self._ring(call) for call in pending]

    def _ring(self, call: FakeCall) -> SimCall:
        with self._lock:
            callee = self.callees.get(call.to, self.default_callee)
        answered_by = callee.answered_by(call.machine_detection)
        sim = SimCall(
            self.requester,  # type: ignore[arg-type]
            account_sid=call.account_sid, from_=call.from_, to=call.to,
            direction="outbound-api", call_sid=call.sid, status_callback=call.status_callback,
            status_callback_method=call.status_callback_method, events=call.events,
            delivery=self.delivery, seed=self.seed,
            answered_by=None if call.async_amd else answered_by,
            started_at=self._now(), hangup_after_documents=callee.hangup_after,
            switchboard=self.switchboard,
        )
        sim.on_end = lambda s: self._sync(call, s)
        call.sim = sim
        if callee.answer in ("busy", "no-answer", "failed"):
            sim.finish_unanswered(callee.answer)
            return sim
        with self._lock:
            call.start_time, call.status = self._now(), "in-progress"
            call.answered_by = answered_by
        if call.twiml:
            sim.start_with_twiml(call.twiml)
        else:
            sim.start(call.url or "", call.method)
        if call.async_amd and answered_by and call.async_amd_callback and not sim.ended:
            self._async_amd(sim, call, answered_by)
        if self.on_ring is not None:
            self.on_ring(sim)
        if callee.inputs and not sim.ended:
            run_steps(sim, parse_steps(callee.inputs))
        return sim

    def _async_amd(self, sim: SimCall, call: FakeCall, answered_by: str) -> None:
        """AsyncAmd: the call URL was fetched at answer; the verdict arrives afterwards."""
        assert self.requester is not None and call.async_amd_callback
        params = sim.request_params({"AnsweredBy": answered_by, "MachineDetectionDuration": "2100"})
        fetched = self.requester.request("POST", call.async_amd_callback, params)
        sim.log("status", f"AnsweredBy={answered_by} (async AMD)", http_status=fetched.status)

    def _sync(self, call: FakeCall, sim: SimCall) -> None:
        with self._lock:
            call.status = sim.status
            call.end_time = self._now()
            call.date_updated = call.end_time
            call.duration = int(sim.elapsed) if call.start_time else 0

    # ---------------------------------------------------------------- standalone ringer
    def start_ringing(self, interval: float = 0.5,
                      drive: Callable[[SimCall], None] | None = None) -> None:
        """Ring created calls in the background (standalone server); `drive` plays each call
        (default: silence until the call ends, then hang up)."""
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    for sim in self.ring_pending():
                        (drive or _drive_silently)(sim)
                except Exception:
                    log.exception("ringing failed")

        self._ringer = threading.Thread(target=loop, name="fake-twilio-ringer", daemon=True)
        self._ringer.start()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per REST request (FakeTwilio.requests keeps them)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _drive_silently(sim: SimCall, max_turns: int = 10) -> None:
    for _ in range(max_turns):
        if sim.ended:
            return
        sim.silence()
    sim.hangup()
