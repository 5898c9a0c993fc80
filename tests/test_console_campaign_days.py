"""The campaign form's calling days: one box per weekday, named as the operator's language
names them, sending the day codes the campaign schema reads (the API keeps taking "mon-fri")."""

from __future__ import annotations

import re

import pytest

from tests.console_support import (
    BEARER,
    campaign_form,
    page_csrf,
    signed_in,
    speak,
)

# How each language writes the days of the week, Monday first (as a calendar in that
# language prints them), and the codes the campaign stores.
WEEK = {
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
CODES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_BOX = re.compile(r'<input type="checkbox" name="calling_days" value="(\w+)"[^>]*?( checked)?>\s*([^<]+?)\s*</label>')


@pytest.fixture
def operator(app, client):
    return signed_in(app, client)


def _boxes(html: str) -> list[tuple[str, bool, str]]:
    """(code, ticked, label) of each day box of the form, in page order."""
    return [(code, bool(ticked), label) for code, ticked, label in _BOX.findall(html)]


@pytest.mark.parametrize("lang", ["it", "nl", "en"])
def test_the_days_are_boxes_named_in_the_operators_language(operator, lang):
    speak(operator, lang)
    html = operator.get("/console/campaigns/new").get_data(as_text=True)
    assert _boxes(html) == [(code, code not in ("sat", "sun"), name) for code, name in zip(CODES, WEEK[lang])]
    assert 'placeholder="mon-fri"' not in html and 'name="calling_days" id="campaign-days" value=' not in html


def test_the_ticked_days_are_the_campaigns_days(operator):
    speak(operator, "it")
    form = {**campaign_form(page_csrf(operator, "/console/campaigns/new")), "reason_en": "a survey",
            "calling_days": ["mon", "wed", "sat"]}
    created = operator.post("/console/campaigns", data=form)
    assert created.status_code == 302
    cid = created.location.rstrip("/").rsplit("/", 1)[1]
    assert operator.get(f"/api/campaigns/{cid}", headers=BEARER).get_json()["calling_days"] == ["mon", "wed", "sat"]
    # The campaign's page says them as the form did.
    page = operator.get(created.location).get_data(as_text=True)
    assert "lunedì, mercoledì, sabato" in page


def test_no_day_ticked_is_said_beside_the_days_and_nothing_typed_is_lost(operator):
    speak(operator, "it")
    form = {**campaign_form(page_csrf(operator, "/console/campaigns/new")), "reason_en": "a survey"}
    del form["calling_days"]  # a browser sends nothing for boxes left empty
    refused = operator.post("/console/campaigns", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    beside = html[html.index('id="error-calling_days"'):]
    assert beside[beside.index(">") + 1:beside.index("</span>")] == "Serve almeno un giorno di chiamata."
    assert _boxes(html) == [(code, False, name) for code, name in zip(CODES, WEEK["it"])]
    assert 'value="Sondaggio primavera"' in html and 'value="09:00-19:00"' in html


def test_another_fields_problem_keeps_the_ticked_days(operator):
    form = {**campaign_form(page_csrf(operator, "/console/campaigns/new")), "calling_days": ["tue", "sun"]}
    html = operator.post("/console/campaigns", data=form).get_data(as_text=True)  # no English reason
    assert [code for code, ticked, _ in _boxes(html) if ticked] == ["tue", "sun"]


@pytest.mark.parametrize("days, stored", [("mon-fri", CODES[:5]), ("mon,wed", ["mon", "wed"]),
                                          ("sat-sun", ["sat", "sun"])])
def test_the_api_still_takes_what_it_took(client, days, stored):
    body = {"name": f"api {days}", "purpose": "survey", "flow": "campaign_survey", "languages": ["en"],
            "reason": {"en": "a short survey"}, "calling_days": days}
    created = client.post("/api/campaigns", headers=BEARER, json=body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["calling_days"] == stored
