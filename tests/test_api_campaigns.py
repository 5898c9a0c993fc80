"""Campaigns through the API: create, target, start/pause/resume/stop, stats with the
abandonment rate (app.campaigns' services), and the errors each one gives."""

from __future__ import annotations

import pytest

from app.campaigns.models import CampaignAttempt, CampaignContact
from app.db import session_scope
from tests.console_support import (
    BEARER,
    SURVEY_REASON,
    add_operator,
    login,
    page_csrf,
    seed_campaign,
)

NEW = {"name": "Sondaggio inverno", "purpose": "survey", "flow": "campaign_survey",
       "languages": ["it", "en"], "reason": SURVEY_REASON, "calling_days": "mon-sun",
       "calling_hours": "08:00-21:00"}


def _contact(client, number="+393471234567"):
    return client.post("/api/contacts", headers=BEARER, json={"e164": number, "source": "crm"}).get_json()["id"]


def test_create_target_start_pause_resume_stop(client):
    created = client.post("/api/campaigns", headers=BEARER, json=NEW)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    cid = body["id"]
    assert body["status"] == "draft" and body["created_by"] == "api-token"
    assert body["stats"]["contacts"] == {} and body["stats"]["abandonment_rate"] == 0.0
    early = client.post(f"/api/campaigns/{cid}/start", headers=BEARER)
    assert early.status_code == 422 and early.get_json()["field"] == "body.contacts"
    ids = [_contact(client), _contact(client, "+31612345678")]
    added = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"contact_ids": [*ids, 999]}).get_json()
    assert added == {"added": 2, "already": 0, "errors": [{"item": "999", "message": "no such contact"}]}
    again = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"contact_ids": ids}).get_json()
    assert again["already"] == 2 and again["added"] == 0
    assert client.post(f"/api/campaigns/{cid}/start", headers=BEARER).get_json()["status"] == "running"
    paused = client.post(f"/api/campaigns/{cid}/pause", headers=BEARER, json={"reason": "troppi reclami"}).get_json()
    assert paused["status"] == "paused" and paused["status_reason"] == "troppi reclami"
    assert client.post(f"/api/campaigns/{cid}/resume", headers=BEARER, json={}).get_json()["status"] == "running"
    stopped = client.post(f"/api/campaigns/{cid}/stop", headers=BEARER).get_json()
    assert stopped["status"] == "stopped" and stopped["stats"]["contacts"] == {"cancelled": 2}
    conflict = client.post(f"/api/campaigns/{cid}/resume", headers=BEARER)
    assert conflict.status_code == 409 and "stopped" in conflict.get_json()["detail"]
    late = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"contact_ids": ids})
    assert late.status_code == 409


def test_contacts_from_a_csv_through_the_consent_importer(app, client):
    cid = seed_campaign(app, numbers=())
    csv = "number,name\n+393471234567,Anna\nnot a number,Bob\n+31612345678,Carla\n"
    refused = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"csv": csv})
    assert refused.status_code == 422 and refused.get_json()["field"] == "body.source"
    body = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER,
                       json={"csv": csv, "source": "customer list 2026"}).get_json()
    assert body["added"] == 2 and [e["item"] for e in body["errors"]] == ["line 3"]
    both = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"contact_ids": [1], "csv": csv})
    assert both.status_code == 422
    # Longer than documented but under the 1 MB body limit even JSON-escaped: a 422, not a 413.
    long = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"csv": "\u00a3" * 100_001})
    assert long.status_code == 422 and long.get_json()["field"] == "body.csv"


