"""The operator desk in the console (app/desk): sign in is the console login; here operators
set their phone, languages, skills and state, see who waits, see the caller they talk to
(screen pop), wrap up, or end an abusive call; and the desk board's figures per hour."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from app.clock import now
from app.console.i18n import add_messages
from app.console.users import current_operator
from app.console.web import back, bp, form_str, nav_item, notice, refused
from app.db import db_session
from app.desk import board, service
from app.desk.models import CHOSEN_STATES, CONNECTED, SKILLS, DeskOperator
from app.desk.routing import route_now
from app.i18n import LANGUAGES
from app.refusals import Refusal
from app.telephony import TelephonyError

nav_item("console.desk", "desk")
nav_item("console.desk_board", "desk_board")

add_messages({
    "desk": {"it": "Desk operatori", "nl": "Operatordesk", "en": "Operator desk"},
    "desk_board": {"it": "Code e livello di servizio", "nl": "Wachtrijen en serviceniveau",
                   "en": "Queues and service level"},
    "desk_profile": {"it": "Il mio profilo", "nl": "Mijn profiel", "en": "My profile"},
    "desk_phone": {"it": "Telefono su cui il desk la chiama (+39 …)", "nl": "Telefoon waarop de desk u belt (+31 …)",
                   "en": "Phone the desk rings (+44 …)"},
    "desk_languages": {"it": "Lingue che parlo", "nl": "Talen die ik spreek", "en": "Languages I speak"},
    "desk_skills": {"it": "Competenze", "nl": "Vaardigheden", "en": "Skills"},
    "skill_support": {"it": "Assistenza", "nl": "Klantenservice", "en": "Support"},
    "skill_complaints": {"it": "Reclami e precedenze", "nl": "Klachten en voorrang", "en": "Complaints and priority"},
    "skill_technician": {"it": "Tecnico", "nl": "Technicus", "en": "Technician"},
    "lang_it": {"it": "Italiano", "nl": "Italiaans", "en": "Italian"},
    "lang_nl": {"it": "Olandese", "nl": "Nederlands", "en": "Dutch"},
    "lang_en": {"it": "Inglese", "nl": "Engels", "en": "English"},
    "desk_saved": {"it": "Profilo salvato.", "nl": "Profiel opgeslagen.", "en": "Profile saved."},
    "my_state": {"it": "Il mio stato", "nl": "Mijn status", "en": "My state"},
    "state_available": {"it": "Disponibile", "nl": "Beschikbaar", "en": "Available"},
    "state_away": {"it": "Assente", "nl": "Afwezig", "en": "Away"},
    "state_wrapup": {"it": "Chiusura scheda", "nl": "Afronden", "en": "Wrap-up"},
    "state_busy": {"it": "In chiamata", "nl": "In gesprek", "en": "On a call"},
    "state_offered": {"it": "Il telefono squilla", "nl": "Telefoon gaat over", "en": "Phone ringing"},
    "go_state": {"it": "Passa a: {state}", "nl": "Ga naar: {state}", "en": "Go {state}"},
    "state_changed": {"it": "Stato: {state}.", "nl": "Status: {state}.", "en": "State: {state}."},
    "since": {"it": "da", "nl": "sinds", "en": "since"},
    "waiting_now": {"it": "In attesa ora", "nl": "Nu in de wachtrij", "en": "Waiting now"},
    "queue": {"it": "Coda", "nl": "Wachtrij", "en": "Queue"},
    "position": {"it": "Posizione", "nl": "Positie", "en": "Position"},
    "wait": {"it": "Attesa", "nl": "Wachttijd", "en": "Wait"},
    "complaint": {"it": "Reclamo", "nl": "Klacht", "en": "Complaint"},
    "upset": {"it": "Arrabbiato", "nl": "Boos", "en": "Upset"},
    "recognised": {"it": "Riconosciuto", "nl": "Herkend", "en": "Recognised"},
    "yes": {"it": "sì", "nl": "ja", "en": "yes"},
    "no": {"it": "no", "nl": "nee", "en": "no"},
    "seconds": {"it": "{n} s", "nl": "{n} s", "en": "{n} s"},
    "service_level": {"it": "Livello di servizio (risposte entro 20 s)", "nl": "Serviceniveau (binnen 20 s beantwoord)",
                      "en": "Service level (answered within 20 s)"},
    "average_wait": {"it": "Attesa media", "nl": "Gemiddelde wachttijd", "en": "Average wait"},
    "longest_wait": {"it": "Attesa più lunga", "nl": "Langste wachttijd", "en": "Longest wait"},
    "abandoned_waiting": {"it": "Hanno riagganciato in attesa", "nl": "Opgehangen tijdens het wachten",
                          "en": "Hung up while waiting"},
    "service_level_per_hour": {"it": "Livello di servizio per ora (UTC)", "nl": "Serviceniveau per uur (UTC)",
                               "en": "Service level per hour (UTC)"},
    "average_wait_per_hour": {"it": "Attesa media per ora (secondi, UTC)", "nl": "Gemiddelde wachttijd per uur (seconden, UTC)",
                              "en": "Average wait per hour (seconds, UTC)"},
    "abandoned_per_hour": {"it": "Hanno riagganciato in attesa, per ora (UTC)",
                           "nl": "Opgehangen tijdens het wachten, per uur (UTC)",
                           "en": "Hung up while waiting, per hour (UTC)"},
    "joined": {"it": "Entrati in coda", "nl": "In de wachtrij", "en": "Joined"},
    "answered": {"it": "Risposte", "nl": "Beantwoord", "en": "Answered"},
    "last_24h": {"it": "Ultime 24 ore", "nl": "Laatste 24 uur", "en": "Last 24 hours"},
    "operators_states": {"it": "Operatori", "nl": "Operators", "en": "Operators"},
    "current_caller": {"it": "Cliente in linea", "nl": "Klant aan de lijn", "en": "Caller on the line"},
    "last_caller": {"it": "Ultimo cliente (da chiudere)", "nl": "Laatste klant (af te ronden)",
                    "en": "Last caller (to wrap up)"},
    "caller_said": {"it": "Cosa ha detto o scelto in questa chiamata", "nl": "Wat de klant zei of koos in dit gesprek",
                    "en": "What they said or chose in this call"},
    "open_tickets_claims": {"it": "Ticket aperti e richieste di garanzia", "nl": "Open tickets en garantieclaims",
                            "en": "Open tickets and warranty claims"},
    "fault_description": {"it": "Descrizione del guasto", "nl": "Beschrijving van de storing",
                          "en": "Fault description"},
    "complaint_words": {"it": "Parole del reclamo", "nl": "Woorden van de klacht", "en": "Complaint words"},
    "unknown_caller": {"it": "Cliente non riconosciuto", "nl": "Onbekende beller", "en": "Caller not recognised"},
    "wrap_up": {"it": "Chiudi la scheda", "nl": "Afronden", "en": "Wrap up"},
    "outcome_resolved": {"it": "Risolto", "nl": "Opgelost", "en": "Resolved"},
    "outcome_follow_up": {"it": "Da seguire", "nl": "Opvolgen", "en": "Follow-up needed"},
    "outcome_callback": {"it": "Richiamare", "nl": "Terugbellen", "en": "Call back"},
    "outcome_escalated": {"it": "Inoltrato", "nl": "Doorgezet", "en": "Escalated"},
    "outcome_abusive": {"it": "Chiamata offensiva", "nl": "Grensoverschrijdend gesprek", "en": "Abusive call"},
    "outcome_other": {"it": "Altro", "nl": "Anders", "en": "Other"},
    "wrapped_up": {"it": "Scheda chiusa: è di nuovo disponibile.", "nl": "Afgerond: u bent weer beschikbaar.",
                   "en": "Wrapped up: you are available again."},
    "end_call": {"it": "Chiudi una chiamata offensiva", "nl": "Een grensoverschrijdend gesprek beëindigen",
                 "en": "End an abusive call"},
    "end_reason": {"it": "Motivo (resta nel ticket del reclamo)", "nl": "Reden (blijft bij het klachtticket)",
                   "en": "Reason (kept on the complaint ticket)"},
    "end_confirm": {"it": "Chiudere la chiamata con un congedo cortese?",
                    "nl": "Het gesprek beëindigen met een beleefde afsluiting?",
                    "en": "End the call with a polite closing?"},
    "call_ended": {"it": "Chiamata chiusa con cortesia; motivo registrato nel ticket {ref}.",
                   "nl": "Gesprek beleefd beëindigd; reden vastgelegd in ticket {ref}.",
                   "en": "Call ended politely; reason kept on ticket {ref}."},
    "twilio_failed": {"it": "Twilio non ha risposto: riprovi.", "nl": "Twilio reageerde niet: probeer het opnieuw.",
                      "en": "Twilio did not answer: please try again."},
    "refusal_desk_bad_phone": {"it": "Telefono non valido: lo scriva come +39 02 1234 5678.",
                       "nl": "Ongeldig telefoonnummer: schrijf het als +31 20 123 4567.",
                       "en": "Not a phone number: write it as +44 20 7123 4567."},
    "refusal_desk_no_language": {"it": "Scelga almeno una lingua.", "nl": "Kies minstens één taal.",
                         "en": "Choose at least one language."},
    "refusal_desk_no_skill": {"it": "Scelga almeno una competenza.", "nl": "Kies minstens één vaardigheid.",
                      "en": "Choose at least one skill."},
    "refusal_desk_no_phone": {"it": "Indichi prima il telefono su cui il desk la chiama.",
                      "nl": "Geef eerst het nummer op waarop de desk u belt.",
                      "en": "Give the phone the desk rings first."},
    "refusal_desk_bad_state": {"it": "Stato non valido.", "nl": "Ongeldige status.", "en": "Not a valid state."},
    "refusal_desk_bad_outcome": {"it": "Scelga un esito.", "nl": "Kies een uitkomst.", "en": "Choose an outcome."},
    "refusal_desk_not_yours": {"it": "Questa chiamata non è sua.", "nl": "Dit gesprek is niet van u.",
                       "en": "This call is not yours."},
    "refusal_desk_no_reason": {"it": "Scriva il motivo.", "nl": "Schrijf de reden op.", "en": "Write the reason."},
    "desk_how": {"it": "Il desk chiama il suo telefono quando un cliente la aspetta: ascolti il riepilogo e prema 1.",
                 "nl": "De desk belt uw telefoon als er een klant op u wacht: luister naar de samenvatting en druk op 1.",
                 "en": "The desk rings your phone when a caller waits for you: listen to the summary and press 1."},
})

REFRESH_SECONDS = 5


def _me() -> DeskOperator:
    user = current_operator()
    assert user is not None  # the console's guard lets nobody else in
    return service.operator_for(db_session(), user.id, now())


@bp.get("/desk")
def desk() -> str:
    db = db_session()
    me = _me()
    db.commit()
    entry = service.current_entry(db, me)
    pop = board.screen_pop(db, entry) if entry is not None else None
    return render_template("console/desk.html", me=me, pop=pop, queues=board.waiting_now(db, now()),
                           states=CHOSEN_STATES, skills=SKILLS, languages=LANGUAGES, outcomes=service.OUTCOMES,
                           refresh=REFRESH_SECONDS, connected=CONNECTED)


@bp.post("/desk/profile")
def desk_profile() -> Response:
    db = db_session()
    me = _me()
    try:
        service.update_profile(me, phone=form_str("phone", 40), languages=request.form.getlist("languages"),
                               skills=request.form.getlist("skills"))
    except Refusal as exc:
        db.rollback()
        refused(exc)
        return back("console.desk")
    db.commit()
    notice("desk_saved")
    return back("console.desk")


@bp.post("/desk/state")
def desk_state() -> Response:
    db = db_session()
    me = _me()
    state = form_str("state", 20)
    try:
        changed = service.choose_state(db, me, state, now())
    except Refusal as exc:
        db.rollback()
        refused(exc)
        return back("console.desk")
    db.commit()
    notice("state_changed", state=_state_label(me.state))
    if changed and state == "available":
        route_now(current_app._get_current_object())  # type: ignore[attr-defined]
    return back("console.desk")


def _state_label(state: str) -> str:
    from app.console.i18n import t

    return t(f"state_{state}")


@bp.post("/desk/wrapup")
def desk_wrapup() -> Response:
    db = db_session()
    me = _me()
    entry = service.current_entry(db, me)
    try:
        if entry is None:
            raise Refusal("desk_not_yours", "entry: no call to wrap up")
        service.wrap_up(db, me, entry, outcome=form_str("outcome", 20), note=form_str("note", service.MAX_NOTE),
                        at=now())
    except Refusal as exc:
        db.rollback()
        refused(exc)
        return back("console.desk")
    db.commit()
    notice("wrapped_up")
    route_now(current_app._get_current_object())  # type: ignore[attr-defined]
    return back("console.desk")


@bp.post("/desk/end")
def desk_end() -> Response:
    db = db_session()
    me = _me()
    entry = service.current_entry(db, me)
    try:
        if entry is None:
            raise Refusal("desk_not_yours", "entry: no call to end")
        reference = service.end_abusive(db, me, entry, reason=form_str("reason", service.MAX_NOTE), at=now(),
                                        gateway=current_app.extensions["cortese.gateway"])
    except Refusal as exc:
        db.rollback()
        refused(exc)
        return back("console.desk")
    except TelephonyError:
        db.rollback()
        notice("twilio_failed", "error")
        return back("console.desk")
    db.commit()
    notice("call_ended", ref=reference)
    return back("console.desk")


@bp.get("/desk/board")
def desk_board() -> str:
    db = db_session()
    at = now()
    hours = board.per_hour(db, at)
    return render_template("console/desk_board.html", hours=[h for h in hours if h.joined], total=board.totals(hours),
                           queues=board.waiting_now(db, at), operators=board.operators(db), refresh=REFRESH_SECONDS)
