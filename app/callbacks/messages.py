"""What a callback call says that is not a flow: the message left on an answering machine and
the apology for a callback cancelled while it rang. Every webhook that answers a callback's
call (/voice/callback, and the operator desk's /voice/desk/customer) says the same words, from
prompts/<lang>.yaml of the flows directory (callback.machine_message, callback.no_longer)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app import prompts
from app.flows.render import courtesy

if TYPE_CHECKING:
    from app.callbacks.models import Callback

def spoken_number(e164: str) -> str:
    """Digits read one by one, in groups, so a machine message can be written down."""
    digits = e164.lstrip("+")
    return "+ " + ", ".join(" ".join(digits[i:i + 3]) for i in range(0, len(digits), 3))


def machine_message(cb: Callback, *, about: str, company: str, number: str, at: datetime) -> str:
    """Who called, about what, and the number to call back, greeted for the callee's hour."""
    # {greeting} and {farewell} follow the callee's hour (render.courtesy), as in every flow.
    return prompts.text("callback.machine_message", cb.language, company=company, about=about,
                        number=spoken_number(number), **courtesy(cb.language, at, cb.time_zone))
