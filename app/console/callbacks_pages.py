"""Console pages for callbacks (app/callbacks): the list with its views (due today,
missed, not rung yet), one callback with its history, and the move/cancel forms.

Moves and cancels go through app.callbacks.service exactly as the API does; its
"field: message" errors are shown to the operator, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from pydantic import ValidationError

from app import phone
from app.api.callbacks import CallbacksQuery, local_to_utc, offers_for, refusal, search
from app.api.core import id_ok
from app.api.problems import ApiProblem
from app.callbacks import service as callbacks
from app.callbacks.models import PENDING, STATUSES, Callback
from app.clock import now
from app.console.i18n import add_messages, refusal_text, t
from app.console.times import desk_zone
from app.console.web import Pager, bp, form_str, nav_item, notice, offset_arg, refused
from app.db import db_session
from app.operators.users import current_operator
from app.refusals import Refusal

nav_item("console.callbacks_list", "callbacks")

VIEWS = ("due_today", "missed", "pending")
MOVABLE = ("scheduled", "missed", "failed", "refused", "unknown")

add_messages({
    "view_due_today": _l("Due today"),
    "today_in": _l("\"Today\" is the day in {zone}."),
    "view_missed": _l("Missed"),
    "view_pending": _l("Not rung yet"),
    "view_all": _lp("view_all", "All"),
    "due": _l("Due"),
    "local_time": _l("Callee's time"),
    "attempts": _l("Attempts"),
    "note": _l("Note"),
    "history": _l("History"),
    "actor": _l("Who"),
    "move": _l("Move"),
    "move_callback": _l("Move the callback"),
    "new_local_time": _l("New date and time (callee's zone: {zone})"),
    "cancel_callback": _l("Cancel the callback"),
    "cancel_confirm": _l("Cancel this callback?"),
    "cancel_reason": _l("Why it is cancelled"),
    "moved_done": _l("Callback moved to {when} ({zone})."),
    "cancelled_done": _l("Callback cancelled."),
    "callback": _l("Callback"),
    "booked_by": _l("Booked by"),
    "origin": _l("Origin"),
    "move_anyway": _l("Move anyway (the operator takes responsibility)"),
    "suggested_times": _l("Nearest lawful, free times"),
    "why_past": _l("That time is past or too soon."),
    "why_closed": _l("Calls are not allowed then (calling window or holiday)."),
    "why_full": _l("That 15-minute slot is full."),
    "why_never": _l("This number may not be called back."),
    "not_moved": _l("Not moved."),
    "bad_time": _l("Not a valid date and time."),
})


def _query() -> tuple[CallbacksQuery, dict[str, str]]:
    offset, limit = offset_arg()
    args = {k: v for k, v in request.args.items() if v and k in ("status", "view", "number")}
    try:
        return CallbacksQuery(limit=limit, offset=offset, **args), args
    except ValidationError:
        return CallbacksQuery(limit=limit, offset=offset), {}


def _load(callback_id: int) -> Callback | None:
    return db_session().get(Callback, callback_id) if id_ok(callback_id) else None


def _missing() -> tuple[str, int]:
    return render_template("console/error.html", message=t("not_found"), status=404), 404


def _operator() -> str:
    user = current_operator()
    return f"operator:{user.username}" if user else "operator"


@bp.get("/callbacks")
def callbacks_list() -> str:
    query, args = _query()
    zone = desk_zone().key  # "due today" is the operator's day, as the dashboard counts it
    if query.number:
        try:
            phone.parse(query.number.strip())
        except phone.InvalidNumber as exc:  # the operator's typo: said in their language
            flash(refusal_text(exc), "error")
            query, args = CallbacksQuery(limit=query.limit, offset=query.offset), {}
    try:
        rows, total = search(query, now(), zone)
    except ApiProblem as exc:  # any other filter the service refuses, as the API words it
        flash(exc.detail, "error")
        query, args = CallbacksQuery(limit=query.limit, offset=query.offset), {}
        rows, total = search(query, now(), zone)
    return render_template("console/callbacks.html", callbacks=rows, filters=args, views=VIEWS,
                           statuses=STATUSES, pager=Pager(query.offset, query.limit, total),
                           operator_zone=zone)


@bp.get("/callbacks/<int:callback_id>")
def callback(callback_id: int) -> Any:
    row = _load(callback_id)
    if row is None:
        return _missing()
    movable = row.status in MOVABLE
    return render_template("console/callback.html", cb=row,
                           history=callbacks.history(db_session(), row.id),
                           movable=movable, cancellable=row.status in PENDING,
                           suggested=row.local_due, offers=_wall_times(row) if movable else [])


def _wall_times(row: Callback) -> list[str]:
    zone = ZoneInfo(row.time_zone)
    return [slot.astimezone(zone).strftime("%Y-%m-%dT%H:%M") for slot in offers_for(row)]


@bp.post("/callbacks/<int:callback_id>/move")
def callback_move(callback_id: int) -> Any:
    row = _load(callback_id)
    if row is None:
        return _missing()
    session = db_session()
    try:
        due = local_to_utc(row, form_str("local_due", 32))
    except ValueError:
        flash(t("bad_time"), "error")
        return redirect(url_for("console.callback", callback_id=callback_id))
    why = refusal(row, due)
    if why and not request.form.get("force"):
        # The operator may overbook or insist, but only knowingly (the dispatcher would hold the
        # call anyway outside the calling window and reschedule it).
        flash(f"{t('not_moved')} {t('why_' + why)}", "error")
        return redirect(url_for("console.callback", callback_id=callback_id, wanted=form_str("local_due", 32)))
    try:
        moved = callbacks.move(session, row.id, due, at=now(), by=_operator(),
                               note=form_str("note", 500) or None)
    except Refusal as exc:
        session.rollback()
        refused(exc)
        return redirect(url_for("console.callback", callback_id=callback_id))
    session.commit()
    notice("moved_done", when=_wall(moved.local_due), zone=moved.time_zone)
    return redirect(url_for("console.callback", callback_id=callback_id))


@bp.post("/callbacks/<int:callback_id>/cancel")
def callback_cancel(callback_id: int) -> Any:
    row = _load(callback_id)
    if row is None:
        return _missing()
    session = db_session()
    try:
        callbacks.cancel(session, row.id, at=now(), by=_operator(), reason=form_str("reason", 500))
    except Refusal as exc:
        session.rollback()
        refused(exc)
        return redirect(url_for("console.callback", callback_id=callback_id))
    session.commit()
    notice("cancelled_done")
    return redirect(url_for("console.callback", callback_id=callback_id))


def _wall(local_due: str) -> str:
    return datetime.fromisoformat(local_due).strftime("%Y-%m-%d %H:%M")
