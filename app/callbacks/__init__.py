"""Callbacks: booking inside a call (slots, parsing, read-back) and exactly-once dispatch.

- models.py      Callback rows, their state machine and history
- timeparse.py   "domani alle sei di sera" -> a local datetime (dateparser + a small
                 normalisation layer per language)
- booking.py     zones, quick options, lawful + capacity-checked slots, read-back texts, book
- service.py     list / get / move / cancel for operators, the CLI and the API
- dispatch.py    the APScheduler job: atomic claim, consent re-check, dial, reconcile
- receivers.py   opt-out cancels pending callbacks; status callbacks finish them
- actions.py     flow actions used by flows/callback_booking.yaml and callback_opener.yaml
- routes.py      /voice/callback (the Url of every dispatched callback call)
"""

from __future__ import annotations

from flask import Flask

from app import flows, scheduler
from app.callbacks import dispatch, receivers, timeparse
from app.callbacks.actions import ACTIONS
from app.callbacks.routes import bp

# The word files this package reads from the flows directory: how callers say a time.
WORDS = (timeparse.WORDS,)


def init_app(app: Flask) -> None:
    """/voice/callback, the booking flow actions and time words, the receivers and the
    dispatch job."""
    app.register_blueprint(bp)
    flows.register_actions(app, ACTIONS)
    flows.register_words(app, *WORDS)
    receivers.connect()
    scheduler.add_job(app, dispatch.JOB)
