"""Words the domain code understands live in flows/vocab/<lang>.yaml: every language has them."""

from __future__ import annotations

from datetime import date

import pytest

from app.callbacks.actions import ORDINALS
from app.campaigns.actions import SCORES
from app.flows.vocab import for_language
from app.i18n import LANGUAGES
from app.support.warranty import parse_spoken_date

# Concepts read by code rather than by a flow's "@concept" (which lint checks already).
USED_BY_CODE = (*ORDINALS, "other_time", *SCORES, "yes_word", "no_word", "first_of_month")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_the_concepts_the_code_reads(language):
    concepts = for_language(language).concepts
    assert [name for name in USED_BY_CODE if not concepts.get(name)] == []


@pytest.mark.parametrize(("language", "said"), [
    ("it", "il primo marzo 2024"),
    ("nl", "de eerste maart 2024"),
    ("en", "the first of March 2024"),
])
def test_the_first_of_a_month_said_in_words(language, said):
    assert parse_spoken_date(said, language, date(2026, 12, 4)) == date(2024, 3, 1)
