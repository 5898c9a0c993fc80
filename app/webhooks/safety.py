"""The `voice_webhook` decorator: signed requests only, and never a 500 or silence on a call.

Any exception while handling a call becomes TwiML that apologises in the caller's language
and offers the safest next step (operator, else a polite goodbye), with HTTP 200.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import structlog
from flask import Response, current_app, g, request

from app import i18n, phone
from app.calls import get_call
from app.config import Settings
from app.db import lock_wait, session_scope
from app.telephony import apology_twiml
from app.webhooks import signature

log = logging.getLogger(__name__)

GOODBYE = {
    "it": "Grazie per aver chiamato, buona giornata.",
    "nl": "Bedankt voor uw oproep, nog een fijne dag.",
    "en": "Thank you for calling, and have a good day.",
}


def voice_webhook(view: Callable[..., Response]) -> Callable[..., Response]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if not signature.check(request):
            log.warning("rejected webhook with missing or invalid signature on %s", request.path)
            return Response("Forbidden: invalid X-Twilio-Signature\n", status=403, mimetype="text/plain")
        call_sid = request.form.get("CallSid", "")[:64]
        structlog.contextvars.bind_contextvars(call_sid=call_sid or None)
        settings: Settings = current_app.extensions["cortese.settings"]
        # A caller must not wait on someone else's long write: connections checked out here
        # wait a short while for a lock, then the apology below answers in time.
        with lock_wait(settings.webhook_lock_wait_seconds):
            try:
                return view(*args, **kwargs)
            except Exception:
                log.exception("voice webhook %s failed", request.path)
                _discard_session()
                return apology_response(call_sid)
            finally:
                structlog.contextvars.unbind_contextvars("call_sid")

    return wrapper


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
    return apology_twiml(
        language,
        apology=i18n.prompt("apology", language),
        next_step=i18n.prompt("transfer_operator", language),
        goodbye=i18n.prompt("call_back_later", language),
        operator_number=settings.operator_number,
    ).response()
