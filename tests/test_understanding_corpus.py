"""The understanding corpus (tests/corpus/understanding/) against the floors of the product:
on the held part, never tuned on, overall >= 95 %, every category x language >= 90 %, and no
confident wrong action from a refused or negated answer. bench/understanding.py prints the
figures; this keeps them from sliding back."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "understanding.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_understanding", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def held(bench: ModuleType) -> list:
    return bench.evaluate([i for i in bench.load_corpus() if i.held])


def test_the_corpus_is_large_and_keeps_a_third_aside(bench: ModuleType) -> None:
    items = bench.load_corpus()
    mine = [i for i in items if i.category in ("menu", "faq", "yesno")]
    assert len(mine) >= 450
    assert 0.25 <= sum(i.held for i in mine) / len(mine) <= 0.4
    assert {i.lang for i in items} == {"it", "nl", "en"}
    assert set(bench.EVALUATORS) >= {i.category for i in items}
    # refused and negated answers are there, so confident wrong actions can be counted
    assert sum(i.expect in bench.REFUSALS for i in mine) >= 60


def test_held_part_overall_at_least_95_percent(bench: ModuleType, held: list) -> None:
    assert bench.accuracy(held) >= 0.95, bench.table(held)


def test_held_part_every_category_and_language_at_least_90_percent(bench: ModuleType, held: list) -> None:
    weak = {cell: bench.accuracy(rs) for cell, rs in bench.cells(held).items() if bench.accuracy(rs) < 0.90}
    assert not weak, bench.table(held)


def test_held_part_no_confident_wrong_action_from_a_refused_or_negated_answer(held: list) -> None:
    assert not [r for r in held if r.wrong_on_refusal]


def test_tune_part_no_confident_wrong_action(bench: ModuleType) -> None:
    """On the part we tune on, nothing is done that the caller did not mean: doubt ("not sure",
    "non ne sono certo", "ik weet het niet zeker") is asked again, a denied topic is no topic."""
    tune = bench.evaluate([i for i in bench.load_corpus() if not i.held])
    assert not [(r.item.category, r.item.said, r.got) for r in tune if r.confident_wrong]
