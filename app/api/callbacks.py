"""Callbacks (app/callbacks): list with filters, one with its history, move, cancel.

Every change goes through app.callbacks.service (state machine, history lines, row locks);
this module only parses, maps the service's errors onto problems, and commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app import phone
from app.api.core import (
    PageMeta,
    PageQuery,
    Timestamp,
    actor,
    bp,
    id_ok,
    in_range,
    json_body,
    responses,
    service_errors,
    spec,
)
from app.api.problems import ApiProblem, not_found
from app.callbacks import operations
from app.callbacks import service as callbacks
from app.callbacks.models import STATUSES, Callback
from app.clock import now
from app.db import db_session
from app.refusals import Invalid

CallbackStatus = Literal[STATUSES]  # type: ignore[valid-type]


class CallbacksQuery(PageQuery):
    status: CallbackStatus | None = None  # type: ignore[valid-type]
    view: Literal["due_today", "missed", "pending"] | None = Field(
        None, description="due_today: due today (operator day, CALLBACK_DEFAULT_TIME_ZONE); "
        "missed: finished without reaching anyone; pending: not rung yet")
    number: str | None = Field(None, max_length=32, description="the callee's number (any format)")
    due_from: Timestamp | None = Field(None, description="due at or after (ISO 8601 with offset)")
    due_until: Timestamp | None = Field(None, description="due before")


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    e164: str
    contact_id: int | None
    time_zone: str
    language: str
    due_at: datetime
    local_due: str = Field(description="the callee's wall time as booked, e.g. 2026-11-26T18:30")
    reason: str
    note: str | None
    origin: str
    origin_call_sid: str | None
    campaign_id: int | None
    booked_by: str
    status: str
    attempts: int
    call_sid: str | None
    answered_by: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class CallbackPage(PageMeta):
    items: list[CallbackOut]


class CallbackEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    call_sid: str | None


class CallbackDetail(CallbackOut):
    history: list[CallbackEventOut]


LOCAL_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$"


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: Timestamp | None = Field(None, description="the new time, ISO 8601 with offset")
    local_due: str | None = Field(None, pattern=LOCAL_TIME,
                                  description="or the callee's wall time (in the callback's zone), "
                                  "e.g. 2026-11-26T18:30")
    note: str | None = Field(None, max_length=500)
    force: bool = Field(False, description="move even to a time that is outside the calling window, "
                        "a holiday or a full slot (the dispatcher still holds an unlawful call)")

    @model_validator(mode="after")
    def _one_time(self) -> MoveIn:
        if (self.due_at is None) == (self.local_due is None):
            raise ValueError("give exactly one of due_at or local_due")
        return self


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why (kept in the history)")


class SlotsOut(BaseModel):
    time_zone: str
    slots: list[datetime] = Field(description="the nearest lawful times with room (UTC), as offered to a caller")
    local: list[str] = Field(description="the same in the callee's wall time")


WHY = {"past": "is past or too soon", "closed": "calls are not allowed then (calling window or holiday)",
       "full": "that 15-minute slot is full", "never": "this number may not be called back"}


def _settings() -> Any:
    return current_app.extensions["cortese.settings"]


def offers_for(row: Callback, near: datetime | None = None) -> list[datetime]:
    """The nearest lawful, free slots near `near` (app.callbacks.operations)."""
    return operations.offers_for(db_session(), row, settings=_settings(), at=now(), near=near)


def refusal(row: Callback, due: datetime) -> str | None:
    """Why `due` is no lawful, free time for this callback (app.callbacks.operations)."""
    return operations.refusal(db_session(), row, due, settings=_settings(), at=now())


def query_args(query: CallbacksQuery, at: datetime, zone: str | None = None) -> dict[str, Any]:
    """The service's filters for `query` (a view narrows status and due window); "today" is the
    day in `zone`, by default the operators' (CONSOLE_TIME_ZONE), as the console counts it."""
    return operations.filters(status=query.status, view=query.view, number=query.number,
                              due_from=query.due_from, due_until=query.due_until, at=at,
                              zone_name=zone or _settings().console_zone)


def search(query: CallbacksQuery, at: datetime, zone: str | None = None) -> tuple[list[Callback], int]:
    args = query_args(query, at, zone)
    if args["status"] == []:  # a status outside the view: nothing can match
        return [], 0
    with service_errors("query"):
        if args["e164"] is not None:
            args["e164"] = _number_or_422(args["e164"])
        return callbacks.list_callbacks(db_session(), limit=query.limit, offset=query.offset, **args)


def _number_or_422(text: str) -> str:
    try:
        return phone.parse(text.strip()).e164
    except phone.InvalidNumber as exc:
        raise Invalid("number", f"{exc.reason}") from None


