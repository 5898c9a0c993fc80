"""Reactions to other packages' events (app.signals), in the sender's transaction.

- opt_out_recorded: every callback to that number that has not rung yet is cancelled at once.
- number_erased: the same when the person's data is erased on request (GDPR art. 17).
- call_status_changed: a dispatched callback's call ends -> completed, or retried / missed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from app import signals
from app.callbacks.dispatch import on_call_status
from app.callbacks.service import cancel_pending_for_number
from app.clock import now


def _on_opt_out(_sender: Any, *, session: Session, e164: str, at: datetime, source: str = "",
                **_: Any) -> None:
    cancel_pending_for_number(session, e164, at=at, by=f"opt-out:{source or 'unknown'}",
                              reason="the person asked not to be called (opt-out)")


def _on_erased(_sender: Any, *, session: Session, e164: str, at: datetime, by: str = "", **_: Any) -> None:
    cancel_pending_for_number(session, e164, at=at, by=f"erasure:{by or 'unknown'}"[:100],
                              reason="the person's data was erased on request (GDPR art. 17)")


def _on_call_status(sender: Any, *, session: Session, call: Any, params: Any = None, **_: Any) -> None:
    settings = getattr(sender, "extensions", {}).get("cortese.settings") if sender is not None else None
    if settings is None:
        if not has_app_context():
            return
        settings = current_app.extensions["cortese.settings"]
    on_call_status(session, call, now(), settings)


def connect() -> None:
    """From app.callbacks.init_app: this package hears these signals from then on."""
    signals.opt_out_recorded.connect(_on_opt_out)
    signals.number_erased.connect(_on_erased)
    signals.call_status_changed.connect(_on_call_status)
