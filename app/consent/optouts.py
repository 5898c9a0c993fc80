"""Internal do-not-call list: opt-outs by voice/DTMF, API or operator, effective at once.

Recording one appends a ledger withdrawal (when the number is a contact) and sends
app.signals.opt_out_recorded inside the same transaction, so receivers (callbacks, campaigns)
cancel everything pending for the number before the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import phone, signals
from app.consent.contacts import find_by_number
from app.consent.ledger import record_consent
from app.consent.models import OptOut
from app.refusals import Invalid

OPT_OUT_SOURCES = ("voice", "dtmf", "api", "operator", "import", "email", "letter")


def record_opt_out(
    session: Session, e164: str, *, at: datetime, source: str, by: str, call_sid: str | None = None
) -> OptOut:
    """Put a number on the internal do-not-call list and tell every package to stop calling it."""
    if source not in OPT_OUT_SOURCES:
        raise Invalid("source", f"{source!r} is not one of {', '.join(OPT_OUT_SOURCES)}")
    if not by:
        raise Invalid("by", "say who recorded the opt-out")
    number = phone.parse(e164).e164  # raises phone.InvalidNumber
    contact = find_by_number(session, number)
    optout = OptOut(e164=number, contact_id=contact.id if contact else None, at=at, source=source,
                    recorded_by=by, call_sid=call_sid)
    session.add(optout)
    if contact is not None:
        # The ledger shows the revocation too (FCC 24-24: a do-not-call request revokes consent).
        record_consent(session, contact, action="withdrawn", purpose="any", channel="any", at=at,
                       source=f"opt-out:{source}", proof=call_sid, recorded_by=by)
    session.flush()
    signals.opt_out_recorded.send(
        "app.consent", session=session, e164=number, contact_id=optout.contact_id, at=at, source=source
    )
    return optout


def opted_out_at(session: Session, e164: str) -> datetime | None:
    """When the number first opted out of what still holds (an opt-out not lifted), or None."""
    return session.scalars(
        select(OptOut.at).where(OptOut.e164 == e164, OptOut.lifted_at.is_(None)).order_by(OptOut.at).limit(1)
    ).first()


def lift_opt_out(session: Session, e164: str, *, at: datetime, by: str, proof: str) -> list[OptOut]:
    """Take a number off the internal do-not-call list at the person's own later request: its
    opt-outs stay, saying when they were lifted, by whom and on what proof (a call, a letter).
    Only the person can ask for this, so the proof is required. A consent given before the
    opt-out does not come back: the ledger's withdrawal stays the latest word until a new one."""
    if not by.strip():
        raise Invalid("by", "say who took the person's request")
    if not proof.strip():
        raise Invalid("proof", "say how the person asked to be called again (a call, a letter, an email)")
    number = phone.parse(e164).e164  # raises phone.InvalidNumber
    held = list(session.scalars(select(OptOut).where(OptOut.e164 == number, OptOut.lifted_at.is_(None))))
    if not held:
        raise Invalid("e164", f"{phone.mask(number)} is not on the do-not-call list")
    for optout in held:
        optout.lifted_at, optout.lifted_by, optout.lift_proof = at, by.strip(), proof.strip()[:2000]
    session.flush()
    return held


def is_opted_out(session: Session, e164: str) -> bool:
    return opted_out_at(session, e164) is not None
