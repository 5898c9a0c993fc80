"""Walk a call through its flow, one webhook at a time.

Each webhook is a *turn*: load the call's state (flow, node, language, slots, counters) from
the DB by CallSid, apply the caller's input, run nodes that do not wait (say, action, jump)
until one that does (ask, transfer, record, end), render that as TwiML, and save the state
with a version check. Any worker can take any turn; a restart loses nothing.

Every URL we hand Twilio carries the state version (`?v=`): a replayed or late webhook whose
version is stale does not advance the call twice, it just hears the current node again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy.orm import Session

from app import calls, i18n, phone
from app.calls import CallRecord, add_step
from app.clock import now as clock_now
from app.flows import matching
from app.flows.actions import ActionContext, Actions, step_row
from app.flows.hotlines import Hotline, Hotlines
from app.flows.model import FlowSet, Node
from app.flows.render import COURTESY_SLOTS, Speaker, courtesy, placeholders, tidy
from app.models import Call
from app.telephony import HintText, Twiml, hint_text

log = logging.getLogger(__name__)

MAX_HOPS = 40  # nodes in one turn before we call it a loop
MAX_LEAD = 8  # sentences kept to repeat to a caller whose webhook Twilio had to retry
LANGUAGE_KEYS = {"1": "it", "2": "nl", "3": "en"}
LANGUAGE_WORDS = {
    "italiano": "it", "italian": "it", "italiaans": "it", "nederlands": "nl", "dutch": "nl",
    "olandese": "nl", "english": "en", "inglese": "en", "engels": "en",
}
# Asking for the language menu in words ("un'altra lingua", "andere taal", "language").
LANGUAGE_MENU_WORDS = frozenset({"lingua", "lingue", "taal", "talen", "language", "languages"})
# Every spoken answer is checked for anger first, by this action (app.support registers it; the
# engine stays free of support code). It returns ANGRY when it recorded a complaint.
ANGER_ACTION = "support_vent"
ANGRY = "angry"
# The webhooks of the URLs a turn renders (/voice/flow/<step>) and the methods answering them.
STEP_HANDLERS = {"input": "_on_input", "silence": "_on_silence", "transfer": "_on_transfer",
                 "recorded": "_on_recorded", "language": "_on_language"}


AnyCall = Call | CallRecord  # routes holding an ORM Call hand it over; the hot path a record


class FlowStateError(RuntimeError):
    """The call's saved state names a flow or node that does not exist (flows changed?)."""


class StaleTurn(RuntimeError):
    """Another worker advanced this call while we were computing our turn."""


