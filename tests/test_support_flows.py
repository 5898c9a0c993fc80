"""The support flows as data: every transition lands, every action exists with its outcomes
covered, every prompt speaks it/nl/en, every node can reach an end or another flow.

A structural check of our own files, independent of the engine's linter (which checks more)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.support.handlers import HANDLERS as ACTIONS
from app.yamlfile import load_yaml

FLOWS = Path(__file__).resolve().parent.parent / "flows"
SUPPORT_FLOWS = ["support_hotline", "support_menu", "faq", "fault_report", "warranty_claim",
                 "delivery_status", "operator", "complaint"]
# Flows other engineers own that ours may jump to.
OTHERS = {"callback_booking", "inbound"}


def _load(name: str) -> dict:
    return load_yaml((FLOWS / f"{name}.yaml").read_text(encoding="utf-8"))


def _targets(node: dict) -> list[str]:
    out: list[str] = []
    nxt = node.get("next")
    if isinstance(nxt, str):
        out.append(nxt)
    elif isinstance(nxt, dict):
        out.extend(nxt.values())
    ask = node.get("ask") or {}
    for choice in (ask.get("choices") or {}).values():
        out.append(choice["next"])
    if ask.get("capture"):
        out.append(ask["capture"]["next"])
    for key in ("no_input", "invalid"):
        if ask.get(key):
            out.append(ask[key]["then"])
    if node.get("return_to"):
        out.append(node["return_to"])
    return out


def _prompts(node: dict) -> list[dict]:
    found = []
    for holder in (node, node.get("ask") or {}):
        if isinstance(holder.get("say"), dict):
            found.append(holder["say"])
    if isinstance(node.get("end"), dict):
        found.append(node["end"])
    return found


@pytest.mark.parametrize("name", SUPPORT_FLOWS)
def test_flow_is_well_formed(name):
    flow = _load(name)
    nodes = flow["nodes"]
    assert flow["flow"] == name and flow["start"] in nodes
    assert flow["kind"] in ("inbound", "sub")
    for node_name, node in nodes.items():
        for target in _targets(node):
            assert target in nodes, f"{name}.{node_name} -> {target}: no such node"
        for prompt in _prompts(node):
            assert set(prompt) == {"it", "nl", "en"}, f"{name}.{node_name}: languages {set(prompt)}"
            assert all(isinstance(v, str) and v.strip() for v in prompt.values())
        if "action" in node:
            assert node["action"] in ACTIONS, f"{name}.{node_name}: unknown action {node['action']}"
            outcomes = set(ACTIONS[node["action"]][1])
            assert set(node["next"]) == outcomes, f"{name}.{node_name}: next must cover {outcomes}"
        if "flow" in node:
            assert node["flow"] in SUPPORT_FLOWS or node["flow"] in OTHERS
        if "ask" in node:
            ask = node["ask"]
            assert ask.get("no_input") and ask.get("invalid"), f"{name}.{node_name}: unhandled silence"
            assert bool(ask.get("choices")) != bool(ask.get("capture"))
            for choice in (ask.get("choices") or {}).values():
                speech = choice.get("speech") or {}
                if isinstance(speech, str):  # a vocabulary concept, for every language
                    assert speech.startswith("@"), f"{name}.{node_name}: {speech!r} is no concept"
                    continue
                assert set(speech) == {"it", "nl", "en"}, f"{name}.{node_name}: speech words per language"
                assert all(isinstance(w, str) for words in speech.values() for w in words)


@pytest.mark.parametrize("name", SUPPORT_FLOWS)
def test_every_node_reaches_an_end_or_another_flow(name):
    nodes = _load(name)["nodes"]
    exits = {n for n, node in nodes.items() if "end" in node or "flow" in node or "transfer" in node}
    reaching = set(exits)
    changed = True
    while changed:
        changed = False
        for n, node in nodes.items():
            if n not in reaching and any(t in reaching for t in _targets(node)):
                reaching.add(n)
                changed = True
    assert reaching == set(nodes), f"stuck nodes: {set(nodes) - reaching}"


@pytest.mark.parametrize("name", SUPPORT_FLOWS)
def test_dtmf_keys_are_unique_per_menu(name):
    for node_name, node in _load(name)["nodes"].items():
        choices = (node.get("ask") or {}).get("choices") or {}
        keys = [c["dtmf"] for c in choices.values() if "dtmf" in c]
        assert len(keys) == len(set(keys)), f"{name}.{node_name}: duplicate keys {keys}"


@pytest.mark.parametrize("name", SUPPORT_FLOWS)
def test_references_are_read_digit_by_digit(name):
    text = (FLOWS / f"{name}.yaml").read_text(encoding="utf-8")
    for slot in ("ticket_ref", "claim_ref", "complaint_ref", "chase_ref", "open_order", "order_number"):
        for match in re.finditer(r"\{" + slot + r"(\|[a-z]+)?\}", text):
            assert match.group(1) == "|digits", f"{name}: {match.group(0)} must use |digits"
