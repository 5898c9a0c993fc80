"""Short human references for tickets and claims: 6 random digits plus a Damm check digit.

Digits only, because callers hear them read one by one and type them on a keypad later; the
Damm check digit catches every single-digit slip and every swap of two adjacent digits, so a
mistyped reference is rejected instead of finding somebody else's ticket.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.support.models import Ticket, WarrantyClaim

# The Damm quasigroup of order 10 (weakly totally anti-symmetric).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
BODY_DIGITS = 6


def damm_digit(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return interim


def is_valid(reference: str) -> bool:
    text = (reference or "").strip()
    return len(text) == BODY_DIGITS + 1 and text.isdigit() and damm_digit(text) == 0


def make_reference() -> str:
    # First digit never 0, so a reference never loses a digit in a spreadsheet.
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(BODY_DIGITS - 1)
    )
    return body + str(damm_digit(body))


def new_reference(session: Session) -> str:
    """A reference used by no ticket and no claim (the two share one space on purpose)."""
    for _ in range(50):
        ref = make_reference()
        taken = session.scalar(select(Ticket.id).where(Ticket.reference == ref)) or session.scalar(
            select(WarrantyClaim.id).where(WarrantyClaim.reference == ref)
        )
        if not taken:
            return ref
    raise RuntimeError("could not find a free reference after 50 tries; widen BODY_DIGITS")
