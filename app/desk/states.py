"""The desk's state changes: an operator's state, an offer ending or accepted, a conversation
ending. Each is a conditional UPDATE that says whether it won, so two workers (a webhook and a
routing pass, two instances) never both make the same change; the routing pass, the callers'
queue entries, the bridge, the voice webhooks and the desk page all change state through here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import affected
from app.desk.models import (
    AVAILABLE,
    AWAY,
    BUSY,
    CONNECTED,
    DONE,
    OFFER_ACCEPTED,
    OFFER_CANCELLED,
    OFFER_RINGING,
    OFFERED,
    RINGING,
    WAITING,
    WRAPUP,
    DeskOperator,
    Offer,
    QueueEntry,
)


def set_state(session: Session, operator_id: int, state: str, at: datetime, *, expect: str | None = None,
              reason: str | None = None, wrapup_until: datetime | None = None) -> bool:
    """Move an operator to `state` (only from `expect` when given); False when they were not."""
    query = update(DeskOperator).where(DeskOperator.id == operator_id)
    if expect is not None:
        query = query.where(DeskOperator.state == expect)
    values: dict[str, Any] = {"state": state, "state_since": at, "state_reason": reason,
                              "wrapup_until": wrapup_until}
    if state in (AVAILABLE, AWAY):
        values["entry_id"] = None
    return affected(session.execute(query.values(**values).execution_options(synchronize_session=False))) == 1


def end_offer(session: Session, offer: Offer, outcome: str, at: datetime, *, note: str | None = None) -> bool:
    """A ringing offer ends without a conversation: the caller goes back to waiting (same place),
    the operator to away (declined, no answer, phone failing) or available (the caller left)."""
    won = affected(session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == OFFER_RINGING)
        .values(status=outcome, ended_at=at, note=note).execution_options(synchronize_session=False)))
    if won != 1:
        return False
    session.execute(
        update(QueueEntry).where(QueueEntry.id == offer.entry_id, QueueEntry.status == RINGING,
                                 QueueEntry.offer_id == offer.id)
        .values(status=WAITING, operator_id=None, offer_id=None).execution_options(synchronize_session=False))
    back = AVAILABLE if outcome == OFFER_CANCELLED else AWAY
    reason = None if back == AVAILABLE else (note or outcome)
    session.execute(
        update(DeskOperator).where(DeskOperator.id == offer.operator_id, DeskOperator.state == OFFERED,
                                   DeskOperator.entry_id == offer.entry_id)
        .values(state=back, state_since=at, entry_id=None, state_reason=reason)
        .execution_options(synchronize_session=False))
    session.expire_all()
    return True


def accept_offer(session: Session, offer: Offer, at: datetime) -> QueueEntry | None:
    """The operator pressed 1: the caller is theirs if still waiting for this offer; None when
    the caller has gone meanwhile (the operator is then available again)."""
    won = affected(session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == OFFER_RINGING)
        .values(status=OFFER_ACCEPTED, ended_at=at).execution_options(synchronize_session=False)))
    if won != 1:
        session.expire_all()
        return None
    taken = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == offer.entry_id, QueueEntry.status == RINGING,
                                 QueueEntry.offer_id == offer.id)
        .values(status=CONNECTED, answered_at=at).execution_options(synchronize_session=False)))
    session.expire_all()
    if taken != 1:
        offer.status, offer.note = OFFER_CANCELLED, "the caller left before the operator accepted"
        set_state(session, offer.operator_id, AVAILABLE, at, expect=OFFERED)
        return None
    set_state(session, offer.operator_id, BUSY, at, expect=OFFERED)
    return session.get(QueueEntry, offer.entry_id)


def conversation_ended(session: Session, entry: QueueEntry, at: datetime, *, wrapup_seconds: int) -> bool:
    """Either side left the bridge: the entry is done and its operator goes to wrap-up."""
    won = affected(session.execute(
        update(QueueEntry).where(QueueEntry.id == entry.id, QueueEntry.status == CONNECTED)
        .values(status=DONE, ended_at=at).execution_options(synchronize_session=False)))
    if won != 1:
        return False
    if entry.operator_id is not None:
        session.execute(
            update(DeskOperator).where(DeskOperator.id == entry.operator_id, DeskOperator.state == BUSY,
                                       DeskOperator.entry_id == entry.id)
            .values(state=WRAPUP, state_since=at, wrapup_until=at + timedelta(seconds=wrapup_seconds))
            .execution_options(synchronize_session=False))
    session.expire_all()
    return True
