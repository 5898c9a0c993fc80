"""Flow action "record_opt_out" (contract 2): the caller said or pressed "don't call me again".

Registered with the flow engine when app.flows.actions exists; until then this module
still imports cleanly (and `record_opt_out_action` can be called directly).
"""

from __future__ import annotations

import logging
from typing import Any

from app import phone
from app.consent.optouts import record_opt_out

log = logging.getLogger(__name__)


def record_opt_out_action(ctx: Any) -> str:
    """Put the other party of the call on the internal do-not-call list; always "ok".

    The other party is the callee on outbound calls and the caller on inbound ones. A withheld
    number cannot be recorded; the flow still says its goodbye ("ok") and we log it.
    """
    call = ctx.call
    other = call.to_number if (call.direction or "").startswith("outbound") else call.from_number
    parsed = phone.parse_caller(other)
    if parsed is None:
        log.warning("opt-out asked on call %s but the number is withheld", call.call_sid)
        ctx.slots["opt_out_recorded"] = False
        return "ok"
    digits = (ctx.params or {}).get("Digits")
    record_opt_out(ctx.session, parsed.e164, at=ctx.now, source="dtmf" if digits else "voice",
                   by=f"call:{call.call_sid}", call_sid=call.call_sid)
    ctx.slots["opt_out_recorded"] = True
    return "ok"


try:
    from app.flows.actions import action
except ModuleNotFoundError as exc:  # engine not merged yet
    if exc.name not in ("app.flows", "app.flows.actions"):
        raise
else:
    action("record_opt_out", outcomes=("ok",))(record_opt_out_action)
