"""Twilio's voice webhooks into the flows: /voice/inbound, /voice/status, /voice/fallback,
/health (routes.py) and every turn of a flow, /voice/flow/<step> (flow_routes.py).

The signature check and the never-silent wrapper every voice route runs in (the packages'
own routes too) are `app.signature` and `app.flows.safety`, below every package that needs
them.
"""

from __future__ import annotations

from flask import Flask

from app.webhooks import flow_routes, routes


def init_app(app: Flask) -> None:
    app.register_blueprint(routes.bp)
    app.register_blueprint(flow_routes.bp)
