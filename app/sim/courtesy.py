"""What a caller would suffer, named: the problems a SimCall flags.

- ``silence``: the call ended and the caller heard nothing since their last turn (or at all):
  an empty <Response/>, a <Gather>/<Record> left as the last verb when nobody answers, or a
  hang-up straight after the caller's input without a word.
- ``no_goodbye``: the app ended the call (Hangup, verbs ran out, REST hang-up) after the
  caller had said or pressed something, and the last thing said was not a goodbye: it
  contains none of GOODBYE_PHRASES (thanks, goodbye, have a good day... in it/nl/en).
  Not flagged when the *caller* hangs up.
- ``application_error``: Twilio could not use a webhook answer (non-2xx, no answer in 15 s,
  wrong Content-Type, bad XML, unknown verb or attribute); flagged even when the fallback
  URL then rescued the call, because the primary handler failed.
- ``redirect_loop``: more than MAX_IDLE_REDIRECTS consecutive <Redirect>s with nothing said
  or gathered in between; the simulator ends the call (the caller hears dead air).
"""

from __future__ import annotations

import re
from typing import Self

SILENCE = "silence"
NO_GOODBYE = "no_goodbye"
APPLICATION_ERROR = "application_error"
REDIRECT_LOOP = "redirect_loop"

MAX_IDLE_REDIRECTS = 20

GOODBYE_PHRASES = (
    # English
    "goodbye", "good bye", "bye", "have a good", "have a nice", "thank you", "thanks",
    "take care",
    # Italian
    "arrivederci", "arrivederla", "buona giornata", "buona serata", "buonanotte", "buona notte",
    "a presto", "grazie", "ciao", "buon proseguimento",
    # Dutch
    "tot ziens", "dag", "fijne dag", "fijne avond", "prettige dag", "bedankt", "dank u",
    "dank je", "tot horens",
)
_GOODBYE = re.compile(r"\b(" + "|".join(re.escape(p) for p in GOODBYE_PHRASES) + r")\b",
                      re.IGNORECASE)


def is_goodbye(text: str) -> bool:
    """True when an utterance closes a call politely (word-bounded, so 'vandaag' is no 'dag')."""
    return bool(_GOODBYE.search(text or ""))


class Problem(str):
    """A problem kind (compares equal to its name: ``"silence" in call.problems``) with detail."""

    detail: str

    def __new__(cls, kind: str, detail: str = "") -> Self:
        obj = super().__new__(cls, kind)
        obj.detail = detail
        return obj

    def describe(self) -> str:
        return f"{self!s}: {self.detail}" if self.detail else str(self)
