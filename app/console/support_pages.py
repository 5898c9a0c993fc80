"""Console pages for tickets and warranty claims (app/support)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from app.api.core import paginate
from app.api.support import (
    SETTABLE_STATUSES,
    ClaimsQuery,
    TicketsQuery,
    claim_filters,
    set_ticket_status,
    ticket_filters,
)
from app.clock import now
from app.console.i18n import add_messages, current_language, t
from app.console.web import Pager, bp, form_str, nav_item, notice, offset_arg, refused
from app.db import db_session
from app.operators.users import current_operator
from app.refusals import Refusal
from app.support import services as support
from app.support.models import CLAIM_OUTCOMES, TICKET_KINDS, TICKET_STATUSES

nav_item("console.tickets", "tickets")
nav_item("console.claims", "claims")

# The subjects we word ourselves (app.support.subjects), in the operator's language.
add_messages({
    "subject_caller_frustrated": _l("Caller frustrated"),
    "subject_caller_angry": _l("Caller angry"),
    "subject_caller_abusive": _l("Caller abusive"),
    "subject_ended_by_operator": _l("Call ended by the operator"),
    "subject_order_late": _l("Order {order} late"),
})


@bp.app_template_filter("subject")
def subject_text(ticket: Any) -> str:
    """A ticket's subject for the operator: a coded one in their language, the caller's own
    words (or a product's name) as they are."""
    code = getattr(ticket, "subject_code", None)
    if code == "named":  # held in every language: the operator's
        held = ticket.subject_values or {}
        return str(held.get(current_language()) or held.get("en") or "")
    if code:
        key = f"subject_{code}"
        values = {k: str(v) for k, v in (ticket.subject_values or {}).items()}
        try:
            text = t(key, **values)
        except (KeyError, IndexError):  # values stored without a placeholder the text needs
            text = key
        return text if text != key else str(ticket.subject_english or "")
    return str(getattr(ticket, "subject", None) or "")


def _query(model: type, keys: tuple[str, ...]) -> tuple[Any, dict[str, str]]:
    """Build the filter from the URL; filters that do not validate are dropped, not fatal."""
    offset, limit = offset_arg()
    args = {k: v for k, v in request.args.items() if v and k in keys}
    try:
        return model(limit=limit, offset=offset, **args), args
    except ValidationError:
        return model(limit=limit, offset=offset), {}


@bp.get("/tickets")
def tickets() -> str:
    query, args = _query(TicketsQuery, ("status", "kind", "caller", "flagged"))
    rows, meta = paginate(db_session(), ticket_filters(query), query)
    return render_template("console/tickets.html", tickets=rows, filters=args,
                           pager=Pager(query.offset, query.limit, meta.total),
                           statuses=TICKET_STATUSES, kinds=TICKET_KINDS)


@bp.get("/tickets/<string:reference>")
def ticket(reference: str) -> Any:
    row = support.find_ticket(db_session(), reference[:32])
    if row is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    return render_template("console/ticket.html", ticket=row, statuses=SETTABLE_STATUSES,
                           history=(row.details or {}).get("status_history") or [])


add_messages({
    "change_status": _l("Change status"),
    "status_changed": _l("Status changed: {status}."),
})


@bp.post("/tickets/<string:reference>/status")
def ticket_status(reference: str) -> Any:
    """An operator moves a ticket on (the same write as PATCH /api/tickets/<reference>)."""
    session = db_session()
    row = support.find_ticket(session, reference[:32])
    if row is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    status = form_str("status", 20)
    try:
        set_ticket_status(row, status, at=now(), by=_operator(), note=form_str("note", 500) or None)
    except Refusal as exc:
        refused(exc)
    else:
        session.commit()
        notice("status_changed", status=status)
    return redirect(url_for("console.ticket", reference=row.reference))


def _operator() -> str:
    user = current_operator()
    return f"operator:{user.username}" if user else "operator"


@bp.get("/claims")
def claims() -> str:
    query, args = _query(ClaimsQuery, ("outcome", "caller"))
    rows, meta = paginate(db_session(), claim_filters(query), query)
    return render_template("console/claims.html", claims=rows, filters=args,
                           pager=Pager(query.offset, query.limit, meta.total), outcomes=CLAIM_OUTCOMES)


add_messages({
    "serial": _l("Serial number"),
    "product": _l("Product"),
    "purchased_on": _l("Purchased on"),
    "covered_until": _l("Covered until"),
})


@bp.get("/claims/<string:claim_reference>")
def claim(claim_reference: str) -> Any:
    row = support.find_claim(db_session(), claim_reference[:32])
    if row is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    return render_template("console/claim.html", claim=row)
