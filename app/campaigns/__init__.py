"""Outbound campaigns: who to call, when, how fast, and what happened on each attempt.

models.py (campaigns, targeted contacts = the dial queue, attempts, pacers), states.py (the
status state machine), service.py (operator services), dialer.py (the APScheduler job),
pacing.py (DB-backed CPS), hours.py (campaign hours), dispositions.py (status callbacks,
opt-outs), routes.py (/voice/outbound, /voice/amd), actions.py (flow actions), cli.py.
"""

from __future__ import annotations

from flask import Flask

from app import flows, scheduler
from app.campaigns import dialer, dispositions, scripts
from app.campaigns.actions import ACTIONS
from app.campaigns.routes import bp


def init_app(app: Flask) -> None:
    """The webhooks, the script's flow actions, the signal receivers and the dialer job."""
    app.register_blueprint(bp)
    flows.register_actions(app, ACTIONS)
    dispositions.connect()
    scripts.connect()
    scheduler.add_job(app, dialer.JOB)
