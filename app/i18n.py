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
    "not_heard": {
        "it": "Mi scusi, non ho sentito nulla.",
        "nl": "Excuses, ik heb niets gehoord.",
        "en": "Sorry, I didn't hear anything.",
    },
    "not_understood": {
        "it": "Mi scusi, non ho capito.",
        "nl": "Excuses, dat heb ik niet begrepen.",
        "en": "Sorry, I didn't understand that.",
    },
    "language_menu": {
        "it": "Per l'italiano prema 1.",
        "nl": "Voor Nederlands, druk op 2.",
        "en": "For English, press 3.",
    },
    "queue_position": {
        "it": "Grazie per l'attesa. Lei è il numero {position} in coda.",
        "nl": "Dank u voor uw geduld. U bent nummer {position} in de wachtrij.",
        "en": "Thank you for waiting. You are number {position} in the queue.",
    },
    "queue_leave": {
        "it": "Se preferisce essere richiamato, prema 1 in qualsiasi momento.",
        "nl": "Wilt u liever teruggebeld worden, druk dan op elk moment op 1.",
        "en": "If you would rather be called back, press 1 at any time.",
    },
    "queue_timeout": {
        "it": "Ci scusi per la lunga attesa: le proponiamo di essere richiamato.",
        "nl": "Excuses voor het lange wachten: wij bieden u aan om u terug te bellen.",
        "en": "We are sorry for the long wait: let us offer you a callback instead.",
    },
    # Anger heard in an answer the flow does not check itself (the flow engine's check): the
    # apology and the complaint first, then the answer is read as usual.
    "anger_heard": {
        "it": "Mi dispiace davvero, ha ragione ad aspettarsi di meglio. Ho registrato il suo reclamo con il "
              "riferimento {complaint_ref|digits}, e un responsabile lo esaminerà.",
        "nl": "Het spijt me echt, u mag terecht meer van ons verwachten. Ik heb uw klacht vastgelegd onder "
              "nummer {complaint_ref|digits}, en een leidinggevende bekijkt die.",
        "en": "I'm truly sorry, you are right to expect better from us. I've recorded your complaint under "
              "reference {complaint_ref|digits}, and a manager will review it.",
    },
    "call_back_later": {
        "it": "La preghiamo di richiamare più tardi. Grazie per la pazienza e {farewell}.",
        "nl": "Wilt u het later nog eens proberen? Dank u voor uw geduld en {farewell}.",
        "en": "Please call us again a little later. Thank you for your patience, and {farewell}.",
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
