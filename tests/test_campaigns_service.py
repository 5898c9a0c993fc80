"""Operator services and CLI: validation, the state machine, targeting contacts, stats."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app import cli as root_cli
from app.campaigns import cli as campaigns_cli
from app.campaigns import service
from app.campaigns.hours import inside, next_opening, parse_days
from app.campaigns.models import Campaign, CampaignContact
from app.campaigns.states import TRANSITIONS, transition
from app.consent.models import Contact
from app.db import session_scope
from app.refusals import Refusals, field_of
from tests.campaign_support import make_campaign, make_contacts

BASE = {
    "name": "spring survey", "purpose": "survey", "flow": "campaign_survey", "languages": ["it", "en"],
    "reason": {"it": "un breve sondaggio", "en": "a short survey"}, "created_by": "test",
}


def create(app, clock, **overrides):
    with app.app_context(), session_scope(app) as session:
        return service.create_campaign(session, **{**BASE, "at": clock.now(), **overrides})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"name": " "}, "name: 1 to 100 characters"),
    ({"purpose": "robocall"}, "purpose: 'robocall' is not one of"),
    ({"purpose": "sales"}, "offer_id: a sales campaign must say which offer"),
    ({"flow": "nope"}, "flow: no flow named 'nope'"),
    ({"flow": "support_hotline"},
     "flow: 'support_hotline' is not written for campaigns; choose one of: campaign_service, campaign_survey"),
    # The callback opener tells the callee they asked to be called: a lie to a campaign's callee.
    ({"flow": "callback_opener"},
     "flow: 'callback_opener' is not written for campaigns; choose one of: campaign_service, campaign_survey"),
    ({"flow": "../etc/passwd"}, "flow: '../etc/passwd' is not a flow name"),
    ({"languages": ["it", "de"]}, "languages: 'de' is not one of"),
    ({"languages": []}, "languages: at least one"),
    ({"languages": ["it", "en", "nl"]}, "reason: say why we call in every campaign language (missing: nl)"),
    ({"calling_days": "mon-xyz"}, "calling_days: 'mon-xyz' is not a range"),
    ({"calling_days": "fri-mon"}, "calling_days: 'fri-mon' runs backwards"),
    ({"calling_hours": "9-17"}, "calling_hours: '9' is not a time"),
    ({"calling_hours": "18:00-09:00"}, "calling_hours: the start must come before the end"),
    ({"calling_hours": "0900"}, "calling_hours: '0900' is not a range"),
    ({"cps": 0}, "cps: calls per second must be above 0"),
    ({"cps": 500}, "cps: calls per second must be above 0 and at most 100"),
    ({"max_concurrent": 0}, "max_concurrent: between 1 and 1000"),
    ({"max_attempts": 11}, "max_attempts: between 1 and 10"),
    ({"retry_busy_minutes": 0}, "retry_busy_minutes: between 1 minute and 14 days"),
    ({"machine_policy": "sing"}, "machine_policy: 'sing' is not one of message, hangup"),
    ({"ring_timeout": 10}, "ring_timeout: between 15 and 60 seconds"),
    ({"caller_id": "12"}, "caller_id:"),
])
def test_create_refuses_bad_input_naming_the_field(app, clock, overrides, message):
    with pytest.raises(ValueError) as info:
        create(app, clock, **overrides)
    assert str(info.value).startswith(message)


def test_create_refuses_every_bad_field_at_once(app, clock):
    """A form with three mistakes hears of all three in one answer, first field first."""
    with pytest.raises(Refusals) as info:
        create(app, clock, name="", flow="callback_opener", cps=0, ring_timeout=5)
    fields = [field_of(p) for p in info.value.problems]
    assert fields == ["name", "flow", "cps", "ring_timeout"]
    assert str(info.value).startswith("name: 1 to 100 characters; flow: 'callback_opener' is not written")


def test_create_stores_a_draft_with_defaults(app, clock):
    campaign = create(app, clock, callback_number="+39 02 9876 5432", details={"it": "avviso", "de": "x"})
    assert campaign.status == "draft" and campaign.cps == 1.0 and campaign.calling_days == ["mon", "tue", "wed", "thu", "fri"]
    assert campaign.callback_number == "+390298765432" and campaign.details == {"it": "avviso"}
    with pytest.raises(ValueError, match="name: a campaign called 'spring survey' exists already"):
        create(app, clock)


def test_state_machine_in_one_place():
    assert transition("draft", "start") == "running"
    assert transition("running", "pause") == "paused" and transition("paused", "resume") == "running"
    for status in ("stopped", "completed"):
        assert not [e for (s, e) in TRANSITIONS if s == status]
    with pytest.raises(ValueError, match=r"status: cannot pause a draft campaign; possible: start, stop"):
        transition("draft", "pause")
    with pytest.raises(ValueError, match=r"status: cannot start a completed campaign \(it is final\)"):
        transition("completed", "start")


def test_start_needs_contacts_and_stopped_takes_no_more(app, clock):
    campaign = create(app, clock)
    with session_scope(app) as session:
        found = session.get(Campaign, campaign.id)
        with pytest.raises(ValueError, match="contacts: the campaign targets nobody yet"):
            service.start(session, found, at=clock.now())
        service.stop(session, found, at=clock.now())
        with pytest.raises(ValueError, match="status: the campaign is stopped; contacts can no longer be added"):
            service.add_contacts(session, found, [1], at=clock.now())


def test_add_contacts_by_id_reports_unknown_and_duplicates(app, clock):
    ids = make_contacts(app, ["+393471234567"], clock)
    campaign = create(app, clock)
    with session_scope(app) as session:
        found = session.get(Campaign, campaign.id)
        report = service.add_contacts(session, found, [ids[0], 999], at=clock.now())
        again = service.add_contacts(session, found, ids, at=clock.now())
    assert (report.added, report.errors) == (1, [("999", "no such contact")])
    assert (again.added, again.already) == (0, 1)


def test_add_numbers_csv_goes_through_the_consent_importer(app, clock):
    campaign = create(app, clock)
    text = "number,name\n+393471234567,Anna\n347 123 4568,Bruno\nnonsense,Bad\n"
    with session_scope(app) as session:
        found = session.get(Campaign, campaign.id)
        with pytest.raises(ValueError, match="source: the CSV has no source column"):
            service.add_numbers_csv(session, found, text, at=clock.now(), recorded_by="t")
        report = service.add_numbers_csv(session, found, text, at=clock.now(), recorded_by="t",
                                         source="customer list 2026", default_region="IT")
        names = {c.e164: c.name for c in session.scalars(select(Contact))}
        targeted = {r.e164 for r in session.scalars(select(CampaignContact))}
    assert report.added == 2 and len(report.errors) == 1 and report.errors[0][0] == "line 4"
    assert names == {"+393471234567": "Anna", "+393471234568": "Bruno"} and targeted == set(names)


def test_scraped_lists_are_refused(app, clock):
    campaign = create(app, clock)
    with session_scope(app) as session:
        report = service.add_numbers_csv(session, session.get(Campaign, campaign.id),
                                         "number,source\n+393471234567,scraped from a website\n",
                                         at=clock.now(), recorded_by="t")
    assert report.added == 0 and "refused" in report.errors[0][1]


def test_campaign_hours_in_every_candidate_zone():
    monday_noon_utc = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    days = parse_days("mon-fri")
    assert inside(monday_noon_utc, ["Europe/Rome"], days, "09:00", "17:00")
    # 07:00 in New York, 04:00 in Los Angeles: not inside for a number spanning both zones.
    assert not inside(monday_noon_utc, ["America/New_York", "America/Los_Angeles"], days, "09:00", "17:00")
    opening = next_opening(monday_noon_utc, ["America/New_York", "America/Los_Angeles"], days, "09:00", "17:00")
    assert opening == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles
    assert parse_days("sat,mon, wed") == ["mon", "wed", "sat"]


# --- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def run(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    if "campaigns" not in root_cli.cli.commands:
        root_cli.cli.add_command(campaigns_cli.cli)

    def invoke(*args: str):
        return CliRunner().invoke(root_cli.cli, list(args), catch_exceptions=False)

    return invoke


def test_cli_create_target_start_pause_resume_stop_stats_list(run, tmp_path, app):
    result = run("campaigns", "create", "autumn", "--purpose", "survey", "--languages", "it,en",
                 "--reason", "it=un breve sondaggio", "--reason", "en=a short survey", "--cps", "2",
                 "--hours", "10:00-19:00", "--machine", "hangup")
    assert result.exit_code == 0, result.output
    assert "campaign 1 'autumn' created (draft)" in result.output
    csv_file = tmp_path / "numbers.csv"
    csv_file.write_text("number\n+393471234567\n+393471234568\nnonsense\n", encoding="utf-8")
    result = run("campaigns", "add-contacts", "autumn", "--csv", str(csv_file), "--source", "customer list")
    assert "2 added, 0 already targeted, 1 problem(s)" in result.output and "line 4" in result.output
    assert "is running" in run("campaigns", "start", "autumn").output
    assert "is paused" in run("campaigns", "pause", "1", "--reason", "client review").output
    assert "is running" in run("campaigns", "resume", "autumn").output
    stats = json.loads(run("campaigns", "stats", "autumn", "--json").output)
    assert stats["contacts"] == {"queued": 2} and stats["status"] == "running"
    assert "abandonment rate" in run("campaigns", "stats", "autumn").output
    assert "autumn" in run("campaigns", "list", "--status", "running").output
    assert "is stopped" in run("campaigns", "stop", "autumn").output
    bad = run("campaigns", "resume", "autumn")
    assert bad.exit_code == 1 and "status: cannot resume a stopped campaign" in bad.output


def test_cli_create_with_its_contact_list(run, tmp_path, app, clock):
    ids = make_contacts(app, ["+393471234567", "+393471234568"], clock)
    result = run("campaigns", "create", "winter", "--purpose", "service", "--flow", "campaign_service",
                 "--languages", "it", "--reason", "it=la manutenzione", "--details", "it=Il tecnico passa martedì.",
                 "--ids", f"{ids[0]},{ids[1]},999")
    assert result.exit_code == 0, result.output
    assert "2 added, 0 already targeted, 1 problem(s)" in result.output and "999: no such contact" in result.output
    assert "is running" in run("campaigns", "start", "winter").output


def test_cli_reports_field_errors(run):
    result = run("campaigns", "create", "x", "--purpose", "sales", "--reason", "it=y", "--reason", "nl=z",
                 "--reason", "en=w")
    assert result.exit_code == 1 and "offer_id: a sales campaign must say which offer" in result.output
    result = run("campaigns", "create", "x", "--purpose", "survey", "--reason", "italian")
    assert result.exit_code == 2 and "LANG=TEXT" in result.output
    assert "campaign: no campaign 'ghost'" in run("campaigns", "start", "ghost").output
    assert run("campaigns", "add-contacts", "x").exit_code == 2


def test_stats_counts_a_running_campaign(app, clock):
    ids = make_contacts(app, ["+393471234567", "+393471234568"], clock)
    campaign_id = make_campaign(app, clock, ids)
    with session_scope(app) as session:
        data = service.stats(session, session.get(Campaign, campaign_id), at=clock.now())
    assert data["contacts"] == {"queued": 2} and data["dialled"] == 0 and data["live_answered"] == 0
