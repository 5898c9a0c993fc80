"""What a callback call says that is not a flow: the message left on an answering machine and
the apology for a callback cancelled while it rang. Every webhook that answers a callback's
call (/voice/callback, and the operator desk's /voice/desk/customer) says the same words."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.flows.render import courtesy

if TYPE_CHECKING:
    from app.callbacks.models import Callback

# {greeting} and {farewell} follow the callee's hour (render.courtesy), as in every flow.
MACHINE_MESSAGE = {
    "it": ("{greeting}, sono l'assistente virtuale di {company}. La chiamavamo come ci aveva chiesto, "
           "per {about}. Proveremo a richiamarla più tardi; se preferisce, ci chiami lei al numero {number}. "
           "Grazie e {farewell}."),
    "nl": ("{greeting}, u spreekt met de digitale assistent van {company}. Wij belden u terug zoals u had "
           "gevraagd, over {about}. Wij proberen het later nog eens; u kunt ons ook bellen op {number}. "
           "Dank u wel en {farewell}."),
    "en": ("{greeting}, this is the virtual assistant of {company}. We are calling you back as you asked, about "
           "{about}. We will try again later, or you can call us on {number}. Thank you, and {farewell}."),
}
NO_LONGER = {
    "it": "{greeting}, sono l'assistente virtuale di {company}. Questa richiamata è stata annullata: ci scusi per il disturbo. Arrivederci.",
    "nl": "{greeting}, u spreekt met de digitale assistent van {company}. Deze terugbelafspraak is geannuleerd: excuses voor het storen. Tot ziens.",
    "en": "{greeting}, this is the virtual assistant of {company}. This callback has been cancelled: sorry to have disturbed you. Goodbye.",
}


def spoken_number(e164: str) -> str:
    """Digits read one by one, in groups, so a machine message can be written down."""
    digits = e164.lstrip("+")
    return "+ " + ", ".join(" ".join(digits[i:i + 3]) for i in range(0, len(digits), 3))


def machine_message(cb: Callback, *, about: str, company: str, number: str, at: datetime) -> str:
    """Who called, about what, and the number to call back, greeted for the callee's hour."""
    return MACHINE_MESSAGE[cb.language].format(company=company, about=about, number=spoken_number(number),
                                               **courtesy(cb.language, at, cb.time_zone))
