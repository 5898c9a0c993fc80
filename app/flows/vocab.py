"""What words mean on a call, per language: flows/vocab/<it|nl|en>.yaml, data beside the flows.

A vocabulary file holds:
- `concepts`: named phrase lists a flow's choices refer to as "@name" (`speech: "@yes"`, or
  `"@yes"` inside a language's list), so "yes" is one list per language, not one per question;
- `negators`, `post_negators`, `clause_breaks`: how this language says "not" (before the words
  it denies, or after them as Dutch "dat klopt niet"), and which words end its reach;
- `key_words`, `fillers`: the words around a number that still mean "this key" ("optie twee",
  "press five", "ehm uno");
- `doubts`, `certainty`, `doubt_links`: how this language says "I don't know" ("non lo so",
  "geen idee", "no idea"), its words of certainty, which negated are doubt too ("non sono
  sicura", "niet zeker", "not sure"), and the words that tie what follows to a doubt ("se",
  "of", "if"): a doubting caller has not answered a yes/no question, never refused it;
- `stopwords`: words that carry no topic in a question to the FAQ;
- `clarify`: the short question asked when two choices are equally likely, with {a} and {b};
- `speech_model`: the Twilio <Gather> speechModel used for this language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from app.config import PROJECT_ROOT
from app.flows.text import normalise
from app.i18n import LANGUAGES
from app.yamlfile import load_yaml

VOCAB_DIR = PROJECT_ROOT / "flows" / "vocab"


class VocabError(ValueError):
    """A vocabulary file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Vocabulary:
    language: str
    concepts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negators: frozenset[str] = frozenset()
    post_negators: frozenset[str] = frozenset()
    clause_breaks: frozenset[str] = frozenset()
    key_words: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()
    doubts: tuple[tuple[str, ...], ...] = ()  # normalised phrases, as words
    certainty: frozenset[str] = frozenset()
    doubt_links: frozenset[str] = frozenset()
    clarify: str = "{a}, {b}?"
    speech_model: str | None = None


def _words(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabError(f"{where}: '{key}' must be a list of quoted words")
    return tuple(value)


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
        key_words=norm("key_words"), fillers=norm("fillers"), stopwords=norm("stopwords"),
        doubts=tuple(dict.fromkeys(tuple(normalise(p).split()) for p in _words(raw, "doubts", where)
                                   if normalise(p))),
        certainty=norm("certainty"), doubt_links=norm("doubt_links"),
        clarify=str(raw.get("clarify") or "{a}, {b}?"),
        speech_model=str(raw["speech_model"]) if raw.get("speech_model") else None,
    )


@lru_cache(maxsize=8)
def load(directory: Path = VOCAB_DIR) -> dict[str, Vocabulary]:
    """Every language's vocabulary; a language without a file gets an empty one."""
    out: dict[str, Vocabulary] = {}
    for language in LANGUAGES:
        path = directory / f"{language}.yaml"
        if not path.exists():
            out[language] = Vocabulary(language)
            continue
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise VocabError(f"{path}: not valid YAML: {exc}") from exc
        out[language] = parse(raw, language, str(path))
    return out


def for_language(language: str, directory: Path = VOCAB_DIR) -> Vocabulary:
    return load(directory).get(language) or Vocabulary(language)
