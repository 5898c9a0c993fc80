"""Work a desk webhook causes, done once its answer is sent: a routing pass, a bridge job, a
REST request to an operator's call. Twilio gives a webhook 15 s, and a REST request with the
gateway's retries may take longer: the caller or operator must never wait for it in silence.

Outside a request (a job, a test calling a service) the work is done at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, after_this_request, current_app, g, has_request_context

from app.desk import bridge
from app.desk.models import BRIDGE_FAILED
from app.desk.routing import route_now

log = logging.getLogger(__name__)


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once this request's answer has been sent (its transaction is committed by
    then); outside a request, at once."""
    if not has_request_context():
        work()
        return

    @after_this_request
    def _after_sending(response: Response) -> Response:
        response.call_on_close(work)  # the WSGI server closes the response after sending it
        return response


def route_after_request() -> None:
    """A routing pass once this request's answer has been sent: ringing an operator through
    Twilio's REST API must never delay the TwiML a caller is waiting for. One per request."""
    if not has_request_context() or g.get("desk_route_pending"):
        return
    g.desk_route_pending = True
    app = _app()

    def _route() -> None:
        with app.app_context():
            route_now(app)

    after_response(_route)


def bridge_after_request(entry_id: int) -> None:
    """The bridge job of an accepted offer once this request's answer is sent; outside a
    request, at once. A bridge that failed freed its operator: a routing pass follows."""
    app = _app()
    if not has_request_context():
        _bridge(app, entry_id)
        return
    pending: list[int] = g.setdefault("desk_bridges", [])
    pending.append(entry_id)
    if len(pending) > 1:
        return

    def _bridges() -> None:
        with app.app_context():
            for queued in pending:
                try:
                    _bridge(app, queued)
                except Exception:  # the routing pass retries it once the lease runs out
                    log.exception("desk entry %s: bridging failed", queued)

    after_response(_bridges)


def _bridge(app: Flask, entry_id: int) -> None:
    if bridge.run(app, entry_id) == BRIDGE_FAILED:
        route_now(app)  # the operator is free again


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]
