"""Tables every outbound call shares, whatever asked for it (a campaign, a callback).

- `campaign_pacers`: the next free dialling moment per pacing key ("campaign:<id>", "account")
  in microseconds since the epoch, so calls-per-second limits hold across every process. (The
  table kept the name it had when only campaigns dialled.)
- `number_claims`: at most one call being decided or placed per number at any moment, across
  campaigns, callbacks and processes. A claim is taken before consent is checked and released
  in the transaction that records the attempt (or settles the job without a call); a holder
  that dies leaves a claim that expires at `until`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Pacer(Base):
    """Next free dialling moment for one pacing key ("campaign:<id>", "account")."""

    __tablename__ = "campaign_pacers"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_us: Mapped[int] = mapped_column(BigInteger, default=0)


class NumberClaim(Base):
    """One call to `e164` is being decided or placed by `holder` (until `until` at the latest)."""

    __tablename__ = "number_claims"

    e164: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    # What the holder is dialling ("callback 12", "campaign 3 contact 45"), for the operator.
    job: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
