"""Read flows/*.yaml into a FlowSet and lint it: the same code backs start-up, `cortese flows
lint` and the tests, so a flow that would strand a caller never reaches a phone line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from app import prompts
from app.flows import vocab as vocabulary
from app.flows.actions import Actions
from app.flows.lint import lint_flowset
from app.flows.model import (
    INPUTS,
    KINDS,
    NODE_KINDS,
    PLACED_BY,
    Ask,
    Capture,
    Choice,
    Flow,
    FlowSet,
    LintError,
    Node,
    Retry,
)
from app.i18n import LANGUAGES
from app.yamlfile import load_yaml

NOT_FLOWS = {"hotlines"}  # YAML files in flows/ that configure rather than describe a flow


class FlowError(RuntimeError):
    """Flows that must not run; the message lists every problem, one per line."""

    def __init__(self, errors: list[LintError]) -> None:
        self.errors = errors
        super().__init__("invalid call flows:\n" + "\n".join(f"  {e}" for e in errors))


def load_flows(directory: Path, actions: Actions | None = None) -> FlowSet:
    """Parse every flow in `directory`; given the app's `actions`, also lint (an action node is
    checked against them). Without them the flows are only parsed (listing, drawing)."""
    flowset = FlowSet()
    if not directory.is_dir():
        flowset.errors.append(LintError(str(directory), None, "flows directory not found"))
        return flowset
    for path in sorted(directory.glob("*.yaml")):
        if path.stem in NOT_FLOWS:
            continue
        flow = _read_flow(path, flowset.errors)
        if flow is None:
            continue
        if flow.name in flowset.flows:
            flowset.errors.append(LintError(flow.file, None, f"flow {flow.name!r} defined twice"))
        flowset.flows[flow.name] = flow
    _use_vocabulary(flowset, directory / "vocab")
    if actions is not None:
        flowset.errors.extend(lint_flowset(flowset, actions))
        # The texts said outside the flows (machine messages, the desk, read-backs), from this
        # directory's prompts/: the same keys and placeholders in every language, or a call
        # would fail mid-sentence.
        flowset.errors.extend(LintError(f"flows/{prompts.FOLDER}", None, p)
                              for p in prompts.check(directory / prompts.FOLDER))
    return flowset


def _use_vocabulary(flowset: FlowSet, directory: Path) -> None:
    """Replace each "@concept" in choices and hints by that concept's phrases per language."""
    try:
        flowset.vocab = vocabulary.load(directory)
    except vocabulary.VocabError as exc:
        flowset.errors.append(LintError(str(directory), None, str(exc)))
        return
    for flow in flowset.flows.values():
        for name, node in list(flow.nodes.items()):
            if node.ask is None:
                continue

            def expand(words: Mapping[str, tuple[str, ...]], what: str,
                       used: list[str], flow: Flow = flow, name: str = name) -> dict[str, tuple[str, ...]]:
                out: dict[str, tuple[str, ...]] = {}
                for lang, given in words.items():
                    concepts = flowset.vocab.get(lang)
                    phrases: list[str] = []
                    for word in given:
                        if not word.startswith("@"):
                            phrases.append(word)
                            continue
                        found = concepts.concepts.get(word[1:]) if concepts else None
                        if not found:
                            flowset.errors.append(LintError(flow.file, name, f"{what}: no vocabulary concept "
                                                            f"'{word}' for '{lang}' in {directory.name}/"))
                            continue
                        phrases.extend(found)
                        used.append(word[1:])
                    out[lang] = tuple(dict.fromkeys(phrases))
                return out

            choices = []
            for choice in node.ask.choices:
                used: list[str] = []
                speech = expand(choice.speech, f"choice '{choice.name}'", used)
                choices.append(replace(choice, speech=speech, concepts=tuple(dict.fromkeys(used))))
            ask = replace(node.ask, choices=tuple(choices), hints=expand(node.ask.hints, "hints", []))
            flow.nodes[name] = replace(node, ask=ask)


def load_valid_flows(directory: Path, actions: Actions) -> FlowSet:
    flowset = load_flows(directory, actions)
    if flowset.errors:
        raise FlowError(flowset.errors)
    return flowset


