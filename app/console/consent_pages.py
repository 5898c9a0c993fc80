"""Console pages for contacts and their consent history, registry imports and compliance
decisions with CSV export (engineer C's app/consent)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from pydantic import ValidationError

from app.api.consent import (
    ContactsQuery,
    DecisionsQuery,
    ExportQuery,
    contact_detail,
    contact_filters,
    decision_filters,
    decisions_csv,
)
from app.api.core import paginate
from app.console.i18n import t
from app.console.web import Pager, bp, nav_item, offset_arg
from app.consent.models import PURPOSES, Contact, RegistryImport
from app.db import db_session
from sqlalchemy import select

nav_item("console.contacts", "contacts")
nav_item("console.compliance", "compliance")
nav_item("console.registries", "registries")


def _query(model: type, keys: tuple[str, ...]) -> tuple[Any, dict[str, str]]:
    offset, limit = offset_arg()
    args = {k: v for k, v in request.args.items() if v and k in keys}
    try:
        return model(limit=limit, offset=offset, **args), args
    except ValidationError:
        return model(limit=limit, offset=offset), {}


@bp.get("/contacts")
def contacts() -> str:
    query, args = _query(ContactsQuery, ("q", "region"))
    rows, meta = paginate(db_session(), contact_filters(query), query)
    return render_template("console/contacts.html", contacts=rows, filters=args,
                           pager=Pager(query.offset, query.limit, meta.total))


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int) -> Any:
    row = db_session().get(Contact, contact_id) if contact_id < 2**62 else None
    if row is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    return render_template("console/contact.html", contact=row, detail=contact_detail(row))


DECISION_KEYS = ("allowed", "purpose", "campaign_id", "rule_id", "contact_id")


@bp.get("/compliance")
def compliance() -> str:
    query, args = _query(DecisionsQuery, DECISION_KEYS)
    rows, meta = paginate(db_session(), decision_filters(query), query)
    return render_template("console/compliance.html", decisions=rows, filters=args,
                           pager=Pager(query.offset, query.limit, meta.total), purposes=PURPOSES)


@bp.get("/compliance/export.csv")
def compliance_export() -> Response:
    args = {k: v for k, v in request.args.items() if v and k in DECISION_KEYS}
    try:
        query = ExportQuery(**args)
    except ValidationError:
        query = ExportQuery()
    return Response(decisions_csv(query), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=compliance-decisions.csv"})


@bp.get("/registries")
def registries() -> str:
    offset, limit = offset_arg()
    query = ContactsQuery(limit=limit, offset=offset)  # only its paging is used
    stmt = select(RegistryImport).order_by(RegistryImport.started_at.desc(), RegistryImport.id.desc())
    rows, meta = paginate(db_session(), stmt, query)
    running = any(r.status == "running" for r in rows)
    return render_template("console/registries.html", imports=rows, running=running,
                           pager=Pager(offset, limit, meta.total))
