"""Flows through the API: list with lint status, the lint result, one flow with its Mermaid
diagram; and ticket status changes."""

from __future__ import annotations

import shutil

import pytest

from app.config import PROJECT_ROOT
from tests.console_support import BEARER, seed_ticket


@pytest.fixture
def flows_copy(settings, tmp_path):
    """The project's flows in a directory the test may break after the app started."""
    target = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", target)
    settings["FLOWS_DIR"] = str(target)
    return target


def test_flows_list_and_lint_are_clean_for_the_shipped_flows(client):
    body = client.get("/api/flows?limit=200", headers=BEARER).get_json()
    names = {f["name"]: f for f in body["items"]}
    assert {"support_hotline", "callback_booking", "campaign_survey"} <= set(names)
    assert all(f["ok"] and f["problems"] == [] for f in body["items"])
    assert names["campaign_survey"]["kind"] == "outbound" and names["support_hotline"]["nodes"] > 1
    outbound = client.get("/api/flows?kind=outbound", headers=BEARER).get_json()
    assert {f["kind"] for f in outbound["items"]} == {"outbound"}
    assert client.get("/api/flows/lint", headers=BEARER).get_json()["ok"] is True


def test_one_flow_with_its_mermaid_diagram(client):
    body = client.get("/api/flows/callback_booking", headers=BEARER).get_json()
    assert body["mermaid"].startswith("flowchart TD")
    assert f"start((start)) --> {body['start']}" in body["mermaid"]
    assert body["start"] in body["node_names"]
    italian = client.get("/api/flows/support_menu?language=it", headers=BEARER).get_json()["mermaid"]
    assert 'menu{{"menu: Per informazioni' in italian
    refused = client.get("/api/flows/support_menu?language=fr", headers=BEARER)
    assert refused.status_code == 422 and "language" in refused.get_data(as_text=True)
    missing = client.get("/api/flows/nope", headers=BEARER)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_a_flow_broken_on_disk_shows_its_problems(flows_copy, client):
    survey = flows_copy / "campaign_survey.yaml"
    survey.write_text(survey.read_text(encoding="utf-8").replace("record_opt_out", "forget_it"),
                      encoding="utf-8")
    (flows_copy / "broken.yaml").write_text("flow: broken\nnodes: [", encoding="utf-8")
    lint = client.get("/api/flows/lint", headers=BEARER).get_json()
    assert lint["ok"] is False
    files = {p["file"] for p in lint["problems"]}
    assert {"flows/campaign_survey.yaml", "flows/broken.yaml"} <= files
    bad = client.get("/api/flows?ok=false", headers=BEARER).get_json()
    assert [f["name"] for f in bad["items"]] == ["campaign_survey"]
    assert any("forget_it" in p["message"] for p in bad["items"][0]["problems"])


def test_flows_need_authentication_and_validate_filters(client):
    for path in ("/api/flows", "/api/flows/lint", "/api/flows/support_hotline"):
        assert client.get(path).status_code == 401
    assert client.get("/api/flows?kind=sideways", headers=BEARER).get_json()["field"] == "query.kind"


def test_ticket_status_update_keeps_who_and_why(app, client):
    ref = seed_ticket(app)
    resp = client.patch(f"/api/tickets/{ref}", headers=BEARER, json={"status": "in_progress", "note": "preso in carico"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "in_progress"
    history = resp.get_json()["details"]["status_history"]
    assert history == [{"at": history[0]["at"], "from": "open", "to": "in_progress", "by": "api-token",
                        "note": "preso in carico"}]
    assert client.patch(f"/api/tickets/{ref}", headers=BEARER, json={"status": "in_progress"}).status_code == 409
    assert client.patch(f"/api/tickets/{ref}", headers=BEARER, json={"status": "draft"}).get_json()["field"] == "body.status"
    assert client.patch("/api/tickets/000", headers=BEARER, json={"status": "closed"}).status_code == 404
    assert client.patch(f"/api/tickets/{ref}", json={"status": "closed"}).status_code == 401
    assert client.patch(f"/api/tickets/{ref}", headers=BEARER, data={"status": "closed"}).status_code == 415
