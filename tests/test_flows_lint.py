"""The linter: every problem that would strand a caller is named with its file and node."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from app import create_app, flow_actions
from app.flows.cli import cli as flows_cli
from app.flows.diagram import mermaid
from app.flows.loader import FlowError, load_flows, load_valid_flows
from app.yamlfile import load_yaml
from tests.conftest import copy_word_files

REPO_FLOWS = Path(__file__).resolve().parent.parent / "flows"
T = {"it": "Ciao {company}", "nl": "Hallo {company}", "en": "Hello {company}"}
WORDS = {"it": ["sì"], "nl": ["ja"], "en": ["yes"]}


def ask(**choices: str) -> dict:
    return {"ask": {"say": T, "input": "dtmf speech",
                    "choices": {name: {"dtmf": str(i + 1), "speech": WORDS, "next": nxt}
                                for i, (name, nxt) in enumerate(choices.items())},
                    "no_input": {"reprompt": 1, "then": "bye"}, "invalid": {"reprompt": 1, "then": "menu"}}}


@pytest.fixture(autouse=True)
def _word_files(tmp_path: Path) -> None:
    """A flows directory carries the texts said outside its flows and the words callers are
    heard with: these tests write flows into tmp_path, so it gets the repository's (their own
    problems are test_prompts' and test_word_files')."""
    copy_word_files(tmp_path)


def write(tmp_path: Path, name: str, nodes: dict, kind: str = "inbound", start: str = "menu",
          placed_by: str | None = None) -> Path:
    spec = {"flow": name, "kind": kind, "start": start, "nodes": nodes}
    if kind == "outbound":
        spec["placed_by"] = placed_by or "campaign"
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return tmp_path


def problems(tmp_path: Path) -> list[str]:
    return [str(e) for e in load_flows(tmp_path, flow_actions()).errors]


def test_repository_flows_are_valid():
    flowset = load_valid_flows(REPO_FLOWS, flow_actions())
    assert {"support_hotline", "support_menu", "operator"} <= set(flowset.flows)


def test_a_good_flow_has_no_problems(tmp_path):
    write(tmp_path, "good", {"menu": ask(one="bye"), "bye": {"end": T}})
    assert problems(tmp_path) == []


@pytest.mark.parametrize("nodes, expected", [
    ({"menu": ask(one="nowhere"), "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': transition 'one' goes to unknown node 'nowhere'"),
    ({"menu": ask(one="bye"), "bye": {"end": T}, "lost": {"end": T}},
     "flows/bad.yaml: node 'lost': unreachable: no transition leads here"),
    ({"menu": ask(one="loop"), "loop": {"say": T, "next": "loop2"}, "loop2": {"say": T, "next": "loop"},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'loop': cannot reach an end (goodbye) or another flow"),
    ({"menu": {"ask": {"say": T, "choices": {"a": {"dtmf": "1", "speech": WORDS, "next": "bye"}}}},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': ask without 'no_input' handling"),
    ({"menu": ask(one="bye"), "bye": {"end": {"it": "Ciao", "en": "Bye"}}},
     "flows/bad.yaml: node 'bye': 'end' has no text for language 'nl'"),
    ({"menu": {"action": "no_such_action", "next": "bye"}, "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': unknown action 'no_such_action'"),
    ({"menu": {"action": "support_set_urgent", "next": {"oops": "bye"}}, "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': action 'support_set_urgent': no transition for outcome(s) ok"),
    ({"menu": {"flow": "nope"}},
     "flows/bad.yaml: node 'menu': jumps to unknown flow 'nope'"),
    ({"menu": {**ask(one="bye"), "say": T}, "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': a node has exactly one of"),
    ({"menu": {"say": {**T, "en": "Your code is {code|shout}"}, "next": "bye"}, "bye": {"end": T}},
     "unknown filter '|shout'"),
    ({"menu": {"ask": {**ask(one="bye")["ask"], "invalid": {"then": "bye"}}}, "bye": {"end": T}},
     "'invalid.then' is an end node"),
    ({"menu": {"ask": {"say": T, "input": "speech", "capture": {"slot": "words", "input": "speech", "next": "bye"},
                       "no_input": {"reprompt": 1, "then": "bye"}, "invalid": {"reprompt": 1, "then": "bye"}}},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': a question answered in words tells the recogniser what to expect"),
    ({"menu": {"ask": {**ask(one="bye")["ask"],
                       "choices": {"one": {"dtmf": "1", "speech": "@nosuchconcept", "next": "bye"}}}},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': choice 'one': no vocabulary concept '@nosuchconcept' for 'it'"),
    ({"menu": {"ask": {**ask(one="bye")["ask"], "other_languages": {"it": "Per l'italiano prema asterisco.",
                                                                     "en": "For English, press star."}}},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': 'ask.other_languages' has no text for language 'nl'"),
    ({"menu": {"ask": {**ask(one="bye")["ask"], "other_languages": {**T},
                       "choices": {"one": {"dtmf": "*", "speech": WORDS, "next": "bye"}}}},
      "bye": {"end": T}},
     "flows/bad.yaml: node 'menu': ask: 'other_languages' offers the language menu on *, but a choice uses *"),
])
def test_each_problem_is_named_with_file_and_node(tmp_path, nodes, expected):
    write(tmp_path, "bad", nodes)
    found = problems(tmp_path)
    assert any(expected in p for p in found), found


def test_a_flow_may_not_take_a_name_the_api_reserves(tmp_path):
    """GET /api/flows/lint is the linter's verdict: a flow named "lint" could never be read there."""
    write(tmp_path, "lint", {"menu": ask(one="bye"), "bye": {"end": T}})
    assert any("flow name 'lint' is reserved" in p for p in problems(tmp_path))


