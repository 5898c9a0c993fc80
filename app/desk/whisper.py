"""What the desk says on the phone: the whisper an operator hears before taking a caller, and
the few sentences callers hear around the bridge, in Italian, Dutch and English."""

from __future__ import annotations

from datetime import datetime

from app.desk.models import QueueEntry

LANGUAGES = ("it", "nl", "en")

LANGUAGE_NAMES = {
    "it": {"it": "italiano", "nl": "olandese", "en": "inglese"},
    "nl": {"it": "Italiaans", "nl": "Nederlands", "en": "Engels"},
    "en": {"it": "Italian", "nl": "Dutch", "en": "English"},
}
REASONS = {
    "it": {"fault": "guasto", "warranty": "garanzia", "delivery": "consegna", "info": "informazioni",
           "operator": "chiede un operatore", "complaint": "reclamo", "callback": "richiamata"},
    "nl": {"fault": "storing", "warranty": "garantie", "delivery": "bezorging", "info": "informatie",
           "operator": "vraagt om een medewerker", "complaint": "klacht", "callback": "terugbellen"},
    "en": {"fault": "a fault", "warranty": "warranty", "delivery": "a delivery", "info": "information",
           "operator": "asked for an operator", "complaint": "a complaint", "callback": "a callback"},
}
OPERATOR = {
    "intro": {"it": "Chiamata dal desk. Cliente in {language}, in attesa da {wait} secondi. Motivo: {reason}.",
              "nl": "Gesprek van de desk. Klant spreekt {language}, wacht al {wait} seconden. Reden: {reason}.",
              "en": "Desk call. Caller speaks {language}, waiting {wait} seconds. Reason: {reason}."},
    "callback": {"it": "Richiamata da fare ora. Cliente in {language}. Motivo: {reason}.",
                 "nl": "Terugbelafspraak, nu. Klant spreekt {language}. Reden: {reason}.",
                 "en": "A callback due now. The customer speaks {language}. Reason: {reason}."},
    "press_callback": {"it": "Per chiamare ora il cliente prema 1; per rifiutare prema 2.",
                       "nl": "Druk op 1 om de klant nu te bellen, of op 2 om te weigeren.",
                       "en": "Press 1 to call the customer now, or 2 to decline."},
    "calling_customer": {"it": "Chiamo il cliente: resti in linea.", "nl": "De klant wordt gebeld: blijf aan de lijn.",
                         "en": "Calling the customer now: please stay on the line."},
    "cannot_call": {"it": "Ora il cliente non può essere chiamato; la richiamata resta in console. Arrivederci.",
                    "nl": "De klant kan nu niet gebeld worden; de terugbelafspraak staat in de console. Tot ziens.",
                    "en": "The customer cannot be called now; the callback is on the console. Goodbye."},
    "no_answer": {"it": "Il cliente non ha risposto; la richiamata sarà ripetuta. Arrivederci.",
                  "nl": "De klant nam niet op; er wordt later opnieuw gebeld. Tot ziens.",
                  "en": "The customer did not answer; the callback will be tried again. Goodbye."},
    "upset": {"it": "Attenzione: il cliente è arrabbiato.", "nl": "Let op: de klant is boos.",
              "en": "Careful: the caller is upset."},
    "known": {"it": "Cliente riconosciuto.", "nl": "Bekende klant.", "en": "A known customer."},
    "press": {"it": "Per rispondere prema 1; per rifiutare prema 2.",
              "nl": "Druk op 1 om aan te nemen, of op 2 om te weigeren.",
              "en": "Press 1 to take the call, or 2 to decline."},
    "connecting": {"it": "La collego al cliente.", "nl": "U wordt verbonden met de klant.",
                   "en": "Connecting you to the caller."},
    "declined": {"it": "Va bene: risulta assente finché non torna disponibile sul desk. Arrivederci.",
                 "nl": "Goed: u staat op afwezig tot u zich op de desk weer beschikbaar meldt. Tot ziens.",
                 "en": "All right: you are marked away until you set yourself available on the desk. Goodbye."},
    "gone": {"it": "Il cliente ha già riagganciato o è stato servito. Resta disponibile. Arrivederci.",
             "nl": "De klant heeft al opgehangen of is al geholpen. U blijft beschikbaar. Tot ziens.",
             "en": "The caller has already hung up or been helped. You stay available. Goodbye."},
    "ended": {"it": "La chiamata è terminata. Completi la scheda sul desk. Arrivederci.",
              "nl": "Het gesprek is beëindigd. Rond het af op de desk. Tot ziens.",
              "en": "The call has ended. Please wrap up on the desk. Goodbye."},
}
CALLER = {
    "connecting": {"it": "Grazie per l'attesa: le passo ora un operatore.",
                   "nl": "Bedankt voor het wachten: u wordt nu doorverbonden met een medewerker.",
                   "en": "Thank you for waiting: I'm putting you through to an operator now."},
    "goodbye": {"it": "Grazie per aver chiamato {company}, arrivederci.",
                "nl": "Bedankt voor het bellen met {company}, tot ziens.",
                "en": "Thank you for calling {company}, goodbye."},
    "callback_hello": {
        "it": "Buongiorno, sono l'assistente virtuale di {company}. La richiamiamo per {about}: le passo subito un operatore.",
        "nl": "Goedendag, u spreekt met de digitale assistent van {company}. Wij bellen u terug over {about}: "
              "u wordt meteen doorverbonden met een medewerker.",
        "en": "Hello, this is the virtual assistant of {company}. We are calling you back about {about}: "
              "an operator is with you right now."},
    "sorry": {"it": "Mi scusi, non sono riuscita a passarle l'operatore. La preghiamo di richiamare. Arrivederci.",
              "nl": "Excuses, het doorverbinden is niet gelukt. Belt u ons alstublieft opnieuw. Tot ziens.",
              "en": "I'm sorry, I could not put you through. Please call us again. Goodbye."},
    "ended_by_operator": {
        "it": "Il nostro operatore deve chiudere questa conversazione. Quanto ci ha detto resta registrato "
              "e la sua segnalazione sarà esaminata. Grazie per aver chiamato, arrivederci.",
        "nl": "Onze medewerker moet dit gesprek beëindigen. Wat u ons vertelde blijft bewaard en uw melding "
              "wordt bekeken. Bedankt voor het bellen, tot ziens.",
        "en": "Our operator has to end this conversation. What you told us is kept and your report will be "
              "looked into. Thank you for calling, goodbye."},
}


def text(key: str, language: str) -> str:
    return OPERATOR[key].get(language) or OPERATOR[key]["en"]


def caller_text(key: str, language: str, **values: str) -> str:
    said = CALLER[key].get(language) or CALLER[key]["en"]
    return said.format(**values) if values else said


def reason_words(reason: str | None, language: str) -> str:
    words = REASONS.get(language, REASONS["en"])
    return words.get(reason or "operator") or words["operator"]


def summary(entry: QueueEntry, language: str, at: datetime) -> str:
    """Language, wait, reason; then 'upset' and 'known customer' when they are true."""
    names = LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"])
    wait = max(0, int((at - entry.enqueued_at).total_seconds()))
    intro = "callback" if entry.callback_id else "intro"
    parts = [text(intro, language).format(language=names.get(entry.language, entry.language), wait=wait,
                                            reason=reason_words(entry.reason, language))]
    if entry.complaint or entry.priority:
        parts.append(text("upset", language))
    if entry.recognised:
        parts.append(text("known", language))
    return " ".join(parts)
