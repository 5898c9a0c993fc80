"""Mermaid diagrams of flows, drawn from the same parsed data the engine runs."""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.flows.model import Flow

SHAPES = {
    "ask": ('{{"', '"}}'), "say": ('["', '"]'), "action": ('[["', '"]]'), "flow": ('>"', '"]'), "resume": ('>"', '"]'),
    "transfer": ('[/"', '"/]'), "record": ('[("', '")]'), "end": ('(["', '"])'),
}


def _id(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _label(text: str) -> str:
    return text.replace('"', "'").replace("#", "#35;")  # Mermaid reads #...; as an entity


EXCERPT = 60  # characters of a prompt shown in its node: enough to recognise it


def mermaid(flow: Flow, language: str = "en") -> str:
    """A `flowchart TD` of `flow`: one shape per node kind, one labelled edge per transition;
    say, ask and end nodes show the start of what the caller hears, in `language`."""
    lines = ["flowchart TD", f"  %% {flow.file} ({flow.kind}, prompts in {language})"]
    for node in flow.nodes.values():
        left, right = SHAPES[node.kind]
        detail = {
            "action": node.action, "flow": f"to flow {node.flow}", "transfer": _transfer(node.transfer),
            "resume": f"on with the flow in slot {node.resume}",
            "record": "record",
        }.get(node.kind) or _excerpt(node.ask.say if node.ask else node.say, language)
        text = node.name if not detail else f"{node.name}: {detail}"
        lines.append(f"  {_id(node.name)}{left}{_label(text)}{right}")
    lines.append(f"  start((start)) --> {_id(flow.start)}")
    for node in flow.nodes.values():
        for label, target in node.targets().items():
            if target in flow.nodes:
                edge = f" -->|{_label(label)}| " if label != "next" else " --> "
                lines.append(f"  {_id(node.name)}{edge}{_id(target)}")
    return "\n".join(lines) + "\n"


def _excerpt(prompt: Mapping[str, str] | None, language: str) -> str:
    prompt = prompt or {}
    text = " ".join((prompt.get(language) or prompt.get("en") or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1].rstrip() + "…"


def _transfer(spec: object) -> str:
    if isinstance(spec, dict):
        if "queue" in spec:
            return f"queue {spec['queue']}"
        return f"dial {spec.get('number') or 'operator'}"
    return "transfer"
