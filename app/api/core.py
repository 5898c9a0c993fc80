"""The /api blueprint, its OpenAPI generator (spectree, from the route decorators and pydantic
models), authentication, problem-details errors and pagination.

Resource modules (calls.py, tickets.py, ...) import `bp`, `spec`, `responses` and `Page`
from here and stay thin: parse, call the owning package's service, serialise.
"""

from __future__ import annotations

import hmac
import json as stdlib_json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Blueprint, Response, current_app, g, json, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import ValidationError, validate_csrf
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from spectree import Response as SpecResponse
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import InType, SecureType
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from app import inputs
from app.api.problems import (
    PROBLEM_MIME,
    ApiProblem,
    Problem,
    from_http_exception,
    from_validation_errors,
    invalid,
)
from app.db import is_lock_error
from app.operators.users import current_operator
from app.refusals import Refusal, Refusals, field_of, message_of

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

# Common error responses every operation documents, so clients (and schemathesis) know them.
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422)


def _before(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree hook: turn its request-validation error into our problem document."""
    if error is None:
        return
    title = getattr(error, "title", "") or ""
    location = "query" if title.endswith("Query") else "body"
    raise from_validation_errors(location, adapter.validation_errors(error))


spec = SpecTree(
    "flask",
    # spectree skips routes under its own `path`, so its (unused) doc pages live elsewhere and
    # we serve the document at /api/openapi.json ourselves.
    path="apidoc",
    mode="strict",
    title="cortese API",
    version="1.0.0",
    description="Calls, tickets, callbacks, campaigns, contacts and consent. Authenticate with "
    "`Authorization: Bearer <ADMIN_API_TOKEN>` or an operator console session (unsafe methods "
    "then also need the `X-CSRFToken` header). Errors are RFC 9457 problem details.",
    validation_error_status=422,
    validation_error_model=Problem,
    before=_before,
    security_schemes=[
        SecurityScheme(name="bearerAuth", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")),
        SecurityScheme(name="sessionCookie",
                       data=SecuritySchemeData(type=SecureType.API_KEY, field_in=InType.COOKIE, name="session")),
    ],
    security=[{"bearerAuth": []}, {"sessionCookie": []}],
    annotations=False,
)


def responses(ok: type[BaseModel] | None = None, *, status: int = 200, **extra: Any) -> SpecResponse:
    """A spectree Response documenting `ok` plus every problem status."""
    codes: dict[str, Any] = {f"HTTP_{code}": Problem for code in ERROR_STATUSES}
    codes[f"HTTP_{status}"] = ok
    codes.update(extra)
    return SpecResponse(**codes)


def _iso_text(value: Any) -> Any:
    # pydantic would read "0.5" as a Unix timestamp; the API documents ISO 8601 text only.
    if isinstance(value, (int, float)) or (isinstance(value, str) and not ISO_DATETIME.match(value)):
        raise ValueError("must be an ISO 8601 date-time with offset, e.g. 2026-03-02T09:00:00+01:00")
    return value


ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
# Moments a telephony system can mean; outside them conversions between zones overflow
# (year 1 or 9999 with an offset), which must be a 422, never a 500.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def in_range(value: datetime) -> datetime:
    """`value` if it lies between 1900 and 2200 (any offset), else ValueError."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("must lie between the years 1900 and 2200")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(in_range)]


# Row ids are 32-bit INTEGER columns: a larger id in a URL or body must be a 404/422 before
# PostgreSQL refuses the parameter ("integer out of range") with a 500.
MAX_ID = 2**31 - 1


def id_ok(value: int) -> bool:
    return 0 < value <= MAX_ID


# --- pagination -----------------------------------------------------------------------------

class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=1, le=200, description="items per page")
    offset: int = Field(0, ge=0, le=10_000_000, description="items to skip")


