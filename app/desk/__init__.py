"""The operator desk: people who take the calls the IVR hands over.

- models.py     operators (console users with a phone, languages, skills, state), queue
                entries (callers waiting), offers (one ring of one operator for one caller)
- routing.py    the routing decision, claimed in the database; the scheduler job
- callers.py    a caller's queue entry from what the call knows; leaving the queue
- receivers.py  queue and status signals -> entries, offers, routing passes
- whisper.py    what operators and callers hear around the bridge (it/nl/en)
- routes.py     /voice/desk/*: the operator's phone and the caller's side of the bridge
- service.py    the desk page's actions: profile, state, wrap-up, ending an abusive call
- board.py      who waits now, service level and the per-hour figures
"""

from __future__ import annotations

from flask import Flask

from app import scheduler
from app.callbacks import dispatch
from app.desk import receivers, routing
from app.desk.callbacks import held_by_desk
from app.desk.routes import bp


def init_app(app: Flask) -> None:
    """/voice/desk/*, the receivers and the routing job."""
    app.register_blueprint(bp)
    receivers.connect()
    dispatch.leave_to_others(app, held_by_desk)  # callbacks that promised a person
    scheduler.add_job(app, routing.JOB)