def test_unquoted_yes_in_yaml_is_caught(tmp_path):
    (tmp_path / "b.yaml").write_text(
        "flow: b\nkind: inbound\nstart: menu\nnodes:\n"
        "  menu:\n    ask:\n      say: {it: a, nl: b, en: c}\n"
        "      choices:\n        y: {dtmf: '1', speech: {it: [si], nl: [ja], en: [yes]}, next: bye}\n"
        "      no_input: {then: bye}\n      invalid: {then: menu}\n"
        "  bye: {end: {it: a, nl: b, en: c}}\n", encoding="utf-8")
    assert any("quote yes/no" in p for p in problems(tmp_path))


CAMPAIGN_OPENER = {"it": "Ciao, {company}: la chiamo per {reason}", "nl": "Hallo, {company}: ik bel over {reason}",
                   "en": "Hello, {company}: calling about {reason}"}


def opener(**overrides) -> dict:
    nodes = {
        "opener": ask(good_time="script", later="later", opt_out="opt_out"),
        "script": {"end": T}, "later": {"end": T},
        "opt_out": {"action": "record_opt_out", "next": "bye"}, "bye": {"end": T},
    }
    nodes["opener"]["ask"]["say"] = CAMPAIGN_OPENER
    nodes["opener"]["ask"]["invalid"]["then"] = "later_offer"
    nodes["later_offer"] = {"say": T, "next": "later"}
    nodes.update(overrides)
    return nodes


def test_outbound_opener_passes(tmp_path):
    write(tmp_path, "out", opener(), kind="outbound", start="opener")
    assert problems(tmp_path) == []


def test_outbound_must_open_with_the_good_time_question(tmp_path):
    nodes = opener(hello={"say": T, "next": "opener"})
    write(tmp_path, "out", nodes, kind="outbound", start="hello")
    assert any("must open with an ask" in p for p in problems(tmp_path))


def test_outbound_opener_must_say_who_calls(tmp_path):
    nodes = opener()
    nodes["opener"]["ask"]["say"] = {"it": "È un buon momento?", "nl": "Komt het uit?", "en": "Good time?"}
    write(tmp_path, "out", nodes, kind="outbound", start="opener")
    assert any("must say who is calling" in p for p in problems(tmp_path))


def test_outbound_opener_needs_an_opt_out_that_records_it(tmp_path):
    nodes = opener(opt_out={"say": T, "next": "bye"})
    write(tmp_path, "out", nodes, kind="outbound", start="opener")
    assert any("must lead to the 'record_opt_out' action" in p for p in problems(tmp_path))
    nodes = opener()
    del nodes["opener"]["ask"]["choices"]["later"]
    nodes["opener"]["ask"]["choices"]["opt_out"]["dtmf"] = "2"
    write(tmp_path, "out", nodes, kind="outbound", start="opener")
    assert any("needs a 'later' choice" in p for p in problems(tmp_path))


