"""Dashboard figures. Calls come from the core call records; figures owned by other packages
(tickets, callbacks, campaigns) come from their services when those packages are installed."""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api.campaigns import abandonment_by_campaign
from app.callbacks import operations
from app.callbacks import service as callbacks
from app.console.times import desk_zone, hour_label
from app.desk.board import summary
from app.models import Call
from app.support.models import Ticket
from app.support.services import OPEN_STATUSES

log = logging.getLogger(__name__)


@dataclass
class Dashboard:
    calls_per_hour: list[tuple[str, float]]
    outcomes: list[tuple[str, float]]
    total_calls: int
    open_tickets: int | None = None
    callbacks_due_today: int | None = None
    callbacks_missed: int | None = None
    abandonment: list[tuple[str, float]] | None = None
    desk: Any | None = None  # app.desk.board.Summary when the desk is installed
    extra: dict[str, Any] = field(default_factory=dict)


def calls_per_hour(session: Session, at: datetime, hours: int = 24) -> list[tuple[str, float]]:
    """Calls started in each of the last `hours` hours, oldest first, labelled on the desk's clock."""
    end = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    started = session.scalars(
        select(Call.started_at).where(Call.started_at >= start, Call.started_at < end)
    ).all()
    buckets = Counter(int((moment - start).total_seconds() // 3600) for moment in started)
    return [(hour_label(start + timedelta(hours=i)), float(buckets.get(i, 0))) for i in range(hours)]


def outcomes(session: Session, at: datetime, hours: int = 24) -> list[tuple[str, float]]:
    rows = session.execute(
        select(Call.status, func.count()).where(Call.started_at >= at - timedelta(hours=hours))
        .group_by(Call.status).order_by(Call.status)
    ).all()
    return [(status, float(count)) for status, count in rows]


def _optional(module: str, function: str) -> Any | None:
    """A service function from a package that may not be installed in this build."""
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None


def build(session: Session, at: datetime) -> Dashboard:
    board = Dashboard(
        calls_per_hour=calls_per_hour(session, at),
        outcomes=outcomes(session, at),
        total_calls=session.scalar(select(func.count()).select_from(Call)) or 0,
    )
    _add_tickets(session, board)
    _add_callbacks(session, board, at)
    _add_abandonment(session, board)
    _add_desk(session, board, at)
    return board


def _add_desk(session: Session, board: Dashboard, at: datetime) -> None:
    """The operator desk's service level, waits, hang-ups per hour and operators' states."""
    board.desk = summary(session, at)


def _add_callbacks(session: Session, board: Dashboard, at: datetime) -> None:
    """Due today (operators' day) and missed, counted by app.callbacks.service like the list."""
    for view, name in (("due_today", "callbacks_due_today"), ("missed", "callbacks_missed")):
        args = operations.filters(status=None, view=view, number=None, due_from=None, due_until=None, at=at,
                                  zone_name=desk_zone().key)
        _, total = callbacks.list_callbacks(session, limit=1, **args)
        setattr(board, name, total)


def _add_abandonment(session: Session, board: Dashboard) -> None:
    """Abandonment rate per campaign with live calls (app.campaigns.service.abandonment)."""
    board.abandonment = abandonment_by_campaign(session)


def _add_tickets(session: Session, board: Dashboard) -> None:
    board.open_tickets = session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
    ) or 0
