"""Console pages for call flows: every flow with its lint status, and one flow drawn as a
Mermaid diagram (mermaid.min.js vendored in static/vendor/mermaid, never from a CDN) with its
Mermaid source underneath for any other viewer."""

from __future__ import annotations

from typing import Any

from flask import render_template
from werkzeug.wrappers import Response

from app.api.flows import current_flowset, flow_detail, flow_rows
from app.console.i18n import add_messages, current_language, t
from app.console.web import CSP, bp, nav_item

nav_item("console.flows", "flows")

# Mermaid writes a <style> element into each SVG it draws; only this page allows inline style
# (never inline script), and the diagram text is node names from our own flows/ files.
DIAGRAM_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

add_messages({
    "lint_ok": {"it": "Nessun problema", "nl": "Geen problemen", "en": "No problems"},
    "lint_problems": {"it": "Problemi del linter", "nl": "Problemen volgens de linter", "en": "Linter problems"},
    "start_node": {"it": "Nodo iniziale", "nl": "Startknooppunt", "en": "Start node"},
    "nodes": {"it": "Nodi", "nl": "Knooppunten", "en": "Nodes"},
    "diagram": {"it": "Diagramma", "nl": "Diagram", "en": "Diagram"},
    "zoom_in": {"it": "Ingrandisci", "nl": "Inzoomen", "en": "Zoom in"},
    "zoom_out": {"it": "Riduci", "nl": "Uitzoomen", "en": "Zoom out"},
    "zoom_fit": {"it": "Adatta alla pagina", "nl": "Passend maken", "en": "Fit to page"},
    "other_problems": {"it": "Altri problemi nei file dei flussi", "nl": "Andere problemen in de flowbestanden",
                       "en": "Other problems in the flow files"},
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
