"""Languages we speak, their Twilio voice/language codes, and the few prompts the
foundation itself needs (apologies, goodbyes). Flow prompts live in flows/*.yaml."""

from __future__ import annotations

from typing import Literal

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

PROMPTS: dict[str, dict[str, str]] = {
    "apology": {
        "it": "Ci scusi, abbiamo un problema tecnico in questo momento.",
        "nl": "Excuses, we hebben op dit moment een technisch probleem.",
        "en": "We are sorry, we have a technical problem right now.",
    },
    "transfer_operator": {
        "it": "La metto in contatto con un operatore.",
        "nl": "Ik verbind u door met een medewerker.",
        "en": "Let me put you through to an operator.",
    },
    "call_back_later": {
        "it": "La preghiamo di richiamare più tardi. Grazie per la pazienza e buona giornata.",
        "nl": "Wilt u het later nog eens proberen? Dank u voor uw geduld en nog een fijne dag.",
        "en": "Please call us again a little later. Thank you for your patience, and have a good day.",
    },
}


def language_for(country: str | None, preferred: str | None = None, default: str = "en") -> Language:
    """Pick the language: an explicit preference, then the caller's country, then the default."""
    for candidate in (preferred, COUNTRY_LANGUAGE.get((country or "").upper()), default):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return "en"


def prompt(key: str, language: str) -> str:
    texts = PROMPTS[key]
    return texts.get(language) or texts["en"]
