"""Anger and abuse in what a caller says, from a vocabulary per language (flows/anger/<lang>.yaml).

A vocabulary, not a model: it is predictable, explainable on review ("flagged because:
ridicolo, vergogna") and works on the short, noisy text speech recognition gives us. The glue
here splits elisions ("dall'abbonamento" -> "dall abbonamento"), matches words by their lemma
(simplemma: "ladri" -> "ladro", "idiots" -> "idiot"), the start of compounds ("kutrouter"),
phrases and patterns (repeated calls: "è la terza volta che chiamo"), and drops a match right
after a negation, so "non sono arrabbiato" is calm. Levels:
- "abusive": insults or profanity aimed at someone;
- "angry": strong frustration, sarcasm, threats, repeated-call complaints;
- "frustrated": milder words; only escalates together with repeated failures;
- "stuck": no cross words, but input failed again and again: a person takes over, no complaint.
English swearing is common in Dutch and Italian speech, so English abuse counts everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import simplemma
import yaml

from app.flows.matching import normalise as _normalise

LEVELS = ("none", "frustrated", "angry", "abusive")
REPEATED_FAILURES = 3
VOCABULARY = Path(__file__).resolve().parents[2] / "flows" / "anger"
LANGUAGES = ("it", "nl", "en")
NEGATION_REACH = 2  # words before a match that can negate it: "I'm not angry", "ik ben niet boos"


@dataclass(frozen=True)
class AngerAssessment:
    level: str
    matches: tuple[str, ...]

    @property
    def escalate(self) -> bool:
        return self.level in ("angry", "abusive")


def normalise(text: str) -> str:
    """The one normalisation every matcher uses: "Più!" -> "piu", "fuck's" -> "fuck s" (an
    elision is split, never joined into a new word)."""
    return _normalise(text)


def words(text: str) -> list[list[str]]:
    """Clauses of plain words; an elision is two words ("fuck's" -> "fuck s")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    clauses = re.split(r"[.,;:!?]+", plain.replace("’", "'"))
    return [found for clause in clauses if (found := re.findall(r"[a-z0-9*]+", clause))]


@dataclass(frozen=True)
class Vocabulary:
    language: str
    negators: frozenset[str]
    phrases: dict[str, tuple[tuple[str, ...], ...]]  # level -> phrases as words
    stems: dict[str, tuple[str, ...]]
    patterns: dict[str, tuple[re.Pattern[str], ...]]


@cache
def vocabulary(language: str) -> Vocabulary:
    with open(VOCABULARY / f"{language}.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    phrases = {level: tuple(tuple(normalise(p).split()) for p in data.get(level) or [])
               for level in ("abusive", "angry", "frustrated")}
    return Vocabulary(
        language=language,
        negators=frozenset(w for n in data.get("negators") or [] for w in normalise(n).split()),
        phrases=phrases,
        stems={level: tuple(stems or []) for level, stems in (data.get("stems") or {}).items()},
        patterns={level: tuple(re.compile(p) for p in patterns or [])
                  for level, patterns in (data.get("patterns") or {}).items()},
    )


def _lemmas(tokens: list[str], language: str) -> list[str]:
    return [simplemma.lemmatize(t, lang=language) for t in tokens]


def _negated(tokens: list[str], start: int, vocab: Vocabulary) -> bool:
    return any(t in vocab.negators for t in tokens[max(0, start - NEGATION_REACH):start])


def _find(clause: list[str], lemmas: list[str], vocab: Vocabulary, level: str) -> list[str]:
    found = []
    for phrase in vocab.phrases.get(level, ()):
        size = len(phrase)
        for start in range(len(clause) - size + 1):
            surface, lemma = tuple(clause[start:start + size]), tuple(lemmas[start:start + size])
            if phrase in (surface, lemma) or (size == 1 and simplemma.lemmatize(phrase[0], lang=vocab.language)
                                              == lemma[0]):
                if not _negated(clause, start, vocab):
                    found.append(" ".join(phrase))
                break
    for index, token in enumerate(clause):
        for stem in vocab.stems.get(level, ()):
            if token.startswith(stem) and len(token) > len(stem) + 1 and not _negated(clause, index, vocab):
                found.append(token)
    text = " ".join(clause)
    found += [m.group(0) for p in vocab.patterns.get(level, ()) if (m := p.search(text))]
    return found


def _matches(clauses: list[list[str]], language: str, level: str) -> list[str]:
    vocab = vocabulary(language)
    found: list[str] = []
    for clause in clauses:
        found += _find(clause, _lemmas(clause, language), vocab, level)
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
