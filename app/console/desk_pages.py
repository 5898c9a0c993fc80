"""The operator desk in the console (app/desk): sign in is the console login; here operators
set their phone, languages, skills and state, see who waits, see the caller they talk to
(screen pop), wrap up, or end an abusive call; and the desk board's figures per hour."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.clock import now
from app.console.i18n import add_messages, t
from app.console.web import CSP, back, bp, form_str, nav_item, notice, refused
from app.db import db_session
from app.desk import board, browser_phone, service
from app.desk.models import CHOSEN_STATES, CONNECTED, SKILLS, DeskOperator
from app.desk.routing import route_now
from app.i18n import LANGUAGES
from app.operators.users import current_operator
from app.refusals import Refusal
from app.telephony import TelephonyError

nav_item("console.desk", "desk")
nav_item("console.desk_board", "desk_board")

add_messages({
    "desk": _l("Operator desk"),
    "desk_board": _l("Queues and service level"),
    "desk_profile": _l("My profile"),
    "desk_phone": _l("Phone the desk rings (+44 …)"),
    "desk_languages": _l("Languages I speak"),
    "desk_skills": _l("Skills"),
    "skill_support": _l("Support"),
    "skill_complaints": _l("Complaints and priority"),
    "skill_technician": _l("Technician"),
    "lang_it": _l("Italian"),
    "lang_nl": _l("Dutch"),
    "lang_en": _l("English"),
    "desk_saved": _l("Profile saved."),
    "my_state": _l("My state"),
    "state_available": _l("Available"),
    "state_away": _l("Away"),
    "state_wrapup": _l("Wrap-up"),
    "state_busy": _l("On a call"),
    "state_offered": _l("Phone ringing"),
    "go_state": _l("Go {state}"),
    "state_changed": _l("State: {state}."),
    "since": _l("since"),
    "waiting_now": _l("Waiting now"),
    "queue": _l("Queue"),
    "position": _l("Position"),
    "wait": _l("Wait"),
    "complaint": _l("Complaint"),
    "upset": _l("Upset"),
    "recognised": _l("Recognised"),
    "yes": _l("yes"),
    "no": _l("no"),
    "seconds": _l("{n} s"),
    "service_level": _l("Service level (answered within 20 s)"),
    "average_wait": _l("Average wait"),
    "longest_wait": _l("Longest wait"),
    "abandoned_waiting": _l("Hung up while waiting"),
    "taken_by_fallback": _l("Taken by an operator of another skill"),
    "service_level_per_hour": _l("Service level per hour"),
    "average_wait_per_hour": _l("Average wait per hour (seconds)"),
    "abandoned_per_hour": _l("Hung up while waiting, per hour"),
    "joined": _l("Joined"),
    "answered": _l("Answered"),
    "last_24h": _l("Last 24 hours"),
    "operators_states": _l("Operators"),
    "current_caller": _l("Caller on the line"),
    "last_caller": _l("Last caller (to wrap up)"),
    "caller_said": _l("What they said or chose in this call"),
    "open_tickets_claims": _l("Open tickets and warranty claims"),
    "fault_description": _l("Fault description"),
    "complaint_words": _l("Complaint words"),
    "unknown_caller": _l("Caller not recognised"),
    "wrap_up": _l("Wrap up"),
    "outcome_resolved": _l("Resolved"),
    "outcome_follow_up": _l("Follow-up needed"),
    "outcome_callback": _l("Call back"),
    "outcome_escalated": _l("Escalated"),
    "outcome_abusive": _l("Abusive call"),
    "outcome_other": _l("Other"),
    "wrapped_up": _l("Wrapped up: you are available again."),
    "end_call": _l("End an abusive call"),
    "end_reason": _l("Reason (kept on the complaint ticket)"),
    "end_confirm": _l("End the call with a polite closing?"),
    "call_ended": _l("Call ended politely; reason kept on ticket {ref}."),
    "twilio_failed": _l("Twilio did not answer: please try again."),
    "refusal_desk_bad_phone": _l("Not a phone number: write it as +44 20 7123 4567."),
    "refusal_desk_costly_phone": _l("The desk rings a person's own line (mobile, landline or VoIP), never a "
                                    "premium-rate, shared-cost, forwarding, pager or voicemail number."),
    "refusal_desk_no_language": _l("Choose at least one language."),
    "refusal_desk_no_skill": _l("Choose at least one skill."),
    "refusal_desk_no_phone": _l("Give the phone the desk rings first."),
    "refusal_desk_bad_state": _l("Not a valid state."),
    "refusal_desk_bad_outcome": _l("Choose an outcome."),
    "refusal_desk_not_yours": _l("This call is not yours."),
    "refusal_desk_no_reason": _l("Write the reason."),
    "desk_how": _l("The desk rings your phone when a caller waits for you: listen to the summary and press 1."),
    "ring_browser": _l("Ring the browser phone instead of my phone"),
    "browser_phone": _l("Browser phone"),
    "browser_phone_open": _l("Open the browser phone in a tab of its own and keep it open."),
    "browser_phone_off": _l("The browser phone is not enabled here: the desk rings your phone."),
    "browser_phone_unticked": _l("In your desk profile, choose to ring the browser phone."),
    "phone_starting": _l("Starting the phone…"),
    "phone_ready": _l("Ready: the desk rings you here."),
    "phone_ringing": _l("Ringing: answer to hear the summary."),
    "phone_in_call": _l("On the line."),
    "phone_error": _l("The phone is not working: {error}"),
    "phone_answer": _l("Answer"),
    "phone_reject": _l("Decline"),
    "phone_hangup": _l("Hang up"),
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
                           browser_phone=_browser_phone_on(),
                           states=CHOSEN_STATES, skills=SKILLS, languages=LANGUAGES, outcomes=service.OUTCOMES,
                           refresh=REFRESH_SECONDS, connected=CONNECTED)


@bp.post("/desk/profile")
def desk_profile() -> Response:
    db = db_session()
    me = _me()
    try:
        service.update_profile(me, phone=form_str("phone", 40), languages=request.form.getlist("languages"),
                               skills=request.form.getlist("skills"),
                               ring_browser=bool(request.form.get("ring_browser")) and _browser_phone_on())
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


# -- the browser phone (app/desk/browser_phone.py) ------------------------------------------------

# The phone page talks to Twilio: signalling over secure websockets (voice-js.<edge>.twilio.com),
# call-quality events to eventgw.twilio.com, ringtones from sdk.twilio.com; audio is WebRTC.
PHONE_CSP = CSP.replace("connect-src 'self'", "connect-src 'self' wss://*.twilio.com https://eventgw.twilio.com") + (
    "; media-src 'self' https://sdk.twilio.com")


def _browser_phone_on() -> bool:
    return browser_phone.enabled(current_app.extensions["cortese.settings"])


@bp.get("/desk/phone")
def desk_phone() -> FlaskResponse:
    """A page of its own (the desk page reloads itself; a phone must not): it keeps the
    operator's Twilio.Device registered while it is open."""
    me = _me()
    db_session().commit()
    ready = _browser_phone_on() and me.ring_browser
    resp = FlaskResponse(render_template("console/desk_phone.html", me=me, ready=ready, enabled=_browser_phone_on()))
    if ready:
        resp.headers["Content-Security-Policy"] = PHONE_CSP
    return resp


@bp.get("/desk/phone/token.json")
def desk_phone_token() -> tuple[FlaskResponse, int] | FlaskResponse:
    me = _me()
    db_session().commit()
    settings = current_app.extensions["cortese.settings"]
    if not (browser_phone.enabled(settings) and me.ring_browser):
        return jsonify(detail="the browser phone is not enabled for you"), 404
    resp = jsonify(token=browser_phone.access_token(me, settings), identity=browser_phone.identity(me),
                   ttl=browser_phone.TOKEN_SECONDS)
    resp.headers["Cache-Control"] = "no-store"
    return resp
