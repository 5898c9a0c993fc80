"""Outbound campaigns: who to call, when, how fast, and what happened on each attempt.

models.py (campaigns, targeted contacts = the dial queue, attempts, pacers), states.py (the
status state machine), service.py (operator services), dialer.py (the APScheduler job),
pacing.py (DB-backed CPS), hours.py (campaign hours), dispositions.py (status callbacks,
opt-outs), routes.py (/voice/outbound, /voice/amd), actions.py (flow actions), cli.py.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhooks, the dialer job and the signal receivers."""
    from app.campaigns import dialer, dispositions, scripts  # noqa: F401 - registration on import
    from app.campaigns.routes import bp

    app.register_blueprint(bp)
