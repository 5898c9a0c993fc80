"""Console pages for campaigns (app/campaigns): list with progress, the create
form, one campaign with live progress (contacts per state, attempts per disposition, abandonment
rate; the page refreshes itself while the campaign runs), start/pause/resume/stop buttons and
the form that targets contacts.

Everything goes through app.campaigns.service; every "field: message" problem of a submission
is shown beside its field at once, never a 500.
"""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.api.campaigns import ACTIONS, abandonment_by_campaign
from app.api.core import id_ok
from app.campaigns import service as campaigns
from app.campaigns.models import (
    DAYS,
    MACHINE_POLICIES,
    PURPOSES,
    STATUSES,
    Campaign,
    CampaignAttempt,
)
from app.campaigns.states import TRANSITIONS
from app.clock import now
from app.console import charts
from app.console.i18n import add_messages, current_language, refusal_text, t
from app.console.web import Pager, bad_lines, bp, form_str, nav_item, notice, offset_arg, refused
from app.db import db_session
from app.i18n import LANGUAGES
from app.operators.users import current_operator
from app.refusals import Invalid, Refusal, Refusals, field_of

nav_item("console.campaigns_list", "campaigns")

# Ofcom's persistent-misuse policy: at most 3% of live calls abandoned (over 24 hours).
ABANDONMENT_LIMIT = 0.03
MAX_CSV = 1024 * 1024

add_messages({
    "new_campaign": _l("New campaign"),
    "create": _l("Create"),
    "campaign": _l("Campaign"),
    "created_done": _l("Campaign created: add contacts, then start it."),
    "progress": _l("Progress"),
    "live_refresh": _l("Running: this page refreshes itself."),
    "contacts_by_state": _l("Contacts by state"),
    "attempts_by_disposition": _l("Attempts by disposition"),
    "abandonment_rate": _l("Abandonment rate"),
    "abandonment_24h": _l("Abandonment (24 h)"),
    "abandonment_over": _l("Over the limit of 3%: pause and check."),
    "dialled": _l("Dialled"),
    "live_answered": _l("Answered by people"),
    "abandoned": _l("Abandoned"),
    "start": _l("Start"),
    "pause": _l("Pause"),
    "resume": _l("Resume"),
    "stop": _l("Stop"),
    "stop_confirm": _l("Stop the campaign for good? Queued contacts will be cancelled."),
    "status_now": _l("Campaign: {status}."),
    "add_contacts": _l("Add contacts"),
    "contact_ids": _l("Contact ids (comma-separated)"),
    "csv_source": _l("Where the numbers come from (if the CSV has no source column)"),
    "targeted_done": _l("Added {added}, already there {already}, errors {errors}."),
    "languages": _l("Languages"),
    "reason_in": _l("Why we call ({lang})"),
    "offer_id": _l("Offer (sales)"),
    "calling_days": _l("Days"),
    "calling_hours": _l("Hours (callee's time)"),
    "cps": _l("Calls per second"),
    "max_concurrent": _l("Concurrent calls"),
    "max_attempts": _l("Attempts per contact"),
    "machine_policy": _l("Answering machine"),
    "call_kind": _l("Kind of call"),
    "call_kind_automated": _l("automated (synthetic voice): needs consent"),
    "call_kind_live": _l("live (an operator)"),
    "offer_or_appeal": _l("Offer or appeal"),
    "callback_number": _l("Callback number (for machines)"),
    "recent_attempts": _l("Latest attempts"),
    "form_error": _l("To fix"),
    "form_error_one": _l("The form has one problem: it is shown beside its field."),
    "form_errors": _l("The form has {count} problems: each is shown beside its field."),
    "refusal_not_a_number": _l("«{value}» is not a number."),
    "refusal_campaign_flow_name": _l("Choose one of the flows written for campaigns."),
})


def week() -> list[tuple[str, str]]:
    """Each calling day's code with its name in the operator's language (lunedì, maandag...),
    Monday first: Babel numbers the days 0 (Monday) to 6, as DAYS lists the codes."""
    names = get_day_names("wide", locale=current_language())
    return [(code, names[index]) for index, code in enumerate(DAYS)]


