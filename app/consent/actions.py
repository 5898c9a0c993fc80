"""Flow action "record_opt_out": the caller said or pressed "don't call me again".

In ACTIONS, which app.consent.init_app registers with the app.
"""

from __future__ import annotations

import logging

from app import phone
from app.consent.optouts import record_opt_out
from app.flows.actions import ActionContext, Actions

log = logging.getLogger(__name__)

# This package's flow actions; init_app registers them with the app.
ACTIONS = Actions()


@ACTIONS.action("record_opt_out", outcomes=("ok",))
def record_opt_out_action(ctx: ActionContext) -> str:
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

