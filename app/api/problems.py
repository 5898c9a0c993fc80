"""RFC 9457 problem details: every API error is JSON with type, title, status, detail and,
when one input is at fault, `field` (plus `errors` listing every field that failed)."""

from __future__ import annotations

from typing import Any

from flask import Response, json
from pydantic import BaseModel, Field
from werkzeug.exceptions import HTTPException

PROBLEM_MIME = "application/problem+json"
PROBLEM_BASE = "https://cortese.example/problems/"


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the input at fault, e.g. 'query.limit'")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raise anywhere under /api to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, *, field: str | None = None,
                 errors: list[dict[str, str]] | None = None, slug: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.field, self.errors = field, errors
        self.slug = slug or title.lower().replace(" ", "-")

    def response(self) -> Response:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        resp = Response(json.dumps(body), status=self.status, mimetype=PROBLEM_MIME)
        if self.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="cortese"'
        return resp


def not_found(what: str, key: object) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"no {what} {key!s:.80}", slug="not-found")


def invalid(field: str, message: str) -> ApiProblem:
    return ApiProblem(422, "Invalid Input", f"{field}: {message}", field=field,
                      errors=[{"field": field, "message": message}], slug="invalid-input")


# A body with 200,000 unknown keys must not answer with 200,000 errors (megabytes): the first
# few tell the client what to fix, the count says how much more there is.
MAX_LISTED_ERRORS = 20


def from_validation_errors(location: str, errors: list[dict[str, Any]]) -> ApiProblem:
    """Turn pydantic errors into one problem naming the first field at fault and listing the
    first MAX_LISTED_ERRORS (the detail says how many more there are)."""
    items = []
    for err in errors[:MAX_LISTED_ERRORS]:
        # A key is the client's text: a megabyte-long one is named by its first characters.
        loc = ".".join(str(part)[:80] for part in err.get("loc", ()) if part != "__root__")
        items.append({"field": f"{location}.{loc}" if loc else location,
                      "message": str(err.get("msg", "invalid")).removeprefix("Value error, ")[:300]})
    if not items:
        items = [{"field": location, "message": "invalid"}]
    first = items[0]
    more = len(errors) - len(items)
    suffix = f" (and {more} more errors not listed)" if more > 0 else ""
    return ApiProblem(422, "Invalid Input", f"{first['field']}: {first['message']}{suffix}",
                      field=first["field"], errors=items, slug="invalid-input")


def from_http_exception(exc: HTTPException) -> ApiProblem:
    status = exc.code or 500
    return ApiProblem(status, exc.name, exc.description or exc.name)
