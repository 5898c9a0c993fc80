"""How well cortese understands what callers say: the corpus in tests/corpus/understanding/.

    .venv/bin/python bench/understanding.py [--part tune|held|all] [--wrong] [--corpus DIR]

Each `<category>.yaml` is a list of `{lang, said, expect, held}`, written as callers talk and
independently of the vocabularies. Every item goes through the same code a call uses, via the
category's evaluator in EVALUATORS (said, language -> outcome). Prints accuracy per category x
language for the tune part and the held part (never tuned on), overall figures, anger
precision/recall when that category is there, and the confident wrong actions: an action taken
(an intent, a topic, a yes or a no) that is not what the caller meant. Those that came from a
refused or negated answer (the caller expected "ask", "no", "none", "later" or "opt_out") are
counted apart: the floor for them is zero. `--corpus DIR` runs a corpus of the same shape kept
outside the project (write it before reading the vocabularies; report its held part).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from app import flow_actions
from app.callbacks.timeparse import parse_when
from app.flows import anger as detector
from app.flows import matching
from app.flows.loader import load_valid_flows
from app.support import faq as knowledge
from app.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "corpus" / "understanding"
LANGUAGES = ("it", "nl", "en")
# Outcomes that take no action: the caller is asked again, or told we have no answer.
NOT_ACTIONS = frozenset({"ask", "none"})
# What a caller who refuses or negates expects: never a confident action of another kind.
REFUSALS = frozenset({"ask", "none", "no", "later", "opt_out"})

Evaluator = Callable[[str, str], str]  # (said, language) -> outcome


@lru_cache(maxsize=1)
def _flows():  # type: ignore[no-untyped-def]

    return load_valid_flows(ROOT / "flows", flow_actions())


def _choices(flow: str, node: str):  # type: ignore[no-untyped-def]
    found = _flows().node(flow, node)
    assert found is not None and found.ask is not None, f"{flow}.{node} is not an ask"
    return found.ask.choices


MENU_OUTCOMES = {"info": "information"}
# The menu's choices whose flow starts with support_general_question (flows/support_menu.yaml).
GENERAL_QUESTION_CHOICES = frozenset({"fault", "warranty", "delivery"})


def _general_question(said: str, language: str) -> bool:
    return matching.says(matching.normalise(said).split(), _flows().vocab.get(language).general_questions)


def menu(said: str, language: str) -> str:
    """The support menu: an intent (choice name), an FAQ topic ("faq:<id>") or "ask" (a short
    question naming two close options, or "I didn't understand")."""
    understood = matching.understand(_choices("support_menu", "menu"), said, language, _flows().vocab.get(language))
    if understood.close is not None:
        return "ask"
    if understood.choice is not None and understood.choice.name != "info":
        # a question on how things are done or cost goes to its answer (support_general_question)
        if understood.choice.name in GENERAL_QUESTION_CHOICES and _general_question(said, language):
            found = knowledge.match(knowledge.load(language), said, threshold=knowledge.MENU_THRESHOLD)
            if found is not None and found.how == "words":
                return f"faq:{found.topic.id}"
        return MENU_OUTCOMES.get(understood.choice.name, understood.choice.name)
    # words that chose nothing (the menu's try_faq node) or information (the FAQ flow's entry)
    # go straight to an answer when they clearly ask about a topic (support_menu_question)
    found = knowledge.match(knowledge.load(language), said, threshold=knowledge.MENU_THRESHOLD)
    if found is not None and found.how == "words":
        return f"faq:{found.topic.id}"
    return "information" if understood.choice is not None else "ask"


def faq(said: str, language: str) -> str:
    """The FAQ question: a topic id, or "none" (logged, a person offered)."""
    found = knowledge.match(knowledge.load(language), said)
    return found.topic.id if found else "none"


YESNO_OUTCOMES = {"confirm": "yes", "redo": "no"}


def yesno(said: str, language: str) -> str:
    """The callback read-back ("shall I book it?"): yes, no, or ask again."""
    understood = matching.understand(_choices("callback_booking", "confirm"), said, language,
                                     _flows().vocab.get(language))
    choice = understood.choice
    return YESNO_OUTCOMES.get(choice.name, choice.name) if choice else "ask"


OPENER_OUTCOMES = {"good_time": "yes"}


def opener(said: str, language: str) -> str:
    """An outbound call's opener, "is this a good time to talk?" (a campaign's; the callback
    opener asks the same): yes, later (a callback), opt_out, or ask again."""
    understood = matching.understand(_choices("campaign_service", "opener"), said, language,
                                     _flows().vocab.get(language))
    choice = understood.choice
    return OPENER_OUTCOMES.get(choice.name, choice.name) if choice else "ask"


# The instant the times corpus is written against (stated in tests/corpus/understanding/times.yaml).
TIMES_REFERENCE = datetime(2026, 3, 13, 15, 10)


def times(said: str, language: str) -> str:
    """A callback time: the local minute meant, "choice <day>" for a vague part of a day (the
    caller is offered concrete times in it), "choice <first>..<last>" for a week without its
    day, or "none"."""
    parsed = parse_when(said, language, TIMES_REFERENCE)
    if parsed is None:
        return "none"
    if parsed.vague:
        first = parsed.local.date()
        if parsed.days > 1:  # a week without its day: "choice <first>..<last>"
            return f"choice {first.isoformat()}..{(first + timedelta(days=parsed.days - 1)).isoformat()}"
        return f"choice {first.isoformat()}"
    return parsed.local.strftime("%Y-%m-%dT%H:%M")


def anger(said: str, language: str) -> str:
    """Anger or abuse in a free-text answer: "angry" (apology and complaint) or "calm"."""
    return "angry" if detector.assess(said, language).escalate else "calm"


EVALUATORS: dict[str, Evaluator] = {"menu": menu, "faq": faq, "yesno": yesno, "opener": opener,
                                    "times": times, "anger": anger}


@dataclass(frozen=True)
class Item:
    category: str
    lang: str
    said: str
    expect: str
    held: bool


@dataclass(frozen=True)
class Result:
    item: Item
    got: str

    @property
    def ok(self) -> bool:
        # A vague time without a stated day is right as a choice on any day.
        return self.got == self.item.expect or (self.item.expect == "choice" and self.got.startswith("choice "))

    @property
    def confident_wrong(self) -> bool:
        return not self.ok and self.got not in NOT_ACTIONS

    @property
    def wrong_on_refusal(self) -> bool:
        return self.confident_wrong and self.item.expect in REFUSALS


def load_corpus(directory: Path = CORPUS) -> list[Item]:
    items: list[Item] = []
    for path in sorted(directory.glob("*.yaml")):
        for raw in load_yaml(path.read_text(encoding="utf-8")) or []:
            expect = str(raw["expect"]) + (f" {raw['day']}" if raw.get("day") else "")  # "choice <day>"
            items.append(Item(path.stem, str(raw["lang"]), str(raw["said"]), expect, bool(raw.get("held"))))
    return items


def evaluate(items: Iterable[Item]) -> list[Result]:
    results = []
    for item in items:
        evaluator = EVALUATORS.get(item.category)
        if evaluator is None:
            raise SystemExit(f"no evaluator for corpus category {item.category!r}")
        results.append(Result(item, evaluator(item.said, item.lang)))
    return results


def accuracy(results: list[Result]) -> float | None:
    return sum(r.ok for r in results) / len(results) if results else None


def cells(results: list[Result]) -> dict[tuple[str, str], list[Result]]:
    out: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        out[(r.item.category, r.item.lang)].append(r)
    return out


def anger_figures(results: list[Result]) -> tuple[float | None, float | None]:
    """(precision, recall) of "angry" over the anger category; None when it cannot be computed."""
    anger = [r for r in results if r.item.category == "anger"]
    said_angry = [r for r in anger if r.got == "angry"]
    were_angry = [r for r in anger if r.item.expect == "angry"]
    precision = sum(r.ok for r in said_angry) / len(said_angry) if said_angry else None
    recall = sum(r.ok for r in were_angry) / len(were_angry) if were_angry else None
    return precision, recall


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def table(results: list[Result]) -> str:
    """Markdown: one row per category, accuracy per language for the tune and held parts."""
    tune = cells([r for r in results if not r.item.held])
    held = cells([r for r in results if r.item.held])
    categories = sorted({r.item.category for r in results})
    head = "| category | " + " | ".join(f"{lang} tune | {lang} held" for lang in LANGUAGES) + " |"
    lines = [head, "|---" * (1 + 2 * len(LANGUAGES)) + "|"]
    for cat in categories:
        row = [f"{_pct(accuracy(tune.get((cat, lang), [])))} ({len(tune.get((cat, lang), []))}) | "
               f"{_pct(accuracy(held.get((cat, lang), [])))} ({len(held.get((cat, lang), []))})"
               for lang in LANGUAGES]
        lines.append(f"| {cat} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    tune = [r for r in results if not r.item.held]
    held = [r for r in results if r.item.held]
    out = [f"overall: tune {_pct(accuracy(tune))} ({len(tune)}), held {_pct(accuracy(held))} ({len(held)})"]
    for part, rs in (("tune", tune), ("held", held)):
        wrong = [r for r in rs if r.confident_wrong]
        refused = [r for r in rs if r.wrong_on_refusal]
        out.append(f"confident wrong actions, {part}: {len(wrong)} (from refused or negated answers: {len(refused)})")
    if any(r.item.category == "anger" for r in results):
        for part, rs in (("tune", tune), ("held", held)):
            precision, recall = anger_figures(rs)
            out.append(f"anger, {part}: precision {_pct(precision)}, recall {_pct(recall)}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["tune", "held", "all"], default="all")
    parser.add_argument("--wrong", action="store_true",
                        help="list the tune part's items understood wrongly (never the held part's)")
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="a directory of <category>.yaml files in this shape (default: the project's); "
                             "for a corpus kept outside the project")
    args = parser.parse_args()
    items = load_corpus(args.corpus)
    if args.part != "all":
        items = [i for i in items if i.held == (args.part == "held")]
    results = evaluate(items)
    print(table(results))
    print()
    print(summary(results))
    if args.wrong:
        for r in results:
            if not r.ok and not r.item.held:
                mark = "!" if r.confident_wrong else " "
                print(f"{mark} {r.item.category}/{r.item.lang}: {r.item.said!r} -> {r.got} "
                      f"(expected {r.item.expect})")


if __name__ == "__main__":
    main()
