"""One way to say no: a service refuses with a typed Refusal naming the field; the API answers
only those with a 422, and a bug (any other exception, a ValueError too) with a logged 500.

Campaign input is checked once (app.campaigns.schema) for the API, the console and the CLI,
and every problem of a submission is reported at once: those the fields show by themselves
and those that need the database (a name already taken) together.
"""

from __future__ import annotations

import logging

import pytest

from app.campaigns import service
from app.campaigns.schema import CampaignInput
from app.refusals import Invalid, Refusal, Refusals, refuse_all
from tests.console_support import BEARER, SURVEY_REASON

NEW = {"name": "Sondaggio inverno", "purpose": "survey", "flow": "campaign_survey",
       "languages": ["it", "en"], "reason": SURVEY_REASON}


def test_a_refusal_names_its_field_and_reads_as_before():
    typed = Invalid("cps", "calls per second must be above 0", code="campaign_cps")
    assert (typed.field, typed.message, typed.code) == ("cps", "calls per second must be above 0", "campaign_cps")
    assert str(typed) == "cps: calls per second must be above 0"
    # A refusal written the older way, "field: message", is read into the same parts.
    older = Refusal("slot_full", "due_at: that time is fully booked")
    assert (older.field, older.message) == ("due_at", "that time is fully booked")
    with pytest.raises(Refusals) as many:
        refuse_all([typed, older])
    assert [p.field for p in many.value.problems] == ["cps", "due_at"]


def test_the_shared_model_lists_every_wrong_field_in_the_order_of_the_form():
    spec, problems = CampaignInput.read({**NEW, "purpose": "sales", "cps": "fast", "calling_hours": "20:00-09:00",
                                         "ring_timeout": 5, "languages": ["it", "en", "nl"]})
    assert spec is None
    assert [(p.field, p.code) for p in problems] == [
        ("offer_id", "campaign_offer_missing"), ("reason", "campaign_reason_missing"),
        ("calling_hours", "campaign_hours_order"), ("cps", "not_a_number"), ("ring_timeout", "campaign_ring_timeout"),
    ]
    assert str(problems[3]) == "cps: 'fast' is not a number"


def test_the_api_lists_field_and_database_problems_together(client):
    assert client.post("/api/campaigns", headers=BEARER, json=NEW).status_code == 201
    again = client.post("/api/campaigns", headers=BEARER, json={**NEW, "cps": 0, "max_attempts": 11})
    assert again.status_code == 422
    fields = [e["field"] for e in again.get_json()["errors"]]
    assert fields == ["body.name", "body.cps", "body.max_attempts"]
    assert again.get_json()["errors"][0]["message"] == "a campaign called 'Sondaggio inverno' exists already"


def test_a_bug_in_a_service_is_a_logged_500_not_bad_input(client, monkeypatch, caplog):
    """A ValueError is what a bug raises too (int("x"), a failed unpacking): the API must not
    tell the client its input was wrong when it was our code."""

    def broken(*_args, **_kwargs):
        raise ValueError("name: not enough values to unpack")

    monkeypatch.setattr(service, "create_campaign", broken)
    with caplog.at_level(logging.ERROR):
        answer = client.post("/api/campaigns", headers=BEARER, json=NEW)
    assert answer.status_code == 500
    assert "not enough values" not in answer.get_data(as_text=True)
    assert any("API error on POST /api/campaigns" in r.getMessage() for r in caplog.records)


def test_the_cli_prints_each_problem_on_its_own_line(app, cli):
    result = cli("campaigns", "create", "Inverno", "--purpose", "survey", "--reason", "it=un sondaggio",
                 "--languages", "it", "--cps", "0", "--ring-timeout", "5", "--days", "fri-mon")
    assert result.exit_code == 1
    assert result.output.splitlines()[-3:] == [
        "Error: calling_days: 'fri-mon' runs backwards",
        "cps: calls per second must be above 0 and at most 100",
        "ring_timeout: between 15 and 60 seconds (let it ring at least 15 s)",
    ]
