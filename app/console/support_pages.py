"""Console pages for tickets and warranty claims (engineer D's app/support)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from pydantic import ValidationError

from app.api.core import paginate
from app.api.support import ClaimsQuery, TicketsQuery, claim_filters, ticket_filters
from app.console.i18n import t
from app.console.web import Pager, bp, nav_item, offset_arg
from app.db import db_session
from app.support import services as support
from app.support.models import CLAIM_OUTCOMES, TICKET_KINDS, TICKET_STATUSES

nav_item("console.tickets", "tickets")


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
    return render_template("console/ticket.html", ticket=row)


@bp.get("/claims")
def claims() -> str:
    query, args = _query(ClaimsQuery, ("outcome", "caller"))
    rows, meta = paginate(db_session(), claim_filters(query), query)
    return render_template("console/claims.html", claims=rows, filters=args,
                           pager=Pager(query.offset, query.limit, meta.total), outcomes=CLAIM_OUTCOMES)
