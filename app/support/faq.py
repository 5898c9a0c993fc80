"""The knowledge callers get answers from: faq/<lang>.yaml of the app's flows directory, one
maintained source (app.flows.words: read and checked once at start, the repository's outside
an app).

Format (validated on load, errors name the file and topic):
    language: it
    topics:
      - id: opening_hours          # stable id, logged with the answer
        key: "1"                   # keypad key in the topics menu (optional, unique)
        title: "orari di apertura" # read in the menu
        questions: ["a che ora aprite", ...]   # phrasings callers use
        keywords: ["orari", "aperti"]          # strong single words
        answer: "..."

A caller picks a topic by key, or asks in their words: the best topic by fuzzy similarity to
its phrasings (rapidfuzz) plus keyword hits wins if it clears a threshold; otherwise the
question is unanswered and gets logged for the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from app.flows.matching import normalise, spoken_key
from app.flows.vocab import Vocabulary, for_language
from app.flows.words import WordFiles

MATCH_THRESHOLD = 68.0
# At the main menu words are first an option; only a clear question becomes an answer there.
MENU_THRESHOLD = 80.0
NEGATION_REACH = 3  # content words after "non"/"niet"/"not" that the caller denies
KEYWORD_BONUS = 18.0

class FaqError(ValueError):
    """A knowledge file that cannot be used; the message names file and topic."""


@dataclass(frozen=True)
class Topic:
    id: str
    key: str | None
    title: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Knowledge:
    language: str
    topics: tuple[Topic, ...]

    def by_key(self, key: str) -> Topic | None:
        return next((t for t in self.topics if t.key is not None and t.key == key.strip()), None)

    def by_id(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def menu(self) -> list[Topic]:
        return sorted((t for t in self.topics if t.key), key=lambda t: t.key or "")


@dataclass(frozen=True)
class FaqMatch:
    topic: Topic
    score: float
    how: str  # "key" or "words"


def _topic(raw: object, where: str) -> Topic:
    if not isinstance(raw, dict):
        raise FaqError(f"{where}: each topic must be a mapping")
    missing = [f for f in ("id", "title", "answer") if not raw.get(f)]
    if missing:
        raise FaqError(f"{where}: missing {', '.join(missing)}")
    questions = raw.get("questions") or []
    if not isinstance(questions, list) or not questions:
        raise FaqError(f"{where} ({raw['id']}): needs at least one question phrasing")
    key = raw.get("key")
    return Topic(
        id=str(raw["id"]),
        key=str(key) if key is not None else None,
        title=str(raw["title"]),
        questions=tuple(str(q) for q in questions),
        keywords=tuple(str(k) for k in raw.get("keywords") or ()),
        answer=str(raw["answer"]).strip(),
    )


def parse_knowledge(data: object, where: str, language: str | None = None) -> Knowledge:
    """A knowledge file; `language`: the one its file name says, which `language:` must match."""
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise FaqError(f"{where}: expected a mapping with a 'topics' list")
    said = str(data.get("language") or language or "")
    if language is not None and said != language:
        raise FaqError(f"{where}: says 'language: {said}' in the file for {language!r}")
    topics = tuple(_topic(raw, f"{where} topic {i + 1}") for i, raw in enumerate(data["topics"]))
    for attr in ("id", "key"):
        values = [getattr(t, attr) for t in topics if getattr(t, attr) is not None]
        duplicates = {v for v in values if values.count(v) > 1}
        if duplicates:
            raise FaqError(f"{where}: duplicate topic {attr}(s) {sorted(duplicates)}")
    return Knowledge(language=said, topics=topics)


def _parse_file(data: Any, language: str, where: str) -> Knowledge:
    return parse_knowledge(data, where, language)


WORDS = WordFiles("faq", _parse_file)


def load(language: str) -> Knowledge:
    """The current app's knowledge in `language`."""
    found = WORDS.current().get(language)
    if found is None:
        raise FaqError(f"no knowledge file for language {language!r}")
    return found


