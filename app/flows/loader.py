"""Read flows/*.yaml into a FlowSet and lint it: the same code backs start-up, `cortese flows
lint` and the tests, so a flow that would strand a caller never reaches a phone line. The
word files beside the flows (vocab/, and those the packages read: app.flows.words) are read
and checked with them, from the same directory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from app import datafiles, prompts
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
from app.flows.words import WordFiles
from app.i18n import LANGUAGES
from app.yamlfile import Shape, ShapeT, load_yaml, one_of, read_shape, unknown_key

# YAML files in a flows directory that configure rather than describe a flow: which flow answers
# which number, and the company data (app.datafiles).
NOT_FLOWS = {"hotlines", *(Path(name).stem for name in datafiles.NAMES)}
# Flow names a flow may not take: GET /api/flows/lint is the linter's verdict, so a flow of that
# name could never be read at /api/flows/<name>.
RESERVED_NAMES = frozenset({"lint"})


class FlowError(RuntimeError):
    """Flows that must not run; the message lists every problem, one per line."""

    def __init__(self, errors: list[LintError]) -> None:
        self.errors = errors
        super().__init__("invalid call flows:\n" + "\n".join(f"  {e}" for e in errors))


# --- shapes: the keys, types and values a flow file may have (pydantic) -----------------------
# Prompts and words per language, node kinds and the references between nodes and flows are
# read by the code below and lint.py, which say what is wrong in a flow's own terms.

Input = Annotated[str, AfterValidator(one_of(INPUTS))]


def _keys(value: str) -> str:
    if not value or not all(ch in "0123456789*#" for ch in value):
        raise PydanticCustomError("dtmf", "{given}: use the phone's keys 0-9, * and #", {"given": repr(value)})
    return value


class _FlowFile(Shape):
    flow: str | None = None
    kind: Annotated[str, AfterValidator(one_of(KINDS))] | None = None
    start: str | None = None
    description: str = ""
    resume: Any = None
    placed_by: Any = None
    nodes: Any = None


class _Retry(Shape):
    reprompt: Annotated[int, Field(ge=0, le=5)] = 1
    then: str = Field(description="where to go after the reprompts")


class _Capture(Shape):
    slot: str = Field(description="the slot the answer is kept in")
    next: str = Field(description="the node that comes after the answer")
    input: Input = "dtmf speech"
    max_digits: Annotated[int, Field(ge=1)] | None = None
    finish_on_key: str | None = None


class _Choice(Shape):
    # Quoted: an unquoted 1 is a number in YAML, an unquoted # starts a comment.
    dtmf: Annotated[str, AfterValidator(_keys)] | None = None
    speech: Any = None
    next: str = Field(description="the node this choice leads to")
    label: Any = None
    general: bool = False


class _Ask(Shape):
    say: Any = None
    input: Input = "dtmf speech"
    choices: dict[str, Any] | None = None
    capture: Any = None
    no_input: Any = None
    invalid: Any = None
    # Twilio's <Gather timeout>: seconds of silence, a positive whole number.
    timeout: Annotated[int, Field(ge=1)] = 5
    hints: Any = None
    other_languages: Any = None


class _Transfer(Shape):
    queue: str | None = None
    number: str | None = None
    operator: bool | None = None
    timeout: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> _Transfer:
        if self.queue is None and self.number is None and self.operator is None:
            raise PydanticCustomError("transfer", "transfer needs 'queue', 'number' or 'operator: true'")
        return self


class _Record(Shape):
    slot: str = Field(description="the slot the recording URL is kept in")
    max_length: Annotated[int, Field(ge=1)] | None = None


def _shaped(shape: type[ShapeT], value: Any, where: str, err: Callable[[str], None]) -> ShapeT | None:
    """`value` read as `shape` (what could be read: app.yamlfile.read_shape), each problem said
    through `err`."""
    read, said = read_shape(shape, value, where)
    for problem in said:
        err(problem)
    return read


def load_flows(directory: Path, actions: Actions | None = None,
               words: Sequence[WordFiles[Any]] = ()) -> FlowSet:
    """Parse every flow in `directory`; given the app's `actions`, also lint (an action node is
    checked against them). Without them the flows are only parsed (listing, drawing). `words`:
    the kinds of word file the app reads, read from `directory` into `flowset.words`, each
    problem an error naming its file."""
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
        if flow.name in RESERVED_NAMES:
            flowset.errors.append(LintError(flow.file, None, f"flow name {flow.name!r} is reserved "
                                                             "(GET /api/flows/lint is the linter's verdict)"))
        flowset.flows[flow.name] = flow
    _use_vocabulary(flowset, directory)
    if actions is not None:
        flowset.errors.extend(lint_flowset(flowset, actions))
        # The texts said outside the flows (machine messages, the desk, read-backs), from this
        # directory's prompts/: the same keys and placeholders in every language, or a call
        # would fail mid-sentence.
        flowset.errors.extend(LintError(f"flows/{prompts.FOLDER}", None, p)
                              for p in prompts.check(directory / prompts.FOLDER))
    for kind in words:
        flowset.words[kind.folder], problems = kind.read(directory)
        flowset.errors.extend(LintError(f"flows/{kind.folder}", None, p) for p in problems)
    return flowset


def _use_vocabulary(flowset: FlowSet, directory: Path) -> None:
    """Replace each "@concept" in choices and hints by that concept's phrases per language."""
    flowset.vocab, problems = vocabulary.WORDS.read(directory)
    if problems:
        flowset.errors.extend(LintError(f"flows/{vocabulary.WORDS.folder}", None, p) for p in problems)
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
                                                            f"'{word}' for '{lang}' in {vocabulary.WORDS.folder}/"))
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


