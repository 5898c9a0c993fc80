"""Calls: list with filters, and one call with its status events, flow steps and transcript."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.api.core import PageMeta, PageQuery, Timestamp, bp, paginate, responses, spec
from app.api.problems import not_found
from app.db import db_session
from app.models import STATUS_RANK, Call, CallEvent, CallStep

CallStatus = Literal[tuple(STATUS_RANK)]  # type: ignore[valid-type]


class CallsQuery(PageQuery):
    status: CallStatus | None = None  # type: ignore[valid-type]
    direction: Literal["inbound", "outbound-api", "outbound-dial"] | None = None
    number: str | None = Field(None, max_length=32, description="part of the From or To number")
    flow: str | None = Field(None, max_length=64)
    since: Timestamp | None = Field(None, description="started at or after (ISO 8601 with offset)")
    until: Timestamp | None = Field(None, description="started before")


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    call_sid: str
    direction: str
    from_number: str
    to_number: str
    status: str
    answered_by: str | None
    duration_seconds: int | None
    language: str | None
    flow: str | None
    node: str | None
    started_at: datetime
    ended_at: datetime | None


class CallPage(PageMeta):
    items: list[CallOut]


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    flow: str | None
    node: str | None
    kind: str
    input: str | None
    outcome: str | None
    said: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence_number: int
    status: str
    received_at: datetime


class TranscriptLine(BaseModel):
    at: datetime
    speaker: Literal["system", "caller"]
    text: str


class CallDetail(CallOut):
    events: list[EventOut]
    steps: list[StepOut]
    path: list[str] = Field(description="flow:node in the order the call went through them")
    transcript: list[TranscriptLine]


# The steps whose input is the caller's own (keys pressed, words said, the language chosen).
# Other steps carry inputs too (a claim's reference, a transfer's result): those are ours.
CALLER_STEP_KINDS = frozenset({"input", "language"})


def transcript_of(steps: list[CallStep]) -> list[TranscriptLine]:
    """What was said to the caller and what they answered, in order (from the CallStep rows)."""
    lines: list[TranscriptLine] = []
    for step in steps:
        if step.said:
            lines.append(TranscriptLine(at=step.at, speaker="system", text=step.said))
        if step.input and step.kind in CALLER_STEP_KINDS:
            lines.append(TranscriptLine(at=step.at, speaker="caller", text=step.input))
    return lines


def path_of(steps: list[CallStep]) -> list[str]:
    """The nodes visited, without immediate repeats (a reprompt stays on one node)."""
    path: list[str] = []
    for step in steps:
        if not step.node:
            continue
        label = f"{step.flow}:{step.node}" if step.flow else step.node
        if not path or path[-1] != label:
            path.append(label)
    return path


def call_filters(query: CallsQuery):  # type: ignore[no-untyped-def]
    stmt = select(Call)
    if query.status:
        stmt = stmt.where(Call.status == query.status)
    if query.direction:
        stmt = stmt.where(Call.direction == query.direction)
    if query.number:
        digits = query.number.strip()
        stmt = stmt.where(Call.from_number.contains(digits, autoescape=True)
                          | Call.to_number.contains(digits, autoescape=True))
    if query.flow:
        stmt = stmt.where(Call.flow == query.flow)
    if query.since:
        stmt = stmt.where(Call.started_at >= query.since)
    if query.until:
        stmt = stmt.where(Call.started_at < query.until)
    return stmt.order_by(Call.started_at.desc(), Call.id.desc())


@bp.get("/calls")
@spec.validate(query=CallsQuery, resp=responses(CallPage), tags=["calls"])
def list_calls() -> CallPage:
    """List calls, newest first, filtered by status, direction, number, flow and time."""
    query: CallsQuery = request.context.query  # type: ignore[attr-defined]
    rows, meta = paginate(db_session(), call_filters(query), query)
    return CallPage(items=[CallOut.model_validate(row) for row in rows], **meta.model_dump())


def call_detail(call: Call) -> CallDetail:
    steps = list(call.steps)
    return CallDetail(
        **CallOut.model_validate(call).model_dump(),
        events=[EventOut.model_validate(e) for e in call.events],
        steps=[StepOut.model_validate(s) for s in steps],
        path=path_of(steps),
        transcript=transcript_of(steps),
    )


@bp.get("/calls/<string:call_sid>")
@spec.validate(resp=responses(CallDetail), tags=["calls"])
def get_call(call_sid: str) -> CallDetail:
    """One call with its status events, its steps through the flow and its transcript."""
    call = db_session().scalar(select(Call).where(Call.call_sid == call_sid[:64]))
    if call is None:
        raise not_found("call", call_sid)
    return call_detail(call)


__all__ = ["CallEvent", "call_detail", "call_filters", "path_of", "transcript_of"]
