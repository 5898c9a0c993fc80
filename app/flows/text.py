"""Text as the recogniser gives it, made comparable: one form for what callers say and for
the words the vocabularies and flows list (both vocab.py and matching.py use it)."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[\w*]+")


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, elisions split: "Sì, dall'abbonamento!" ->
    "si dall abbonamento" (so "dall'abbonamento" still contains "abbonamento", and "fuck's" is
    "fuck s", never a new word "fucks")."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_TOKEN.findall(plain.replace("_", " ")))
