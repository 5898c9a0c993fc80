"""SimCall: one simulated phone call, executing the app's TwiML the way Twilio does.

The call runs until it needs the caller (a <Gather> or <Record> waiting) or ends; the test
(or the console, or the softphone) then acts for the caller with `press`, `speak`,
`silence` or `hangup`, and the call runs on. Everything is recorded in `transcript`, and what
a caller would suffer is flagged in `problems` (see app.sim.courtesy).

Deterministic: nothing happens in the background. REST updates from the app (hang-up,
redirect through FakeTwilio) are queued and applied at the next step of the call.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from app.sim import courtesy
from app.sim.conference import Switchboard
from app.sim.courtesy import Problem
from app.sim.params import call_params, new_sid, rfc2822
from app.sim.transport import Requester
from app.sim.twiml import TwimlError, Verb, check_response, parse_document

TWILIO_ERROR_MESSAGE = "We are sorry, an application error has occurred. Goodbye."
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled",
                           "hangup"})
QUEUE_OUTCOMES = frozenset({"bridged", "hangup", "queue-full", "error", "system-error", "wait"})
WAIT_VERBS = frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"})
DELIVERY_MODES = frozenset({"ordered", "shuffled", "duplicated", "chaos"})
# A guard against an app that answers every request with more requests and never waits.
MAX_STEPS_PER_TURN = 500
WORDS_PER_SECOND = 2.5


class CallEnded(AssertionError):
    """The test acted for the caller on a call that is already over."""


class SimulatorError(RuntimeError):
    """The simulator cannot go on (misuse, or a runaway document)."""


@dataclass
class Entry:
    """One line of the transcript. kind: say, play, pause, fetch, press, speak, silence,
    record, dial, queue, hangup, status, error, note."""

    kind: str
    text: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        who = {"say": "APP ", "play": "APP ", "pause": "APP ", "press": "YOU ", "speak": "YOU ",
               "silence": "YOU ", "record": "YOU "}.get(self.kind, "    ")
        extra = ""
        if self.kind == "say":
            extra = f" [{self.data.get('language', '')}]"
        elif self.kind == "fetch":
            extra = f" -> {self.data.get('status')}"
        return f"{self.at:7.1f}s {who}{self.kind:<8}{self.text}{extra}"


@dataclass
class QueuePlan:
    """What happens to the caller in an <Enqueue>: `bridged` to an agent (or `hangup`: the
    caller gives up) after `after_loops` rounds, a round being one play of the wait TwiML or
    one input (keys, words) at a <Gather> in it (agents answer whatever the caller presses);
    `queue-full`, `error`, `system-error` happen at once. `wait`: nobody in the simulator takes
    the caller; they wait until the app takes them out (the Queue Members API, a redirect) or
    they hang up, as on a real line where only the app's operator desk dequeues."""

    outcome: str = "bridged"
    after_loops: int = 1
    position: int = 1
    talk_seconds: int = 60

    def __post_init__(self) -> None:
        if self.outcome not in QUEUE_OUTCOMES:
            raise ValueError(f"queue outcome must be one of {sorted(QUEUE_OUTCOMES)}")


@dataclass
class _Queue:
    verb: Verb
    doc_url: str
    sid: str
    entered_at: float
    plan: QueuePlan
    loops: int = 0
    turns: int = 0  # caller turns (keys, words, silence) while waiting


@dataclass
class _Frame:
    verbs: list[Verb]
    url: str
    pos: int = 0
    queue: _Queue | None = None


@dataclass
class _Waiting:
    kind: str  # gather | record | conference
    verb: Verb
    url: str


