"""The console blueprint and what every page shares: login required, CSRF on every form post,
security headers, language, and pagination of tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, ValidationError, generate_csrf, validate_csrf
from werkzeug.wrappers import Response as WerkzeugResponse

from app import inputs
from app.console.codes import code_label
from app.console.i18n import current_language, refusal_text, t
from app.console.times import local, when, zone_label
from app.operators.users import current_operator

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# No inline script or style anywhere: CSP forbids both, so injected markup cannot run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static", "console.language"})


@bp.before_request
def _guard() -> WerkzeugResponse | tuple[str, int] | None:
    try:
        # A control character in a filter or form (NUL breaks PostgreSQL, any of them breaks
        # the calls that would speak it) is refused before a page reads it.
        inputs.check_pairs("query", request.args.items(multi=True))
        inputs.check_pairs("form", request.form.items(multi=True))
    except inputs.BadText as exc:
        return render_template("console/error.html", message=t("bad_text", field=exc.field), status=400), 400
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            validate_csrf(request.form.get("csrf_token", ""))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
    if request.endpoint in PUBLIC_ENDPOINTS or current_operator() is not None:
        return None
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", message=t("csrf_failed"), status=400), 400


@bp.after_request
def _security_headers(resp: Response) -> Response:
    # setdefault: the flow diagram page adds inline *style* for Mermaid's SVG (flows_pages.py).
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


@bp.app_template_filter("code")
def _code(value: object) -> str:
    return code_label(value)


@bp.app_template_global("t")
def _t(key: str, **values: object) -> str:
    return t(key, **values)


# Globals, not context: macros imported without context (the dt macro) see them too.
for _name, _function in (("when", when), ("local", local), ("zone_label", zone_label)):
    bp.add_app_template_global(_function, _name)


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {"csrf_token": generate_csrf, "lang": current_language(),
            "operator": current_operator(), "nav": NAV}


# (endpoint, label key): extended by the page modules that are installed.
NAV: list[tuple[str, str]] = []
NAV_ORDER = ("dashboard", "desk", "desk_board", "calls", "tickets", "claims", "callbacks", "campaigns", "contacts", "compliance",
             "registries", "flows", "softphone")


def nav_item(endpoint: str, label: str) -> None:
    if (endpoint, label) not in NAV:
        NAV.append((endpoint, label))
        NAV.sort(key=lambda item: NAV_ORDER.index(item[1]) if item[1] in NAV_ORDER else 99)


@dataclass(frozen=True)
class Pager:
    """Offset pagination for tables: ?offset=N, fixed page size."""

    offset: int
    limit: int
    total: int

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def prev_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def offset_arg(limit: int = 50) -> tuple[int, int]:
    """The ?offset= of a table page, clamped to something sane whatever the URL says."""
    raw = request.args.get("offset", "0")
    offset = int(raw) if raw.isdigit() and len(raw) < 9 else 0
    return offset, limit


def form_str(name: str, max_length: int = 200) -> str:
    return (request.form.get(name) or "").strip()[:max_length]


def back(default_endpoint: str, **values: Any) -> WerkzeugResponse:
    return redirect(url_for(default_endpoint, **values))


def notice(key: str, category: str = "info", **values: object) -> None:
    flash(t(key, **values), category)


def refused(exc: Exception) -> None:
    """Show why a service said no, in the operator's language where the refusal has a code."""
    flash(refusal_text(exc), "error")


def bad_lines(problems: list[tuple[str, str]], shown: int = 10) -> None:
    """An import's refused lines (where, why), the first few in the operator's language and a
    count of the rest, so a long list never floods the page."""
    for where, why in problems[:shown]:
        flash(f"{where}: {refusal_text(why)}", "error")
    if len(problems) > shown:
        notice("more_bad_lines", "error", count=len(problems) - shown)


def not_found() -> Any:
    abort(404)