class PageMeta(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last")


def paginate(session: Session, stmt: Select[Any], query: PageQuery) -> tuple[Sequence[Any], PageMeta]:
    """Run `stmt` for one page; count the whole result for the total."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(query.limit).offset(query.offset)).all()
    following = query.offset + query.limit
    meta = PageMeta(total=total, limit=query.limit, offset=query.offset,
                    next_offset=following if following < total else None)
    return rows, meta


def page_of(items: Iterable[Any], query: PageQuery) -> tuple[list[Any], PageMeta]:
    """Paginate an in-memory list (flows, lint results)."""
    everything = list(items)
    chunk = everything[query.offset: query.offset + query.limit]
    following = query.offset + query.limit
    return chunk, PageMeta(total=len(everything), limit=query.limit, offset=query.offset,
                           next_offset=following if following < len(everything) else None)


# --- authentication ---------------------------------------------------------------------------

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


def _bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    expected = current_app.extensions["cortese.settings"].admin_api_token
    # Constant time: a timing side channel must not leak the token byte by byte.
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _session_operator() -> Any | None:
    return current_operator()


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    if _bearer_ok():
        g.api_actor = "api-token"
        return
    operator = _session_operator()
    if operator is None:
        raise ApiProblem(401, "Unauthorized",
                         "send 'Authorization: Bearer <ADMIN_API_TOKEN>' or log in to the console",
                         slug="unauthorized")
    if request.method in UNSAFE_METHODS:
        _check_csrf_header()
    g.api_actor = f"operator:{operator.username}"


@bp.before_request
def _single_query_values() -> None:
    """Every query parameter of this API takes one value: a repeated one is ambiguous, so it is
    refused rather than silently reduced to its first value."""
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ApiProblem(422, "Invalid Input", f"query.{name}: given {len(values)} times; send it once",
                             field=f"query.{name}", slug="invalid-input",
                             errors=[{"field": f"query.{name}", "message": "given more than once"}])


@bp.before_request
def _refuse_bad_text() -> None:
    """Query values and JSON bodies are checked before any route reads them: a control
    character (which PostgreSQL refuses and which would break every call that speaks it), a
    body nested too deep or too large to walk is a small 4xx naming where, never a 500."""
    try:
        inputs.check_pairs("query", request.args.items(multi=True))
        if request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                raise inputs.BadText("body", f"nested deeper than {inputs.MAX_JSON_DEPTH} levels") from None
            if body is None and request.get_data(cache=True).strip():
                _refuse_unparseable_json()
            inputs.check_json(body)
    except inputs.BadText as exc:
        raise invalid(exc.field, exc.message) from None


def _refuse_unparseable_json() -> None:
    """A body that says it is JSON but is not: say so (with where it breaks), rather than let
    validation report every field as missing."""
    try:
        stdlib_json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(422, "Invalid Input", f"body: not valid JSON ({exc})", field="body",
                         slug="invalid-input") from None


def _check_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError as exc:
        raise ApiProblem(403, "Forbidden", f"X-CSRFToken header: {exc}", field="header.X-CSRFToken",
                         slug="csrf") from None


def json_body() -> Any:
    """The validated JSON body; spectree skips it for form posts, which we refuse clearly."""
    body = getattr(getattr(request, "context", None), "json", None)
    if body is None:
        raise ApiProblem(415, "Unsupported Media Type",
                         "send a JSON object with 'Content-Type: application/json'",
                         field="header.Content-Type", slug="unsupported-media-type")
    return body


@contextmanager
def service_errors(location: str = "body") -> Iterator[None]:
    """Run a service call; its Refusal becomes a 422 naming the field (every field, for a
    Refusals). Nothing else does: any other exception, a ValueError from a bug included, is a
    500 that is logged, never passed off as bad input."""
    try:
        yield
    except ApiProblem:
        raise
    except Refusals as many:
        raise many_invalid(location, many) from None
    except Refusal as refusal:
        if refusal.field:
            raise invalid(f"{location}.{refusal.field}", refusal.message) from None
        raise ApiProblem(422, "Invalid Input", refusal.message or "invalid", slug="invalid-input") from None


def many_invalid(location: str, many: Refusals) -> ApiProblem:
    """Every problem of one submission in one 422: `field` and `detail` name the first, `errors`
    lists them all, so a client fixes everything in one go."""
    errors = [{"field": f"{location}.{field_of(p)}" if field_of(p) else location, "message": message_of(p)}
              for p in many.problems]
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiProblem(422, "Invalid Input", f"{first['field']}: {first['message']}{more}", field=first["field"],
                      errors=errors, slug="invalid-input")


def actor() -> str:
    """Who is acting (for audit fields such as consent `by`)."""
    return str(g.get("api_actor", "api"))


# --- errors and headers -----------------------------------------------------------------------

@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem) -> Response:
    return exc.response()


@bp.errorhandler(HTTPException)
def _http_problem(exc: HTTPException) -> ResponseReturnValue:
    if exc.response is not None and exc.code and exc.code < 400:
        return exc.response
    return from_http_exception(exc).response()


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    if is_lock_error(exc):
        # Another writer held the database past the lock wait (30 s): nothing was changed.
        log.warning("API %s %s: database locked past the lock wait", request.method, request.path)
        resp = ApiProblem(503, "Service Unavailable", "the database is busy with another write; nothing "
                          "was changed, try again in a moment", slug="busy").response()
        resp.headers["Retry-After"] = "5"
        return resp
    log.exception("API error on %s %s", request.method, request.path)
    return ApiProblem(500, "Internal Server Error", "an unexpected error; it has been logged",
                      slug="internal").response()


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    return resp


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document, generated from the decorated routes and their pydantic models."""
    return Response(json.dumps(_problem_media_types(spec.spec)), mimetype="application/json")


# Operations whose success body is not JSON (spectree only documents JSON bodies).
MEDIA_TYPES: dict[tuple[str, str], dict[str, Any]] = {}


def media_type(path: str, method: str, mime: str, schema: dict[str, Any] | None = None) -> None:
    MEDIA_TYPES.setdefault((path, method.lower()), {})[mime] = {"schema": schema or {"type": "string"}}


# Path parameters narrower than their converter (spectree documents only its type).
PATH_PARAMETERS: dict[tuple[str, str], dict[str, Any]] = {}


def path_parameter(path: str, name: str, schema: dict[str, Any]) -> None:
    PATH_PARAMETERS[(path, name)] = schema


def _problem_media_types(doc: dict[str, Any]) -> dict[str, Any]:
    """spectree documents every body as application/json; our errors are problem+json."""
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and (path, parameter["name"]) in PATH_PARAMETERS:
                    parameter["schema"] = {**parameter.get("schema", {}), **PATH_PARAMETERS[(path, parameter["name"])]}
            if (path, method) in MEDIA_TYPES:
                ok = operation["responses"].setdefault("200", {"description": "OK"})
                ok["content"] = MEDIA_TYPES[(path, method)]
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    content[PROBLEM_MIME] = content.pop("application/json")
    return doc


def app_404_as_problem(app: Any) -> None:
    """Unknown /api/... paths get problem JSON too (a blueprint cannot catch routing 404s)."""

    @app.errorhandler(404)
    def _not_found(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return from_http_exception(exc).response()
        return exc

    @app.errorhandler(405)
    def _not_allowed(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            resp = from_http_exception(exc).response()
            if exc.valid_methods:  # type: ignore[attr-defined]
                resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
            return resp
        return exc
