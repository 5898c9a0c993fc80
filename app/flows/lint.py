"""Graph and courtesy checks over parsed flows (syntax problems are found by the loader)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator

from app.flows.actions import Actions
from app.flows.model import (
    DIAL_RESULTS,
    EXIT_KINDS,
    PLACER_REASON_SLOT,
    QUEUE_RESULTS,
    Flow,
    FlowSet,
    LintError,
    Node,
)
from app.flows.render import FILTERS
from app.i18n import LANGUAGES

PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\|([a-zA-Z_]+))?\}")
OPENER_CHOICES = ("good_time", "later", "opt_out")
OPT_OUT_ACTION = "record_opt_out"


def lint_flowset(flowset: FlowSet, actions: Actions) -> list[LintError]:
    errors: list[LintError] = []
    for flow in flowset.flows.values():
        errors.extend(lint_flow(flow, flowset, actions))
    return errors


def lint_flow(flow: Flow, flowset: FlowSet, actions: Actions) -> list[LintError]:
    errors: list[LintError] = []
    for node in flow.nodes.values():
        errors.extend(LintError(flow.file, node.name, p) for p in _node_problems(node, flow, flowset, actions))
    errors.extend(LintError(flow.file, None, p) for p in _resume_problems(flow))
    if flow.start in flow.nodes:
        errors.extend(_graph_problems(flow))
        if flow.kind == "outbound":
            errors.extend(LintError(flow.file, n, p) for n, p in _opener_problems(flow))
    return errors


def _node_problems(node: Node, flow: Flow, flowset: FlowSet, actions: Actions) -> Iterator[str]:
    for label, target in node.targets().items():
        if target not in flow.nodes:
            yield f"transition '{label}' goes to unknown node '{target}'"
    yield from _prompt_problems(node)
    if node.kind == "say" and not isinstance(node.next, str):
        yield "a say node needs 'next: <node>'"
    if node.kind in (*EXIT_KINDS, "ask") and node.next is not None:
        yield f"a {node.kind} node takes no 'next'"
    if node.kind == "flow" and node.flow not in flowset.flows:
        yield f"jumps to unknown flow '{node.flow}'"
    if node.kind == "resume" and not any(f.resume for f in flowset.flows.values()):
        yield f"goes on with the flow in slot '{node.resume}', but no outbound flow has a 'resume' node"
    if node.kind == "action":
        yield from _action_problems(node, actions)
    if node.kind == "transfer":
        expected = QUEUE_RESULTS if node.transfer_kind == "queue" else DIAL_RESULTS
        yield from _outcome_problems(node, expected, "transfer")
    if node.kind == "record" and not isinstance(node.next, str):
        yield "a record node needs 'next: <node>'"
    if node.ask is not None and node.ask.capture is not None and "speech" in node.ask.capture.input:
        missing = [lang for lang in LANGUAGES if not node.ask.hints.get(lang)]
        if missing:
            yield (f"a question answered in words tells the recogniser what to expect: 'hints' "
                   f"(words or \"@concept\"s) missing for {', '.join(missing)}")
    if node.ask is not None and node.ask.invalid is not None:
        then = flow.nodes.get(node.ask.invalid.then)
        if then is not None and then.kind == "end":
            yield ("after repeated invalid input the caller must be offered something (menu, "
                   "operator, callback), not hung up on: 'invalid.then' is an end node")


def _action_problems(node: Node, actions: Actions) -> Iterator[str]:
    registered = actions.get(node.action or "")
    if registered is None:
        yield f"unknown action '{node.action}'"
        return
    yield from _outcome_problems(node, registered.outcomes, f"action '{node.action}'")


def _outcome_problems(node: Node, outcomes: Iterable[str], what: str) -> Iterator[str]:
    if isinstance(node.next, str):
        return
    if not isinstance(node.next, dict):
        yield f"{what} needs 'next' (a node, or one node per outcome)"
        return
    missing = [o for o in outcomes if o not in node.next]
    extra = [o for o in node.next if o not in outcomes]
    if missing:
        yield f"{what}: no transition for outcome(s) {', '.join(missing)}"
    if extra:
        yield f"{what}: unknown outcome(s) {', '.join(extra)} (it returns {', '.join(outcomes)})"


def _prompt_problems(node: Node) -> Iterator[str]:
    prompts = [node.say] if node.say else []
    if node.ask is not None:
        prompts.append(node.ask.say)
    for prompt in prompts:
        for text in prompt.values():
            for match in PLACEHOLDER.finditer(text):
                if match.group(2) and match.group(2) not in FILTERS:
                    yield f"unknown filter '|{match.group(2)}' in {match.group(0)} (known: {', '.join(FILTERS)})"


def _resume_problems(flow: Flow) -> Iterator[str]:
    if flow.resume is None:
        return
    if flow.kind != "outbound" or flow.placed_by != "campaign":
        yield "only a campaign's outbound flow has a 'resume' node (where a booked callback goes on with it)"
    node = flow.nodes.get(flow.resume)
    if node is None:
        yield f"resume node '{flow.resume}' does not exist"
    elif flow.resume == flow.start:
        yield "'resume' is where the script goes on after the callback's own opener, not the opener itself"


def _graph_problems(flow: Flow) -> list[LintError]:
    errors = []
    reachable = _reach(flow, [flow.start], forward=True)
    for name in flow.nodes:
        if name not in reachable:
            errors.append(LintError(flow.file, name, "unreachable: no transition leads here"))
    exits = [n.name for n in flow.nodes.values() if n.kind in EXIT_KINDS]
    finishing = _reach(flow, exits, forward=False)
    for name in flow.nodes:
        if name not in finishing:
            errors.append(LintError(flow.file, name, "cannot reach an end (goodbye) or another flow"))
    return errors


def _reach(flow: Flow, roots: list[str], *, forward: bool) -> set[str]:
    edges: dict[str, set[str]] = {name: set() for name in flow.nodes}
    for node in flow.nodes.values():
        for target in node.targets().values():
            if target in edges:
                if forward:
                    edges[node.name].add(target)
                else:
                    edges[target].add(node.name)
    seen = set(roots)
    queue = deque(roots)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _opener_problems(flow: Flow) -> Iterator[tuple[str | None, str]]:
    """Outbound: identity + "is this a good time?" first, with a way to say "never again"."""
    node = flow.nodes[flow.start]
    seen: set[str] = set()
    while node.kind == "action" and node.name not in seen:  # silent lookups may come first
        seen.add(node.name)
        targets = list(node.targets().values())
        if not targets or targets[0] not in flow.nodes:
            break
        node = flow.nodes[targets[0]]
    if node.ask is None or node.ask.choices == ():
        yield node.name, ("an outbound call must open with an ask that says who is calling and "
                          "asks whether this is a good time (choices good_time, later, opt_out)")
        return
    reason = PLACER_REASON_SLOT.get(flow.placed_by or "")
    for lang, text in node.ask.say.items():
        if "{company}" not in text:
            yield node.name, f"the opener must say who is calling: '{{company}}' missing in '{lang}'"
        if reason and f"{{{reason}}}" not in text:
            yield node.name, (f"a {flow.placed_by}'s opener must say why we call: "
                              f"'{{{reason}}}' missing in '{lang}'")
    names = {c.name: c for c in node.ask.choices}
    for wanted in OPENER_CHOICES:
        if wanted not in names:
            yield node.name, f"the opener needs a '{wanted}' choice"
    opt_out = names.get("opt_out")
    if opt_out is not None and not _leads_to_action(flow, opt_out.next, OPT_OUT_ACTION):
        yield node.name, f"the opt_out choice must lead to the '{OPT_OUT_ACTION}' action"


def _leads_to_action(flow: Flow, start: str, action: str) -> bool:
    return any(flow.nodes[n].action == action for n in _reach(flow, [start], forward=True) if n in flow.nodes)
