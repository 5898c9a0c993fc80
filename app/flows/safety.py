"""The `voice_webhook` decorator: signed requests only, and never a 500 or silence on a call.

Any exception while handling a call becomes TwiML that apologises in the caller's language
and offers the safest next step (operator, else a polite goodbye), with HTTP 200.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

import structlog
from flask import Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from app import i18n, inputs, phone, prompts, signature
from app.calls import SIMULATED_HEADER, SIMULATED_PARAM, get_call, simulated_mark
from app.clock import now
from app.config import Settings
from app.db import lock_wait, session_scope
from app.flows.render import courtesy, number_zone
from app.telephony import apology_twiml

log = logging.getLogger(__name__)



def goodbye(language: str, at: datetime, number: str | None) -> str:
    """A goodbye whose wish follows the hour where the other party's number is."""
    return prompts.text("machine.goodbye", language, **courtesy(language, at, number_zone(number)))


# What a voice webhook may carry. Twilio sends a few dozen parameters (the call's, the
# geographic ones, those of Gather/Dial/Queue/Record/AMD) and custom SIP headers must stay under
# 1024 characters in all (Twilio warning 21227), so a few kilobytes. The bounds are checked
# before the signature, which hashes every parameter: a 4 MB form of 400,000 parameters must
# be refused at once, not hashed.
VOICE_MAX_BYTES = 64 * 1024
VOICE_MAX_PARAMETERS = 200
CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")


def voice_webhook(view: Callable[..., Response]) -> Callable[..., Response]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        # The request and the settings looked up once: each use of Flask's `request` or
        # `current_app` proxy is a context-variable look-up, and every webhook runs this.
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        settings: Settings = current_app.extensions["cortese.settings"]
        call_sid = _refuse_what_twilio_never_sends(req, settings)
        if isinstance(call_sid, Response):
            return call_sid
        structlog.contextvars.bind_contextvars(call_sid=call_sid)
        # A caller must not wait on someone else's long write: connections checked out here
        # wait a short while for a lock, then the apology below answers in time.
        with lock_wait(settings.webhook_lock_wait_seconds):
            try:
                return view(*args, **kwargs)
            except Exception:
                log.exception("voice webhook %s failed", req.path)
                _discard_session()
                return apology_response(call_sid)
            finally:
                structlog.contextvars.unbind_contextvars("call_sid")

    return wrapper


def _refuse_what_twilio_never_sends(request: Request, settings: Settings) -> Response | str:
    """A plain-text 4xx for a request Twilio could not have sent; else its CallSid.

    Order matters: size before the signature (hashing is the cost), the signature before
    anything is read for use, the CallSid (Twilio's is always CA + 32 hex) before a call row
    is looked up. Control characters in other parameters are dropped (a SIP caller ID or a
    transcription is the caller's side's text), so the caller still gets the menu."""
    request.max_content_length = VOICE_MAX_BYTES
    try:
        form = request.form
    except RequestEntityTooLarge:
        return _plain(413, f"Content Too Large: a voice webhook carries at most {VOICE_MAX_BYTES} bytes")
    values = [value for values in form.listvalues() for value in values]
    if len(values) > VOICE_MAX_PARAMETERS:
        return _plain(413, f"Content Too Large: a voice webhook carries at most {VOICE_MAX_PARAMETERS} parameters")
    if not signature.check(request, settings):
        log.warning("rejected webhook with missing or invalid signature on %s", request.path)
        return _plain(403, "Forbidden: invalid X-Twilio-Signature")
    call_sid = form.get("CallSid", "")
    if not CALL_SID.match(call_sid):
        log.warning("rejected signed webhook on %s: malformed CallSid", request.path)
        return _plain(400, "Bad Request: CallSid must be 'CA' followed by 32 lower-case hex digits")
    simulated = _simulated(request, settings, call_sid)
    if simulated or SIMULATED_PARAM in form or inputs.forbidden_in(" ".join(values)):
        pairs = [(name, inputs.xml_safe(value)) for name, value in form.items(multi=True)
                 if name != SIMULATED_PARAM]
        if simulated:
            pairs.append((SIMULATED_PARAM, "true"))
        request.form = inputs.Parameters(pairs)  # type: ignore[misc]
    return call_sid


def _simulated(request: Request, settings: Settings, call_sid: str) -> bool:
    mark = request.headers.get(SIMULATED_HEADER)
    if not mark:
        return False
    return hmac.compare_digest(mark, simulated_mark(settings.twilio_auth_token, call_sid))


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def _discard_session() -> None:
    session = g.pop("cortese_session", None)
    if session is not None:
        try:
            session.rollback()
            session.close()
        except Exception:
            log.exception("could not roll back the session")


def caller_language(call_sid: str) -> str:
    """Best guess of the caller's language without trusting that the DB works."""
    settings: Settings = current_app.extensions["cortese.settings"]
    carried = request.args.get("l")
    if carried in i18n.LANGUAGES:  # the flow engine puts the call's language in its URLs
        return carried
    try:
        with session_scope() as session:
            call = get_call(session, call_sid) if call_sid else None
            if call is not None and call.language:
                return call.language
    except Exception:
        log.warning("database unavailable while choosing the apology language")
    outbound = request.form.get("Direction", "").startswith("outbound")
    party = phone.parse_caller(request.form.get("To" if outbound else "From"))
    return i18n.language_for(party.region if party else None, default=settings.default_language)


def apology_response(call_sid: str) -> Response:
    settings: Settings = current_app.extensions["cortese.settings"]
    language = caller_language(call_sid)
    outbound = request.form.get("Direction", "").startswith("outbound")
    party = request.form.get("To" if outbound else "From")
    return apology_twiml(
        language,
        apology=i18n.prompt("apology", language),
        next_step=i18n.prompt("transfer_operator", language),
        goodbye=i18n.prompt("call_back_later", language).format(**courtesy(language, now(), number_zone(party))),
        operator_number=settings.operator_number,
    ).response()
