"""Every operation in the OpenAPI document refuses anonymous requests (401), and every unsafe
one refuses an operator session without the CSRF header (403) — checked from the document, so
an endpoint added later is covered without touching this file."""

from __future__ import annotations

import re

from tests.console_support import add_operator, login

SAMPLE = {"call_sid": "CA" + "0" * 32, "reference": "000", "contact_id": "1", "callback_id": "1",
          "campaign_id": "1", "name": "support_hotline"}
PARAM = re.compile(r"\{([^}]+)\}")


def _operations(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        if path == "/api/openapi.json":
            continue
        url = PARAM.sub(lambda m: SAMPLE.get(m.group(1), "1"), path)
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, url


def test_every_documented_operation_refuses_anonymous_requests(client):
    seen = list(_operations(client))
    assert len(seen) >= 30  # the document really lists the resources
    for method, url in seen:
        resp = client.open(url, method=method.upper(), json={})
        assert resp.status_code == 401, (method, url, resp.status_code)
        assert resp.mimetype == "application/problem+json"


def test_every_unsafe_operation_refuses_a_session_without_csrf(app, client):
    add_operator(app)
    login(client)
    unsafe = [(m, u) for m, u in _operations(client) if m != "get"]
    assert any("/callbacks/" in u for _, u in unsafe) and any("/campaigns" in u for _, u in unsafe)
    for method, url in unsafe:
        resp = client.open(url, method=method.upper(), json={})
        assert resp.status_code == 403, (method, url, resp.status_code)
        assert resp.get_json()["field"] == "header.X-CSRFToken"
