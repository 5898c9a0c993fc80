"""Understanding of callback times and of anger, measured on tests/corpus/understanding/.

    .venv/bin/python bench/times_anger.py

Prints, per language and for the tuning and held-aside parts: the share of time phrases read
as their expected moment (or as a vague part of a day that needs a choice, or as no time), and
the anger detector's precision and recall. The functions are also used by the tests that hold
the held part to its floors.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.callbacks.timeparse import parse_when
from app.support.anger import assess

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "understanding"
LANGUAGES = ("it", "nl", "en")


def load(name: str) -> dict[str, Any]:
    with open(CORPUS / f"{name}.yaml", encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@dataclass
class Score:
    right: int = 0
    total: int = 0
    # anger only: true/false positives and false negatives of "angry"
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


Scores = dict[tuple[bool, str], Score]  # (held, language) -> score


def time_reading(said: str, language: str, now: datetime) -> str:
    """What the parser made of `said`: an ISO minute, 'choice <day>' or 'none'."""
    parsed = parse_when(said, language, now)
    if parsed is None:
        return "none"
    if getattr(parsed, "vague", not parsed.time_given):
        return f"choice {parsed.local.date().isoformat()}"
    return parsed.local.strftime("%Y-%m-%dT%H:%M")


def time_right(row: dict[str, Any], reading: str) -> bool:
    expect = str(row["expect"])
    if expect == "choice":
        day = row.get("day")
        return reading.startswith("choice") and (day is None or reading == f"choice {day}")
    return reading == expect.replace(" ", "T")[:16]


def evaluate_times(misses: list[str] | None = None) -> Scores:
    corpus = load("times")
    now = datetime.fromisoformat(corpus["reference"])
    scores: Scores = defaultdict(Score)
    for row in corpus["utterances"]:
        score = scores[(row["held"], row["lang"])]
        reading = time_reading(row["said"], row["lang"], now)
        right = time_right(row, reading)
        score.total += 1
        score.right += right
        if not right and misses is not None:
            misses.append(f"times {'held' if row['held'] else 'tune'} {row['lang']}: {row['said']!r} "
                          f"-> {reading}, expected {row['expect']} {row.get('day') or ''}".rstrip())
    return scores


def evaluate_anger(misses: list[str] | None = None) -> Scores:
    scores: Scores = defaultdict(Score)
    for row in load("anger")["utterances"]:
        score = scores[(row["held"], row["lang"])]
        found = assess(row["said"], row["lang"]).escalate
        angry = row["expect"] == "angry"
        score.total += 1
        score.right += found == angry
        score.tp += found and angry
        score.fp += found and not angry
        score.fn += angry and not found
        if found != angry and misses is not None:
            misses.append(f"anger {'held' if row['held'] else 'tune'} {row['lang']}: {row['said']!r} "
                          f"-> {'angry' if found else 'calm'}, expected {row['expect']}")
    return scores


def total(scores: Scores, held: bool) -> Score:
    out = Score()
    for (part, _), score in scores.items():
        if part == held:
            for name in ("right", "total", "tp", "fp", "fn"):
                setattr(out, name, getattr(out, name) + getattr(score, name))
    return out


def report() -> str:
    lines = [f"{'category':<8} {'part':<5} " + " ".join(f"{lang:>12}" for lang in LANGUAGES) + f" {'all':>12}"]
    for name, scores in (("times", evaluate_times()), ("anger", evaluate_anger())):
        for held in (False, True):
            cells = [scores[(held, lang)] for lang in LANGUAGES] + [total(scores, held)]
            row = " ".join(f"{s.accuracy:>6.0%} {s.right:>2}/{s.total:<3}" for s in cells)
            lines.append(f"{name:<8} {'held' if held else 'tune':<5} {row}")
            if name == "anger":
                pr = " ".join(f"P{s.precision:>4.0%} R{s.recall:>4.0%}" for s in cells)
                lines.append(f"{'':<8} {'':<5} {pr}")
    return "\n".join(lines)


def main() -> None:
    print(report())
    if "--misses" in sys.argv:
        misses: list[str] = []
        evaluate_times(misses)
        evaluate_anger(misses)
        print("\n".join(m for m in misses if "held" not in m.split(":")[0]))


if __name__ == "__main__":
    main()
