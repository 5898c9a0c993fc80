"""Languages we speak, their Twilio voice/language codes, and the few prompts the
foundation itself needs (apologies, goodbyes: the "machine.*" keys of prompts/<lang>.yaml).

Those texts are read by app.prompts from the app's flows directory (FLOWS_DIR, the
repository's flows/ by default), like the flows' own prompts (its *.yaml) and the word files
(app.flows.words): a deployment with its own FLOWS_DIR speaks its own words."""

from __future__ import annotations

from typing import Literal

from app import prompts

Language = Literal["it", "nl", "en"]
LANGUAGES: tuple[Language, ...] = ("it", "nl", "en")

# BCP-47 codes Twilio's <Say>/<Gather language=...> accept, and a neural voice for each.
TWILIO_LANGUAGE: dict[str, str] = {"it": "it-IT", "nl": "nl-NL", "en": "en-GB"}
TWILIO_VOICE: dict[str, str] = {
    "it": "Polly.Bianca-Neural",
    "nl": "Polly.Laura-Neural",
    "en": "Polly.Amy-Neural",
}

# Country -> language, used when the hotline does not fix one (caller's country).
COUNTRY_LANGUAGE: dict[str, Language] = {
    "IT": "it", "SM": "it", "VA": "it", "CH": "it",
    "NL": "nl", "BE": "nl", "SR": "nl", "AW": "nl", "CW": "nl", "SX": "nl",
}



def language_for(country: str | None, preferred: str | None = None, default: str = "en") -> Language:
    """Pick the language: an explicit preference, then the caller's country, then the default."""
    for candidate in (preferred, COUNTRY_LANGUAGE.get((country or "").upper()), default):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return "en"


def prompt(key: str, language: str) -> str:
    """A machine prompt ("apology", "not_heard", ...) from prompts/<language>.yaml of the
    app's flows directory (app.prompts)."""
    return prompts.text(f"machine.{key}", language)
