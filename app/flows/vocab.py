"""What words mean on a call, per language: vocab/<it|nl|en>.yaml of the app's flows directory
(app.flows.words: read once at start, the repository's outside an app).

A vocabulary file holds:
- `concepts`: named phrase lists a flow's choices refer to as "@name" (`speech: "@yes"`, or
  `"@yes"` inside a language's list), so "yes" is one list per language, not one per question;
- `negators`, `post_negators`, `clause_breaks`: how this language says "not" (before the words
  it denies, or after them as Dutch "dat klopt niet", past `fillers` only: "bel me alstublieft
  nooit meer"), and which words end its reach;
- `key_words`, `fillers`: the words around a number that still mean "this key" ("optie twee",
  "press five", "ehm uno");
- `courtesies`: words of politeness that mean nothing to a choice and are left out of what the
  caller said and of the phrases, so "stop alstublieft met bellen" is "stop met bellen";
- `doubts`, `certainty`, `doubt_links`: how this language says "I don't know" ("non lo so",
  "geen idee", "no idea"), its words of certainty, which negated are doubt too ("non sono
  sicura", "niet zeker", "not sure"), and the words that tie what follows to a doubt ("se",
  "of", "if"): a doubting caller has not answered a yes/no question, never refused it;
- `neutral`: phrases that ask for nothing but look like a request nearly ("mi chiamo Giulia",
  my name is, beside "mi chiami", call me): heard as themselves, they are no choice's words;
- `asks`: how this language asks for something ("vorrei", "ik wil graag", "I'd like"): a choice's
  phrase asked for outweighs one only told ("...it stopped working, I'd like it repaired under
  the warranty" is a claim);
- `general_questions`: how a question about how things are done or cost begins ("how much",
  "quanto costa", "hoe lang duurt"): at the menu, such a question the knowledge answers gets
  that answer even when it names a delivery, a warranty or a fault;
- `both`: how this language says it wants two things at once ("allebei", "tutti e due"): when
  two choices are heard with it, the caller is asked which comes first, never given one;
- `stopwords`: words that carry no topic in a question to the FAQ;
- `clarify`: the short question asked when two choices are equally likely, with {a} and {b};
- `speech_model`: the Twilio <Gather> speechModel used for this language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.flows.text import normalise
from app.flows.words import WordFiles


class VocabError(ValueError):
    """A vocabulary file that cannot be used; the message names the file and the field."""


# eq=False: a vocabulary is itself, hashed by identity, so what is worked out from it can be
# cached per vocabulary (app.support.faq) without mixing two apps' words.
@dataclass(frozen=True, eq=False)
class Vocabulary:
    language: str
    concepts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negators: frozenset[str] = frozenset()
    post_negators: frozenset[str] = frozenset()
    clause_breaks: frozenset[str] = frozenset()
    key_words: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()
    courtesies: frozenset[str] = frozenset()  # "please", "alstublieft": heard nowhere, inside phrases too
    stopwords: frozenset[str] = frozenset()
    doubts: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    certainty: frozenset[str] = frozenset()
    doubt_links: frozenset[str] = frozenset()
    both: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    neutral: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    asks: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    general_questions: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    clarify: str = "{a}, {b}?"
    speech_model: str | None = None


def _words(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabError(f"{where}: '{key}' must be a list of quoted words")
    return tuple(value)


def _phrases(raw: Mapping[str, Any], key: str, where: str) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(tuple(normalise(p).split()) for p in _words(raw, key, where) if normalise(p)))


def parse(raw: Any, language: str, where: str) -> Vocabulary:
    if not isinstance(raw, Mapping):
        raise VocabError(f"{where}: expected a mapping")
    concepts_raw = raw.get("concepts") or {}
    if not isinstance(concepts_raw, Mapping):
        raise VocabError(f"{where}: 'concepts' must map names to lists of phrases")
    concepts = {str(name): _words(concepts_raw, name, f"{where} concepts") for name in concepts_raw}

    def norm(key: str) -> frozenset[str]:
        return frozenset(normalise(w) for w in _words(raw, key, where) if normalise(w))

    return Vocabulary(
        language=language, concepts=concepts, negators=norm("negators"),
        post_negators=norm("post_negators"), clause_breaks=norm("clause_breaks"),
        key_words=norm("key_words"), fillers=norm("fillers"), courtesies=norm("courtesies"),
        stopwords=norm("stopwords"),
        doubts=_phrases(raw, "doubts", where), both=_phrases(raw, "both", where),
        neutral=_phrases(raw, "neutral", where), asks=_phrases(raw, "asks", where),
        general_questions=_phrases(raw, "general_questions", where),
        certainty=norm("certainty"), doubt_links=norm("doubt_links"),
        clarify=str(raw.get("clarify") or "{a}, {b}?"),
        speech_model=str(raw["speech_model"]) if raw.get("speech_model") else None,
    )


WORDS = WordFiles("vocab", parse)


def for_language(language: str) -> Vocabulary:
    """The current app's vocabulary of `language` (an empty one for a language we do not speak)."""
    return WORDS.current().get(language) or Vocabulary(language)