def _read_flow(path: Path, errors: list[LintError]) -> Flow | None:
    file = f"flows/{path.name}"
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        errors.append(LintError(file, None, f"not valid YAML: {exc}"))
        return None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("nodes"), Mapping):
        errors.append(LintError(file, None, "a flow needs 'flow', 'kind', 'start' and a 'nodes' mapping"))
        return None
    name = str(raw.get("flow") or "")
    if name != path.stem:
        errors.append(LintError(file, None, f"'flow: {name}' must match the file name '{path.stem}'"))
        name = path.stem
    kind = str(raw.get("kind") or "")
    if kind not in KINDS:
        errors.append(LintError(file, None, f"kind {kind!r} must be one of {', '.join(KINDS)}"))
    start = str(raw.get("start") or "")
    nodes: dict[str, Node] = {}
    for node_name, spec in raw["nodes"].items():
        node = _read_node(file, str(node_name), spec, errors)
        if node is not None:
            nodes[node.name] = node
    if start not in nodes:
        errors.append(LintError(file, None, f"start node {start!r} does not exist"))
    resume = raw.get("resume")
    if resume is not None and not isinstance(resume, str):
        errors.append(LintError(file, None, "'resume' must name a node"))
        resume = None
    placed_by = _read_placed_by(file, kind, raw.get("placed_by"), errors)
    return Flow(name=name, kind=kind, start=start, nodes=nodes, file=file,
                description=str(raw.get("description") or ""), resume=resume, placed_by=placed_by)


def _read_placed_by(file: str, kind: str, value: Any, errors: list[LintError]) -> str | None:
    if kind != "outbound":
        if value is not None:
            errors.append(LintError(file, None, "'placed_by' is for outbound flows only"))
        return None
    if value not in PLACED_BY:
        errors.append(LintError(file, None, f"an outbound flow says who places its calls: "
                                            f"'placed_by: {' or '.join(PLACED_BY)}' (found {value!r})"))
        return None
    return str(value)


def _read_node(file: str, name: str, spec: Any, errors: list[LintError]) -> Node | None:
    def err(problem: str) -> None:
        errors.append(LintError(file, name, problem))

    if not isinstance(spec, Mapping):
        err("a node must be a mapping")
        return None
    kinds = [k for k in NODE_KINDS if k in spec]
    if len(kinds) != 1:
        err(f"a node has exactly one of {', '.join(NODE_KINDS)} (found {kinds or 'none'})")
        return None
    kind = kinds[0]
    unknown = set(spec) - {kind, "next", "description"}
    if unknown:
        err(f"unknown key(s) {sorted(unknown)}")
    nxt = spec.get("next")
    if nxt is not None and not isinstance(nxt, (str, Mapping)):
        err("'next' must be a node name or a mapping of outcome -> node")
        nxt = None
    if isinstance(nxt, Mapping):
        nxt = {str(k): str(v) for k, v in nxt.items()}
    value = spec[kind]
    if kind in ("say", "end"):
        return Node(name, kind, say=_prompt(value, err, kind), next=nxt)
    if kind == "ask":
        return Node(name, kind, ask=_read_ask(value, err), next=nxt)
    if kind == "action":
        return Node(name, kind, action=str(value), next=nxt)
    if kind == "flow":
        return Node(name, kind, flow=str(value), next=nxt)
    if kind == "resume":
        if not isinstance(value, str) or not value:
            err("resume needs the name of the slot that names the flow to go on with")
            return None
        return Node(name, kind, resume=value, next=nxt)
    if not isinstance(value, Mapping):
        err(f"'{kind}' must be a mapping")
        return None
    if kind == "transfer":
        if not any(k in value for k in ("queue", "number", "operator")):
            err("transfer needs 'queue', 'number' or 'operator: true'")
        return Node(name, kind, transfer=dict(value), next=nxt)
    if not value.get("slot"):
        err("record needs a 'slot' for the recording URL")
    return Node(name, kind, record=dict(value), next=nxt)


