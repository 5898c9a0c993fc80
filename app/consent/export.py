"""`cortese compliance export`: the record per attempt (decision + attempt) as CSV or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.consent.models import ComplianceDecision, ContactAttempt
from app.refusals import Invalid
from app.spreadsheet import write_csv

FIELDS = (
    "decision_id", "decided_at", "e164", "country", "purpose", "offer_id", "campaign_id", "callback_id",
    "automated", "allowed", "rule_id", "reason", "next_allowed_at", "pack_version",
    "attempt_id", "call_sid", "attempted_at", "outcome", "finished_at",
)


def records(session: Session, *, since: datetime | None = None, until: datetime | None = None,
            batch: int = 1000) -> Iterator[dict[str, Any]]:
    """One record per decision (joined with the attempt it led to, if any), oldest first."""
    query = (
        select(ComplianceDecision, ContactAttempt)
        .outerjoin(ContactAttempt, ContactAttempt.decision_id == ComplianceDecision.id)
        .order_by(ComplianceDecision.id)
    )
    if since is not None:
        query = query.where(ComplianceDecision.at >= since)
    if until is not None:
        query = query.where(ComplianceDecision.at < until)
    for decision, attempt in session.execute(query.execution_options(yield_per=batch)):
        yield {
            "decision_id": decision.id, "decided_at": _iso(decision.at), "e164": decision.e164,
            "country": decision.country, "purpose": decision.purpose, "offer_id": decision.offer_id,
            "campaign_id": decision.campaign_id, "callback_id": decision.callback_id,
            "automated": decision.automated, "allowed": decision.allowed, "rule_id": decision.rule_id,
            "reason": decision.reason, "next_allowed_at": _iso(decision.next_allowed_at),
            "pack_version": decision.pack_version,
            "attempt_id": attempt.id if attempt else None, "call_sid": attempt.call_sid if attempt else None,
            "attempted_at": _iso(attempt.at) if attempt else None, "outcome": attempt.outcome if attempt else None,
            "finished_at": _iso(attempt.finished_at) if attempt else None,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def write(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    """Write rows as "csv" or "json" (JSON lines would be easier to stream; an array is friendlier)."""
    if fmt == "csv":
        return write_csv(out, FIELDS, rows)
    count = 0
    if fmt != "json":
        raise Invalid("format", f"{fmt!r} is not csv or json")
    out.write("[")
    for row in rows:
        out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count
