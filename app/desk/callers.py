"""Callers waiting for an operator: their queue entry, made from what the call already knows,
and what happens to it when they leave or hang up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from app.db import insert_skipping_duplicates
from app.desk.models import (
    ABANDONED,
    CONNECTED,
    ENTRY_WAITING,
    LEFT,
    OFFER_CANCELLED,
    RINGING,
    WAITING,
    Offer,
    QueueEntry,
)
from app.desk.states import end_offer
from app.models import Call, CallStep

PRIORITY_SUFFIX = "-priority"
# What the desk shows of the call's slots (the screen pop's "what they told the machine").
DETAIL_SLOTS = ("fault_description", "product_name", "ticket_ref", "complaint_text", "anger_words",
                "order_number", "serial", "faq_question", "callback_reason", "urgency")
# The menu choice a caller made, as the desk names the reason they wait.
MENU_FLOW = "support_menu"


def reason_of(session: Session, call: Call) -> str | None:
    """The last main-menu choice of this call (fault, warranty, delivery, operator...)."""
    return session.scalar(
        select(CallStep.outcome).where(CallStep.call_id == call.id, CallStep.flow == MENU_FLOW,
                                       CallStep.kind == "input", CallStep.outcome.is_not(None),
                                       CallStep.outcome.not_in(("invalid", "no_input", "language_menu")))
        .order_by(CallStep.id.desc()).limit(1))


def skill_for(priority: bool, reason: str | None, slots: Mapping[str, Any]) -> str:
    if priority:
        return "complaints"
    if reason == "fault" or slots.get("fault_description") or slots.get("technician_callback"):
        return "technician"
    return "support"


def recognised(slots: Mapping[str, Any]) -> bool:
    """The hotline knew the caller by their number: a name, an open order or ticket, products."""
    return any(slots.get(key) for key in ("caller_name", "open_ticket", "open_order", "product_ids"))


def note_waiting(session: Session, call: Call, params: Mapping[str, str], at: datetime) -> QueueEntry | None:
    """The caller fetched the queue's wait music. Returns their entry when they just joined
    (new, or back in the queue after leaving it), None when they were already waiting."""
    queue_sid = (params.get("QueueSid") or "")[:64] or None
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.call_sid))
    if entry is not None:
        if queue_sid and entry.queue_sid != queue_sid and entry.status in ENTRY_WAITING:
            entry.queue_sid = queue_sid
        if entry.status != LEFT:
            return None
        entry.status, entry.enqueued_at, entry.queue_sid = WAITING, at, queue_sid
        entry.operator_id = entry.offer_id = None
        return entry
    slots = dict(call.slots or {})
    queue = str(slots.get("queue_name") or "support")[:64]
    priority = queue.endswith(PRIORITY_SUFFIX) or bool(slots.get("angry") or slots.get("priority"))
    reason = reason_of(session, call)
    values = {
        "call_sid": call.call_sid, "queue": queue, "queue_sid": queue_sid, "caller": call.from_number,
        "language": call.language or "en", "reason": "complaint" if slots.get("angry") else reason,
        "skill": skill_for(priority, reason, slots), "priority": priority,
        "complaint": bool(slots.get("angry")), "recognised": recognised(slots),
        "details": {k: slots[k] for k in DETAIL_SLOTS if slots.get(k)}, "status": WAITING,
        "offers": 0, "enqueued_at": at,
    }
    table = cast(Table, QueueEntry.__table__)
    inserted = session.execute(insert_skipping_duplicates(session, table).values(values)
                               .returning(table.c.id)).first()
    if inserted is None:  # Twilio's retry of the same request got there first
        return None
    return session.get(QueueEntry, inserted[0])


def caller_left(session: Session, call_sid: str, result: str, at: datetime) -> QueueEntry | None:
    """The caller is out of the queue without an operator (hung up, callback, menu): their
    entry ends, and an operator being rung for them is freed."""
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    if entry is None or entry.status not in ENTRY_WAITING:
        return None
    if entry.status == RINGING and entry.offer_id is not None:
        offer = session.get(Offer, entry.offer_id)
        if offer is not None:
            end_offer(session, offer, OFFER_CANCELLED, at, note="the caller left the queue")
    status = ABANDONED if result == "hangup" else LEFT
    session.execute(update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.status.in_(ENTRY_WAITING))
                    .values(status=status, ended_at=at, end_reason=result[:200], operator_id=None,
                            offer_id=None).execution_options(synchronize_session=False))
    session.expire_all()
    return session.get(QueueEntry, entry.id)


def is_connected(entry: QueueEntry | None) -> bool:
    return entry is not None and entry.status == CONNECTED
