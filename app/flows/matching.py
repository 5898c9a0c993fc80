"""Which choice did the caller make? Keys match exactly; words match whole words, then fuzzily.

Speech recognisers mishear ("garanzie" for "garanzia"), so words get a fuzzy second chance
(rapidfuzz), but only over windows of the same number of words, so "no" never matches inside
"non funziona". When phrases of several choices match, the longest wins ("don't call me
again" beats "call me"); a tie between different choices is no match (we ask again).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

from app.flows.model import Choice

FUZZY_THRESHOLD = 86
_WORD = re.compile(r"[^\w']+")


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation: "Sì, certo!" -> "si certo"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("’", "'")
    return " ".join(w.strip("'") for w in _WORD.split(plain) if w.strip("'"))


def match_digits(choices: Iterable[Choice], digits: str) -> Choice | None:
    digits = digits.strip()
    return next((c for c in choices if c.dtmf and c.dtmf == digits), None)


def match_speech(choices: Iterable[Choice], said: str, language: str) -> Choice | None:
    heard = normalise(said)
    if not heard:
        return None
    scored: list[tuple[float, int, Choice]] = []
    for choice in choices:
        best = _best_score(heard, choice.speech.get(language, ()))
        if best is not None:
            scored.append((*best, choice))
    if not scored:
        return None
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    if len(scored) > 1 and scored[0][:2] == scored[1][:2] and scored[0][2] is not scored[1][2]:
        return None
    return scored[0][2]


def _best_score(heard: str, phrases: Iterable[str]) -> tuple[float, int] | None:
    """(score, phrase length) of the best phrase heard in `heard`, or None."""
    words = heard.split()
    best: tuple[float, int] | None = None
    for phrase in phrases:
        wanted = normalise(phrase)
        if not wanted:
            continue
        size = len(wanted.split())
        if re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", heard):
            score = 100.0
        elif len(wanted) >= 4:
            windows = (" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1)))
            score = max((fuzz.ratio(wanted, w) for w in windows), default=0.0)
            if score < FUZZY_THRESHOLD:
                continue
        else:
            continue  # short words ("si", "ja", "no") only count when heard exactly
        candidate = (score, len(wanted))
        if best is None or candidate > best:
            best = candidate
    return best
