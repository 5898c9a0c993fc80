"""Anger and abuse in what a caller says, from a small lexicon per language.

A lexicon, not a model: it is predictable, explainable on review ("flagged because: ridicolo,
vergogna") and works on the short, noisy text speech recognition gives us. Levels:
- "abusive": insults or profanity aimed at someone;
- "angry": strong frustration, threats to leave or to complain;
- "frustrated": milder words; only escalates together with repeated failures;
- "stuck": no cross words, but input failed again and again: a person takes over, no complaint.
English swearing is common in Dutch and Italian speech, so English abuse counts everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.flows.matching import normalise as _normalise

LEVELS = ("none", "frustrated", "angry", "abusive")
REPEATED_FAILURES = 3

LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "it": {
        "abusive": (
            "vaffanculo", "fanculo", "stronzo", "stronzi", "cazzo", "coglione", "coglioni",
            "idiota", "idioti", "imbecille", "imbecilli", "deficiente", "cretino", "cretini",
            "ladri", "truffatori", "merda", "bastardi",
        ),
        "angry": (
            "vergogna", "vergognoso", "ridicolo", "assurdo", "inaccettabile", "scandaloso",
            "sono stufo", "sono stufa", "non ne posso piu", "basta", "avvocato", "denuncia",
            "reclamo", "disdetta", "disdico", "furioso", "furiosa", "arrabbiato", "arrabbiata",
            "presa in giro", "prendete in giro", "ogni volta", "ancora una volta",
            "incompetenti", "porca miseria",
        ),
        "frustrated": (
            "non funziona niente", "gia chiamato", "ho gia chiamato", "terza volta",
            "nessuno risponde", "aspetto da", "sempre lo stesso", "non capite",
        ),
    },
    "nl": {
        "abusive": (
            "klootzak", "klootzakken", "kut", "kanker", "tering", "tyfus", "godverdomme",
            "idioot", "idioten", "debiel", "debielen", "oplichters", "boeven", "sukkel",
            "sukkels", "lul", "eikel",
        ),
        "angry": (
            "schandalig", "belachelijk", "onacceptabel", "absurd", "waardeloos", "ik ben het zat",
            "ik ben het beu", "advocaat", "klacht", "opzeggen", "ik zeg op", "woedend", "boos",
            "kwaad", "elke keer", "alweer", "nu is het genoeg", "kut", "incompetent",
        ),
        "frustrated": (
            "werkt nog steeds niet", "al gebeld", "al drie keer", "niemand neemt op",
            "wacht al", "steeds hetzelfde", "begrijpen het niet",
        ),
    },
    "en": {
        "abusive": (
            "fuck", "fucking", "fucked", "shit", "bullshit", "bastard", "bastards", "idiot",
            "idiots", "moron", "morons", "crooks", "scammers", "asshole", "damn you",
        ),
        "angry": (
            "ridiculous", "unacceptable", "disgrace", "disgraceful", "outrageous", "absurd",
            "fed up", "sick of", "lawyer", "complaint", "complain", "cancel my", "useless",
            "stupid", "incompetent",
            "furious", "angry", "every time", "yet again", "enough is enough",
        ),
        "frustrated": (
            "still not working", "already called", "third time", "nobody answers",
            "been waiting", "same thing", "you dont understand", "you don't understand",
        ),
    },
}


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


def _find(text: str, phrases: tuple[str, ...]) -> list[str]:
    padded = f" {text} "
    found = []
    for phrase in phrases:
        needle = normalise(phrase)
        # Word boundaries, so "basta" never fires inside "bastante" and "kut" not in "kutsch".
        if needle and f" {needle} " in padded:
            found.append(phrase)
    return found


def assess(text: str, language: str, *, failures: int = 0) -> AngerAssessment:
    """Level of anger in `text`; `failures` (repeated no-input/invalid) raises frustration to anger."""
    plain = normalise(text)
    lexicon = LEXICON.get(language, LEXICON["en"])
    abusive = _find(plain, lexicon["abusive"])
    if language != "en":
        abusive += _find(plain, LEXICON["en"]["abusive"])
    if abusive:
        return AngerAssessment("abusive", tuple(abusive))
    angry = _find(plain, lexicon["angry"])
    frustrated = _find(plain, lexicon["frustrated"])
    if angry or (frustrated and failures >= 2):
        return AngerAssessment("angry", tuple(angry + frustrated))
    if frustrated:
        return AngerAssessment("frustrated", tuple(frustrated))
    # Failing again and again without a cross word is confusion, not anger: the caller is
    # stuck and a person should take over, but nobody files a complaint on their behalf.
    if failures >= REPEATED_FAILURES:
        return AngerAssessment("stuck", (f"{failures} failures",))
    return AngerAssessment("none", ())
