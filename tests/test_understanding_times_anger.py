"""The times and anger corpora (tests/corpus/understanding/) are large enough and keep a third
aside, and on the held part, never tuned on, anger is found with at least 90 % recall at 95 %
precision (issue 16's floors; every category x language >= 90 % is kept by
test_understanding_corpus.py). Scored by bench/understanding.py, the code that prints the
figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench" / "understanding.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("understanding_bench_times_anger", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
ITEMS = [i for i in bench.load_corpus() if i.category in ("times", "anger")]


def test_the_corpora_are_large_keep_a_third_aside_and_hold_calm_callers():
    assert len(ITEMS) >= 200
    assert 0.25 <= sum(i.held for i in ITEMS) / len(ITEMS) <= 0.4
    for category in ("times", "anger"):
        assert {i.lang for i in ITEMS if i.category == category} == {"it", "nl", "en"}
    anger = [i for i in ITEMS if i.category == "anger"]
    assert sum(i.expect == "calm" for i in anger) >= 40  # calm and worried callers too
    assert sum(i.expect.startswith("choice") for i in ITEMS) >= 20  # vague times too


def test_anger_recall_and_precision_on_the_held_part():
    held = bench.evaluate([i for i in ITEMS if i.held and i.category == "anger"])
    precision, recall = bench.anger_figures(held)
    assert recall is not None and recall >= 0.90, bench.table(held)
    assert precision is not None and precision >= 0.95, bench.table(held)
