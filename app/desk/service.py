"""What an operator does on the desk: their profile (phone, languages, skills), their state,
wrapping up a call, and ending an abusive call politely."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import phone as phones
from app.calls import add_step, get_call
from app.desk import browser_phone, whisper
from app.desk.models import (
    AVAILABLE,
    AWAY,
    BUSY,
    CHOSEN_STATES,
    CONNECTED,
    DONE,
    SKILLS,
    WRAPUP,
    DeskOperator,
    QueueEntry,
)
from app.desk.states import set_state
from app.i18n import LANGUAGES
from app.refusals import Refusal
from app.support.models import Ticket
from app.support.services import CallerRef, create_ticket, ticket_for_call
from app.telephony import Twiml

OUTCOMES = ("resolved", "follow_up", "callback", "escalated", "abusive", "other")
MAX_NOTE = 2000


def operator_for(session: Session, user_id: int, at: datetime) -> DeskOperator:
    """The desk profile of a console user, made (away, no phone yet) on their first visit."""
    operator = session.scalar(select(DeskOperator).where(DeskOperator.user_id == user_id))
    if operator is None:
        operator = DeskOperator(user_id=user_id, phone=None, languages=[], skills=["support"], state=AWAY,
                                state_since=at)
        session.add(operator)
        session.flush()
    return operator


def update_profile(operator: DeskOperator, *, phone: str, languages: Iterable[str], skills: Iterable[str],
                   ring_browser: bool = False) -> None:
    """Phone (E.164, any common spelling), the languages spoken and the skills; refused with a
    reason the console translates when something does not parse."""
    parsed = phones.parse_caller(phone.strip()) if phone.strip() else None
    # A drama number (app.phone) is shaped like a phone and rings nowhere.
    if phone.strip() and (parsed is None or not parsed.e164 or parsed.line_type == "fictional"):
        raise Refusal("desk_bad_phone", "phone: not a phone number; write it as +39 02 1234 5678")
    if parsed is not None and parsed.line_type in browser_phone.COSTLY_OR_DEAD_LINES:
        raise Refusal("desk_costly_phone", f"phone: a {parsed.line_type.replace('_', '-')} number: the desk "
                                           "rings a person's own line (mobile, landline or VoIP)")
    chosen_languages: list[str] = [lang for lang in LANGUAGES if lang in set(languages)]
    chosen_skills = [skill for skill in SKILLS if skill in set(skills)]
    if not chosen_languages:
        raise Refusal("desk_no_language", "languages: choose at least one language")
    if not chosen_skills:
        raise Refusal("desk_no_skill", "skills: choose at least one skill")
    if ring_browser and not (parsed and parsed.e164):
        raise Refusal("desk_no_phone", "phone: the browser phone needs a phone number to fall back on")
    operator.phone = parsed.e164 if parsed else None
    operator.ring_browser = ring_browser
    operator.languages = chosen_languages
    operator.skills = chosen_skills


def choose_state(session: Session, operator: DeskOperator, state: str, at: datetime) -> bool:
    """The operator sets themselves available, away or in wrap-up. Not while the desk rings
    them or they talk to a caller: that state ends by itself. True when it changed."""
    if state not in CHOSEN_STATES:
        raise Refusal("desk_bad_state", f"state: one of {', '.join(CHOSEN_STATES)}")
    if state == AVAILABLE and not operator.phone:
        raise Refusal("desk_no_phone", "phone: the desk needs a number to ring before you go available")
    if state == AVAILABLE and not operator.languages:
        raise Refusal("desk_no_language", "languages: choose at least one language")
    current = operator.state
    if current not in CHOSEN_STATES or current == state:
        return False
    changed = set_state(session, operator.id, state, at, expect=current)
    session.refresh(operator)
    return changed


def current_entry(session: Session, operator: DeskOperator) -> QueueEntry | None:
    """The caller the operator is talking to, or last talked to while in wrap-up."""
    if operator.entry_id is None:
        return None
    return session.get(QueueEntry, operator.entry_id)


def wrap_up(session: Session, operator: DeskOperator, entry: QueueEntry, *, outcome: str, note: str,
            at: datetime) -> None:
    """Outcome and note on the queue entry, the call's steps and the call's tickets; then the
    operator is available again (the caller the conversation was with is done)."""
    if outcome not in OUTCOMES:
        raise Refusal("desk_bad_outcome", f"outcome: one of {', '.join(OUTCOMES)}")
    if entry.operator_id != operator.id or entry.status not in (CONNECTED, DONE):
        raise Refusal("desk_not_yours", "entry: this call is not yours to wrap up")
    entry.outcome, entry.note = outcome, note[:MAX_NOTE] or None
    if entry.status == CONNECTED:
        entry.status, entry.ended_at = DONE, at
    _note_on_call(session, entry, at, kind="desk_wrapup", outcome=outcome, text=note)
    _note_on_tickets(session, entry, at, by=operator, outcome=outcome, note=note)
    if operator.state in (WRAPUP, BUSY):
        set_state(session, operator.id, AVAILABLE, at, expect=operator.state)
    session.refresh(operator)


def _note_on_call(session: Session, entry: QueueEntry, at: datetime, *, kind: str, outcome: str, text: str) -> None:
    call = get_call(session, entry.call_sid)
    if call is not None:
        add_step(session, call, at, kind, node="desk", input=text[:MAX_NOTE] or None, outcome=outcome)


def _note_on_tickets(session: Session, entry: QueueEntry, at: datetime, *, by: DeskOperator, outcome: str,
                     note: str, extra: dict[str, Any] | None = None) -> None:
    for ticket in session.scalars(select(Ticket).where(Ticket.call_sid == entry.call_sid)):
        details = dict(ticket.details or {})
        history = list(details.get("desk", []))
        history.append({"at": at.isoformat(), "operator_id": by.id, "outcome": outcome, "note": note[:MAX_NOTE],
                        **(extra or {})})
        details["desk"] = history
        ticket.details = details
        ticket.updated_at = at


def end_abusive(session: Session, operator: DeskOperator, entry: QueueEntry, *, reason: str, at: datetime,
                gateway: Any) -> str:
    """The operator ends an abusive call: the caller hears a polite closing in their language
    and the line closes; the reason is kept on the entry, the call and the complaint ticket
    (made now if the call has none), flagged for review. Returns the ticket's reference."""
    reason = reason.strip()[:MAX_NOTE]
    if not reason:
        raise Refusal("desk_no_reason", "reason: say why the call is ended")
    if entry.operator_id != operator.id or entry.status != CONNECTED:
        raise Refusal("desk_not_yours", "entry: this call is not yours to end")
    ticket = ticket_for_call(session, entry.call_sid, "complaint")
    if ticket is None:
        ticket = create_ticket(
            session, kind="complaint", at=at, priority="high", flagged=True,
            caller=CallerRef(number=entry.caller, contact_id=None, call_sid=entry.call_sid,
                             language=entry.language),
            subject_code="ended_by_operator", description=str(entry.details.get("complaint_text") or "") or None)
    ticket.flagged = True
    entry.outcome, entry.end_reason = "abusive", reason
    _note_on_call(session, entry, at, kind="desk_ended", outcome="abusive", text=reason)
    _note_on_tickets(session, entry, at, by=operator, outcome="abusive", note=reason, extra={"ended_call": True})
    session.flush()
    closing = Twiml(entry.language).say(whisper.caller_text("ended_by_operator", entry.language)).hangup()
    gateway.update_call(entry.call_sid, twiml=closing.xml())
    return ticket.reference
