"""Which choice did the caller make? Keys match exactly; words match whole words, then fuzzily.

- A key said as a word selects that key wherever keys are offered: "uno", "optie twee",
  "press five", "zero" (text2num reads the number; the language's vocabulary says which words
  around it, "press", "optie", "ehm", still mean "this key"). Only a whole answer counts, so
  "I've waited two weeks" is never key 2.
- Speech recognisers mishear ("garanzie" for "garanzia"), so words get a fuzzy second chance
  (rapidfuzz), but only over windows of the same number of words, so "no" never matches inside
  "non funziona".
- A phrase the caller negates never counts as itself: "non va bene", "dat klopt niet", "that's
  not fine" are not "va bene", "klopt", "fine". A negated "yes" phrase is a "no" (the choice that
  uses the vocabulary's `@no`); any other negated phrase is dropped ("I don't want an agent, where
  is my parcel" is about the parcel). Phrases that carry their own negation ("non funziona",
  "werkt niet", "don't call me again") are taken as they are. A negation ends with its clause:
  at the vocabulary's `clause_breaks` ("but", "ma") and at the punctuation the recogniser writes
  between clauses ("Adesso non posso, mi chiamate voi dopo?" asks for a call).
- Doubt is no answer: where a question offers yes or no, a caller who says they do not know
  ("non so se va bene", "geen idee of dat klopt") or denies a word of certainty ("not sure",
  "non ne sono sicura", "ik weet het niet zeker") is asked again, unless they also asked for
  something ("maybe another time"). A denied "sure" is not a "no": the vocabulary's `doubts`
  and `certainty` say which words these are.
- A `general` choice (the menu's "information") is heard only when no other choice is: its
  words are those callers put before what they want ("volevo chiedere quando arriva il pacco").
- Each choice scores the phrases it hears (not overlapping; a fuzzy hit counts by its
  similarity, a longer phrase a little more, the first thing said more), so "the internet keeps
  dropping out" gathers several small cues. The best choice wins; a runner-up close to it
  ("my washing machine broke and it's still under warranty") makes the pair *close*: the caller
  gets a short question naming both instead of "I didn't understand", or a wrong guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from text_to_num import alpha2digit

from app.flows import vocab as vocabulary
from app.flows.model import Choice
from app.flows.text import normalise

FUZZY_THRESHOLD = 86
NEAR_WORD_LETTERS = 5  # shorter words differ in meaning by a letter ("waar", "waarom"; "una", "in")
NEAR_WORD_RATIO = 75  # of one word against a phrase's word, once the whole phrase is near
NEGATION_REACH = 5  # words before a phrase a negator can still deny ("non voglio parlare con un operatore")
KEY_ANSWER_WORDS = 4  # longer answers are sentences, never a key said as a word
CLOSE = 0.8  # a runner-up scoring this share of the best is too close to call: ask which
LONGER = 0.1  # each extra word of a phrase: "onder de garantie" says a little more than "kapot"
LEAD = 0.5  # the answer a caller leads with counts more: "yes, I've got no service at all"
PREFACE = 0.5  # a plain yes/no beside a request of another choice: "no, don't call me again"
ASKED = 0.5  # a phrase the caller asks for ("I'd like it repaired under the warranty") over one they tell
ASK_REACH = 3  # words between the asking ("vorrei", "ik wil graag") and what is asked for
_KEYS = frozenset("0123456789")
NEUTRAL = -1  # the choice of a `neutral` phrase: none
# Punctuation between clauses, as speech recognisers write it: only before a space or the end,
# so "10:30" and "2.5" stay one word.
_CLAUSE_END = re.compile(r"[,;:.!?]+(?=\s|$)")


def match_digits(choices: Iterable[Choice], digits: str) -> Choice | None:
    digits = digits.strip()
    return next((c for c in choices if c.dtmf and c.dtmf == digits), None)


def spoken_key(said: str, language: str, vocab: vocabulary.Vocabulary | None = None) -> str | None:
    """The key 0-9 a short answer names in words ("optie twee" -> "2"), else None."""
    heard = normalise(said)
    if not heard or len(heard.split()) > KEY_ANSWER_WORDS:
        return None
    vocab = vocab or vocabulary.for_language(language)
    try:
        converted = alpha2digit(heard, language, threshold=0)
    except ValueError:  # a language text2num does not read: digits said as digits still count
        converted = heard
    left = [w for w in converted.split() if w not in vocab.fillers and w not in vocab.key_words]
    return left[0] if len(left) == 1 and left[0] in _KEYS else None


@dataclass(frozen=True)
class Understood:
    choice: Choice | None
    close: tuple[Choice, Choice] | None = None  # equally likely: ask which of the two
    how: str = ""  # "key" (a key said as a word) or "words"


def match_speech(choices: Sequence[Choice], said: str, language: str) -> Choice | None:
    return understand(choices, said, language).choice


def understand(choices: Sequence[Choice], said: str, language: str,
               vocab: vocabulary.Vocabulary | None = None) -> Understood:
    vocab = vocab or vocabulary.for_language(language)
    heard = normalise(said)
    if not heard:
        return Understood(None)
    key = spoken_key(heard, language, vocab)
    if key is not None:
        keyed = match_digits(choices, key)
        if keyed is not None:
            return Understood(keyed, how="key")
    index = _index(choices, language, vocab)
    words, breaks = heard_words(said, vocab)
    scores = _scores(index, words, vocab, _doubt(words, vocab, breaks) if index.yes_or_no else None, breaks)
    if any(s > 0 for i, s in enumerate(scores) if not choices[i].general):
        scores = [0.0 if choices[i].general else s for i, s in enumerate(scores)]
    ranked = sorted(((s, i) for i, s in enumerate(scores) if s > 0), reverse=True)
    if not ranked:
        return Understood(None)
    best, first = ranked[0]
    if len(ranked) > 1 and (ranked[1][0] >= CLOSE * best or says(words, vocab.both)):
        a, b = sorted((first, ranked[1][1]))  # named in the order the question offers them
        return Understood(None, close=(choices[a], choices[b]))
    return Understood(choices[first], how="words")


def phrase_ends(words: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> list[int]:
    """Where each of `phrases` ends among the words, every time it is said as it stands."""
    return [i + len(p) for p in phrases for i in range(len(words) - len(p) + 1) if tuple(words[i:i + len(p)]) == p]


def says(words: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> bool:
    """Whether one of `phrases` is among the words, as said (a vocabulary's phrase list)."""
    return bool(phrase_ends(words, phrases))


@dataclass(frozen=True)
class _Phrase:
    tokens: tuple[str, ...]
    choice: int
    fuzzy: bool  # long enough to match fuzzily; short words ("si", "ja", "no") only exactly
    denies: bool  # carries its own negation, or is a "no": never negated again
    yes: bool  # from the vocabulary's @yes: negated, it is a no
    answer: bool  # a plain yes or no ("sì", "nope"): the one said first is the answer


@dataclass(frozen=True)
class _Index:
    phrases: tuple[_Phrase, ...]
    by_first: dict[str, tuple[_Phrase, ...]]
    fuzzy_by_size: dict[int, tuple[tuple[str, ...], tuple[_Phrase, ...]]]
    no_choice: int | None
    yes_or_no: bool  # the question offers a yes or a no: a doubting caller has not answered it


# Built once per (question, language): the flows are loaded once, so a turn only looks words up.
# Keyed by identity; the entry keeps its choices and vocabulary alive, so an id is never reused.
_INDEXES: dict[tuple[int, str, int], tuple[Sequence[Choice], vocabulary.Vocabulary, _Index]] = {}


def _index(choices: Sequence[Choice], language: str, vocab: vocabulary.Vocabulary) -> _Index:
    key = (id(choices), language, id(vocab))
    cached = _INDEXES.get(key)
    if cached is not None and cached[0] is choices and cached[1] is vocab:
        return cached[2]
    if len(_INDEXES) > 1024:  # flows reloaded many times (tests): start again
        _INDEXES.clear()
    built = _build_index(choices, language, vocab)
    _INDEXES[key] = (choices, vocab, built)
    return built


def _build_index(choices: Sequence[Choice], language: str, vocab: vocabulary.Vocabulary) -> _Index:
    yes_words = {normalise(p) for p in vocab.concepts.get("yes", ())}
    no_words = {normalise(p) for p in vocab.concepts.get("no", ())}
    negators = vocab.negators | vocab.post_negators
    phrases = []
    for i, choice in enumerate(choices):
        for text in dict.fromkeys(_without_courtesies(normalise(p), vocab) for p in choice.speech.get(language, ())):
            if not text:
                continue
            tokens = tuple(text.split())
            # A denied phrase of a yes-choice ("non è urgente") is a no too, not only a denied "sì".
            phrases.append(_Phrase(tokens, i, len(text) >= 4, bool(negators & set(tokens)) or text in no_words,
                                   text in yes_words or "yes" in choice.concepts, text in yes_words | no_words))
    # Said for no choice, heard exactly so no choice hears them nearly ("mi chiamo Giulia" is
    # no "mi chiami"): the vocabulary's `neutral` phrases.
    phrases.extend(_Phrase(tokens, NEUTRAL, False, False, False, False) for tokens in vocab.neutral)
    by_first: dict[str, list[_Phrase]] = {}
    sized: dict[int, list[_Phrase]] = {}
    for p in phrases:
        by_first.setdefault(p.tokens[0], []).append(p)
        if p.fuzzy:
            sized.setdefault(len(p.tokens), []).append(p)
    no_choice = next((i for i, c in enumerate(choices) if "no" in c.concepts), None)
    yes_or_no = any({"yes", "no"} & set(c.concepts) for c in choices)
    return _Index(tuple(phrases), {k: tuple(v) for k, v in by_first.items()},
                  {n: (tuple(" ".join(p.tokens) for p in ps), tuple(ps)) for n, ps in sized.items()},
                  no_choice, yes_or_no)


def _without_courtesies(text: str, vocab: vocabulary.Vocabulary) -> str:
    """A phrase as it is matched: its courtesies left out, as they are from what callers say
    ("yes please" is "yes"); a phrase of courtesies only is kept whole."""
    kept = " ".join(w for w in text.split() if w not in vocab.courtesies)
    return kept or text


def _hits(index: _Index, words: list[str], negators: frozenset[str]) -> list[tuple[_Phrase, int, float]]:
    """(phrase, start, similarity 0..1) for every phrase heard exactly or nearly. A near miss
    that only differs by a negation ("geen storing" for "een storing") is no hit."""
    found: dict[tuple[int, int], tuple[_Phrase, int, float]] = {}
    exact: set[tuple[_Phrase, int]] = set()
    for start, word in enumerate(words):
        for phrase in index.by_first.get(word, ()):
            if tuple(words[start:start + len(phrase.tokens)]) == phrase.tokens:
                exact.add((phrase, start))
                found[(id(phrase), start)] = (phrase, start, 1.0)
    spans = {(start, len(phrase.tokens)) for phrase, start in exact}
    for size, (texts, phrases) in index.fuzzy_by_size.items():
        for start in range(0, len(words) - size + 1):
            if (start, size) in spans:  # heard exactly as one phrase: not nearly as another
                continue
            window_words = words[start:start + size]
            window = " ".join(window_words)
            denying = negators.intersection(window_words)
            for _text, score, at in process.extract(window, texts, scorer=fuzz.ratio,
                                                    score_cutoff=FUZZY_THRESHOLD, limit=None):
                phrase = phrases[at]
                if denying and not denying.issubset(phrase.tokens):
                    continue
                if not all(map(_near_word, window_words, phrase.tokens)):
                    continue
                if (phrase, start) not in exact:
                    found.setdefault((id(phrase), start), (phrase, start, score / 100))
    return list(found.values())


def _near_word(said: str, phrase_word: str) -> bool:
    """A word heard nearly as a phrase's word: the same word, or the same stem inflected or
    spelt a little differently ("lampeggiano" / "lampeggia", "chiamarmi" / "chiamare"): both
    words of five letters or more, beginning alike. Nearness
    of the whole phrase alone let a different word through: "waarom is mijn" for "waar is
    mijn", "una macchina" for "in macchina", "chiamare" for "richiamare", "può chiamare più"
    for "non chiamare più" (a denial nobody said)."""
    if said == phrase_word:
        return True
    return (min(len(said), len(phrase_word)) >= NEAR_WORD_LETTERS and said[:3] == phrase_word[:3]
            and fuzz.ratio(said, phrase_word) >= NEAR_WORD_RATIO)


def _asked_for(start: int, asked: list[int], breaks: frozenset[int], vocab: vocabulary.Vocabulary,
               words: list[str]) -> bool:
    """A phrase the caller asks for: an asking ends at most ASK_REACH words before it, in its clause."""
    for end in asked:
        if end <= start <= end + ASK_REACH and not any(
                i in breaks or words[i] in vocab.clause_breaks for i in range(end, start + 1) if i < len(words)):
            return True
    return False


def heard_words(said: str, vocab: vocabulary.Vocabulary) -> tuple[list[str], frozenset[int]]:
    """The words a choice is matched against, courtesies left out ("stop alstublieft met
    bellen"), and where each clause after the first begins among them."""
    words: list[str] = []
    starts: set[int] = set()
    for clause in _CLAUSE_END.split(said):
        kept = [w for w in normalise(clause).split() if w not in vocab.courtesies]
        if kept and words:
            starts.add(len(words))
        words += kept
    return words, frozenset(starts)


def _negator_before(words: list[str], start: int, vocab: vocabulary.Vocabulary,
                    skip: frozenset[int] = frozenset(), breaks: frozenset[int] = frozenset()) -> int | None:
    """Where the negator that denies the words from `start` stands, if one does: in the same
    clause (`breaks`: where clauses begin), within NEGATION_REACH words."""
    for i in range(start - 1, max(-1, start - 1 - NEGATION_REACH), -1):
        if i + 1 in breaks or words[i] in vocab.clause_breaks:
            break
        if words[i] in vocab.negators and i not in skip:
            return i
    return None


def _negated(words: list[str], start: int, end: int, vocab: vocabulary.Vocabulary,
             skip: frozenset[int] = frozenset(), breaks: frozenset[int] = frozenset()) -> bool:
    return _negator_before(words, start, vocab, skip, breaks) is not None or _post_negated(words, end, vocab, breaks)


def _post_negated(words: list[str], end: int, vocab: vocabulary.Vocabulary, breaks: frozenset[int]) -> bool:
    """A post-negator right after the phrase, in its clause, past the fillers only: "bel me
    alstublieft nooit meer" denies "bel me"; "de bezorger is niet geweest" does not deny
    "bezorger" (the "niet" belongs to "geweest")."""
    i = end
    while i < len(words) and i not in breaks and words[i] in vocab.fillers:
        i += 1
    return i < len(words) and i not in breaks and words[i] in vocab.post_negators


@dataclass(frozen=True)
class _Doubt:
    """A caller who does not know: where the negations are that the doubt owns ("non so",
    "not sure"), which deny nothing else, and the words it doubts ("not sure *if I want to
    change it*"), which ask for nothing."""

    owned: frozenset[int]
    doubted: frozenset[int]


def _doubt(words: list[str], vocab: vocabulary.Vocabulary, breaks: frozenset[int] = frozenset()) -> _Doubt | None:
    """None unless the caller says they do not know or denies their certainty. "Not sure,
    maybe change it" still asks for a change; "not sure if I want to change it" does not (the
    vocabulary's `doubt_links`, "if", "se", "of", tie what follows to the doubt, up to the end
    of the clause). Only a negator before a word of certainty counts: Dutch "zeker niet" is a
    firm no, "niet zeker" a doubt."""
    owned: set[int] = set()
    ends: list[int] = []  # where each doubt ends: a link word there ties what follows to it
    for phrase in vocab.doubts:
        size = len(phrase)
        for i in range(len(words) - size + 1):
            if tuple(words[i:i + size]) == phrase:
                ends.append(i + size)
                owned.update(j for j in range(i, i + size) if words[j] in vocab.negators)
    for i, word in enumerate(words):
        if word in vocab.certainty and (at := _negator_before(words, i, vocab, breaks=breaks)) is not None:
            ends.append(i + 1)
            owned.add(at)
    if not ends:
        return None
    doubted: set[int] = set()
    for end in ends:
        if end < len(words) and words[end] in vocab.doubt_links:
            stop = next((j for j in range(end + 1, len(words)) if words[j] in vocab.clause_breaks or j in breaks),
                        len(words))
            doubted.update(range(end, stop))
    return _Doubt(frozenset(owned), frozenset(doubted))


def _scores(index: _Index, words: list[str], vocab: vocabulary.Vocabulary,
            doubt: _Doubt | None = None, breaks: frozenset[int] = frozenset()) -> list[float]:
    """Per choice, the weight of the phrases heard for it. Phrases never share words: the
    longest (then the most similar) takes them, so "absolutely not" is not also "absolutely"
    and "don't call me again" not also "call me". A doubting caller gave no yes or no: only a
    request of its own counts ("maybe another time"), never a plain answer or a denied one."""
    owned, doubted = (doubt.owned, doubt.doubted) if doubt is not None else (frozenset(), frozenset())
    doubting = doubt is not None
    taken: set[int] = set()
    heard: list[tuple[_Phrase, int, int, float]] = []  # (phrase, choice, start, similarity)
    hits = _hits(index, words, vocab.negators | vocab.post_negators)
    for phrase, start, similarity in sorted(hits, key=lambda h: (-len(h[0].tokens), -h[2], h[1])):
        end = start + len(phrase.tokens)
        if taken.intersection(range(start, end)):
            continue
        if phrase.choice == NEUTRAL:
            taken.update(range(start, end))
            continue
        choice = phrase.choice
        # A negator inside a phrase already heard is that phrase's own ("il modem non funziona
        # e aspetto un pacco": the "non" says the modem fails, it denies no parcel).
        if not phrase.denies and _negated(words, start, end, vocab, owned | taken, breaks):
            if not phrase.yes or index.no_choice is None or doubting:
                continue
            choice = index.no_choice
        if doubting and (phrase.answer or doubted.intersection(range(start, end))):
            continue
        taken.update(range(start, end))
        heard.append((phrase, choice, start, similarity))
    # A plain yes or no next to a request of another choice only prefaces it ("no, non
    # chiamatemi più" opts out); between yes and no alone, the one said first is the answer.
    requests = {choice for phrase, choice, _s, _x in heard if not phrase.answer}
    answers = [(start, choice, sim) for phrase, choice, start, sim in heard if phrase.answer]
    scores = [0.0] * (1 + max((p.choice for p in index.phrases), default=0))  # NEUTRAL is below 0
    asked = phrase_ends(words, vocab.asks)  # where each asking ("vorrei", "I'd like") ends
    for phrase, choice, start, similarity in heard:
        weight = 1 + LONGER * (len(phrase.tokens) - 1)
        if phrase.answer and requests - {choice}:
            weight *= PREFACE
        elif not phrase.answer and _asked_for(start, asked, breaks, vocab, words):
            weight += ASKED
        scores[choice] += similarity * weight
    if not requests and len({choice for _s, choice, _x in answers}) > 1:
        _start, choice, similarity = min(answers)
        scores[choice] += LEAD * similarity
    return scores
