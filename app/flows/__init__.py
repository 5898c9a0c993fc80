"""The flow engine: YAML call flows loaded, linted and walked one webhook at a time.

`init_app` loads flows/*.yaml and flows/hotlines.yaml at start-up and refuses to start the
app when a flow is invalid (FlowError lists every problem with file and node).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.flows.engine import Engine
    from app.flows.hotlines import load_hotlines
    from app.flows.loader import load_valid_flows
    from app.flows.routes import bp

    settings = app.extensions["cortese.settings"]
    flows = load_valid_flows(settings.flows_dir)
    hotlines = load_hotlines(settings.flows_dir / "hotlines.yaml", company=settings.company_name,
                             flows=set(flows.flows))
    app.extensions["cortese.flows"] = Engine(flows, hotlines, settings)
    app.register_blueprint(bp)
