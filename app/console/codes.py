"""What the console shows for a stored code (a status, kind, priority, outcome, purpose,
direction): the word in the operator's language. Codes stay English in the database and the
API; only their display is translated, here, in one place (the Italian and Dutch words are in
app/translations/*/LC_MESSAGES/messages.po). An unknown code is shown as it is.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel.speaklater import LazyString

# code -> label (English, translated by the catalogs in app/translations); one meaning per
# code across the console's tables.
CODES: dict[str, LazyString] = {
    # call, callback, campaign and ticket statuses
    "queued": _l("queued"),
    "initiated": _l("initiated"),
    "ringing": _l("ringing"),
    "in-progress": _lp("in-progress", "in progress"),
    "completed": _l("completed"),
    "complete": _l("complete"),  # a registry import
    # what a campaign call does when an answering machine picks up
    "message": _l("leave a message"),
    "hangup": _l("hang up"),
    "busy": _l("busy"),
    "no-answer": _l("no answer"),
    "failed": _l("failed"),
    "canceled": _l("canceled"),
    "scheduled": _l("scheduled"),
    "dispatching": _l("dispatching"),
    "unknown": _l("unknown"),
    "placed": _l("placed"),
    "answered": _l("answered"),
    "missed": _l("missed"),
    "refused": _l("refused"),
    "cancelled": _l("cancelled"),
    "draft": _l("draft"),
    "running": _l("running"),
    "paused": _l("paused"),
    "stopped": _l("stopped"),
    "open": _l("open"),
    "in_progress": _lp("in_progress", "in progress"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
    # ticket kinds and priorities
    "fault": _l("fault"),
    "warranty": _l("warranty"),
    "delivery_chase": _l("delivery chase"),
    "complaint": _l("complaint"),
    "unanswered_question": _l("unanswered question"),
    "low": _l("low"),
    "normal": _l("normal"),
    "high": _l("high"),
    "urgent": _l("urgent"),
    # warranty claim outcomes
    "accepted": _l("accepted"),
    "needs_review": _l("needs review"),
    # why a claim was decided as it was (app/support/warranty.py)
    "commercial_warranty": _l("manufacturer's warranty"),
    "legal_guarantee": _l("legal guarantee"),
    "expired": _l("cover expired"),
    "purchase_in_future": _l("purchase date in the future"),
    "unknown_serial": _l("unknown serial number"),
    "purchase_date_unknown": _l("purchase date unknown"),
    # campaign purposes
    "sales": _l("sales"),
    "survey": _l("survey"),
    "charity": _l("charity"),
    "political": _l("political"),
    "service": _l("service"),
    # directions and flow kinds
    "inbound": _l("inbound"),
    "outbound": _l("outbound"),
    "outbound-api": _l("outbound"),
    # Twilio's outbound-dial: the leg a <Dial> places from within a call (to an operator)
    "outbound-dial": _l("outbound (forwarded)"),
    "sub": _l("sub-flow"),
}


def code_label(code: object) -> str:
    """The label of `code` in the operator's language; the code itself when it has none."""
    text = "" if code is None else str(code)
    label = CODES.get(text)
    return str(label) if label is not None else text