def test_stats_count_dispositions_and_the_abandonment_rate(app, client, clock):
    cid = seed_campaign(app, numbers=("+393471234567", "+393471234568", "+393471234569", "+393471234560"), start=True)
    with session_scope(app) as session:
        rows = session.query(CampaignContact).filter_by(campaign_id=cid).all()
        for row, disposition in zip(rows, ("completed", "abandoned", "busy", "opted-out")):
            session.add(CampaignAttempt(campaign_id=cid, campaign_contact_id=row.id, number=1, e164=row.e164,
                                        status="ended", disposition=disposition, created_at=clock.now(),
                                        dialled_at=clock.now(),
                                        answered_at=clock.now() if disposition != "busy" else None))
    stats = client.get(f"/api/campaigns/{cid}/stats", headers=BEARER).get_json()
    assert stats["attempts"] == {"completed": 1, "abandoned": 1, "busy": 1, "opted-out": 1}
    assert stats["live_answered"] == 3 and stats["abandoned"] == 1
    assert stats["abandonment_rate"] == pytest.approx(0.3333)
    attempts = client.get(f"/api/campaigns/{cid}/attempts?limit=3", headers=BEARER).get_json()
    assert attempts["total"] == 4 and attempts["next_offset"] == 3
    assert [a["disposition"] for a in attempts["items"]] == ["opted-out", "busy", "abandoned"]  # newest first
    busy = client.get(f"/api/campaigns/{cid}/attempts?disposition=busy", headers=BEARER).get_json()
    assert [a["answered_at"] for a in busy["items"]] == [None]
    assert client.get(f"/api/campaigns/{cid}/attempts?disposition=bored", headers=BEARER).get_json()["field"] == "query.disposition"
    assert client.get("/api/campaigns/999/attempts", headers=BEARER).status_code == 404
    listing = client.get("/api/campaigns?status=running", headers=BEARER).get_json()
    assert [c["id"] for c in listing["items"]] == [cid]
    assert client.get("/api/campaigns?status=draft", headers=BEARER).get_json()["total"] == 0


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "body.name"), ({"purpose": "spam"}, "body.purpose"),
    ({"flow": "support_hotline"}, "body.flow"), ({"flow": "../etc/passwd"}, "body.flow"),
    ({"languages": []}, "body.languages"), ({"languages": ["de"]}, "body.languages.0"),
    ({"reason": {"it": "sondaggio"}}, "body.reason"), ({"calling_hours": "21:00-08:00"}, "body.calling_hours"),
    ({"calling_days": "someday"}, "body.calling_days"), ({"cps": 0}, "body.cps"), ({"cps": 1e300}, "body.cps"),
    ({"ring_timeout": 5}, "body.ring_timeout"), ({"purpose": "sales"}, "body.offer_id"),
    ({"caller_id": "12"}, "body.caller_id"), ({"max_attempts": 99}, "body.max_attempts"),
    ({"bogus": True}, "body.bogus"),
])
def test_bad_campaigns_are_422_naming_the_field(client, change, field):
    resp = client.post("/api/campaigns", headers=BEARER, json={**NEW, **change})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["field"] == field


def test_every_bad_field_is_listed_in_one_problem(client):
    """RFC 9457 `errors` lists each field at fault, so a client fixes them all in one round."""
    resp = client.post("/api/campaigns", headers=BEARER,
                       json={**NEW, "flow": "nope", "calling_hours": "21:00-08:00", "ring_timeout": 5})
    body = resp.get_json()
    assert resp.status_code == 422 and body["field"] == "body.flow"
    assert [e["field"] for e in body["errors"]] == ["body.flow", "body.calling_hours", "body.ring_timeout"]
    assert body["errors"][1]["message"] == "the start must come before the end"
    assert body["detail"].startswith("body.flow: no flow named 'nope'") and body["detail"].endswith("(and 2 more)")


