"""What the console shows for a stored code (a status, kind, priority, outcome, purpose,
direction): the word in the operator's language. Codes stay English in the database and the
API; only their display is translated, here, in one place. An unknown code is shown as it is.
"""

from __future__ import annotations

from app.console.i18n import current_language

# code -> {language: label}; one meaning per code across the console's tables.
CODES: dict[str, dict[str, str]] = {
    # call, callback, campaign and ticket statuses
    "queued": {"it": "in coda", "nl": "in de wachtrij", "en": "queued"},
    "initiated": {"it": "avviata", "nl": "gestart", "en": "initiated"},
    "ringing": {"it": "squilla", "nl": "gaat over", "en": "ringing"},
    "in-progress": {"it": "in corso", "nl": "bezig", "en": "in progress"},
    "completed": {"it": "completata", "nl": "voltooid", "en": "completed"},
    "complete": {"it": "completata", "nl": "voltooid", "en": "complete"},  # a registry import
    "busy": {"it": "occupato", "nl": "in gesprek", "en": "busy"},
    "no-answer": {"it": "nessuna risposta", "nl": "niet opgenomen", "en": "no answer"},
    "failed": {"it": "non riuscita", "nl": "mislukt", "en": "failed"},
    "canceled": {"it": "annullata", "nl": "geannuleerd", "en": "canceled"},
    "scheduled": {"it": "programmata", "nl": "gepland", "en": "scheduled"},
    "dispatching": {"it": "in partenza", "nl": "wordt gebeld", "en": "dispatching"},
    "unknown": {"it": "esito incerto", "nl": "onzeker", "en": "unknown"},
    "placed": {"it": "inoltrata", "nl": "geplaatst", "en": "placed"},
    "answered": {"it": "risposta", "nl": "opgenomen", "en": "answered"},
    "missed": {"it": "mancata", "nl": "gemist", "en": "missed"},
    "refused": {"it": "rifiutata", "nl": "geweigerd", "en": "refused"},
    "cancelled": {"it": "annullata", "nl": "geannuleerd", "en": "cancelled"},
    "draft": {"it": "bozza", "nl": "concept", "en": "draft"},
    "running": {"it": "in corso", "nl": "actief", "en": "running"},
    "paused": {"it": "in pausa", "nl": "gepauzeerd", "en": "paused"},
    "stopped": {"it": "fermata", "nl": "gestopt", "en": "stopped"},
    "open": {"it": "aperto", "nl": "open", "en": "open"},
    "in_progress": {"it": "in lavorazione", "nl": "in behandeling", "en": "in progress"},
    "resolved": {"it": "risolto", "nl": "opgelost", "en": "resolved"},
    "closed": {"it": "chiuso", "nl": "gesloten", "en": "closed"},
    # ticket kinds and priorities
    "fault": {"it": "guasto", "nl": "storing", "en": "fault"},
    "warranty": {"it": "garanzia", "nl": "garantie", "en": "warranty"},
    "delivery_chase": {"it": "sollecito consegna", "nl": "levering navragen", "en": "delivery chase"},
    "complaint": {"it": "reclamo", "nl": "klacht", "en": "complaint"},
    "unanswered_question": {"it": "domanda senza risposta", "nl": "onbeantwoorde vraag",
                            "en": "unanswered question"},
    "low": {"it": "bassa", "nl": "laag", "en": "low"},
    "normal": {"it": "normale", "nl": "normaal", "en": "normal"},
    "high": {"it": "alta", "nl": "hoog", "en": "high"},
    "urgent": {"it": "urgente", "nl": "dringend", "en": "urgent"},
    # warranty claim outcomes
    "accepted": {"it": "accettata", "nl": "geaccepteerd", "en": "accepted"},
    "needs_review": {"it": "da verificare", "nl": "te controleren", "en": "needs review"},
    # why a claim was decided as it was (app/support/warranty.py)
    "commercial_warranty": {"it": "garanzia del produttore", "nl": "fabrieksgarantie", "en": "manufacturer's warranty"},
    "legal_guarantee": {"it": "garanzia legale", "nl": "wettelijke garantie", "en": "legal guarantee"},
    "expired": {"it": "garanzia scaduta", "nl": "garantie verlopen", "en": "cover expired"},
    "purchase_in_future": {"it": "data di acquisto nel futuro", "nl": "aankoopdatum in de toekomst",
                           "en": "purchase date in the future"},
    "unknown_serial": {"it": "numero di serie sconosciuto", "nl": "onbekend serienummer", "en": "unknown serial number"},
    "purchase_date_unknown": {"it": "data di acquisto sconosciuta", "nl": "aankoopdatum onbekend",
                              "en": "purchase date unknown"},
    # campaign purposes
    "sales": {"it": "vendita", "nl": "verkoop", "en": "sales"},
    "survey": {"it": "sondaggio", "nl": "enquête", "en": "survey"},
    "charity": {"it": "beneficenza", "nl": "goed doel", "en": "charity"},
    "political": {"it": "politica", "nl": "politiek", "en": "political"},
    "service": {"it": "servizio", "nl": "service", "en": "service"},
    # directions and flow kinds
    "inbound": {"it": "in entrata", "nl": "inkomend", "en": "inbound"},
    "outbound": {"it": "in uscita", "nl": "uitgaand", "en": "outbound"},
    "outbound-api": {"it": "in uscita", "nl": "uitgaand", "en": "outbound"},
    # Twilio's outbound-dial: the leg a <Dial> places from within a call (to an operator)
    "outbound-dial": {"it": "in uscita (inoltro)", "nl": "uitgaand (doorverbonden)", "en": "outbound (forwarded)"},
    "sub": {"it": "sotto-flusso", "nl": "subflow", "en": "sub-flow"},
}


def code_label(code: object) -> str:
    """The label of `code` in the operator's language; the code itself when it has none."""
    text = "" if code is None else str(code)
    labels = CODES.get(text)
    return labels.get(current_language(), labels["en"]) if labels else text