def day_names(codes: list[str]) -> list[str]:
    """A campaign's stored day codes as the operator's language names them."""
    names = dict(week())
    return [names.get(code, code) for code in codes]


def _load(campaign_id: int) -> Campaign | None:
    return db_session().get(Campaign, campaign_id) if id_ok(campaign_id) else None


def _missing() -> tuple[str, int]:
    return render_template("console/error.html", message=t("not_found"), status=404), 404


def _operator() -> str:
    user = current_operator()
    return f"operator:{user.username}" if user else "operator"


def actions_for(status: str) -> list[str]:
    """The buttons the state machine allows from `status` (in a fixed order)."""
    return [a for a in ("start", "pause", "resume", "stop") if (status, a) in TRANSITIONS]


def done_share(stats: dict[str, Any]) -> float:
    """Share of targeted contacts that are finished (done or cancelled), 0..100."""
    contacts = stats["contacts"]
    total = sum(contacts.values())
    finished = contacts.get("done", 0) + contacts.get("cancelled", 0)
    return round(100 * finished / total, 1) if total else 0.0


@bp.get("/campaigns")
def campaigns_list() -> str:
    offset, limit = offset_arg()
    status = request.args.get("status")
    status = status if status in STATUSES else None
    rows = campaigns.list_campaigns(db_session(), status)
    page = rows[offset: offset + limit]
    at = now()
    items = [(c, campaigns.stats(db_session(), c, at=at)) for c in page]
    return render_template("console/campaigns.html", items=items, statuses=STATUSES,
                           filters={"status": status} if status else {}, done_share=done_share,
                           limit=ABANDONMENT_LIMIT, pager=Pager(offset, limit, len(rows)))


@bp.get("/campaigns/new")
def campaign_new() -> str:
    return _form({"calling_days": list(DAYS[:5]), "calling_hours": "09:00-20:00", "cps": "1",
                  "max_concurrent": "5", "max_attempts": "3", "languages": ["it"],
                  "machine_policy": "message"}, None)


# The inputs the form has: a problem naming one of these is shown beside it, any other at the top.
FORM_FIELDS = ("name", "purpose", "offer_id", "flow", "languages", "reason", "calling_days", "calling_hours",
               "cps", "max_concurrent", "max_attempts", "machine_policy", "callback_number")


def _form(values: dict[str, Any], errors: dict[str, list[str]] | None, status: int = 200) -> Any:
    """The form; `errors` maps a field (or "" for the rest) to its problems, in the operator's language."""
    flows = campaigns.campaign_flows()
    page = render_template("console/campaign_form.html", values=values, errors=errors or {}, purposes=PURPOSES,
                           languages=LANGUAGES, flows=flows, policies=MACHINE_POLICIES, week=week())
    return (page, status) if status != 200 else page


