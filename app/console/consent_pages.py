"""Console pages for contacts and their consent history, registry imports and compliance
decisions with CSV export (app/consent)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import select

from app.api.consent import (
    ContactsQuery,
    DecisionsQuery,
    contact_detail,
    contact_filters,
    decision_filters,
    decisions_export,
    registry_upload,
)
from app.api.core import id_ok, paginate
from app.clock import now
from app.consent import gdpr, importer, optouts
from app.consent import registries as registry_service
from app.consent.models import PURPOSES, Contact, RegistryImport
from app.consent.packs import load_packs
from app.console.i18n import add_messages, refusal_text, t
from app.console.web import Pager, bad_lines, bp, nav_item, notice, offset_arg
from app.db import db_session
from app.operators.users import current_operator

nav_item("console.contacts", "contacts")
nav_item("console.compliance", "compliance")
nav_item("console.registries", "registries")

add_messages({
    "imports": _l("Imports"),
    "registry_copies": _l("Copies in use"),
    "applies_to": _l("Applies to"),
    "valid_until": _l("Valid until"),
    "max_age": _l("Valid for"),
    "days_count": _l("{days} days"),
    "imported": _l("Imported"),
    "copy_current": _l("valid: calls allowed"),
    "copy_stale": _l("expired: blocks calls"),
    "copy_missing": _l("missing: blocks calls"),
    "copy_needed": _l("Import a copy downloaded in the last {days} days."),
})


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
    row = db_session().get(Contact, contact_id) if id_ok(contact_id) else None
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
    """The whole compliance record (app.consent.export) as CSV."""
    return Response(decisions_export(None, None, "csv"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=compliance-decisions.csv"})


@bp.get("/registries")
def registries() -> str:
    offset, limit = offset_arg()
    query = ContactsQuery(limit=limit, offset=offset)  # only its paging is used
    stmt = select(RegistryImport).order_by(RegistryImport.started_at.desc(), RegistryImport.id.desc())
    rows, meta = paginate(db_session(), stmt, query)
    running = any(r.status == "running" for r in rows)
    at = now()
    max_age = {c: p.registry.max_age_days for c, p in load_packs().items() if p.registry is not None}
    return render_template("console/registries.html", imports=rows, running=running,
                           copies=registry_service.copy_states(db_session(), at), max_age=max_age,
                           valid_until=registry_service.valid_until, pager=Pager(offset, limit, meta.total),
                           countries=sorted(registry_service.REGISTRY_NAMES.items()),
                           default_max_refused=registry_service.DEFAULT_MAX_REFUSED_PERCENT,
                           formats=registry_service.FORMATS)


# --- operator actions: forms (CSRF-checked by the blueprint) calling app.consent's services ------

def _operator() -> str:
    user = current_operator()
    return f"operator:{user.username}" if user else "operator"


@bp.post("/contacts/<int:contact_id>/optout")
def contact_optout(contact_id: int) -> Any:
    row = db_session().get(Contact, contact_id) if id_ok(contact_id) else None
    if row is None or row.erased_at is not None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    session = db_session()
    optouts.record_opt_out(session, row.e164, at=now(), source="operator", by=_operator())
    session.commit()
    notice("opt_out_saved")
    return redirect(url_for("console.contact", contact_id=contact_id))


@bp.post("/contacts/<int:contact_id>/erase")
def contact_erase(contact_id: int) -> Any:
    row = db_session().get(Contact, contact_id) if id_ok(contact_id) else None
    if row is None or row.erased_at is not None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    session = db_session()
    gdpr.erase_contact(session, row.e164, at=now(), by=_operator(),
                       settings=current_app.extensions["cortese.settings"])
    session.commit()
    notice("erased_done")
    return redirect(url_for("console.contacts"))


@bp.post("/contacts/import")
def contacts_import() -> Any:
    upload = request.files.get("file")
    text = upload.read(MAX_UPLOAD).decode("utf-8", errors="replace") if upload else ""
    session = db_session()
    try:
        report = importer.import_contacts_text(session, text, at=now(), recorded_by=_operator(),
                                               default_region=(request.form.get("region") or None),
                                               commit_every=importer.COMMIT_EVERY)
    except importer.ImportRefused as exc:
        session.rollback()
        flash(f"{t('import_refused')}: {refusal_text(exc)}", "error")
        return redirect(url_for("console.contacts"))
    session.commit()
    notice("import_done", created=report.created, updated=report.updated, errors=len(report.errors))
    bad_lines([(f"{t('line')} {line}", message) for line, message in report.errors])
    return redirect(url_for("console.contacts"))


@bp.post("/registries/import")
def registries_import() -> Any:
    upload = request.files.get("file")
    country = (request.form.get("country") or "").upper()
    if upload is None or country not in registry_service.REGISTRY_NAMES:
        flash(t("import_refused"), "error")
        return redirect(url_for("console.registries"))
    session = db_session()
    try:
        report = registry_upload(session, country, upload.read(MAX_UPLOAD),
                                 file_name=(upload.filename or "upload")[:255],
                                 obtained_at=_form_date("obtained"),
                                 max_refused_percent=_form_percent("max_refused_percent"))
    except registry_service.RegistryError as exc:
        session.rollback()
        flash(f"{t('import_refused')}: {refusal_text(exc)}", "error")
        return redirect(url_for("console.registries"))
    session.commit()
    if report.status != "complete":
        flash(t("registry_copy_empty") if report.numbers == 0 else
              t("registry_copy_refused", refused=report.rejected, lines=report.lines,
                allowed=f"{report.max_refused_percent:g}"), "error")
    else:
        notice("registry_done", numbers=report.numbers, rejected=report.rejected)
    bad_lines([(f"{t('line')} {line}", message) for line, message in report.errors])
    return redirect(url_for("console.registries"))


def _form_date(name: str) -> datetime | None:
    """A date typed in the form (YYYY-MM-DD, taken as midnight UTC), None when left empty."""
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise registry_service.RegistryError("registry_bad_date", f"{name}: {value!r} is not a date",
                                             value=value[:40]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _form_percent(name: str) -> float:
    value = (request.form.get(name) or "").strip().replace(",", ".")
    try:
        return float(value) if value else registry_service.DEFAULT_MAX_REFUSED_PERCENT
    except ValueError:
        raise registry_service.RegistryError("registry_bad_threshold", f"{name}: {value!r} is not a number",
                                             value=value[:40]) from None


MAX_UPLOAD = 1024 * 1024  # the app refuses larger requests anyway; big registries use the CLI
