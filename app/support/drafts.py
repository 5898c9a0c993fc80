"""Nothing a caller said is lost when they hang up mid fault report: a draft ticket keeps it.

Listens to app.signals.call_status_changed (sent after every status callback, inside the same
transaction): when a call ends with a half-filled fault report in its slots and no ticket yet,
the slots become a ticket with status "draft" for the team to finish. The slots are the
evidence, not the flow name: a caller may hang up in the complaint or operator sub-flow after
starting a fault report, and the engine may name sub-flows as it likes.
"""

from __future__ import annotations

import logging
from typing import Any

from app import signals
from app.models import TERMINAL_STATUSES
from app.support.handlers import save_draft

log = logging.getLogger(__name__)

def on_call_status_changed(sender: Any, *, session: Any, call: Any, params: Any = None, **_: Any) -> None:
    if call.status not in TERMINAL_STATUSES or not call.slots:
        return
    ticket = save_draft(session, call, call.ended_at or call.updated_at)
    if ticket is not None:
        log.info("call ended mid fault report: draft ticket %s kept", ticket.reference)


def connect() -> None:
    """From app.support.init_app."""
    signals.call_status_changed.connect(on_call_status_changed, weak=False)