def load_valid_flows(directory: Path, actions: Actions, words: Sequence[WordFiles[Any]] = ()) -> FlowSet:
    flowset = load_flows(directory, actions, words)
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
    top = _shaped(_FlowFile, raw, "", lambda problem: errors.append(LintError(file, None, problem)))
    if top is None:
        return None
    name = top.flow or ""
    if name != path.stem:
        errors.append(LintError(file, None, f"'flow: {name}' must match the file name '{path.stem}'"))
        name = path.stem
    kind = top.kind or ""
    if raw.get("kind") is None:
        errors.append(LintError(file, None, f"kind: missing: one of {', '.join(KINDS)}"))
    start = top.start or ""
    nodes: dict[str, Node] = {}
    for node_name, spec in raw["nodes"].items():
        node = _read_node(file, str(node_name), spec, errors)
        if node is not None:
            nodes[node.name] = node
    if start not in nodes:
        errors.append(LintError(file, None, f"start node {start!r} does not exist"))
    resume = top.resume
    if resume is not None and not isinstance(resume, str):
        errors.append(LintError(file, None, "'resume' must name a node"))
        resume = None
    placed_by = _read_placed_by(file, kind, top.placed_by, errors)
    return Flow(name=name, kind=kind, start=start, nodes=nodes, file=file,
                description=top.description, resume=resume, placed_by=placed_by)


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
    for key in spec:
        if key not in (kind, "next", "description"):
            err(f"{key}: {unknown_key(str(key), [kind, 'next', 'description'])}")
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
    shape = _shaped(_Transfer if kind == "transfer" else _Record, value, kind, err)
    if shape is None:
        return None
    given = shape.model_dump(exclude_unset=True)
    if kind == "transfer":
        return Node(name, kind, transfer=given, next=nxt)
    return Node(name, kind, record=given, next=nxt)


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
    ask = _shaped(_Ask, value, "ask", err)
    if ask is None:
        return None
    choices = tuple(c for c in (_read_choice(str(n), spec, ask.input, err) for n, spec in (ask.choices or {}).items())
                    if c is not None)
    capture = _read_capture(ask.capture, err)
    if bool(ask.choices) == bool(ask.capture):
        err("ask needs either 'choices' or 'capture' (not both)")
    keys = [c.dtmf for c in choices if c.dtmf]
    if len(keys) != len(set(keys)):
        err(f"ask: the same key is used for two choices ({keys})")
    if ask.other_languages is not None and "*" in keys:
        err("ask: 'other_languages' offers the language menu on *, but a choice uses *")
    return Ask(
        say=_prompt(ask.say, err, "ask.say"), input=ask.input, choices=choices, capture=capture,
        no_input=_read_retry(ask.no_input, "no_input", err),
        invalid=_read_retry(ask.invalid, "invalid", err),
        timeout=ask.timeout,
        hints=_words_per_language(ask.hints, "ask: hints", err),
        other_languages=_prompt(ask.other_languages, err, "ask.other_languages")
        if ask.other_languages is not None else {},
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


def _read_choice(name: str, spec: Any, input_: str, err: Any) -> Choice | None:
    choice = _shaped(_Choice, spec, f"ask.choices.{name}", err)
    if choice is None:
        return None
    speech = _words_per_language(choice.speech, f"choice '{name}': speech", err)
    if "speech" in input_:
        missing = [lang for lang in LANGUAGES if not speech.get(lang)]
        if missing:
            err(f"choice '{name}': no speech words for {', '.join(missing)}")
    if choice.dtmf is None and not speech:
        err(f"choice '{name}' has neither a key nor words")
    label = _prompt(choice.label, err, f"choice '{name}': label") if choice.label is not None else None
    return Choice(name=name, dtmf=choice.dtmf, speech=speech, next=choice.next, label=label,
                  general=choice.general)


def _read_capture(spec: Any, err: Any) -> Capture | None:
    if spec is None:
        return None
    capture = _shaped(_Capture, spec, "ask.capture", err)
    if capture is None:
        return None
    return Capture(slot=capture.slot, input=capture.input, next=capture.next, max_digits=capture.max_digits,
                   finish_on_key=capture.finish_on_key)


def _read_retry(spec: Any, what: str, err: Any) -> Retry | None:
    if spec is None:
        err(f"ask without '{what}' handling: a caller who {'says nothing' if what == 'no_input' else 'is not understood'} would be stranded")
        return None
    retry = _shaped(_Retry, spec, f"ask.{what}", err)
    return Retry(reprompt=retry.reprompt, then=retry.then) if retry is not None else None
