"""Core console pages: login/logout, language switch, the operator's time zone, dashboard, calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.api.calls import CallsQuery, call_detail, call_filters
from app.api.core import paginate
from app.callbacks.models import Callback
from app.campaigns.models import Campaign, CampaignAttempt
from app.clock import now
from app.console import charts, stats
from app.console.codes import code_label
from app.console.i18n import LANG_KEY, t
from app.console.times import desk_zone, hour_label
from app.console.web import Pager, bp, nav_item, notice, offset_arg
from app.db import db_session
from app.i18n import LANGUAGES
from app.models import STATUS_RANK, Call
from app.operators.users import (
    GENERATION_KEY,
    SESSION_KEY,
    LoginThrottled,
    UserError,
    authenticate,
    current_operator,
    revoke_sessions,
    set_time_zone,
)
from app.support.models import Ticket

nav_item("console.dashboard", "dashboard")
nav_item("console.calls", "calls")


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /console: never an open redirect."""
    if (target and target.startswith("/console") and target.isprintable() and " " not in target
            and not urlsplit(target).netloc and "\\" not in target):
        return target
    return url_for("console.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error, status = None, 200
    if request.method == "POST":
        db = db_session()
        try:
            user = authenticate(db, request.form.get("username", ""), request.form.get("password", ""),
                                at=now(), address=request.remote_addr)
        except LoginThrottled as exc:
            error, status = t("login_throttled", minutes=exc.minutes), 429
        else:
            db.commit()  # the login, or the failure the throttle counts
            if user is None:
                error, status = t("bad_login"), 401
            else:
                session.clear()  # a fresh session on login: no fixation
                session[SESSION_KEY] = user.id
                session[GENERATION_KEY] = user.session_generation
                if user.language in LANGUAGES:
                    session[LANG_KEY] = user.language
                return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", error=error,
                           next=request.args.get("next", "")), status


@bp.post("/logout")
def logout() -> Response:
    operator = current_operator()
    if operator is not None:  # ends this cookie (and any copy of it) on the server
        revoke_sessions(operator)
        db_session().commit()
    session.clear()
    return redirect(url_for("console.login"))


@bp.post("/language")
def language() -> Response:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session[LANG_KEY] = chosen
    return redirect(_safe_next(request.form.get("next")))


# Every zone the machine knows, for the operator's choice; "Etc/..." and the old aliases are
# left out of the list (typed in, they are still accepted).
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))


@bp.get("/me")
def me() -> str:
    """The operator's own settings: where they work (the console's times follow it)."""
    return _me_page()


def _me_page() -> str:
    operator = current_operator()
    assert operator is not None  # the console's pages are for operators logged in
    return render_template("console/me.html", zones=ZONES, own=operator.time_zone,
                           console_zone=current_app.extensions["cortese.settings"].console_zone)


@bp.post("/me/time-zone")
def time_zone() -> Any:
    operator = current_operator()
    assert operator is not None  # the console's pages are for operators logged in
    chosen = request.form.get("time_zone", "")
    try:
        set_time_zone(operator, chosen)
    except UserError:
        notice("time_zone_unknown", "error", zone=chosen.strip()[:64])
        return _me_page(), 400
    db_session().commit()
    notice("time_zone_saved", zone=desk_zone().key)
    return redirect(url_for("console.me"))


@bp.get("/")
def dashboard() -> str:
    board = stats.build(db_session(), now())
    return render_template(
        "console/dashboard.html", board=board,
        hourly=charts.bar_chart(board.calls_per_hour),
        outcome_chart=charts.bar_chart([(code_label(code), n) for code, n in board.outcomes], height=160),
        abandonment_chart=charts.bar_chart(board.abandonment, percent=True, height=160)
        if board.abandonment else None,
        desk_charts=_desk_charts(board.desk) if board.desk is not None else None,
    )


def _desk_charts(desk: Any) -> dict[str, charts.BarChart]:
    """The desk's figures hour by hour (on the desk's clock, like the calls chart): an hour
    nobody waited in has no service level or wait, drawn as an empty bar."""
    def hourly(value: Any) -> list[tuple[str, float]]:
        return [(hour_label(h.start), float(value(h) or 0)) for h in desk.hours]

    return {
        "service_level": charts.bar_chart(hourly(lambda h: h.service_level), percent=True, height=160),
        "average_wait": charts.bar_chart(hourly(lambda h: h.average_wait and round(h.average_wait)), height=160),
        "abandoned": charts.bar_chart(hourly(lambda h: h.abandoned), height=160),
    }


@bp.get("/calls")
def calls() -> str:
    offset, limit = offset_arg()
    args = {k: v for k, v in request.args.items() if v and k in ("status", "direction", "number", "flow")}
    try:
        query = CallsQuery(limit=limit, offset=offset, **args)
    except ValueError:
        query, args = CallsQuery(limit=limit, offset=offset), {}
    rows, meta = paginate(db_session(), call_filters(query), query)
    return render_template("console/calls.html", calls=rows, filters=args,
                           pager=Pager(offset, limit, meta.total), statuses=list(STATUS_RANK))


@bp.get("/calls/<string:call_sid>")
def call(call_sid: str) -> Any:
    row = db_session().scalar(select(Call).where(Call.call_sid == call_sid[:64]))
    if row is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    return render_template("console/call.html", call=row, detail=call_detail(row),
                           tickets=_tickets_of(row.call_sid), callbacks=_callbacks_of(row.call_sid),
                           attempt=_campaign_attempt_of(row.call_sid))


def _tickets_of(call_sid: str) -> list[Any]:
    """Tickets made during this call (support package), for the links on the call page."""
    return list(db_session().scalars(select(Ticket).where(Ticket.call_sid == call_sid)))


def _callbacks_of(call_sid: str) -> list[Any]:
    """Callbacks booked during this call or dialled by it (callbacks package), for links."""
    return list(db_session().scalars(
        select(Callback).where((Callback.origin_call_sid == call_sid) | (Callback.call_sid == call_sid))
        .order_by(Callback.id)))


def _campaign_attempt_of(call_sid: str) -> Any | None:
    """The campaign attempt that placed this call (campaigns package), with its campaign."""
    found = db_session().execute(
        select(CampaignAttempt, Campaign).join(Campaign, Campaign.id == CampaignAttempt.campaign_id)
        .where(CampaignAttempt.call_sid == call_sid)).first()
    return found