def test_an_outbound_flow_says_who_places_it(tmp_path):
    write(tmp_path, "out", opener(), kind="outbound", start="opener", placed_by="robot")
    assert ("flows/out.yaml: an outbound flow says who places its calls: 'placed_by: campaign or callback' "
            "(found 'robot')") in problems(tmp_path)
    write(tmp_path, "out", {"menu": ask(one="bye"), "bye": {"end": T}})
    path = tmp_path / "out.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "placed_by: campaign\n", encoding="utf-8")
    assert "flows/out.yaml: 'placed_by' is for outbound flows only" in problems(tmp_path)


def test_an_opener_says_why_we_call_for_whoever_places_it(tmp_path):
    # A campaign's opener says the campaign's reason; a callback's says what the callee asked
    # about. A call that does not say why it comes is not one a stranger should get.
    nodes = opener()
    nodes["opener"]["ask"]["say"] = {**CAMPAIGN_OPENER, "nl": "Hallo, {company} hier. Komt het uit?"}
    write(tmp_path, "out", nodes, kind="outbound", start="opener")
    assert problems(tmp_path) == ["flows/out.yaml: node 'opener': a campaign's opener must say why we call: "
                                  "'{reason}' missing in 'nl'"]
    write(tmp_path, "out", opener(), kind="outbound", start="opener", placed_by="callback")
    assert sum("'{callback_about}' missing" in p for p in problems(tmp_path)) == 3


def test_the_repository_knows_which_outbound_flows_campaigns_may_use():
    flowset = load_valid_flows(REPO_FLOWS, flow_actions())
    assert flowset.placed_by("campaign") == ["campaign_service", "campaign_survey"]
    assert flowset.placed_by("callback") == ["callback_opener"]


def test_the_app_refuses_to_start_with_an_invalid_flow(tmp_path, settings):
    write(tmp_path, "bad", {"menu": ask(one="nowhere"), "bye": {"end": T}})
    settings["FLOWS_DIR"] = str(tmp_path)
    with pytest.raises(FlowError, match="flows/bad.yaml: node 'menu': transition 'one'"):
        create_app(settings)


