"""Which kind of call an outbound call is, for the law: automated (artificial voice) or live.

Laws treat a call that speaks with an artificial or prerecorded voice apart from a call made by
a person: the US (47 CFR 64.1200(a)(2)/(a)(3)), Canada (ADAD rules), the UK (PECR reg. 19),
Italy (Codice privacy art. 130(1)) and the Netherlands (Telecommunicatiewet art. 11.7(1)) ask
for prior consent before one is used. A call is automated when the callee can hear anything
that is not live speech: an opener read by text-to-speech, or a spoken message left on an
answering machine. It is live only when its flow hands the callee straight to an operator
(a transfer as the first node, with nothing said before) *and* machines are hung up on.

The kind is derived, never configured: a campaign cannot be marked "live" while its flow
speaks with a synthetic voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.flows.model import Flow

AUTOMATED = "automated"
LIVE = "live"
# Every callback opens with flows/callback_opener.yaml and leaves a spoken message on a
# machine (app/callbacks/routes.py).
CALLBACK_FLOW = "callback_opener"
CALLBACK_MACHINE_POLICY = "message"


@dataclass(frozen=True)
class CallKind:
    automated: bool
    why: str

    @property
    def name(self) -> str:
        return AUTOMATED if self.automated else LIVE


def call_kind(flow: Flow | None, machine_policy: str) -> CallKind:
    """The kind of call a flow placed with this machine policy makes (see module doc)."""
    if flow is None:
        # Unknown flow: we cannot show that no synthetic voice is used, so assume it is.
        return CallKind(True, "the flow is unknown, so an artificial voice cannot be ruled out")
    start = flow.nodes.get(flow.start)
    live_opener = start is not None and start.kind == "transfer" and not start.say
    if not live_opener:
        return CallKind(True, f"flow {flow.name} opens with a text-to-speech assistant (artificial voice)")
    if machine_policy != "hangup":
        return CallKind(True, f"answering machines get a spoken message (machine policy {machine_policy!r}): "
                              "a prerecorded/artificial voice")
    return CallKind(False, f"flow {flow.name} hands the callee straight to an operator and machines are hung up on")


def flow_named(app: Any, name: str) -> Flow | None:
    """The loaded flow `name` of a Flask app (None when flows are not loaded or it is unknown)."""
    engine = app.extensions.get("cortese.flows")
    return engine.flows.get(name) if engine is not None else None


def campaign_call_kind(app: Any, campaign: Any) -> CallKind:
    """The kind of call a campaign makes, from its flow and machine policy."""
    return call_kind(flow_named(app, campaign.flow), campaign.machine_policy)


def callback_call_kind(app: Any) -> CallKind:
    """The kind of call a callback is: its fixed opener flow and spoken machine message."""
    return call_kind(flow_named(app, CALLBACK_FLOW), CALLBACK_MACHINE_POLICY)
