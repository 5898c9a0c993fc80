"""Flows as typed data: what a flows/*.yaml file becomes once it has been read.

Parsing never raises on a bad file: it records every problem as a LintError (file, node,
message) and keeps what it could read, so `cortese flows lint` reports all problems at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.i18n import LANGUAGES

KINDS = ("inbound", "outbound", "sub")
# Who places an outbound flow's call, which decides what its opener may claim: a campaign says
# the campaign's own reason ({reason}); a callback says what the callee asked us to call about
# ({callback_about}). A campaign must never run a callback's opener ("you asked us to call").
PLACED_BY = ("campaign", "callback")
# The slot an opener must say, per placer: a call that does not say why it comes is not made.
PLACER_REASON_SLOT = {"campaign": "reason", "callback": "callback_about"}
NODE_KINDS = ("ask", "say", "action", "flow", "resume", "transfer", "record", "end")
# Nodes that leave the flow: the call ends, or goes on in another flow.
EXIT_KINDS = ("end", "flow", "resume")
INPUTS = ("dtmf", "speech", "dtmf speech")
# What Twilio posts to a transfer's action: QueueResult for <Enqueue>, DialCallStatus for <Dial>.
QUEUE_RESULTS = ("bridged", "leave", "redirected", "hangup", "queue-full", "error", "system-error")
DIAL_RESULTS = ("completed", "answered", "busy", "no-answer", "failed", "canceled")

Prompt = Mapping[str, str]  # language -> text


@dataclass(frozen=True)
class LintError:
    file: str
    node: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: node '{self.node}'" if self.node else self.file
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Choice:
    name: str
    dtmf: str | None
    speech: Mapping[str, tuple[str, ...]]
    next: str
    concepts: tuple[str, ...] = ()  # the vocabulary concepts ("@yes") its words came from
    label: Prompt | None = None  # how a short "this or that?" question names it
    # A catch-all ("information"): its words are the generic ones callers put before what they
    # want ("I wanted to ask when my order comes"), so it is heard only when no other choice is.
    general: bool = False


@dataclass(frozen=True)
class Retry:
    reprompt: int
    then: str


@dataclass(frozen=True)
class Capture:
    slot: str
    input: str
    next: str
    max_digits: int | None = None
    finish_on_key: str | None = None


@dataclass(frozen=True)
class Ask:
    say: Prompt
    input: str
    choices: tuple[Choice, ...]
    capture: Capture | None
    no_input: Retry | None
    invalid: Retry | None
    timeout: int = 5
    # Words Twilio's recogniser should expect, per language, besides the choices' own words
    # (free-text questions have no choices: a fault description, a time, an FAQ question).
    hints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Said before the question, each in its own language's voice, to callers of every other
    # language ("For English, press star." read in English to an Italian caller): a text in a
    # language is only understood in that language's voice.
    other_languages: Prompt = field(default_factory=dict)

    @property
    def num_digits(self) -> int | None:
        if self.capture is not None:
            return None if self.capture.finish_on_key else self.capture.max_digits
        keys = [c.dtmf for c in self.choices if c.dtmf]
        return 1 if keys and all(len(k) == 1 for k in keys) else None


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    say: Prompt | None = None  # say / end text
    next: str | Mapping[str, str] | None = None
    ask: Ask | None = None
    action: str | None = None
    flow: str | None = None
    resume: str | None = None  # the slot that names the outbound flow to go on with, at its `resume`
    transfer: Mapping[str, Any] | None = None
    record: Mapping[str, Any] | None = None

    def targets(self) -> dict[str, str]:
        """Every transition out of this node: label -> node name (jumps to flows excluded)."""
        out: dict[str, str] = {}
        if isinstance(self.next, str):
            out["next"] = self.next
        elif isinstance(self.next, Mapping):
            out.update({str(k): str(v) for k, v in self.next.items()})
        if self.ask is not None:
            for choice in self.ask.choices:
                out[choice.name] = choice.next
            if self.ask.capture is not None:
                out[self.ask.capture.slot] = self.ask.capture.next
            if self.ask.no_input is not None:
                out["no input"] = self.ask.no_input.then
            if self.ask.invalid is not None:
                out["invalid"] = self.ask.invalid.then
        return out

    @property
    def transfer_kind(self) -> str | None:
        if self.transfer is None:
            return None
        return "queue" if "queue" in self.transfer else "dial"

    def next_for(self, outcome: str) -> str | None:
        if isinstance(self.next, str):
            return self.next
        if isinstance(self.next, Mapping):
            return self.next.get(outcome)
        return None


@dataclass
class Flow:
    name: str
    kind: str
    start: str
    nodes: dict[str, Node]
    file: str
    description: str = ""
    # Outbound flows: where a callback the callee booked from this flow picks the script up
    # again, once the callback's own opener has asked whether it is a good time.
    resume: str | None = None
    # Outbound flows: "campaign" or "callback" (PLACED_BY), who may place this call.
    placed_by: str | None = None


@dataclass
class FlowSet:
    flows: dict[str, Flow] = field(default_factory=dict)
    errors: list[LintError] = field(default_factory=list)
    vocab: Mapping[str, Any] = field(default_factory=dict)  # language -> vocab.Vocabulary
    # The other word files read with the flows: folder ("times") -> language -> what its
    # package made of the file (app.flows.words).
    words: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def get(self, name: str) -> Flow | None:
        return self.flows.get(name)

    def placed_by(self, placer: str) -> list[str]:
        """The names of the outbound flows written for `placer` (campaign or callback), sorted."""
        return sorted(f.name for f in self.flows.values() if f.kind == "outbound" and f.placed_by == placer)

    def node(self, flow: str | None, node: str | None) -> Node | None:
        found = self.flows.get(flow or "")
        return found.nodes.get(node or "") if found else None


def is_prompt(value: Any) -> bool:
    return isinstance(value, Mapping) and all(lang in value for lang in LANGUAGES)
