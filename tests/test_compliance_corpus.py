"""The adversarial compliance stories (tests/corpus/compliance/), run through check_call as the
dialer and the callback dispatcher call it (bench/compliance_corpus.py). Expected answers come
from the law each story cites, never from what the code decides."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import compliance_corpus as corpus


def test_the_corpus_has_150_cited_stories_a_third_held():
    stories = corpus.load("all")
    assert len(stories) >= 150
    assert len({s["id"] for s in stories}) == len(stories)
    assert all(isinstance(s.get("rule"), str) and isinstance(s.get("source"), str)
               and isinstance(s.get("lawful"), bool) for s in stories)
    assert [s["id"] for s in stories if set(s) - corpus.KEYS] == []
    held = sum(bool(s.get("held")) for s in stories)
    assert len(stories) // 4 <= held <= len(stories) // 2
    assert {s["file"] for s in stories} == {"us.yaml", "ca.yaml", "gb.yaml", "it.yaml", "nl.yaml"}
    # Deliberate refusals are only declared on lawful calls, with the rule and why.
    assert all(s["lawful"] and set(s["deliberate"]) == {"rule", "why"} for s in stories if s.get("deliberate"))


@pytest.mark.parametrize("part", ["tune", "held"])
def test_no_unlawful_call_is_allowed_and_every_lawful_refusal_is_deliberate(part):
    tally = corpus.run(part)
    assert tally.outcomes
    unlawful = [(o.story["id"], o.rule_id) for o in tally.unlawful_allowed_unknown]
    assert unlawful == [], f"unlawful calls allowed: {unlawful}"
    undeclared = [(o.story["id"], o.rule_id, o.reason) for o in tally.undeclared_refusals]
    assert undeclared == [], f"lawful calls refused by a rule no story declares: {undeclared}"
