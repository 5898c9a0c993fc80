"""Console pages for call flows: every flow with its lint status, and one flow drawn as a
Mermaid diagram (mermaid.min.js vendored in static/vendor/mermaid, never from a CDN) with its
Mermaid source underneath for any other viewer."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.api.flows import current_flowset, flow_detail, flow_rows
from app.console.i18n import add_messages, current_language, t
from app.console.web import CSP, bp, nav_item

nav_item("console.flows", "flows")

# Mermaid writes a <style> element into each SVG it draws; only this page allows inline style
# (never inline script), and the diagram text is node names from our own flows/ files.
DIAGRAM_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

add_messages({
    "lint_ok": _l("No problems"),
    "lint_problems": _l("Linter problems"),
    "start_node": _l("Start node"),
    "nodes": _l("Nodes"),
    "diagram": _l("Diagram"),
    "zoom_in": _l("Zoom in"),
    "zoom_out": _l("Zoom out"),
    "zoom_fit": _l("Fit to page"),
    "other_problems": _l("Other problems in the flow files"),
})


@bp.get("/flows")
def flows() -> str:
    flowset = current_flowset()
    rows = flow_rows(flowset)
    known = {row.file for row in rows}
    # Problems in files that did not even parse into a flow (bad YAML, missing nodes...).
    orphans = [e for e in flowset.errors if e.file not in known]
    return render_template("console/flows.html", flows=rows, orphans=orphans)


@bp.get("/flows/<string:name>")
def flow(name: str) -> Any:
    flowset = current_flowset()
    found = flowset.get(name[:64])
    if found is None:
        return render_template("console/error.html", message=t("not_found"), status=404), 404
    resp = Response(render_template("console/flow.html", flow=flow_detail(flowset, found, current_language())),
                    mimetype="text/html")
    resp.headers["Content-Security-Policy"] = DIAGRAM_CSP
    return resp