@contextmanager
def callback_errors() -> Iterator[None]:
    """The service's LookupError is a 404; a status that forbids the change is a 409."""
    try:
        with service_errors():
            yield
    except LookupError as exc:
        raise ApiProblem(404, "Not Found", str(exc).removeprefix("id: "), slug="not-found") from None
    except ApiProblem as problem:
        if problem.field == "body.status":
            raise ApiProblem(409, "Conflict", problem.detail.removeprefix("body.status: "),
                             field="status", slug="conflict") from None
        raise


def load(callback_id: int) -> Callback:
    row = db_session().get(Callback, callback_id) if id_ok(callback_id) else None
    if row is None:
        raise not_found("callback", callback_id)
    return row


def detail(row: Callback) -> CallbackDetail:
    events = callbacks.history(db_session(), row.id)
    return CallbackDetail(**CallbackOut.model_validate(row).model_dump(),
                          history=[CallbackEventOut.model_validate(e) for e in events])


def local_to_utc(row: Callback, text: str) -> datetime:
    """The callee's wall time in the callback's own zone, as an aware datetime in range."""
    return in_range(operations.local_to_utc(row, text))


@bp.get("/callbacks")
@spec.validate(query=CallbacksQuery, resp=responses(CallbackPage), tags=["callbacks"])
def list_callbacks() -> CallbackPage:
    """Callbacks, soonest first, filtered by status, view, number and due window."""
    query: CallbacksQuery = request.context.query  # type: ignore[attr-defined]
    rows, total = search(query, now())
    following = query.offset + query.limit
    return CallbackPage(items=[CallbackOut.model_validate(r) for r in rows], total=total,
                        limit=query.limit, offset=query.offset,
                        next_offset=following if following < total else None)


@bp.get("/callbacks/<int:callback_id>")
@spec.validate(resp=responses(CallbackDetail), tags=["callbacks"])
def get_callback(callback_id: int) -> CallbackDetail:
    """One callback with its history (who booked, moved, dialled or cancelled it, and why)."""
    return detail(load(callback_id))


@bp.post("/callbacks/<int:callback_id>/move")
@spec.validate(json=MoveIn, resp=responses(CallbackDetail), tags=["callbacks"])
def move_callback(callback_id: int) -> CallbackDetail:
    """Put a callback at a new time; a missed or failed one goes back on the schedule."""
    body: MoveIn = json_body()
    row = load(callback_id)
    session = db_session()
    due = body.due_at
    if due is None:
        try:
            due = local_to_utc(row, str(body.local_due))
        except ValueError as exc:
            raise ApiProblem(422, "Invalid Input", f"body.local_due: {exc}", field="body.local_due",
                             slug="invalid-input") from None
    field = "body.due_at" if body.due_at is not None else "body.local_due"
    why = None if body.force else refusal(row, due)
    if why:
        # Near the time asked for, not the old one: that is what the operator wants moved to.
        local = [s.astimezone(ZoneInfo(row.time_zone)).strftime("%Y-%m-%dT%H:%M") for s in offers_for(row, due)]
        hint = f"; nearest lawful free times ({row.time_zone}): {', '.join(local)}" if local else ""
        raise ApiProblem(422, "Invalid Input", f"{field}: {WHY.get(why, why)}{hint} (or send force: true)",
                         field=field, errors=[{"field": field, "message": WHY.get(why, why)}],
                         slug="invalid-input")
    with callback_errors():
        moved = callbacks.move(session, row.id, due, at=now(), by=actor(), note=body.note)
    session.commit()
    return detail(moved)


@bp.get("/callbacks/<int:callback_id>/slots")
@spec.validate(resp=responses(SlotsOut), tags=["callbacks"])
def callback_slots(callback_id: int) -> SlotsOut:
    """The nearest lawful times with room for this callback (empty when the number has no
    contact record to check consent against)."""
    row = load(callback_id)
    slots = offers_for(row)
    zone = ZoneInfo(row.time_zone)
    return SlotsOut(time_zone=row.time_zone, slots=slots,
                    local=[s.astimezone(zone).strftime("%Y-%m-%dT%H:%M") for s in slots])


@bp.post("/callbacks/<int:callback_id>/cancel")
@spec.validate(json=CancelIn, resp=responses(CallbackDetail), tags=["callbacks"])
def cancel_callback(callback_id: int) -> CallbackDetail:
    """Cancel a callback that has not rung yet."""
    body: CancelIn = json_body()
    row = load(callback_id)
    session = db_session()
    with callback_errors():
        cancelled = callbacks.cancel(session, row.id, at=now(), by=actor(), reason=body.reason)
    session.commit()
    return detail(cancelled)