def test_a_campaign_cannot_run_the_callback_opener(client):
    # "You asked us to call you back" said to a stranger is a lie: only campaign flows may run.
    resp = client.post("/api/campaigns", headers=BEARER, json={**NEW, "flow": "callback_opener"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "body.flow"
    assert "'callback_opener' is not written for campaigns; choose one of: campaign_service, campaign_survey" in (
        resp.get_data(as_text=True))


def test_duplicate_names_unknown_ids_and_media_types(app, client):
    seed_campaign(app, name=NEW["name"])
    assert client.post("/api/campaigns", headers=BEARER, json=NEW).get_json()["field"] == "body.name"
    for path in ("/api/campaigns/99", "/api/campaigns/99/stats"):
        assert client.get(path, headers=BEARER).status_code == 404
    assert client.post("/api/campaigns/99/start", headers=BEARER).status_code == 404
    assert client.post("/api/campaigns", headers=BEARER, data="name=x",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.post("/api/campaigns/1/pause", headers=BEARER, data="reason=x",
                       content_type="text/plain").status_code == 415


def test_every_campaign_endpoint_refuses_anonymous_and_csrf_less_session_writes(app, client):
    cid = seed_campaign(app)
    gets = ("/api/campaigns", f"/api/campaigns/{cid}", f"/api/campaigns/{cid}/stats")
    posts = ["/api/campaigns", f"/api/campaigns/{cid}/contacts"] + [
        f"/api/campaigns/{cid}/{action}" for action in ("start", "pause", "resume", "stop")]
    for path in gets:
        assert client.get(path).status_code == 401, path
    for path in posts:
        assert client.post(path, json={}).status_code == 401, path
    add_operator(app)
    login(client)
    for path in posts:
        assert client.post(path, json={}).status_code == 403, path
    ok = client.post(f"/api/campaigns/{cid}/start", json={}, headers={"X-CSRFToken": page_csrf(client)})
    assert ok.status_code == 200 and ok.get_json()["status"] == "running"


def test_huge_numbers_are_422_not_500(app, client):
    cid = seed_campaign(app)
    resp = client.post(f"/api/campaigns/{cid}/contacts", headers=BEARER, json={"contact_ids": [10**30]})
    assert resp.status_code == 422 and resp.get_json()["field"].startswith("body.contact_ids")
    for field in ("max_concurrent", "ring_timeout", "retry_busy_minutes"):
        resp = client.post("/api/campaigns", headers=BEARER, json={**NEW, field: 10**30})
        assert resp.status_code == 422 and resp.get_json()["field"] == f"body.{field}"
    assert client.get(f"/api/campaigns/{10**30}", headers=BEARER).status_code == 404
    assert client.get(f"/api/callbacks/{10**30}", headers=BEARER).status_code == 404


@pytest.mark.parametrize("days, stored", [
    (["mon", "wed"], ["mon", "wed"]),
    (["fri", "Mon"], ["mon", "fri"]),  # the order and case a person happens to type in
    ("mon,wed", ["mon", "wed"]), ("mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
])
def test_calling_days_as_a_list_or_a_string(client, days, stored):
    """The console ticks day boxes and the campaign schema takes the codes: a JSON list is the
    natural form for an API client too, and the string form keeps working."""
    created = client.post("/api/campaigns", headers=BEARER, json={**NEW, "calling_days": days})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["calling_days"] == stored


@pytest.mark.parametrize("days, said", [
    (["mon", "mnd"], "'mnd' is not one of mon, tue, wed, thu, fri, sat, sun"),
    ([], "at least one day is needed"),
    (["mon", 3], "'3' is not one of mon, tue, wed, thu, fri, sat, sun"),
])
def test_a_bad_day_in_the_list_is_a_422_naming_calling_days(client, days, said):
    resp = client.post("/api/campaigns", headers=BEARER, json={**NEW, "calling_days": days})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["field"] == "body.calling_days" and said in body["detail"]


def test_the_openapi_document_shows_both_forms_of_calling_days(client):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    days = next(s for name, s in schemas.items() if name.startswith("CampaignIn"))["properties"]["calling_days"]
    kinds = {option["type"]: option for option in days["anyOf"]}
    assert set(kinds) == {"string", "array"}
    assert kinds["array"]["items"]["enum"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert "mon-fri" in days["description"] and "[" in days["description"]


@pytest.mark.parametrize("days, said", [(5, "list of day codes"), (None, "list of day codes"),
                                        ("mon," * 20, "at most 64 characters")])
def test_calling_days_of_another_shape_is_one_problem_naming_the_field(client, days, said):
    resp = client.post("/api/campaigns", headers=BEARER, json={**NEW, "calling_days": days})
    body = resp.get_json()
    assert resp.status_code == 422 and [e["field"] for e in body["errors"]] == ["body.calling_days"]
    assert said in body["detail"]