class SimCall:
    """A simulated call. Build it through Simulator.inbound() or FakeTwilio.ring_pending()."""

    def __init__(
        self,
        requester: Requester,
        *,
        account_sid: str,
        from_: str,
        to: str,
        direction: str = "inbound",
        call_sid: str | None = None,
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        events: Iterable[str] = ("completed",),
        delivery: str = "ordered",
        seed: int = 0,
        fallback_url: str | None = None,
        extra_params: dict[str, str] | None = None,
        answered_by: str | None = None,
        started_at: datetime | None = None,
        clock: Any | None = None,
        dial_outcomes: Iterable[str] = (),
        queue: QueuePlan | None = None,
        hangup_after_documents: int | None = None,
        replay: bool = False,
        switchboard: Switchboard | None = None,
    ) -> None:
        if delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {sorted(DELIVERY_MODES)}")
        unknown = set(events) - set(STATUS_EVENTS)
        if unknown:
            raise ValueError(f"unknown status callback events {sorted(unknown)}")
        self.requester: Requester | None = requester
        self.account_sid = account_sid
        self.sid = call_sid or new_sid("CA")
        self.from_, self.to, self.direction = from_, to, direction
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method
        self.events = tuple(events)
        self.delivery = delivery
        self._rng = random.Random(seed)
        self.fallback_url = fallback_url
        self.extra_params = dict(extra_params or {})
        self.answered_by = answered_by
        self.started_at = started_at or datetime.now(UTC)
        self.clock = clock  # a FakeClock to move along with call time, or None
        self.dial_outcomes: list[str] = list(dial_outcomes)
        self.dial_default = "completed"
        self.dial_talk_seconds = 30
        self.queue_plan = queue or QueuePlan()
        self.hangup_after_documents = hangup_after_documents
        # Send every webhook twice (Twilio retries when an answer is lost): the app must
        # answer the repeat as if it were the first, without advancing twice.
        self.replay = replay
        self.switchboard = switchboard  # where <Dial><Conference> rooms are (None: unsupported)

        self._status = "queued"
        self._ended = False
        self.end_reason = ""
        self.transcript: list[Entry] = []
        self.problems: list[Problem] = []
        self.recordings: list[dict[str, str]] = []
        self.warnings: list[str] = []
        self.elapsed = 0.0
        self.documents = 0
        self._frames: list[_Frame] = []
        self._waiting: _Waiting | None = None
        self._answered = False
        self._said_since_turn = False
        self._had_input = False
        self._idle_redirects = 0
        self._sequence = 0
        self._buffer: list[dict[str, str]] = []
        self._pending: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._running = False
        self._last_url = ""
        self.on_end: Callable[[SimCall], None] | None = None

    # ---------------------------------------------------------------- persistence
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("requester", "_lock", "on_end", "clock", "switchboard"):
            state[key] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def attach(self, requester: Requester) -> SimCall:
        """Reconnect a call restored from storage to a transport."""
        self.requester = requester
        return self

    # ---------------------------------------------------------------- what a test reads
    @property
    def ended(self) -> bool:
        """True once the call is over (applies pending REST updates first)."""
        self.poll()
        return self._ended

    @property
    def status(self) -> str:
        """Twilio's CallStatus now: ringing, in-progress, completed, busy, no-answer..."""
        self.poll()
        return self._status

    @property
    def said(self) -> list[str]:
        return [e.text for e in self.transcript if e.kind == "say"]

    @property
    def last_said(self) -> str:
        said = self.said
        return said[-1] if said else ""

    @property
    def waiting_for(self) -> str | None:
        """'gather' or 'record' while the call waits for the caller, else None."""
        return self._waiting.kind if self._waiting else None

    @property
    def queue_sid(self) -> str | None:
        """The QueueSid of the queue this call waits in now, else None."""
        frame = self._frames[-1] if self._frames else None
        return frame.queue.sid if frame is not None and frame.queue is not None and not self._ended else None

    @property
    def in_conference(self) -> bool:
        """True while the call sits in a <Dial><Conference> (alone or talking)."""
        self.poll()
        return self._waiting is not None and self._waiting.kind == "conference"

    @property
    def talking_with(self) -> list[str]:
        """CallSids of the other participants of this call's conference now."""
        self.poll()
        return [c.sid for c in self.switchboard.talking_with(self)] if self.switchboard else []

    @property
    def urls(self) -> list[str]:
        return [e.text for e in self.transcript if e.kind == "fetch"]

    def gather_attr(self, name: str) -> str | None:
        """An attribute of the <Gather> the call waits on (hints, speechModel, language...)."""
        if self._waiting is None or self._waiting.kind != "gather":
            return None
        return self._waiting.verb.attr(name)

    def heard(self, text: str) -> bool:
        """Case-insensitive substring of anything said so far."""
        needle = " ".join(text.lower().split())
        return any(needle in " ".join(s.lower().split()) for s in self.said)

    def expect_say(self, text: str) -> SimCall:
        if not self.heard(text):
            raise AssertionError(f"the caller never heard {text!r}\n{self.format_transcript()}")
        return self

    def format_transcript(self) -> str:
        reason = f" ({self.end_reason})" if self.end_reason else ""
        head = f"call {self.sid} {self.direction} {self.from_} -> {self.to}: {self._status}"
        lines = [head + reason]
        lines += [e.line() for e in self.transcript]
        if self.problems:
            lines.append("problems: " + "; ".join(p.describe() for p in self.problems))
        return "\n".join(lines)

    def assert_courteous(self) -> SimCall:
        if self.problems:
            raise AssertionError(
                "the caller suffered: " + "; ".join(p.describe() for p in self.problems)
                + "\n" + self.format_transcript()
            )
        return self

    # ---------------------------------------------------------------- caller actions
    def press(self, digits: str) -> SimCall:
        """The caller presses keys (DTMF)."""
        waiting = self._turn("press", digits)
        self._had_input = True
        if waiting is None:
            pass
        elif waiting.kind == "gather":
            self._gather_digits(waiting, digits)
        else:
            self._record_key(waiting, digits)
        self._run()
        return self

    def speak(self, text: str, confidence: float = 0.92) -> SimCall:
        """The caller says something (speech recognised as `text`, or recorded at a <Record>)."""
        if not 0.0 <= confidence <= 1.0:
            raise ValueError("confidence is between 0 and 1")
        waiting = self._turn("speak", text)
        self._had_input = True
        self._advance(_speech_seconds(text))
        if waiting is None:
            pass
        elif waiting.kind == "gather":
            self._gather_speech(waiting, text, confidence)
        else:
            self._record_message(waiting, text)
        self._run()
        return self

    say = speak  # reads naturally in scenarios: call.say("il router non si accende")

    def silence(self) -> SimCall:
        """The caller says nothing: the <Gather>/<Record> times out."""
        waiting = self._turn("silence", "")
        if waiting is None:
            self._run()
            return self
        timeout = int(waiting.verb.attr("timeout", "5") or 5)
        self._advance(timeout)
        if waiting.kind == "gather" and waiting.verb.attr("actionOnEmptyResult") == "true":
            self._submit(waiting, {})
        else:
            self.note(f"no input: Twilio goes on after <{waiting.verb.name}>")
        self._run()
        return self

    def hangup(self) -> SimCall:
        """The caller hangs up (a no-op on a call that has already ended)."""
        self.poll()
        if self._ended:
            return self
        self.log("hangup", "caller hangs up")
        self._caller_hangs_up()
        return self

    def poll(self) -> SimCall:
        """Apply REST updates (hang-up, redirect) the app sent since the last step."""
        if self._pending and not self._running and not self._ended:
            self._apply_pending()
            self._run()
        return self

    # ---------------------------------------------------------------- REST updates
    def remote_update(self, **changes: str) -> None:
        """Called by FakeTwilio (any thread): Status=completed|canceled, Url(+Method), Twiml."""
        with self._lock:
            self._pending.append(dict(changes))

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for change in pending:
            if self._ended:
                return
            if self._waiting is not None and self._waiting.kind == "conference":
                self._waiting = None
                self._end_conference_for_others()
            if change.get("Status") in ("completed", "canceled"):
                self.log("note", "the app hung up through the REST API")
                if self._answered:
                    self._end_by_app("REST hang-up")
                else:
                    self._finish("canceled", "canceled through the REST API")
                return
            self._waiting = None
            self._leave_queue_for_redirect()
            if change.get("Twiml"):
                self._load_inline(change["Twiml"], self._frames[-1].url if self._frames else "")
            elif change.get("Url"):
                self._navigate(change["Url"], change.get("Method", "POST"), {})

    # ---------------------------------------------------------------- start
    def start(self, url: str, method: str = "POST") -> SimCall:
        """Ring and fetch the first document (inbound: the number's Voice URL)."""
        self._emit("initiated")
        self._emit("ringing")
        self._status = "ringing" if self.direction == "inbound" else "in-progress"
        if self.direction != "inbound":
            self._answer()
        if self._navigate(url, method, {}, initial=True):
            self._run()
        return self

    def start_with_twiml(self, xml: str) -> SimCall:
        """An outbound call created with Twiml= instead of Url=."""
        self._emit("initiated")
        self._emit("ringing")
        self._status = "in-progress"
        self._answer()
        self._frames = [_Frame([], "")]
        if self._load_inline(xml, ""):
            self._run()
        return self

    def finish_unanswered(self, status: str) -> SimCall:
        """Outbound call that never connects: busy, no-answer, failed or canceled."""
        self._emit("initiated")
        if status != "failed":
            self._emit("ringing")
        self.log("note", f"the callee did not answer: {status}")
        self._finish(status, status)
        return self

    def _answer(self) -> None:
        if not self._answered:
            self._answered = True
            self._status = "in-progress"
            self._emit("answered")

    # ---------------------------------------------------------------- the interpreter
    def _run(self) -> None:
        if self._running:
            return
        self._running = True
        try:
            steps = 0
            while self._frames and not self._ended and self._waiting is None:
                self._apply_pending()
                if self._ended or self._waiting is not None:
                    break
                steps += 1
                if steps > MAX_STEPS_PER_TURN:
                    raise SimulatorError(f"more than {MAX_STEPS_PER_TURN} verbs without waiting "
                                         f"for the caller\n{self.format_transcript()}")
                frame = self._frames[-1]
                if frame.pos >= len(frame.verbs):
                    if frame.queue is not None:
                        self._wait_music_done(frame)
                    else:
                        self._end_by_app("the document ran out of verbs")
                    continue
                verb = frame.verbs[frame.pos]
                frame.pos += 1
                self._execute(verb, frame)
        finally:
            self._running = False
        if (not self._ended and self.hangup_after_documents is not None
                and self.documents >= self.hangup_after_documents):
            self.log("hangup", f"the callee hangs up after {self.documents} documents")
            self._caller_hangs_up()

    def _execute(self, verb: Verb, frame: _Frame) -> None:
        if frame.queue is not None and verb.name not in WAIT_VERBS:
            self._application_error(TwimlError(12100, f"<{verb.name}> is not allowed in wait "
                                                      "TwiML (waitUrl)"), frame.url)
            return
        getattr(self, f"_verb_{verb.name.lower()}")(verb, frame)

    def _verb_say(self, verb: Verb, frame: _Frame) -> None:
        if not verb.text:
            self.warnings.append(f"empty <Say> in {frame.url}")
            return
        loops = int(verb.attr("loop", "1") or 1) or 1  # loop=0 means "forever": heard once here
        for _ in range(loops):
            self.log("say", verb.text, language=verb.attr("language"), voice=verb.attr("voice"))
            self._advance(_speech_seconds(verb.text))
        self._said_since_turn = True
        self._idle_redirects = 0

    def _verb_play(self, verb: Verb, frame: _Frame) -> None:
        what = verb.text or f"digits {verb.attr('digits')}"
        self.log("play", what)
        self._advance(5)
        self._said_since_turn = True
        self._idle_redirects = 0

    def _verb_pause(self, verb: Verb, frame: _Frame) -> None:
        length = int(verb.attr("length", "1") or 1)
        self.log("pause", f"{length}s")
        self._advance(length)

    def _verb_gather(self, verb: Verb, frame: _Frame) -> None:
        for child in verb.children:
            self._execute(child, frame)
        self._idle_redirects = 0
        self._waiting = _Waiting("gather", verb, frame.url)

    def _verb_record(self, verb: Verb, frame: _Frame) -> None:
        if verb.attr("playBeep", "true") != "false":
            self.log("note", "beep (recording starts)")
        self._idle_redirects = 0
        self._waiting = _Waiting("record", verb, frame.url)

    def _verb_redirect(self, verb: Verb, frame: _Frame) -> None:
        self._idle_redirects += 1
        if self._idle_redirects > courtesy.MAX_IDLE_REDIRECTS:
            self._flag(courtesy.REDIRECT_LOOP,
                       f"{self._idle_redirects} redirects in a row with nothing said or gathered "
                       f"(last: {verb.text})")
            self._finish("completed", "redirect loop")
            return
        if not verb.text:
            self._application_error(TwimlError(12100, "<Redirect> without a URL"), frame.url)
            return
        self._navigate(urljoin(frame.url, verb.text), verb.attr("method", "POST"), {})

    def _verb_hangup(self, verb: Verb, frame: _Frame) -> None:
        if frame.queue is not None:
            self._queue_action(frame, "hangup", ignore_answer=True)
        self._end_by_app("<Hangup/>")

    def _verb_reject(self, verb: Verb, frame: _Frame) -> None:
        first = self.direction == "inbound" and not self._answered and frame.pos == 1
        if not first:
            self._end_by_app("<Reject/> after the call was answered")
            return
        reason = verb.attr("reason", "rejected")
        self.log("note", f"call rejected ({reason}) without answering")
        self._finish("busy" if reason == "busy" else "no-answer", f"rejected: {reason}")

    def _verb_leave(self, verb: Verb, frame: _Frame) -> None:
        if frame.queue is None:
            self.note("<Leave/> outside a queue: ignored, as Twilio does")
            return
        self.log("queue", "the caller leaves the queue")
        self._leave_queue(frame, "leave")

    def _verb_dial(self, verb: Verb, frame: _Frame) -> None:
        room = next((c for c in verb.children if c.name == "Conference"), None)
        if room is not None:
            self._join_conference(verb, room, frame)
            return
        targets = [f"{c.name}:{c.text}" for c in verb.children] or [verb.text]
        outcome = self.dial_outcomes.pop(0) if self.dial_outcomes else self.dial_default
        if outcome not in DIAL_STATUSES:
            raise SimulatorError(f"unknown dial outcome {outcome!r}; use {sorted(DIAL_STATUSES)}")
        self.log("dial", ", ".join(targets), outcome=outcome)
        connected = outcome in ("completed", "answered", "hangup")
        talk = self.dial_talk_seconds if connected else 0
        self._advance(talk if connected else int(verb.attr("timeout", "30") or 30))
        if connected:
            self._said_since_turn = True  # the caller spoke with a person
            self._idle_redirects = 0
        params = {
            "DialCallStatus": "completed" if outcome == "hangup" else outcome,
            "DialCallSid": new_sid("CA"),
            "DialCallDuration": str(talk),
            "DialBridged": "true" if connected else "false",
        }
        action = verb.attr("action")
        if outcome == "hangup":
            if action:
                self._fetch(urljoin(frame.url, action), verb.attr("method", "POST"), params)
            self.log("hangup", "caller hangs up during the connected call")
            self._finish("completed", "caller hung up")
            return
        if action:
            self._navigate(urljoin(frame.url, action), verb.attr("method", "POST"), params)

    # ---------------------------------------------------------------- conferences
    def _join_conference(self, verb: Verb, room: Verb, frame: _Frame) -> None:
        if self.switchboard is None:
            raise SimulatorError("<Dial><Conference> needs a switchboard: place the call through "
                                 "Simulator or FakeTwilio")
        end_on_exit = room.attr("endConferenceOnExit", "false") == "true"
        others = self.switchboard.join(room.text, self, end_on_exit=end_on_exit)
        self.log("dial", f"conference {room.text}", participants=len(others) + 1)
        self._idle_redirects = 0
        self._waiting = _Waiting("conference", verb, frame.url)
        for other in others:
            other._talking_to(self)
            self._talking_to(other)
        if not others:
            self.note(f"alone in conference {room.text}: hold music until someone joins")

    def _talking_to(self, other: SimCall) -> None:
        self.log("note", f"talking with {other.sid} ({other.from_} -> {other.to})")
        self._said_since_turn = True  # a person is on the line

    def _end_conference_for_others(self) -> None:
        if self.switchboard is None:
            return
        for other in self.switchboard.leave(self):
            other._conference_over()

    def _conference_over(self) -> None:
        """Another participant ended the conference: this call's <Dial> finishes."""
        waiting = self._waiting
        if self._ended or waiting is None or waiting.kind != "conference":
            return
        self._waiting = None
        self.log("dial", "the conference ended")
        self._said_since_turn = True
        action = waiting.verb.attr("action")
        if action:
            params = {"DialCallStatus": "completed", "DialCallSid": new_sid("CA"), "DialBridged": "true"}
            self._navigate(urljoin(waiting.url, action), waiting.verb.attr("method", "POST"), params)
        self._run()

    def _hang_up_in_conference(self, waiting: _Waiting) -> None:
        ended = self.switchboard.leave(self) if self.switchboard else []
        action = waiting.verb.attr("action")
        if action:  # Twilio still requests the <Dial> action of a call that hangs up
            self._fetch(urljoin(waiting.url, action), waiting.verb.attr("method", "POST"),
                        {"DialCallStatus": "completed", "DialCallSid": new_sid("CA")}, tolerate_errors=True)
        self._finish("completed", "hung up in a conference")
        for other in ended:
            other._conference_over()

    def _verb_enqueue(self, verb: Verb, frame: _Frame) -> None:
        plan = self.queue_plan
        queue = _Queue(verb, frame.url, new_sid("QU"), self.elapsed, plan)
        self.log("queue", f"enqueued in {verb.text or 'queue'}", outcome=plan.outcome)
        self._idle_redirects = 0
        if plan.outcome in ("queue-full", "error", "system-error"):
            self._finish_queue(frame, queue, plan.outcome)
            return
        self._frames.append(_Frame([], frame.url, queue=queue))
        self._fetch_wait_music(queue)

    # ---------------------------------------------------------------- queue helpers
    def _queue_params(self, queue: _Queue) -> dict[str, str]:
        return {
            "QueueSid": queue.sid,
            "QueuePosition": str(queue.plan.position),
            "QueueTime": str(int(self.elapsed - queue.entered_at)),
            "AvgQueueTime": str(int(self.elapsed - queue.entered_at)),
            "CurrentQueueSize": str(queue.plan.position),
        }

    def _fetch_wait_music(self, queue: _Queue) -> None:
        wait_url = queue.verb.attr("waitUrl")
        top = self._frames[-1]
        if not wait_url:
            self.log("play", "Twilio's default hold music")
            self._advance(30)
            top.verbs, top.pos = [], 0
            return
        url = urljoin(queue.doc_url, wait_url)
        verbs = self._fetch(url, queue.verb.attr("waitUrlMethod", "POST"), self._queue_params(queue))
        if verbs is not None:
            top.verbs, top.url, top.pos = verbs, url, 0

    def _wait_music_done(self, frame: _Frame) -> None:
        queue = frame.queue
        assert queue is not None
        queue.loops += 1
        if queue.loops + queue.turns < queue.plan.after_loops or not self._queue_plan_due(frame):
            self._fetch_wait_music(queue)

    def _queue_plan_due(self, frame: _Frame) -> bool:
        """The plan's time has come: an agent answers (bridged) or the caller gives up."""
        queue = frame.queue
        assert queue is not None
        if queue.plan.outcome == "bridged":
            self.log("queue", "bridged to an agent", talk_seconds=queue.plan.talk_seconds)
            self._advance(queue.plan.talk_seconds)
            self._said_since_turn = True
            self._leave_queue(frame, "bridged")
            return True
        if queue.plan.outcome == "hangup":
            self.log("hangup", f"the caller gives up after {queue.loops + queue.turns} rounds "
                               "in the queue")
            self._queue_action(frame, "hangup", ignore_answer=True)
            self._finish("completed", "caller hung up in the queue")
            return True
        return False

    def _leave_queue(self, frame: _Frame, result: str) -> None:
        queue = frame.queue
        assert queue is not None
        self._frames.remove(frame)
        self._finish_queue(self._frames[-1], queue, result)

    def _finish_queue(self, main: _Frame, queue: _Queue, result: str) -> None:
        action = queue.verb.attr("action")
        self.log("queue", f"QueueResult={result}")
        if action:
            params = {"QueueResult": result, "QueueSid": queue.sid,
                      "QueueTime": str(int(self.elapsed - queue.entered_at))}
            self._navigate(urljoin(queue.doc_url, action), queue.verb.attr("method", "POST"), params)

    def _queue_action(self, frame: _Frame, result: str, *, ignore_answer: bool) -> None:
        queue = frame.queue
        if queue is None or not queue.verb.attr("action"):
            return
        params = {"QueueResult": result, "QueueSid": queue.sid,
                  "QueueTime": str(int(self.elapsed - queue.entered_at))}
        self._fetch(urljoin(queue.doc_url, queue.verb.attr("action")),
                    queue.verb.attr("method", "POST"), params, tolerate_errors=ignore_answer)

    def _leave_queue_for_redirect(self) -> None:
        while len(self._frames) > 1:
            frame = self._frames[-1]
            self._queue_action(frame, "redirected", ignore_answer=True)
            self._frames.pop()

    # ---------------------------------------------------------------- input helpers
    def _turn(self, kind: str, text: str) -> _Waiting | None:
        """Start a caller turn; None when the queue plan took over (the input is moot)."""
        self.poll()
        if self._ended:
            raise CallEnded(f"cannot {kind} {text!r}: the call has ended ({self.end_reason})\n"
                            f"{self.format_transcript()}")
        if self._waiting is None:
            raise SimulatorError("the call is not waiting for the caller")
        if self._waiting.kind == "conference":
            raise SimulatorError("the call is in a conference with a person: talk there, or hang up")
        self.log(kind, text)
        waiting, self._waiting = self._waiting, None
        self._said_since_turn = False
        frame = self._frames[-1]
        if frame.queue is not None and kind != "silence" and frame.queue.plan.outcome != "wait":
            # Agents answer whatever the waiting caller presses: an input is a round too
            # (silence is not: it falls through within the same play of the wait TwiML).
            frame.queue.turns += 1
            if frame.queue.loops + frame.queue.turns > frame.queue.plan.after_loops:
                self.note("the queue moved on before this input was used")
                self._queue_plan_due(frame)
                return None
        return waiting

    def _gather_digits(self, waiting: _Waiting, digits: str) -> None:
        verb = waiting.verb
        if "dtmf" not in verb.attr("input", "dtmf"):
            self.note("keys ignored: this <Gather> listens for speech only")
            self._fall_through(waiting)
            return
        finish = verb.attr("finishOnKey", "#")
        wanted = int(verb.attr("numDigits") or 0)
        collected, finished_on = "", ""
        for key in digits:
            self._advance(0.5)
            if finish and key in finish:
                finished_on = key
                break
            collected += key
            if wanted and len(collected) >= wanted:
                break
        else:
            self._advance(int(verb.attr("timeout", "5") or 5))  # Twilio waits for more keys
        if not collected:
            self.note("no digits before the finish key: treated as no input")
            self._fall_through(waiting)
            return
        self._submit(waiting, {"Digits": collected, "FinishedOnKey": finished_on})

    def _gather_speech(self, waiting: _Waiting, text: str, confidence: float) -> None:
        if "speech" not in waiting.verb.attr("input", "dtmf"):
            self.note("speech ignored: this <Gather> listens for keys only")
            self._fall_through(waiting)
            return
        self._submit(waiting, {"SpeechResult": text, "Confidence": f"{confidence:.2f}"})

    def _fall_through(self, waiting: _Waiting) -> None:
        if waiting.kind == "gather" and waiting.verb.attr("actionOnEmptyResult") == "true":
            self._submit(waiting, {})

    def _submit(self, waiting: _Waiting, params: dict[str, str]) -> None:
        action = urljoin(waiting.url, waiting.verb.attr("action")) or waiting.url
        self._navigate(action, waiting.verb.attr("method", "POST"), params)

    def _record_key(self, waiting: _Waiting, digits: str) -> None:
        finish = waiting.verb.attr("finishOnKey", "1234567890*#")
        if digits and digits[0] in finish:
            self.note("recording stopped by a key before anything was said: no recording")
        else:
            self.note("keys that do not finish the recording are ignored")
            self._waiting = waiting

    def _record_message(self, waiting: _Waiting, text: str) -> None:
        verb = waiting.verb
        max_length = int(verb.attr("maxLength", "3600") or 3600)
        duration = min(max_length, max(1, math.ceil(_speech_seconds(text))))
        sid = new_sid("RE")
        url = (f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}")
        self.recordings.append({"sid": sid, "url": url, "text": text, "duration": str(duration)})
        self.log("record", f"recorded {duration}s", recording_sid=sid)
        self._advance(int(verb.attr("timeout", "5") or 5))
        params = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(duration)}
        self._submit(waiting, params)

    # ---------------------------------------------------------------- fetching
    def request_params(self, extra: dict[str, str]) -> dict[str, str]:
        """The parameters of a request this call makes now (call parameters + `extra`)."""
        params = call_params(call_sid=self.sid, account_sid=self.account_sid, from_=self.from_,
                             to=self.to, direction=self.direction, status=self._status,
                             extra=self.extra_params)
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
        params.update(extra)
        return params

    def _fetch(self, url: str, method: str, extra: dict[str, str], *,
               initial: bool = False, tolerate_errors: bool = False) -> list[Verb] | None:
        if self.requester is None:
            raise SimulatorError("this call is not attached to a transport")
        fetched = self.requester.request(method, url, self.request_params(extra),
                                         times=2 if self.replay else 1)
        self.documents += 1
        if self.replay:
            self.note("sent twice (replay): the second answer is used")
        self.log("fetch", url, method=method.upper(), status=fetched.status,
                  elapsed=round(fetched.elapsed, 3), params=dict(fetched.params))
        try:
            verbs = check_response(fetched)
            self._last_url = url
            return verbs
        except TwimlError as exc:
            if tolerate_errors:
                self.warnings.append(f"{url}: {exc}")
                return None
            if initial and self.fallback_url and url != self.fallback_url:
                self._flag(courtesy.APPLICATION_ERROR, f"{exc} at {url}; trying the fallback URL")
                return self._fetch(self.fallback_url, "POST",
                                   {**extra, "ErrorCode": str(exc.code), "ErrorUrl": url})
            self._application_error(exc, url)
            return None

    def _navigate(self, url: str, method: str, extra: dict[str, str], *,
                  initial: bool = False) -> bool:
        """Fetch a document and make it the one the call executes now."""
        verbs = self._fetch(url, method, extra, initial=initial)
        if verbs is None:
            return False
        url = self._last_url  # the fallback URL when the primary one failed
        if not self._frames:
            self._frames = [_Frame(verbs, url)]
        else:
            top = self._frames[-1]
            top.verbs, top.url, top.pos = verbs, url, 0
        if initial and not (verbs and verbs[0].name == "Reject"):
            self._answer()
        return True

    def _load_inline(self, xml: str, url: str) -> bool:
        try:
            verbs = parse_document(xml)
        except TwimlError as exc:
            self._application_error(exc, "inline Twiml")
            return False
        if not self._frames:
            self._frames = [_Frame(verbs, url)]
        else:
            self._frames[-1].verbs, self._frames[-1].pos = verbs, 0
        return True

    def _application_error(self, exc: TwimlError, url: str) -> None:
        self._flag(courtesy.APPLICATION_ERROR, f"{exc} at {url}")
        self.log("error", str(exc), code=exc.code, url=url)
        self.log("say", TWILIO_ERROR_MESSAGE, language="en-US", voice="twilio")
        self._finish("completed", f"application error {exc.code}")

    # ---------------------------------------------------------------- ending
    def _end_by_app(self, reason: str) -> None:
        if not self._said_since_turn:
            what = ("after the caller's last turn" if self._had_input or self._turns_taken()
                    else "at all: the caller heard nothing")
            self._flag(courtesy.SILENCE, f"the call ended ({reason}) with nothing said {what}")
        elif self._had_input and not courtesy.is_goodbye(self.last_said):
            self._flag(courtesy.NO_GOODBYE,
                       f"the app ended the call ({reason}) after the caller's input; "
                       f"last words: {self.last_said!r}")
        self.log("hangup", f"the app ends the call: {reason}")
        self._finish("completed", reason)

    def _turns_taken(self) -> bool:
        return any(e.kind in ("press", "speak", "silence") for e in self.transcript)

    def _caller_hangs_up(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None and waiting.kind == "conference":
            self._hang_up_in_conference(waiting)
            return
        if len(self._frames) > 1:
            self._queue_action(self._frames[-1], "hangup", ignore_answer=True)
        if waiting is not None and waiting.kind == "record":
            self.note("the caller hung up at the beep without a message")
        self._finish("completed", "caller hung up")

    def _finish(self, status: str, reason: str) -> None:
        if self._ended:
            return
        self._ended = True
        self._waiting = None
        self._status = status
        self.end_reason = reason
        self._emit("completed")
        self._flush()
        if self.on_end is not None:
            self.on_end(self)

    # ---------------------------------------------------------------- status callbacks
    def _emit(self, event: str) -> None:
        if event not in self.events or not self.status_callback:
            return
        status = {"initiated": "initiated", "ringing": "ringing",
                  "answered": "in-progress"}.get(event, self._status)
        params = self.request_params({
            "CallStatus": status,
            "Timestamp": rfc2822(self.started_at + timedelta(seconds=self.elapsed)),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence),
        })
        self._sequence += 1
        if event == "completed":
            params["CallDuration"] = str(int(self.elapsed)) if self._answered else "0"
            params["Duration"] = str(math.ceil(self.elapsed / 60)) if self._answered else "0"
        if self.delivery == "ordered":
            self._deliver(params)
        else:
            self._buffer.append(params)

    def _flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if self.delivery in ("duplicated", "chaos"):
            batch = [p for p in batch for _ in (0, 1)]
        if self.delivery in ("shuffled", "chaos"):
            self._rng.shuffle(batch)
        for params in batch:
            self._deliver(params)

    def _deliver(self, params: dict[str, str]) -> None:
        if self.requester is None or not self.status_callback:
            return
        fetched = self.requester.request(self.status_callback_method, self.status_callback, params)
        self.log("status", f"{params['CallStatus']} #{params['SequenceNumber']}",
                  http_status=fetched.status)
        if fetched.status is None or not 200 <= fetched.status < 300:
            self.warnings.append(f"status callback {params['CallStatus']} answered "
                                 f"{fetched.status or fetched.error}")

    # ---------------------------------------------------------------- bookkeeping
    def log(self, kind: str, text: str, **data: Any) -> None:
        self.transcript.append(Entry(kind, text, round(self.elapsed, 1), data))

    def note(self, text: str) -> None:
        self.log("note", text)

    def _flag(self, kind: str, detail: str) -> None:
        self.problems.append(Problem(kind, detail))

    def _advance(self, seconds: float) -> None:
        self.elapsed += seconds
        if self.clock is not None and hasattr(self.clock, "advance"):
            self.clock.advance(seconds=seconds)


def _speech_seconds(text: str) -> float:
    return max(1.0, len(text.split()) / WORDS_PER_SECOND)
