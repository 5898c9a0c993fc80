"""The console's words in Italian, Dutch and English, and the operator's chosen language.

A small catalogue is enough for a few dozen labels; a missing key falls back to English, then
to the key itself, so a page never breaks for want of a translation.
"""

from __future__ import annotations

from flask import request, session

from app.i18n import LANGUAGES
from app.refusals import Refusal

LANG_KEY = "console_lang"

M: dict[str, dict[str, str]] = {
    "app_title": {"it": "Console operatori", "nl": "Operatorconsole", "en": "Operator console"},
    "login": {"it": "Accedi", "nl": "Inloggen", "en": "Log in"},
    "logout": {"it": "Esci", "nl": "Uitloggen", "en": "Log out"},
    "username": {"it": "Nome utente", "nl": "Gebruikersnaam", "en": "Username"},
    "password": {"it": "Password", "nl": "Wachtwoord", "en": "Password"},
    "bad_login": {"it": "Nome utente o password non validi.", "nl": "Onjuiste gebruikersnaam of wachtwoord.",
                  "en": "Wrong username or password."},
    "login_needed": {"it": "Accedi per continuare.", "nl": "Log in om verder te gaan.",
                     "en": "Please log in to continue."},
    "csrf_failed": {"it": "Il modulo è scaduto o non valido: ricarica la pagina e riprova.",
                    "nl": "Het formulier is verlopen of ongeldig: laad de pagina opnieuw en probeer het nog eens.",
                    "en": "The form has expired or is invalid: reload the page and try again."},
    "language": {"it": "Lingua", "nl": "Taal", "en": "Language"},
    "dashboard": {"it": "Cruscotto", "nl": "Dashboard", "en": "Dashboard"},
    "calls": {"it": "Chiamate", "nl": "Gesprekken", "en": "Calls"},
    "call": {"it": "Chiamata", "nl": "Gesprek", "en": "Call"},
    "tickets": {"it": "Ticket", "nl": "Tickets", "en": "Tickets"},
    "claims": {"it": "Richieste di garanzia", "nl": "Garantieclaims", "en": "Warranty claims"},
    "callbacks": {"it": "Richiamate", "nl": "Terugbelverzoeken", "en": "Callbacks"},
    "campaigns": {"it": "Campagne", "nl": "Campagnes", "en": "Campaigns"},
    "contacts": {"it": "Contatti", "nl": "Contacten", "en": "Contacts"},
    "consent": {"it": "Consensi", "nl": "Toestemmingen", "en": "Consent"},
    "registries": {"it": "Registri", "nl": "Registers", "en": "Registries"},
    "compliance": {"it": "Decisioni di conformità", "nl": "Nalevingsbesluiten", "en": "Compliance decisions"},
    "flows": {"it": "Flussi", "nl": "Flows", "en": "Flows"},
    "softphone": {"it": "Softphone (simulatore)", "nl": "Softphone (simulator)", "en": "Softphone (simulator)"},
    "calls_per_hour": {"it": "Chiamate per ora (ultime 24 ore)", "nl": "Gesprekken per uur (laatste 24 uur)",
                       "en": "Calls per hour (last 24 hours)"},
    "outcomes": {"it": "Esiti (ultime 24 ore)", "nl": "Uitkomsten (laatste 24 uur)", "en": "Outcomes (last 24 hours)"},
    "abandonment": {"it": "Tasso di abbandono per campagna", "nl": "Verlatingspercentage per campagne",
                    "en": "Abandonment rate per campaign"},
    "callbacks_today": {"it": "Richiamate previste oggi", "nl": "Terugbelverzoeken vandaag",
                        "en": "Callbacks due today"},
    "callbacks_missed": {"it": "Richiamate mancate", "nl": "Gemiste terugbelverzoeken", "en": "Missed callbacks"},
    "open_tickets": {"it": "Ticket aperti", "nl": "Open tickets", "en": "Open tickets"},
    "not_available": {"it": "Non ancora disponibile in questa installazione.",
                      "nl": "Nog niet beschikbaar in deze installatie.",
                      "en": "Not available in this installation yet."},
    "none": {"it": "Nessun elemento.", "nl": "Geen items.", "en": "Nothing here."},
    "status": {"it": "Stato", "nl": "Status", "en": "Status"},
    "direction": {"it": "Direzione", "nl": "Richting", "en": "Direction"},
    "from": {"it": "Da", "nl": "Van", "en": "From"},
    "to": {"it": "A", "nl": "Naar", "en": "To"},
    "started": {"it": "Inizio", "nl": "Begin", "en": "Started"},
    "ended": {"it": "Fine", "nl": "Einde", "en": "Ended"},
    "duration": {"it": "Durata (s)", "nl": "Duur (s)", "en": "Duration (s)"},
    "flow": {"it": "Flusso", "nl": "Flow", "en": "Flow"},
    "node": {"it": "Nodo", "nl": "Knooppunt", "en": "Node"},
    "language_col": {"it": "Lingua", "nl": "Taal", "en": "Language"},
    "transcript": {"it": "Trascrizione", "nl": "Transcript", "en": "Transcript"},
    "path": {"it": "Percorso nel flusso", "nl": "Pad door de flow", "en": "Path through the flow"},
    "steps": {"it": "Passi", "nl": "Stappen", "en": "Steps"},
    "events": {"it": "Eventi di stato", "nl": "Statusgebeurtenissen", "en": "Status events"},
    "system": {"it": "Sistema", "nl": "Systeem", "en": "System"},
    "caller": {"it": "Chiamante", "nl": "Beller", "en": "Caller"},
    "kind": {"it": "Tipo", "nl": "Soort", "en": "Kind"},
    "input": {"it": "Input", "nl": "Invoer", "en": "Input"},
    "outcome": {"it": "Esito", "nl": "Uitkomst", "en": "Outcome"},
    "said": {"it": "Detto", "nl": "Gezegd", "en": "Said"},
    "filter": {"it": "Filtra", "nl": "Filteren", "en": "Filter"},
    "all": {"it": "Tutti", "nl": "Alle", "en": "All"},
    "number": {"it": "Numero", "nl": "Nummer", "en": "Number"},
    "previous": {"it": "Precedenti", "nl": "Vorige", "en": "Previous"},
    "next": {"it": "Successivi", "nl": "Volgende", "en": "Next"},
    "page_of": {"it": "{first}–{last} di {total}", "nl": "{first}–{last} van {total}",
                "en": "{first}–{last} of {total}"},
    "not_found": {"it": "Non trovato.", "nl": "Niet gevonden.", "en": "Not found."},
    "reference": {"it": "Riferimento", "nl": "Referentie", "en": "Reference"},
    "subject": {"it": "Oggetto", "nl": "Onderwerp", "en": "Subject"},
    "priority": {"it": "Priorità", "nl": "Prioriteit", "en": "Priority"},
    "created": {"it": "Creato", "nl": "Aangemaakt", "en": "Created"},
    "description": {"it": "Descrizione", "nl": "Omschrijving", "en": "Description"},
    "save": {"it": "Salva", "nl": "Opslaan", "en": "Save"},
    "saved": {"it": "Salvato.", "nl": "Opgeslagen.", "en": "Saved."},
    "export_csv": {"it": "Esporta CSV", "nl": "CSV exporteren", "en": "Export CSV"},
    "welcome": {"it": "Benvenuto, {name}.", "nl": "Welkom, {name}.", "en": "Welcome, {name}."},
    "no_data": {"it": "Nessun dato nel periodo.", "nl": "Geen gegevens in deze periode.",
                "en": "No data in this period."},
    "hour": {"it": "Ora", "nl": "Uur", "en": "Hour"},
    "count": {"it": "Numero", "nl": "Aantal", "en": "Count"},
    "api_docs": {"it": "Documento OpenAPI", "nl": "OpenAPI-document", "en": "OpenAPI document"},
    "mermaid_note": {"it": "Sorgente Mermaid del diagramma (incollabile in qualsiasi visualizzatore Mermaid).",
                     "nl": "Mermaid-bron van het diagram (te plakken in elke Mermaid-viewer).",
                     "en": "Mermaid source of the diagram (paste into any Mermaid viewer)."},
    "error": {"it": "Errore", "nl": "Fout", "en": "Error"},
    "search": {"it": "Cerca", "nl": "Zoeken", "en": "Search"},
    "region": {"it": "Paese", "nl": "Land", "en": "Country"},
    "country": {"it": "Paese", "nl": "Land", "en": "Country"},
    "name": {"it": "Nome", "nl": "Naam", "en": "Name"},
    "time_zone": {"it": "Fuso orario", "nl": "Tijdzone", "en": "Time zone"},
    "source": {"it": "Origine", "nl": "Bron", "en": "Source"},
    "erased": {"it": "Cancellato", "nl": "Gewist", "en": "Erased"},
    "consent_history": {"it": "Storico dei consensi", "nl": "Toestemmingsgeschiedenis", "en": "Consent history"},
    "opt_outs": {"it": "Opposizioni", "nl": "Afmeldingen", "en": "Opt-outs"},
    "when": {"it": "Quando", "nl": "Wanneer", "en": "When"},
    "action": {"it": "Azione", "nl": "Actie", "en": "Action"},
    "purpose": {"it": "Finalità", "nl": "Doel", "en": "Purpose"},
    "channel": {"it": "Canale", "nl": "Kanaal", "en": "Channel"},
    "recorded_by": {"it": "Registrato da", "nl": "Vastgelegd door", "en": "Recorded by"},
    "allowed": {"it": "Consentita", "nl": "Toegestaan", "en": "Allowed"},
    "rule": {"it": "Regola", "nl": "Regel", "en": "Rule"},
    "reason": {"it": "Motivo", "nl": "Reden", "en": "Reason"},
    "next_allowed": {"it": "Prossimo orario consentito", "nl": "Eerstvolgend toegestaan", "en": "Next allowed"},
    "registry": {"it": "Registro", "nl": "Register", "en": "Registry"},
    "file": {"it": "File", "nl": "Bestand", "en": "File"},
    "obtained": {"it": "Ottenuto il", "nl": "Verkregen op", "en": "Obtained"},
    "numbers": {"it": "Numeri", "nl": "Nummers", "en": "Numbers"},
    "rejected": {"it": "Righe scartate", "nl": "Afgewezen regels", "en": "Rejected lines"},
    "opt_out_saved": {"it": "Opposizione registrata: il numero non sarà più chiamato.",
                      "nl": "Afmelding vastgelegd: het nummer wordt niet meer gebeld.",
                      "en": "Opt-out recorded: the number will not be called again."},
    "record_opt_out": {"it": "Registra opposizione", "nl": "Afmelding vastleggen", "en": "Record opt-out"},
    "erase": {"it": "Cancella i dati (GDPR)", "nl": "Gegevens wissen (AVG)", "en": "Erase data (GDPR)"},
    "erase_confirm": {"it": "Cancellare definitivamente i dati personali di questo contatto?",
                      "nl": "De persoonsgegevens van dit contact definitief wissen?",
                      "en": "Permanently erase this contact's personal data?"},
    "erased_done": {"it": "Dati cancellati.", "nl": "Gegevens gewist.", "en": "Personal data erased."},
    "import_contacts": {"it": "Importa contatti (CSV)", "nl": "Contacten importeren (CSV)",
                        "en": "Import contacts (CSV)"},
    "import_registry": {"it": "Importa registro", "nl": "Register importeren", "en": "Import registry"},
    "import": {"it": "Importa", "nl": "Importeren", "en": "Import"},
    "import_refused": {"it": "Importazione rifiutata", "nl": "Import geweigerd", "en": "Import refused"},
    "import_done": {"it": "Importati: {created} nuovi, {updated} aggiornati, {errors} righe con errori.",
                    "nl": "Geïmporteerd: {created} nieuw, {updated} bijgewerkt, {errors} regels met fouten.",
                    "en": "Imported: {created} new, {updated} updated, {errors} rows with errors."},
    "registry_done": {"it": "Registro importato: {numbers} numeri, {rejected} righe scartate.",
                      "nl": "Register geïmporteerd: {numbers} nummers, {rejected} regels afgewezen.",
                      "en": "Registry imported: {numbers} numbers, {rejected} lines rejected."},
    "line": {"it": "Riga", "nl": "Regel", "en": "Line"},
    "import_running": {"it": "Importazione in corso: la pagina si aggiorna da sola.",
                       "nl": "Import bezig: de pagina ververst zichzelf.",
                       "en": "Import running: this page refreshes itself."},
    # A service's refusals (app.refusals.Refusal), by code.
    "refusal_due_without_zone": {"it": "Indica il fuso orario dell'ora scelta.",
                                 "nl": "Geef de tijdzone van het gekozen tijdstip op.",
                                 "en": "Give the time zone of the chosen time."},
    "refusal_due_in_past": {"it": "L'ora scelta è già passata.", "nl": "Het gekozen tijdstip is al voorbij.",
                            "en": "The chosen time has already passed."},
    "refusal_who_missing": {"it": "Manca chi esegue l'operazione.", "nl": "Er staat niet bij wie dit doet.",
                            "en": "Say who is doing this."},
    "refusal_reason_missing": {"it": "Indica il motivo dell'annullamento.", "nl": "Geef de reden van de annulering op.",
                               "en": "Say why the callback is cancelled."},
    "refusal_callback_not_movable": {"it": "Una richiamata in stato {status} non si può spostare.",
                                     "nl": "Een terugbelverzoek met status {status} kan niet worden verplaatst.",
                                     "en": "A {status} callback cannot be moved."},
    "refusal_callback_not_cancellable": {"it": "Una richiamata in stato {status} non si può annullare.",
                                         "nl": "Een terugbelverzoek met status {status} kan niet worden geannuleerd.",
                                         "en": "A {status} callback cannot be cancelled."},
    "refusal_campaign_step_impossible": {
        "it": "Non si può fare «{event}» su una campagna in stato {status}; possibile: {possible}.",
        "nl": "«{event}» kan niet bij een campagne met status {status}; wel mogelijk: {possible}.",
        "en": "Cannot {event} a {status} campaign; possible: {possible}."},
    "refusal_campaign_final": {
        "it": "Non si può fare «{event}» su una campagna in stato {status}: è definitivo.",
        "nl": "«{event}» kan niet bij een campagne met status {status}: die is definitief.",
        "en": "Cannot {event} a {status} campaign: it is final."},
    "refusal_campaign_flow_missing": {"it": "Non esiste un flusso chiamato «{flow}».",
                                      "nl": "Er is geen flow met de naam «{flow}».",
                                      "en": "There is no flow called «{flow}»."},
    "refusal_campaign_flow_not_outbound": {
        "it": "«{flow}» è un flusso {kind}: una campagna ne vuole uno in uscita (con la presentazione).",
        "nl": "«{flow}» is een {kind}-flow: een campagne heeft een uitgaande flow nodig (met de opening).",
        "en": "«{flow}» is a {kind} flow: a campaign needs an outbound flow (it has the opener)."},
    "refusal_campaign_name_length": {"it": "Il nome va da 1 a 100 caratteri.", "nl": "De naam telt 1 tot 100 tekens.",
                                     "en": "The name needs 1 to 100 characters."},
    "refusal_campaign_name_taken": {"it": "Esiste già una campagna chiamata «{name}».",
                                    "nl": "Er bestaat al een campagne met de naam «{name}».",
                                    "en": "A campaign called «{name}» exists already."},
    "refusal_campaign_offer_missing": {"it": "Una campagna di vendita deve dire quale offerta presenta.",
                                       "nl": "Een verkoopcampagne moet zeggen welk aanbod ze doet.",
                                       "en": "A sales campaign must say which offer it presents."},
    "refusal_campaign_languages_missing": {"it": "Scegli almeno una lingua.", "nl": "Kies minstens één taal.",
                                           "en": "Choose at least one language."},
    "refusal_campaign_reason_missing": {
        "it": "Scrivi perché chiamiamo in ogni lingua della campagna (manca: {missing}).",
        "nl": "Schrijf in elke taal van de campagne waarom we bellen (ontbreekt: {missing}).",
        "en": "Say why we call in every campaign language (missing: {missing})."},
    "refusal_campaign_hours_not_range": {"it": "«{hours}» non è una fascia oraria come 09:00-20:00.",
                                         "nl": "«{hours}» is geen tijdvak zoals 09:00-20:00.",
                                         "en": "«{hours}» is not a range like 09:00-20:00."},
    "refusal_campaign_hours_order": {"it": "L'inizio della fascia oraria deve precedere la fine.",
                                     "nl": "Het begin van het tijdvak moet voor het einde liggen.",
                                     "en": "The calling hours must start before they end."},
    "refusal_campaign_cps": {"it": "Chiamate al secondo: più di 0 e al massimo {most}.",
                             "nl": "Oproepen per seconde: meer dan 0 en hoogstens {most}.",
                             "en": "Calls per second: above 0 and at most {most}."},
    "refusal_campaign_concurrency": {"it": "Chiamate contemporanee: da 1 a 1000.",
                                     "nl": "Gelijktijdige oproepen: 1 tot 1000.",
                                     "en": "Concurrent calls: 1 to 1000."},
    "refusal_campaign_attempts": {"it": "Tentativi per contatto: da 1 a 10.", "nl": "Pogingen per contact: 1 tot 10.",
                                  "en": "Attempts per contact: 1 to 10."},
    "refusal_import_empty": {"it": "Il file è vuoto (serve una riga di intestazione).",
                             "nl": "Het bestand is leeg (er moet een kopregel in staan).",
                             "en": "The file is empty (it needs a header row)."},
    "refusal_import_not_csv": {"it": "Riga 1: non è un file CSV ({detail}).", "nl": "Regel 1: geen CSV ({detail}).",
                               "en": "Line 1: not CSV ({detail})."},
    "refusal_import_unknown_columns": {"it": "Riga 1: colonne sconosciute {unknown}; quelle note: {known}.",
                                       "nl": "Regel 1: onbekende kolommen {unknown}; bekende kolommen: {known}.",
                                       "en": "Line 1: unknown columns {unknown}; known columns: {known}."},
    "refusal_import_missing_columns": {"it": "Riga 1: mancano le colonne obbligatorie {missing}.",
                                       "nl": "Regel 1: verplichte kolommen ontbreken: {missing}.",
                                       "en": "Line 1: required columns missing: {missing}."},
    "refusal_import_duplicated_columns": {"it": "Riga 1: colonne ripetute {duplicated}.",
                                          "nl": "Regel 1: dubbele kolommen {duplicated}.",
                                          "en": "Line 1: columns given twice: {duplicated}."},
    "refusal_registry_no_number_column": {"it": "Riga {line}: l'intestazione non ha una colonna del numero ({known}).",
                                          "nl": "Regel {line}: de kopregel heeft geen nummerkolom ({known}).",
                                          "en": "Line {line}: the header has no number column ({known})."},
    "refusal_registry_unknown_country": {"it": "Nessun registro delle opposizioni per {country} (noti: {known}).",
                                         "nl": "Geen bel-me-niet-register voor {country} (bekend: {known}).",
                                         "en": "No do-not-call registry for {country} (known: {known})."},
    "refusal_registry_not_imported": {"it": "Nessuna copia del registro {country} importata.",
                                      "nl": "Geen kopie van het register voor {country} geïmporteerd.",
                                      "en": "No {country} registry copy imported."},
    "refusal_ticket_status_same": {"it": "Il ticket è già in stato {status}.", "nl": "Het ticket heeft al status {status}.",
                                   "en": "The ticket is {status} already."},
}


def current_language() -> str:
    chosen = session.get(LANG_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    best = request.accept_languages.best_match(LANGUAGES) if request else None
    return best or "en"


def t(key: str, **values: object) -> str:
    """The message `key` in the operator's language, with {placeholders} filled in."""
    texts = M.get(key)
    if texts is None:
        return key
    text = texts.get(current_language()) or texts["en"]
    return text.format(**values) if values else text


def refusal_text(exc: Exception) -> str:
    """A service's refusal in the operator's language; its own (English) text when it has no
    code the console knows."""
    if isinstance(exc, Refusal) and f"refusal_{exc.code}" in M:
        return t(f"refusal_{exc.code}", **exc.values)
    return str(exc)


def add_messages(messages: dict[str, dict[str, str]]) -> None:
    """Let console modules for other packages bring their own labels."""
    M.update(messages)