# Cached per vocabulary (each app has its own, hashed by identity): a topic's phrasings are
# reduced to their content once, not at every question.
@lru_cache(maxsize=4096)
def _content(text: str, vocab: Vocabulary) -> str:
    """The words that carry the topic: no stopwords, and none the caller denies ("non voglio
    disdire, cambio solo casa" is about moving house, not cancelling). A negation that is
    itself the problem ("non va", "werkt niet", "doesn't work") denies nothing."""
    words = normalise(text).split()
    kept: list[str] = []
    denied = 0
    for at, word in enumerate(words):
        if word in vocab.negators and not _in_negative_phrase(words, at, vocab):
            denied = NEGATION_REACH
            continue
        if word in vocab.clause_breaks:
            denied = 0
        elif denied:
            denied -= 1
            continue
        if word not in vocab.stopwords:
            kept.append(word)
    return " ".join(kept)


@lru_cache(maxsize=8)
def _negative_phrases(vocab: Vocabulary) -> tuple[tuple[str, ...], ...]:
    """The vocabulary's phrases that say "not" as part of what they mean ("non funziona"). A
    lone negator listed as a word of some concept ("niet" as a one-word no) is no such phrase:
    it still denies what follows."""
    phrases = {tuple(normalise(p).split()) for ps in vocab.concepts.values() for p in ps}
    return tuple(p for p in phrases if len(p) > 1 and vocab.negators.intersection(p))


def _in_negative_phrase(words: list[str], at: int, vocab: Vocabulary) -> bool:
    for phrase in _negative_phrases(vocab):
        for offset, token in enumerate(phrase):
            start = at - offset
            if token == words[at] and start >= 0 and tuple(words[start:start + len(phrase)]) == phrase:
                return True
    return False


def _score(topic: Topic, content: str, vocab: Vocabulary, spread: dict[str, int]) -> float:
    # token_set alone scores 100 whenever one side's words are a subset of the other's;
    # averaging with token_sort keeps a one-word question from matching every long phrasing.
    best = max(
        0.5 * fuzz.token_set_ratio(content, c) + 0.5 * fuzz.token_sort_ratio(content, c)
        for c in (_content(q, vocab) for q in topic.questions)
    )
    padded = f" {content} "
    # A keyword counts by how much it singles its topic out: "saturday" (opening hours, but
    # also deliveries and visits) less than "engineer" (a visit only).
    weights = sorted((1 / spread.get(nk, 1) for k in topic.keywords if (nk := normalise(k)) and f" {nk} " in padded),
                     reverse=True)
    return best + KEYWORD_BONUS * sum(weights[:2])


@lru_cache(maxsize=64)
def _spread(knowledge: Knowledge) -> dict[str, int]:
    """For each keyword, how many topics name it: among their keywords or in their questions."""
    named = {t.id: {normalise(k) for k in t.keywords} - {""} for t in knowledge.topics}
    said = {t.id: f" {' '.join(normalise(q) for q in t.questions)} " for t in knowledge.topics}
    return {k: sum(1 for t in knowledge.topics if k in named[t.id] or f" {k} " in said[t.id]) or 1
            for k in set().union(*named.values())}


def match(knowledge: Knowledge, said: str, *, threshold: float = MATCH_THRESHOLD) -> FaqMatch | None:
    """The topic for a key press or a question in words; None when nothing is close enough."""
    text = (said or "").strip()
    if not text:
        return None
    keyed = knowledge.by_key(text) or knowledge.by_key(spoken_key(text, knowledge.language) or "")
    if keyed is not None:
        return FaqMatch(keyed, 100.0, "key")
    vocab = for_language(knowledge.language)
    content = _content(text, vocab)
    if not content:
        return None
    spread = _spread(knowledge)
    scored = sorted(
        ((_score(t, content, vocab, spread), t) for t in knowledge.topics), key=lambda st: -st[0]
    )
    if not scored or scored[0][0] < threshold:
        return None
    return FaqMatch(scored[0][1], scored[0][0], "words")


def menu_text(knowledge: Knowledge, template: str) -> str:
    """The spoken topic menu: template like 'for {title}, press {key}' joined per topic."""
    return " ".join(template.format(title=t.title, key=t.key) for t in knowledge.menu())