def field_errors(problems: list[Refusal]) -> dict[str, list[str]]:
    """Each problem under the form field it names ("" when the form has no such input)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        name = field_of(problem).partition(".")[0]  # reason.it: the reason inputs
        key = name if name in FORM_FIELDS else ""
        translated = refusal_text(problem)
        # Beside its input a problem needs no field name; under the form it keeps it.
        text = problem.message if key and translated == str(problem) else translated
        errors.setdefault(key, []).append(text)
    return errors


# No day ticked is a problem to show, not the default week (a browser sends no box unticked).
REQUIRED = ("name", "purpose", "flow", "languages", "reason", "calling_days")


@bp.post("/campaigns")
def campaign_create() -> Any:
    values: dict[str, Any] = {k: form_str(k, 200) for k in (
        "name", "purpose", "flow", "offer_id", "calling_hours", "cps", "max_concurrent",
        "max_attempts", "machine_policy", "callback_number")}
    # The ticked day boxes, as the codes the schema reads (it refuses any other value).
    values["calling_days"] = [day[:16] for day in request.form.getlist("calling_days")[:len(DAYS)]]
    values["languages"] = [lang for lang in request.form.getlist("languages") if lang in LANGUAGES]
    values["reason"] = {lang: form_str(f"reason_{lang}", 500) for lang in LANGUAGES}
    # Blank inputs take the campaign's defaults; everything else is checked by the service
    # (app.campaigns.schema), every problem at once.
    fields = {name: value for name, value in values.items() if value or name in REQUIRED}
    session = db_session()
    problems: list[Refusal] = []
    try:
        campaign = campaigns.create_campaign(session, created_by=_operator(), at=now(), **fields)
    except Refusals as many:
        problems = many.problems
    except Refusal as exc:
        problems = [exc]
    if problems:
        session.rollback()
        return _form(values, field_errors(problems), 422)
    session.commit()
    notice("created_done")
    return redirect(url_for("console.campaign", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> Any:
    row = _load(campaign_id)
    if row is None:
        return _missing()
    stats = campaigns.stats(db_session(), row, at=now())
    return render_template(
        "console/campaign.html", campaign=row, stats=stats, actions=actions_for(row.status),
        days=day_names(row.calling_days),
        attempts=recent_attempts(row.id),
        limit=ABANDONMENT_LIMIT, done=done_share(stats), open=row.status in ("draft", "running", "paused"),
        contacts_chart=charts.bar_chart(sorted((k, float(v)) for k, v in stats["contacts"].items()), height=160),
        attempts_chart=charts.bar_chart(sorted((k, float(v)) for k, v in stats["attempts"].items()), height=160),
    )


@bp.post("/campaigns/<int:campaign_id>/<string:action>")
def campaign_action(campaign_id: int, action: str) -> Any:
    row = _load(campaign_id)
    if row is None or action not in ACTIONS:
        return _missing()
    session = db_session()
    try:
        ACTIONS[action](session, row, at=now(), reason=form_str("reason", 500) or None)
    except Refusal as exc:
        session.rollback()
        refused(exc)
    else:
        session.commit()
        notice("status_now", status=row.status)
    return redirect(url_for("console.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/contacts")
def campaign_contacts(campaign_id: int) -> Any:
    row = _load(campaign_id)
    if row is None:
        return _missing()
    session = db_session()
    try:
        report = _target(session, row)
    except Refusal as exc:
        session.rollback()
        refused(exc)
        return redirect(url_for("console.campaign", campaign_id=campaign_id))
    session.commit()
    notice("targeted_done", added=report.added, already=report.already, errors=len(report.errors))
    bad_lines([(refusal_text(item), why) for item, why in report.errors])
    return redirect(url_for("console.campaign", campaign_id=campaign_id))


def _target(session: Any, row: Campaign) -> Any:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        text = upload.read(MAX_CSV).decode("utf-8", errors="replace")
        # A refused file raises importer.ImportRefused, a ValueError the caller shows translated.
        return campaigns.add_numbers_csv(session, row, text, at=now(), recorded_by=_operator(),
                                         source=form_str("source") or None,
                                         default_region=form_str("region", 2).upper() or None)
    raw = form_str("contact_ids", 20_000)
    ids = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    if not ids or not all(p.isdigit() and len(p) < 12 for p in ids):
        raise Invalid("contact_ids", "give contact ids separated by commas, or a CSV file")
    return campaigns.add_contacts(session, row, [int(p) for p in ids], at=now())


def recent_attempts(campaign_id: int, limit: int = 20) -> list[CampaignAttempt]:
    """The latest attempts (newest first) with their disposition and call, for live progress."""
    return list(db_session().scalars(
        select(CampaignAttempt).where(CampaignAttempt.campaign_id == campaign_id)
        .order_by(CampaignAttempt.id.desc()).limit(limit)))


def dashboard_abandonment() -> list[tuple[str, float]]:
    """For the dashboard chart: abandonment rate per campaign that had live calls."""
    return abandonment_by_campaign(db_session())
