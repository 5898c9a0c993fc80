"""Anger and abuse in what a caller says, from a vocabulary per language: anger/<lang>.yaml of
the app's flows directory (app.flows.words: read once at start, the repository's outside an app).

A vocabulary, not a model: it is predictable, explainable on review ("flagged because:
ridicolo, vergogna") and works on the short, noisy text speech recognition gives us. The glue
here splits elisions ("dall'abbonamento" -> "dall abbonamento"), matches words and phrases,
where a word ending in * takes any ending ("ladr*": ladri; "kut*": kutrouter), and patterns
(repeated calls: "è la terza volta che chiamo"), and drops a match right after a negation, so
"non sono arrabbiato" is calm. (A lemmatiser was measured and not kept: simplemma needs 3-5 s
and about 40 MB per language to load, for forms a trailing * already covers.) Levels:
- "abusive": insults or profanity aimed at someone;
- "angry": strong frustration, sarcasm, threats, repeated-call complaints;
- "frustrated": milder words; only escalates together with repeated failures;
- "stuck": no cross words, but input failed again and again: a person takes over, no complaint.
English swearing is common in Dutch and Italian speech, so English abuse counts everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.flows.matching import normalise as _normalise
from app.flows.words import WordFiles

LEVELS = ("none", "frustrated", "angry", "abusive")
WORDED = ("abusive", "angry", "frustrated")  # the levels a file lists words and patterns for
REPEATED_FAILURES = 3
LANGUAGES = ("it", "nl", "en")
NEGATION_REACH = 2  # words before a match that can negate it: "I'm not angry", "ik ben niet boos"


@dataclass(frozen=True)
class AngerAssessment:
    level: str
    matches: tuple[str, ...]

    @property
    def escalate(self) -> bool:
        return self.level in ("angry", "abusive")

    def complaint_slots(self, said: str) -> dict[str, object]:
        """What the complaint ticket keeps (the support action support_record_complaint)."""
        return {"angry": True, "anger_level": self.level, "anger_words": ", ".join(self.matches),
                "complaint_text": said[:1000]}


def normalise(text: str) -> str:
    """The one normalisation every matcher uses: "Più!" -> "piu", "fuck's" -> "fuck s" (an
    elision is split, never joined into a new word)."""
    return _normalise(text)


def words(text: str) -> list[list[str]]:
    """Clauses of normalised words: a negation reaches no further than its clause."""
    return [found.split() for clause in re.split(r"[.,;:!?]+", text or "") if (found := normalise(clause))]


@dataclass(frozen=True)
class Vocabulary:
    negators: frozenset[str]
    phrases: dict[str, re.Pattern[str] | None]  # level -> every word and phrase of it, one regex
    patterns: dict[str, tuple[re.Pattern[str], ...]]


def parse(data: Any, language: str, where: str) -> Vocabulary:
    """One language's file, its patterns compiled; a ValueError naming `where` and the entry
    for a file that cannot be used (a pattern that never compiles would never flag anyone)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping of levels to words")
    for key in ("negators", *WORDED):
        _texts(data.get(key), f"{where}: {key}")
    patterns = data.get("patterns") or {}
    if not isinstance(patterns, Mapping) or set(patterns) - set(WORDED):
        raise ValueError(f"{where}: patterns must map levels ({', '.join(WORDED)}) to lists of patterns")
    return Vocabulary(
        negators=frozenset(w for n in data.get("negators") or [] for w in _plain(n).split()),
        phrases={level: _compile(data.get(level) or []) for level in WORDED},
        patterns={level: tuple(_pattern(p, f"{where}: patterns: {level}")
                               for p in _texts(found, f"{where}: patterns: {level}"))
                  for level, found in patterns.items()},
    )


def _texts(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of words (quote yes/no/on/off)")
    return value


def _pattern(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: {pattern!r} is not a regular expression ({exc})") from None


WORDS = WordFiles("anger", parse)


def vocabulary(language: str) -> Vocabulary:
    """The current app's anger words of `language`."""
    return WORDS.current()[language]


def _plain(entry: str) -> str:
    return " ".join(re.findall(r"[a-z0-9*]+", str(entry).lower()))


def _compile(entries: list[str]) -> re.Pattern[str] | None:
    """One regex for all entries of a level, longest first, whole words only; "ladr*" is
    "ladr" and any ending."""
    phrases = sorted({_plain(e) for e in entries if _plain(e)}, key=len, reverse=True)
    if not phrases:
        return None
    alternatives = [" ".join(re.escape(w[:-1]) + "[a-z0-9]*" if w.endswith("*") else re.escape(w)
                             for w in phrase.split()) for phrase in phrases]
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


def _negated(clause: str, start: int, vocab: Vocabulary) -> bool:
    before = clause[:start].split()[-NEGATION_REACH:]
    return any(t in vocab.negators for t in before)


def _find(clause: str, vocab: Vocabulary, level: str) -> list[str]:
    regex = vocab.phrases.get(level)
    found = [m.group(0) for m in regex.finditer(clause)
             if not _negated(clause, m.start(), vocab)] if regex is not None else []
    found += [m.group(0) for p in vocab.patterns.get(level, ()) if (m := p.search(clause))]
    return found


def _matches(clauses: list[list[str]], language: str, level: str) -> list[str]:
    vocab = vocabulary(language)
    found: list[str] = []
    for clause in clauses:
        found += _find(" ".join(clause), vocab, level)
    return list(dict.fromkeys(found))


def assess(text: str, language: str, *, failures: int = 0) -> AngerAssessment:
    """Level of anger in `text`; `failures` (repeated no-input/invalid) raises frustration to anger."""
    language = language if language in LANGUAGES else "en"
    clauses = words(text)
    abusive = _matches(clauses, language, "abusive")
    if language != "en":
        abusive += _matches(clauses, "en", "abusive")
    if abusive:
        return AngerAssessment("abusive", tuple(abusive))
    angry = _matches(clauses, language, "angry")
    frustrated = _matches(clauses, language, "frustrated")
    if angry or (frustrated and failures >= 2):
        return AngerAssessment("angry", tuple(angry + frustrated))
    if frustrated:
        return AngerAssessment("frustrated", tuple(frustrated))
    # Failing again and again without a cross word is confusion, not anger: the caller is
    # stuck and a person should take over, but nobody files a complaint on their behalf.
    if failures >= REPEATED_FAILURES:
        return AngerAssessment("stuck", (f"{failures} failures",))
    return AngerAssessment("none", ())