def _prompt(value: Any, err: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        err(f"'{what}' must map each language ({', '.join(LANGUAGES)}) to a text")
        return {}
    texts = {str(k): v for k, v in value.items()}
    for lang in LANGUAGES:
        text = texts.get(lang)
        if not isinstance(text, str) or not text.strip():
            err(f"'{what}' has no text for language '{lang}'")
    extra = set(texts) - set(LANGUAGES)
    if extra:
        err(f"'{what}' has unknown language(s) {sorted(extra)}")
    return {k: v for k, v in texts.items() if isinstance(v, str)}


def _read_ask(value: Any, err: Any) -> Ask | None:
    if not isinstance(value, Mapping):
        err("'ask' must be a mapping")
        return None
    unknown = set(value) - {"say", "input", "choices", "capture", "no_input", "invalid", "timeout", "hints",
                            "other_languages"}
    if unknown:
        err(f"ask: unknown key(s) {sorted(unknown)}")
    input_ = str(value.get("input") or "dtmf speech")
    if input_ not in INPUTS:
        err(f"ask: input {input_!r} must be one of {', '.join(INPUTS)}")
    choices = tuple(_read_choice(str(n), c, input_, err) for n, c in (value.get("choices") or {}).items())
    capture = _read_capture(value.get("capture"), err)
    if bool(choices) == bool(capture):
        err("ask needs either 'choices' or 'capture' (not both)")
    keys = [c.dtmf for c in choices if c.dtmf]
    if len(keys) != len(set(keys)):
        err(f"ask: the same key is used for two choices ({keys})")
    other = value.get("other_languages")
    if other is not None and "*" in keys:
        err("ask: 'other_languages' offers the language menu on *, but a choice uses *")
    return Ask(
        say=_prompt(value.get("say"), err, "ask.say"), input=input_, choices=choices, capture=capture,
        no_input=_read_retry(value.get("no_input"), "no_input", err),
        invalid=_read_retry(value.get("invalid"), "invalid", err),
        timeout=int(value.get("timeout") or 5),
        hints=_words_per_language(value.get("hints"), "ask: hints", err),
        other_languages=_prompt(other, err, "ask.other_languages") if other is not None else {},
    )


def _words_per_language(value: Any, what: str, err: Any) -> dict[str, tuple[str, ...]]:
    """`"@concept"` or a list of them (every language), or language -> list of words and
    "@concept"s."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {lang: (value,) for lang in LANGUAGES}
    if isinstance(value, list) and all(isinstance(v, str) and v.startswith("@") for v in value):
        return {lang: tuple(value) for lang in LANGUAGES}
    if not isinstance(value, Mapping):
        err(f"{what} must map each language to a list of words")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for lang, given in value.items():
        words = given if isinstance(given, list) else [given]
        if any(not isinstance(w, str) for w in words):
            err(f"{what}: words for '{lang}' must be text (quote yes/no/on/off)")
        out[str(lang)] = tuple(str(w) for w in words if isinstance(w, str))
    return out


def _read_choice(name: str, spec: Any, input_: str, err: Any) -> Choice:
    if not isinstance(spec, Mapping) or not spec.get("next"):
        err(f"choice '{name}' needs a 'next'")
        spec = spec if isinstance(spec, Mapping) else {}
    dtmf = spec.get("dtmf")
    if dtmf is not None and (not isinstance(dtmf, str) or not all(ch in "0123456789*#" for ch in dtmf)):
        err(f"choice '{name}': dtmf must be quoted keys like \"1\" (got {dtmf!r})")
        dtmf = str(dtmf)
    speech = _words_per_language(spec.get("speech"), f"choice '{name}': speech", err)
    if "speech" in input_:
        missing = [lang for lang in LANGUAGES if not speech.get(lang)]
        if missing:
            err(f"choice '{name}': no speech words for {', '.join(missing)}")
    if dtmf is None and not speech:
        err(f"choice '{name}' has neither a key nor words")
    label = _prompt(spec["label"], err, f"choice '{name}': label") if "label" in spec else None
    return Choice(name=name, dtmf=dtmf, speech=speech, next=str(spec.get("next") or ""), label=label)


def _read_capture(spec: Any, err: Any) -> Capture | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or not spec.get("slot") or not spec.get("next"):
        err("capture needs 'slot' and 'next'")
        return None
    return Capture(slot=str(spec["slot"]), input=str(spec.get("input") or "dtmf speech"),
                   next=str(spec["next"]), max_digits=spec.get("max_digits"),
                   finish_on_key=spec.get("finish_on_key"))


def _read_retry(spec: Any, what: str, err: Any) -> Retry | None:
    if spec is None:
        err(f"ask without '{what}' handling: a caller who {'says nothing' if what == 'no_input' else 'is not understood'} would be stranded")
        return None
    if not isinstance(spec, Mapping) or not spec.get("then"):
        err(f"'{what}' needs 'then' (where to go after the reprompts)")
        return None
    reprompt = spec.get("reprompt", 1)
    if not isinstance(reprompt, int) or reprompt < 0 or reprompt > 5:
        err(f"'{what}.reprompt' must be a whole number from 0 to 5")
        reprompt = 1
    return Retry(reprompt=reprompt, then=str(spec["then"]))
