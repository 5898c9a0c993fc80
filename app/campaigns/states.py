"""The campaign state machine, in one place.

    draft --start--> running --pause--> paused --resume--> running
    draft|running|paused --stop--> stopped          (final: nothing is dialled again)
    running --complete--> completed                 (the dialer, when no contact is left to call)

Every status change goes through `transition`, which refuses anything not in TRANSITIONS with
a Refusal (a ValueError, "status: ...") the API turns into a 422 and the console translates.
"""

from __future__ import annotations

from app.refusals import Refusal

TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "start"): "running",
    ("running", "pause"): "paused",
    ("paused", "resume"): "running",
    ("draft", "stop"): "stopped",
    ("running", "stop"): "stopped",
    ("paused", "stop"): "stopped",
    ("running", "complete"): "completed",
}
FINAL = frozenset({"stopped", "completed"})
# States in which contacts may still be added.
OPEN = frozenset({"draft", "running", "paused"})


def transition(status: str, event: str) -> str:
    """The status after `event`, or ValueError naming what is possible from `status`."""
    target = TRANSITIONS.get((status, event))
    if target is None:
        allowed = sorted(e for (s, e) in TRANSITIONS if s == status and e != "complete")
        hint = f"; possible: {', '.join(allowed)}" if allowed else " (it is final)"
        raise Refusal("campaign_step_impossible" if allowed else "campaign_final",
                      f"status: cannot {event} a {status} campaign{hint}",
                      event=event, status=status, possible=", ".join(allowed))
    return target