def test_cli_lint_and_diagram(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(flows_cli, ["lint", "--dir", str(REPO_FLOWS)])
    assert ok.exit_code == 0 and "flows OK" in ok.output
    write(tmp_path, "bad", {"menu": ask(one="nowhere"), "bye": {"end": T}})
    bad = runner.invoke(flows_cli, ["lint", "--dir", str(tmp_path)])
    assert bad.exit_code == 1 and "transition 'one' goes to unknown node 'nowhere'" in bad.output
    drawn = runner.invoke(flows_cli, ["diagram", "support_menu", "--dir", str(REPO_FLOWS)])
    assert drawn.exit_code == 0
    assert drawn.output.startswith("flowchart TD") and "menu -->|fault| to_fault" in drawn.output
    assert 'menu{{"menu: For information, press 1.' in drawn.output  # what the caller hears
    dutch = runner.invoke(flows_cli, ["diagram", "support_menu", "--dir", str(REPO_FLOWS), "--language", "nl"])
    assert 'menu{{"menu: Voor informatie druk op 1.' in dutch.output and dutch.output.count("…") >= 1
    missing = runner.invoke(flows_cli, ["diagram", "nope", "--dir", str(REPO_FLOWS)])
    assert missing.exit_code == 2 and "no flow 'nope'" in missing.output


def _with_resume(tmp_path: Path, name: str, resume: object, kind: str = "inbound") -> None:
    path = write(tmp_path, name, {"menu": ask(one="bye"), "bye": {"end": T}}, kind=kind) / f"{name}.yaml"
    spec = load_yaml(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**spec, "resume": resume}, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("resume, kind, expected", [
    ("bye", "inbound", "flows/bad.yaml: only a campaign's outbound flow has a 'resume' node"),
    ("nowhere", "outbound", "flows/bad.yaml: resume node 'nowhere' does not exist"),
    ("menu", "outbound", "flows/bad.yaml: 'resume' is where the script goes on after the callback's own opener"),
    (["bye"], "outbound", "flows/bad.yaml: 'resume' must name a node"),
])
def test_a_resume_point_must_be_a_later_node_of_an_outbound_flow(tmp_path, resume, kind, expected):
    _with_resume(tmp_path, "bad", resume, kind)
    assert any(p.startswith(expected) for p in problems(tmp_path)), problems(tmp_path)


def test_a_resume_node_needs_a_flow_that_can_be_resumed_and_no_next(tmp_path):
    write(tmp_path, "bad", {"menu": ask(one="go"), "go": {"resume": "campaign_flow", "next": "bye"},
                            "bye": {"end": T}})
    found = problems(tmp_path)
    assert "flows/bad.yaml: node 'go': a resume node takes no 'next'" in found
    assert ("flows/bad.yaml: node 'go': goes on with the flow in slot 'campaign_flow', but no outbound "
            "flow has a 'resume' node") in found
    write(tmp_path, "bad", {"menu": ask(one="go"), "go": {"resume": ""}, "bye": {"end": T}})
    assert any("resume needs the name of the slot" in p for p in problems(tmp_path))


def test_the_survey_resumes_at_its_first_question_and_the_diagram_shows_the_jump():
    flowset = load_valid_flows(REPO_FLOWS, flow_actions())
    assert flowset.flows["campaign_survey"].resume == "q1"
    assert 'to_campaign>"to_campaign: on with the flow in slot campaign_flow"]' in mermaid(
        flowset.flows["callback_opener"])


# --- the shape of a flow file: keys, types and allowed values, named with their key path ------


def _menu_ask(**changes: object) -> dict:
    return {"ask": {**ask(one="bye")["ask"], **changes}}


@pytest.mark.parametrize("nodes, expected", [
    ({"menu": _menu_ask(no_input={"reprompt": 1, "than": "bye"}), "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.no_input.than: unknown key (did you mean 'then'?)",
      "flows/bad.yaml: node 'menu': ask.no_input.then: missing: where to go after the reprompts"]),
    ({"menu": _menu_ask(invalid={"reprompt": 9, "then": "menu"}), "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.invalid.reprompt: 9 is not allowed: at most 5"]),
    ({"menu": _menu_ask(timeout="5s"), "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.timeout: '5s' is not a whole number"]),
    ({"menu": _menu_ask(choices={"one": {"dtmf": "1", "speech": WORDS, "nxt": "bye"}}), "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.choices.one.nxt: unknown key (did you mean 'next'?)",
      "flows/bad.yaml: node 'menu': ask.choices.one.next: missing: the node this choice leads to"]),
    ({"menu": _menu_ask(choices=None, input="dtmf",
                        capture={"slot": "code", "input": "dtmf", "max_digits": "four", "next": "bye"}),
      "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.capture.max_digits: 'four' is not a whole number"]),
    ({"menu": _menu_ask(choices=None, input="dtmf", capture={"slot": "code", "input": "keys", "next": "bye"}),
      "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': ask.capture.input: 'keys' is not one of dtmf, speech, dtmf speech"]),
    ({"menu": {"transfer": {"queue": "support", "timout": 20}, "next": {"bridged": "bye"}}, "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': transfer.timout: unknown key (did you mean 'timeout'?)"]),
    ({"menu": {"say": T, "nxt": "bye"}, "bye": {"end": T}},
     ["flows/bad.yaml: node 'menu': nxt: unknown key (did you mean 'next'?)"]),
])
def test_each_shape_problem_is_named_with_file_node_and_key_path(tmp_path, nodes, expected):
    write(tmp_path, "bad", nodes)
    found = problems(tmp_path)
    for line in expected:
        assert any(p.startswith(line) for p in found), found


def test_a_misspelt_top_level_key_is_named(tmp_path):
    path = write(tmp_path, "bad", {"menu": ask(one="bye"), "bye": {"end": T}}, kind="outbound") / "bad.yaml"
    spec = load_yaml(path.read_text(encoding="utf-8"))
    spec["placed_bye"] = spec.pop("placed_by")
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    found = problems(tmp_path)
    assert any(p.startswith("flows/bad.yaml: placed_bye: unknown key (did you mean 'placed_by'?)") for p in found)


def test_shape_and_graph_problems_of_one_file_are_named_together(tmp_path):
    write(tmp_path, "bad", {"menu": _menu_ask(timeout="long", choices={"one": {"dtmf": "1", "speech": WORDS,
                                                                              "next": "nowhere"}}),
                            "bye": {"end": T}, "lost": {"end": T}})
    found = problems(tmp_path)
    assert "flows/bad.yaml: node 'menu': ask.timeout: 'long' is not a whole number" in found
    assert "flows/bad.yaml: node 'menu': transition 'one' goes to unknown node 'nowhere'" in found
    assert "flows/bad.yaml: node 'lost': unreachable: no transition leads here" in found