@dataclass
class Turn:
    session: Session
    call: CallRecord
    flow: str
    node: str
    language: str
    slots: dict[str, Any]
    counters: dict[str, Any]
    params: Mapping[str, str]
    now: datetime
    hotline: Hotline
    version: int = 1  # the version this turn saves; every URL it renders carries it
    says: list[tuple[str, str]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # written in one batch
    lead: list[tuple[str, str]] = field(default_factory=list)  # said before the waiting verb
    doc: Twiml | None = None
    orm_call: Call | None = None  # the route's ORM object of this call, expired once saved
    courtesy: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (language, zone)
    _contact: Any = None
    _contact_loaded: bool = False

    def say(self, text: str) -> None:
        if text:
            self.says.append((text, self.language))


class Contacts(Protocol):
    """Who the other party of a call is, as far as the engine needs: their contact's language
    and time zone. The consent package answers it (registered at its init_app), so the engine
    never reaches up into the packages that use it."""

    def find(self, session: Session, e164: str) -> Any: ...

    def get_or_create(self, session: Session, e164: str, *, source: str, at: datetime,
                      simulated: bool = False) -> Any: ...


class Engine:
    def __init__(self, flows: FlowSet, hotlines: Hotlines, settings: Any, actions: Actions,
                 contacts: Contacts | None = None) -> None:
        self.flows = flows
        self.hotlines = hotlines
        self.settings = settings
        self.actions = actions
        self.contacts = contacts
        self.base = settings.public_base_url
        self._own_anger: dict[tuple[str, str], bool] = {}  # (flow, ask): its flow checks anger itself
        self._hint_texts: dict[tuple[str, str, str, bool], HintText] = {}

    # -- entry points --------------------------------------------------------------------------

    def start(self, session: Session, call: AnyCall, flow: str, *, now: datetime,
              params: Mapping[str, str] | None = None, language: str | None = None,
              slots: Mapping[str, Any] | None = None, contact: Any = None,
              hotline: Hotline | None = None) -> Twiml:
        """Begin `flow` on this call (a new inbound call, or an outbound call answered)."""
        found = self.flows.get(flow)
        if found is None:
            raise FlowStateError(f"no flow named {flow!r}")
        record, orm_call = _as_record(call)
        hotline = hotline or self.hotline_of(record)
        turn = Turn(session, record, flow, found.start, "en", dict(record.slots or {}), {},
                    params or {}, now, hotline, version=(record.state_version or 0) + 1, orm_call=orm_call,
                    _contact=contact, _contact_loaded=contact is not None)
        turn.language = self._first_language(turn, language)
        turn.counters["tz"] = self._zone_name(turn)
        turn.slots.update(slots or {})
        turn.slots.setdefault("caller_name", getattr(self._contact(turn), "name", None) or "")
        self._walk(turn, flow, found.start)
        return self._finish(turn, expected_version=call.state_version or 0)

    def start_inbound(self, session: Session, call: AnyCall, *, now: datetime,
                      params: Mapping[str, str]) -> Twiml:
        """A hotline call: its flow from hotlines.yaml; a retried webhook resumes, not restarts."""
        if call.flow and call.node:
            return self.resume_retried_start(session, call, now=now, params=params)
        hotline = self.hotline_of(call)
        return self.start(session, call, hotline.flow, now=now, params=params, hotline=hotline)

    def resume_retried_start(self, session: Session, call: AnyCall, *, now: datetime,
                             params: Mapping[str, str]) -> Twiml:
        """Twilio retried the request that started this call's flow: go on where the call is.
        While it is still where the start left it, our first answer never arrived, so the
        caller hears all of it again (who is calling included), not just the question."""
        return self.resume(session, call, now=now, params=params, replay=call.state_version == 1)

    def resume(self, session: Session, call: AnyCall, *, now: datetime,
               params: Mapping[str, str] | None = None, replay: bool = False) -> Twiml:
        """Say the current node again (a stale or replayed webhook, a lost race). A `replay` of
        the request that led here also repeats what was said on the way (Twilio retried it
        because our first answer was lost, so the caller never heard it)."""
        turn = self._load(session, call, now, params or {})
        if replay:
            turn.says.extend((str(t), str(lang)) for t, lang in turn.counters.get("lead") or ())
        self._walk(turn, turn.flow, turn.node)
        return self._finish(turn, expected_version=call.state_version)

    def handle(self, session: Session, call: AnyCall, step: str, version: int | None, *,
               now: datetime, params: Mapping[str, str]) -> Twiml:
        """A webhook from one of the URLs we rendered: input, silence, transfer result..."""
        if version is None or version != call.state_version:
            log.info("stale webhook %s (v=%s, call at v=%s): repeating the current node",
                     step, version, call.state_version)
            replay = version is not None and version == call.state_version - 1
            return self.resume(session, call, now=now, params=params, replay=replay)
        turn = self._load(session, call, now, params)
        handler = STEP_HANDLERS.get(step)
        if handler is None:
            raise FlowStateError(f"unknown flow step {step!r}")
        getattr(self, handler)(turn)
        return self._finish(turn, expected_version=version)

    def queue_wait(self, session: Session, call: Call, *, now: datetime,
                   params: Mapping[str, str]) -> Twiml:
        """The music and news a caller hears while waiting in an operator queue."""
        language = call.language or self.settings.default_language
        doc = Twiml(language)
        waited = _int(params.get("QueueTime")) or 0
        if waited >= self.settings.queue_max_wait_seconds:
            slots = dict(call.slots or {})
            slots["queue_timed_out"] = True
            call.slots = slots
            add_step(session, call, now, "queue", input=str(waited), outcome="timeout")
            return doc.say(i18n.prompt("queue_timeout", language)).leave()
        position = _int(params.get("QueuePosition"))
        text = i18n.prompt("queue_position", language).format(position=position) if position else ""
        doc.gather(self._url("queue-leave", call.state_version, language), [text, i18n.prompt("queue_leave", language)],
                   input="dtmf", num_digits=1, timeout=1)
        return doc.play(self.settings.hold_music_url)

    def queue_leave(self, call: Call, params: Mapping[str, str]) -> Twiml:
        language = call.language or self.settings.default_language
        if (params.get("Digits") or "").strip() == "1":
            return Twiml(language).leave()
        return Twiml(language).redirect(self._url("queue-wait", call.state_version, language))

    # -- the walk ------------------------------------------------------------------------------

    def _walk(self, turn: Turn, flow: str, node_name: str) -> None:
        for _ in range(MAX_HOPS):
            node = self.flows.node(flow, node_name)
            if node is None:
                raise FlowStateError(f"flow {flow!r} has no node {node_name!r}")
            turn.flow, turn.node = flow, node.name
            if node.kind == "say":
                text = self._text(turn, node.say or {})
                turn.say(text)
                self._step(turn, "say", said=text)
                node_name = str(node.next)
            elif node.kind == "action":
                written = len(turn.steps)
                outcome = self._run_action(turn, node)
                self._action_step(turn, written, outcome)
                target = node.next_for(outcome)
                if target is None:
                    raise FlowStateError(f"{flow}.{node.name}: no transition for outcome {outcome!r}")
                node_name = target
            elif node.kind == "flow":
                self._step(turn, "jump", outcome=node.flow)
                flow = str(node.flow)
                node_name = self.flows.flows[flow].start
            elif node.kind == "resume":
                flow, node_name = self._resume_point(turn, node)
                self._step(turn, "jump", outcome=f"{flow}.{node_name}")
            else:
                self._render_waiting(turn, node)
                return
        raise FlowStateError(f"flow {flow!r} loops without waiting for the caller (at {node_name!r})")

    def _resume_point(self, turn: Turn, node: Node) -> tuple[str, str]:
        """The flow a slot names (set by the action before this node) and its resume node."""
        name = str(turn.slots.get(node.resume or "") or "")
        target = self.flows.get(name)
        if target is None or not target.resume:
            raise FlowStateError(f"{turn.flow}.{node.name}: slot {node.resume!r} names {name!r}, "
                                 "which is no flow with a resume node")
        return target.name, target.resume

    def _render_waiting(self, turn: Turn, node: Node, prefix: str | None = None) -> None:
        if prefix:
            turn.says.append((prefix, turn.language))  # after an apology said this turn
        if node.kind == "ask":
            self._render_ask(turn, node)
        elif node.kind == "end":
            text = self._text(turn, node.say or {})
            self._step(turn, "end", said=text)
            turn.doc = self._doc(turn).say(text).hangup()  # the goodbye itself is not lead
        elif node.kind == "transfer":
            self._render_transfer(turn, node)
        elif node.kind == "record":
            self._step(turn, "record")
            record = node.record or {}
            url = self._url("recorded", turn.version, turn.language)
            turn.doc = self._doc(turn).record(action=url, max_length=int(record.get("max_length") or 120))
            turn.doc.redirect(url + "&empty=1")  # no audio at all: go on without a recording

    def _render_ask(self, turn: Turn, node: Node) -> None:
        ask = node.ask
        assert ask is not None
        text = self._text(turn, ask.say)
        others = [(self._text(turn, {lang: ask.other_languages[lang]}, lang), lang)
                  for lang in i18n.LANGUAGES if lang != turn.language and lang in ask.other_languages]
        self._step(turn, "ask", said=" ".join([*(o for o, _ in others), text]))
        # The offers come before the question: a caller who does not speak the line's language
        # learns at once how to change it, not after options they cannot follow.
        prompts = [*turn.says, *others, (text, turn.language)]
        turn.lead.extend(turn.says)
        turn.says.clear()
        hints = self._hints(turn.flow, node, turn.language, bool(others))
        capture = ask.capture
        doc = Twiml(turn.language)
        doc.gather(
            self._url("input", turn.version, turn.language), prompts, input=capture.input if capture else ask.input,
            num_digits=ask.num_digits, timeout=ask.timeout, hints=hints,
            finish_on_key=capture.finish_on_key if capture else None, speech_model=self._speech_model(turn),
        )
        turn.doc = doc.redirect(self._url("silence", turn.version, turn.language))

    def _hints(self, flow: str, node: Node, language: str, offers_languages: bool) -> HintText:
        """What a question listens for: its hints, then its choices' words taken in turns, the
        first of each choice, then the second of each... (Twilio reads 1,000 characters: the last
        choice must be heard as well as the first), and the languages' names when it offers them
        ("English"). Flows are data loaded once, so each question's list is joined once."""
        key = (flow, node.name, language, offers_languages)
        found = self._hint_texts.get(key)
        if found is None:
            ask = node.ask
            assert ask is not None
            in_turns = zip_longest(*(c.speech.get(language, ()) for c in ask.choices))
            words = [*ask.hints.get(language, ()), *(w for turn in in_turns for w in turn if w)]
            if offers_languages:
                words.extend(LANGUAGE_WORDS)
            found = self._hint_texts[key] = hint_text(words)
        return found

    def _speech_model(self, turn: Turn) -> str | None:
        vocab = self.flows.vocab.get(turn.language)
        return vocab.speech_model if vocab is not None else None

    def _clarify(self, turn: Turn, node: Node, close: tuple[Any, Any]) -> None:
        """Two choices are equally likely: ask which one, in a short question naming both; the
        answer comes back to this same question (all its choices), so keys work as well."""
        assert node.ask is not None
        vocab = self.flows.vocab.get(turn.language)
        first, second = close
        text = (vocab.clarify if vocab else "{a}, {b}?").format(
            a=(first.label or {}).get(turn.language, ""), b=(second.label or {}).get(turn.language, ""))
        turn.counters["clarifying"] = f"{turn.flow}.{node.name}"
        self._step(turn, "ask", said=text)
        hints = [w for c in close for w in c.speech.get(turn.language, ())]
        doc = Twiml(turn.language)
        doc.gather(self._url("input", turn.version, turn.language), [*turn.says, (text, turn.language)],
                   input=node.ask.input, num_digits=node.ask.num_digits, timeout=node.ask.timeout, hints=hints,
                   speech_model=self._speech_model(turn))
        turn.lead.extend(turn.says)
        turn.says.clear()
        turn.doc = doc.redirect(self._url("silence", turn.version, turn.language))

    def _render_transfer(self, turn: Turn, node: Node) -> None:
        spec = node.transfer or {}
        self._step(turn, "transfer", outcome=str(spec.get("queue") or spec.get("number") or "operator"))
        doc = self._doc(turn)
        url = self._url("transfer", turn.version, turn.language)
        if "queue" in spec:
            queue = self._text(turn, {turn.language: str(spec["queue"])}) or "support"
            turn.doc = doc.enqueue(queue, action=url, wait_url=self._url("queue-wait", turn.version, turn.language))
            return
        number = spec.get("number") or self._operator_number(turn)
        if not number:
            log.error("transfer at %s.%s has no number to dial", turn.flow, turn.node)
            turn.doc = doc.redirect(url + "&DialCallStatus=failed")
            return
        turn.doc = doc.dial_number(str(number), action=url, timeout=int(spec.get("timeout") or 30),
                                   caller_id=turn.call.to_number if turn.call.direction == "inbound" else None)

    # -- webhook handlers ----------------------------------------------------------------------

    def _on_input(self, turn: Turn) -> None:
        node = self._current(turn)
        if node.ask is None:
            raise FlowStateError(f"input arrived at {turn.flow}.{turn.node}, which asks nothing")
        digits = (turn.params.get("Digits") or "").strip()
        speech = (turn.params.get("SpeechResult") or "").strip()
        if not digits and not speech:
            return self._on_silence(turn)
        heard = digits or speech
        if digits == "*" and not any(c.dtmf == "*" for c in node.ask.choices):
            return self._ask_language(turn)  # a lone * is never a reference or a date
        if speech and not digits:
            self._hear_anger(turn, node)
        if node.ask.capture is not None:
            capture = node.ask.capture
            if not digits and "dtmf" in capture.input and capture.max_digits == 1:
                # keys offered here: "uno", "optie twee", "press five" is that key
                heard = matching.spoken_key(speech, turn.language, self.flows.vocab.get(turn.language)) or heard
            turn.slots[capture.slot] = heard
            self._step(turn, "input", input=heard, outcome=capture.slot)
            self._reset_retries(turn)
            return self._walk(turn, turn.flow, capture.next)
        clarified = turn.counters.pop("clarifying", None) == f"{turn.flow}.{node.name}"
        if digits:
            choice = matching.match_digits(node.ask.choices, digits)
        else:
            understood = matching.understand(node.ask.choices, speech, turn.language,
                                             self.flows.vocab.get(turn.language))
            choice = understood.choice
            close = understood.close
            if close is not None and not clarified and all(c.label for c in close):
                self._step(turn, "input", input=heard, outcome=f"close:{close[0].name}|{close[1].name}")
                return self._clarify(turn, node, close)
        if choice is None and speech and not digits:
            words = matching.normalise(speech).split()
            named = next((LANGUAGE_WORDS[w] for w in words if w in LANGUAGE_WORDS), None)
            if named is not None:  # "English, please" at any menu: that language, same question
                return self._switch_language(turn, node, named, speech)
            if LANGUAGE_MENU_WORDS.intersection(words):
                return self._ask_language(turn)
        if choice is None:
            turn.slots["last_heard"] = heard
            self._step(turn, "input", input=heard, outcome="invalid")
            return self._retry(turn, node, "invalid")
        self._step(turn, "input", input=heard, outcome=choice.name)
        self._reset_retries(turn)
        self._walk(turn, turn.flow, choice.next)

    def _hear_anger(self, turn: Turn, node: Node) -> None:
        """Anger is checked in every spoken answer, first: let the caller vent, then solve the
        problem. An angry answer gets an apology and a complaint (once per call), then is read
        as usual ("siete dei ladri, non chiamatemi più" still opts out). An ask whose answer
        goes on to an action with its own `angry` transition (the menu, the FAQ question, the
        fault description, a callback time) checks it there, with its own words."""
        if self._checks_anger_itself(turn.flow, node) or ANGER_ACTION not in self.actions:
            return
        written = len(turn.steps)
        if self._run_named(turn, ANGER_ACTION, node.name) == ANGRY:
            self._action_step(turn, written, ANGRY)
            turn.say(self._text(turn, {turn.language: i18n.prompt("anger_heard", turn.language)}))

    def _checks_anger_itself(self, flow: str, node: Node) -> bool:
        cached = self._own_anger.get((flow, node.name))
        if cached is None:
            ask = node.ask
            assert ask is not None
            targets = [ask.capture.next] if ask.capture is not None else [c.next for c in ask.choices]
            cached = bool(targets) and all(self._has_angry_transition(flow, t) for t in targets)
            self._own_anger[(flow, node.name)] = cached
        return cached

    def _has_angry_transition(self, flow: str, name: str) -> bool:
        target = self.flows.node(flow, name)
        return (target is not None and target.kind == "action" and isinstance(target.next, Mapping)
                and ANGRY in target.next)

    def _on_silence(self, turn: Turn) -> None:
        if turn.counters.pop("language_menu", None):
            return self._render_waiting(turn, self._current(turn))
        node = self._current(turn)
        if node.ask is None:  # e.g. <Record> heard nothing: go on
            return self._on_recorded(turn)
        self._step(turn, "input", outcome="no_input")
        self._retry(turn, node, "no_input")

    def _retry(self, turn: Turn, node: Node, kind: str) -> None:
        assert node.ask is not None
        policy = node.ask.no_input if kind == "no_input" else node.ask.invalid
        key = f"{turn.flow}.{node.name}.{kind}"
        retries = turn.counters.setdefault("retries", {})
        retries[key] = int(retries.get(key, 0)) + 1
        turn.counters["failures"] = int(turn.counters.get("failures", 0)) + 1
        if policy is not None and retries[key] <= policy.reprompt:
            prompt = "not_heard" if kind == "no_input" else "not_understood"
            return self._render_waiting(turn, node, prefix=i18n.prompt(prompt, turn.language))
        self._reset_retries(turn)
        if policy is None:
            raise FlowStateError(f"{turn.flow}.{node.name} has no {kind} handling")
        self._walk(turn, turn.flow, policy.then)

    def _on_transfer(self, turn: Turn) -> None:
        node = self._current(turn)
        if node.kind != "transfer":
            raise FlowStateError(f"transfer result at {turn.flow}.{turn.node}, which transfers nothing")
        if node.transfer_kind == "queue":
            outcome = turn.params.get("QueueResult") or "error"
            if outcome == "redirected" and turn.slots.get("desk_connected"):
                # The operator desk took this caller out of the queue to talk to an operator
                # (app/desk): for the flow that is a bridge, not a caller leaving the queue.
                outcome = "bridged"
        else:
            outcome = turn.params.get("DialCallStatus") or "failed"
        if turn.slots.pop("queue_timed_out", None) and outcome in ("leave", "redirected"):
            turn.slots["callback_reason"] = "queue_timeout"
        target = node.next_for(outcome) or node.next_for("error") or node.next_for("failed")
        self._step(turn, "transfer_result", input=outcome, outcome=outcome)
        if target is None:
            raise FlowStateError(f"{turn.flow}.{node.name}: no transition for {outcome!r}")
        self._walk(turn, turn.flow, target)

    def _on_recorded(self, turn: Turn) -> None:
        node = self._current(turn)
        if node.kind != "record":
            raise FlowStateError(f"recording arrived at {turn.flow}.{turn.node}, which records nothing")
        record = node.record or {}
        url = turn.params.get("RecordingUrl") or ""
        duration = _int(turn.params.get("RecordingDuration")) or 0
        turn.slots[str(record["slot"])] = url if url and duration > 0 else None
        self._step(turn, "input", input=url or None, outcome="recorded" if url else "no_recording")
        self._walk(turn, turn.flow, str(node.next))

    def _ask_language(self, turn: Turn) -> None:
        turn.counters["language_menu"] = True
        self._step(turn, "input", input="*", outcome="language_menu")
        doc = Twiml(turn.language)
        # Each language in its own voice, each heard by a recogniser of that language: a
        # caller who answers the Dutch line in Dutch is understood as Dutch.
        menu = [(i18n.prompt("language_menu", lang), lang) for lang in i18n.LANGUAGES]
        doc.gather_in_turn(self._url("language", turn.version, turn.language), menu,
                           input="dtmf speech", num_digits=1, timeout=5, hints=list(LANGUAGE_WORDS),
                           speech_models={lang: v.speech_model for lang, v in self.flows.vocab.items()})
        turn.doc = doc.redirect(self._url("silence", turn.version, turn.language))

    def _on_language(self, turn: Turn) -> None:
        turn.counters.pop("language_menu", None)
        digits = (turn.params.get("Digits") or "").strip()
        said = turn.params.get("SpeechResult") or ""
        words = matching.normalise(said).split()
        key = digits or matching.spoken_key(said, turn.language) or ""
        chosen = LANGUAGE_KEYS.get(key) or next((LANGUAGE_WORDS[w] for w in words if w in LANGUAGE_WORDS), None)
        node = self._current(turn)
        if chosen is None:
            self._step(turn, "input", input=digits or " ".join(words), outcome="invalid")
            return self._render_waiting(turn, node, prefix=i18n.prompt("not_understood", turn.language))
        self._switch_language(turn, node, chosen, digits or " ".join(words))

    def _switch_language(self, turn: Turn, node: Node, chosen: str, heard: str) -> None:
        turn.language = chosen
        self._step(turn, "language", input=heard, outcome=chosen)
        self._remember_language(turn)
        self._render_waiting(turn, node)

    # -- helpers -------------------------------------------------------------------------------

    def _load(self, session: Session, call: AnyCall, now: datetime, params: Mapping[str, str]) -> Turn:
        record, orm_call = _as_record(call)
        if not record.flow or not record.node:
            raise FlowStateError(f"call {record.call_sid} has no flow state")
        language = record.language if record.language in i18n.LANGUAGES else self.settings.default_language
        return Turn(session, record, record.flow, record.node, language, dict(record.slots or {}),
                    dict(record.counters or {}), params, now, self.hotline_of(record),
                    version=record.state_version + 1, orm_call=orm_call)

    def _current(self, turn: Turn) -> Node:
        node = self.flows.node(turn.flow, turn.node)
        if node is None:
            raise FlowStateError(f"flow {turn.flow!r} has no node {turn.node!r}")
        return node

    def _finish(self, turn: Turn, *, expected_version: int) -> Twiml:
        """Save the state if nobody else moved the call meanwhile; return the TwiML."""
        call = turn.call
        turn.counters["lead"] = [list(pair) for pair in turn.lead if pair[0]][:MAX_LEAD]
        # The status this webhook brings rides in the same UPDATE, so the ORM has nothing of
        # the call's left to flush (routes leave it to the turn; see flows/routes.py).
        status = calls.status_changes(call, turn.params.get("CallStatus"), turn.now)
        state = {"flow": turn.flow, "node": turn.node, "language": turn.language, "slots": turn.slots,
                 "counters": turn.counters, "state_version": expected_version + 1,
                 "status": status.get("status", call.status), "ended_at": status.get("ended_at", call.ended_at),
                 "updated_at": turn.now}
        if turn.orm_call is not None:
            # The UPDATE below writes these columns past the ORM: forget the object's copies
            # (and any change made to them before the turn, which the turn took in), so the
            # session never writes them back and a later read loads what was saved.
            turn.session.expire(turn.orm_call, list(state))
        turn.session.flush()  # rows an action added (a ticket...) go first, on the same connection
        if not calls.save(turn.session, call, expected_version, state, turn.steps):
            raise StaleTurn(call.call_sid)
        for name, value in state.items():
            setattr(call, name, value)
        turn.steps.clear()
        return turn.doc or self._doc(turn).hangup()

    def _doc(self, turn: Turn) -> Twiml:
        doc = Twiml(turn.language)
        for text, language in turn.says:
            doc.say(text, language)
        turn.lead.extend(turn.says)
        turn.says.clear()
        return doc

    def _url(self, step: str, version: int, language: str) -> str:
        # The language rides along so an apology can be spoken in it even with the DB down.
        return f"{self.base}/voice/flow/{step}?v={version}&l={language}"

    def _text(self, turn: Turn, prompt: Mapping[str, str], language: str | None = None) -> str:
        """A prompt in `language` (default: the caller's), its slots spoken in that language."""
        lang = language or turn.language
        text = prompt.get(lang) or prompt.get("en") or ""
        found = placeholders(text)
        if not found:
            return tidy(text)  # most prompts: the same words on every call
        zone = _zone(turn.counters.get("tz"))
        slots = {"company": turn.hotline.company, "caller_name": "", **turn.slots}
        if any(name in COURTESY_SLOTS and name not in turn.slots for name, _ in found):
            wishes = turn.courtesy.get((lang, zone.key))
            if wishes is None:  # one turn, one moment: the greeting is worked out once per language
                wishes = turn.courtesy[(lang, zone.key)] = courtesy(lang, turn.now, zone)
            slots = {**wishes, **slots}
        return Speaker(lang, zone, turn.now).render(text, slots)

    def _step(self, turn: Turn, kind: str, *, input: str | None = None, outcome: str | None = None,
              said: str | None = None) -> None:
        turn.steps.append(step_row(turn.call.id, turn.now, turn.flow, turn.node, kind,
                                                   input=input, outcome=outcome, said=said))

    def _action_step(self, turn: Turn, written: int, outcome: str) -> None:
        """The outcome of the action that ran at the turn's node, unless a line the action
        wrote itself (`written` is where its lines begin) already says that outcome there: a
        history line says a thing once."""
        node = turn.node
        if not any(row["outcome"] == outcome and row["node"] == node for row in turn.steps[written:]):
            self._step(turn, "action", outcome=outcome)

    def _run_action(self, turn: Turn, node: Node) -> str:
        return self._run_named(turn, str(node.action), node.name)

    def _run_named(self, turn: Turn, action: str, node_name: str) -> str:
        ctx = ActionContext(
            session=turn.session, call=turn.call, slots=turn.slots, language=turn.language,
            now=turn.now, settings=self.settings, params=turn.params, hotline=turn.hotline,
            contact_loader=lambda: self._contact(turn), flow=turn.flow, node=node_name, steps=turn.steps,
        )
        outcome = self.actions.run(action, ctx)
        turn.slots = ctx.slots
        if ctx.language != turn.language and ctx.language in i18n.LANGUAGES:
            turn.language = ctx.language
            self._remember_language(turn)
        return outcome

    def _reset_retries(self, turn: Turn) -> None:
        retries = turn.counters.get("retries") or {}
        prefix = f"{turn.flow}.{turn.node}."
        turn.counters["retries"] = {k: v for k, v in retries.items() if not k.startswith(prefix)}

    def _other_party(self, call: CallRecord) -> phone.ParsedNumber | None:
        outbound = (call.direction or "").startswith("outbound")
        return phone.parse_caller(call.to_number if outbound else call.from_number)

    def hotline_of(self, call: AnyCall) -> Hotline:
        outbound = (call.direction or "").startswith("outbound")
        return self.hotlines.for_number(call.from_number if outbound else call.to_number)

    def _contact(self, turn: Turn) -> Any:
        if not turn._contact_loaded:
            party = self._other_party(turn.call)
            found = party and self.contacts and self.contacts.find(turn.session, party.e164)
            turn._contact = found or None
            turn._contact_loaded = True
        return turn._contact

    def _first_language(self, turn: Turn, explicit: str | None) -> str:
        contact = self._contact(turn)
        for candidate in (explicit, getattr(contact, "language", None), turn.hotline.language):
            if candidate in i18n.LANGUAGES:
                return str(candidate)
        party = self._other_party(turn.call)  # only a hotline without a language needs it
        return i18n.language_for(party.region if party else None, default=self.settings.default_language)

    def _zone_name(self, turn: Turn) -> str:
        """The other party's zone: their contact's, else their number's (the hotline's zone when
        the number spans several and includes it), else the hotline's."""
        contact = self._contact(turn)
        if getattr(contact, "time_zone", None):
            return str(contact.time_zone)
        party = self._other_party(turn.call)
        zones = party.time_zones if party else ()
        if len(zones) == 1:
            return zones[0]
        if turn.hotline.time_zone in zones or not zones:
            return turn.hotline.time_zone
        return zones[0]

    def _remember_language(self, turn: Turn) -> None:
        """Keep the caller's language with their contact, so later calls and callbacks use it."""
        turn.call.language = turn.language
        contact = self._contact(turn)
        if contact is None:
            party = self._other_party(turn.call)
            if party is None or self.contacts is None:
                return
            contact = self.contacts.get_or_create(turn.session, party.e164, source=f"call:{turn.call.call_sid}",
                                                  at=turn.now, simulated=turn.call.simulated)
            turn._contact = contact
        if turn.call.simulated and not contact.simulated:
            return  # a softphone call may use anyone's number: it changes no real contact
        contact.language = turn.language

    def _operator_number(self, turn: Turn) -> str | None:
        operator = turn.hotline.operator or {}
        return operator.get("number") or self.settings.operator_number


def _as_record(call: AnyCall) -> tuple[CallRecord, Call | None]:
    """The turn's plain record of the call, and the route's ORM object if it gave one."""
    if isinstance(call, CallRecord):
        return call, None
    return CallRecord.of(call), call


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def get_engine() -> Engine:
    return current_app.extensions["cortese.flows"]


def start_flow(session: Session, call: Call, flow: str, *, language: str | None = None,
               slots: Mapping[str, Any] | None = None, params: Mapping[str, str] | None = None,
               contact: Any = None, now: datetime | None = None) -> Twiml:
    """Begin `flow` on `call` from another package's route."""
    return get_engine().start(session, call, flow, now=now or clock_now(), params=params,
                              language=language, slots=slots, contact=contact)
