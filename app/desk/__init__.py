"""The operator desk: people who take the calls the IVR hands over.

Its modules in layers, each importing only those below it (a contract in pyproject.toml,
run by tests/test_layers.py):

- routes.py          /voice/desk/*: the operator's phone and the caller's side of the bridge
- receivers.py       queue and status signals -> entries, offers, routing passes
- after_response.py  a routing pass, a bridge job, a REST request once a webhook answered
- routing.py         a routing pass: leftovers, tidying, pairing, ringing; the scheduler job
- service.py         the desk page's actions: profile, state, wrap-up, ending an abusive call
- bridge.py          bringing the other side into an accepted offer's conference
- callers.py         a caller's queue entry from what the call knows; leaving the queue
- pairing.py         the routing decision (who takes whom), claimed in the database
- states.py          the state changes of operators, offers and entries (conditional UPDATEs)
- whisper.py         what operators and callers hear around the bridge (it/nl/en)
- urls.py            the desk's webhook URLs as Twilio is given them
- callbacks.py       operator-first callbacks: taken from the dispatcher, dialled by the bridge
- browser_phone.py   ringing an operator's browser instead of their phone
- board.py           who waits now, service level and the per-hour figures
- models.py          operators (console users with a phone, languages, skills, state), queue
                     entries (callers waiting), offers (one ring of one operator for one caller)
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
