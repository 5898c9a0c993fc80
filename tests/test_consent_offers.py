"""Offer codes in one form everywhere (issue 17 gap 6), every campaign belongs to an offer or
appeal (gap 7), premium-rate and service numbers refused (gap 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import phone
from app.callbacks import service as callbacks
from app.campaigns import service as campaigns
from app.campaigns.models import Campaign
from app.consent import check_call, offers, record_attempt
from app.consent.importer import import_contacts_text
from app.consent.ledger import add_owned_product, has_product, record_consent
from app.consent.models import ConsentRecord, Contact, OwnedProduct
from app.consent.packs import line_type_refusal
from app.datafiles import DataFileError
from app.db import session_scope
from app.refusals import Refusal
from tests.campaign_support import make_contacts
from tests.console_support import BEARER, SURVEY_REASON, add_operator, login, seed_campaign

IT_MOBILE = "+393471234567"


@pytest.mark.parametrize("typed", ["FIBRA-1G", "fibra-1g", " Fibra-1G ", "fibra_1g", "FIBRA 1G", "ｆｉｂｒａ-1g"])
def test_every_spelling_of_an_offer_code_is_one_offer(typed):
    assert offers.normalise(typed) == "fibra-1g"


@pytest.mark.parametrize("bad", ["fibra/€", "-fibra", "x" * 65, "fibra;tv"])
def test_a_code_that_is_not_a_code_is_refused_with_a_reason(bad):
    with pytest.raises(offers.OfferCodeError, match="offer code"):
        offers.normalise(bad)


def test_an_owner_is_not_pitched_when_the_case_of_the_code_differs(app, clock):
    """The issue's reproduction: product recorded as fibra-1g, campaign offer FIBRA-1G."""
    ids = make_contacts(app, [IT_MOBILE], clock)
    with app.app_context(), session_scope(app) as session:
        contact = session.get(Contact, ids[0])
        add_owned_product(session, contact, "fibra-1g", source="crm")
        assert has_product(session, contact, "FIBRA-1G")
        decision = check_call(session, contact, purpose="sales", offer_id="FIBRA-1G", at=clock.now())
    assert (decision.allowed, decision.rule_id) == (False, "courtesy.owned_product")


def test_entries_store_the_normal_form(app, clock):
    ids = make_contacts(app, [IT_MOBILE], clock)
    with app.app_context(), session_scope(app) as session:
        contact = session.get(Contact, ids[0])
        add_owned_product(session, contact, "TV-Plus", source="crm")
        record_consent(session, contact, action="given", purpose="sales", at=clock.now(), source="form",
                       recorded_by="test", offer_ids=["FIBRA-1G", "fibra_1g"])
        campaign = campaigns.create_campaign(
            session, name="s", purpose="sales", offer_id="FIBRA-1G", flow="campaign_service", languages=["it"],
            reason={"it": "la nuova fibra"}, created_by="test", at=clock.now())
        cb = callbacks.book(session, callbacks.Booking(e164=IT_MOBILE, due_at=clock.now() + timedelta(hours=2),
                                                       time_zone="Europe/Rome", language="it", reason="sales",
                                                       offer_id="Fibra-1G"), at=clock.now(), by="test")
        assert campaign.offer_id == "fibra-1g" and cb.offer_id == "fibra-1g"
        assert session.scalars(select(OwnedProduct.offer_id)).all() == ["tv-plus"]
        assert session.scalars(select(ConsentRecord)).all()[-1].offer_ids == ["fibra-1g"]


def test_csv_import_normalises_products_and_consented_offers(app, clock):
    csv = ("number,source,products,consent_purposes,consent_at,consent_offers\n"
           f"{IT_MOBILE},crm 2026,FIBRA-1G,sales,2026-01-10,TV_Plus\n")
    with session_scope(app) as session:
        report = import_contacts_text(session, csv, at=clock.now(), recorded_by="test")
        assert report.errors == [] and report.created == 1
        assert session.scalars(select(OwnedProduct.offer_id)).all() == ["fibra-1g"]
        assert session.scalars(select(ConsentRecord.offer_ids)).all() == [["tv-plus"]]


def test_a_bad_offer_code_is_a_clear_refusal_at_campaign_creation(app, clock):
    with app.app_context(), session_scope(app) as session, pytest.raises(Refusal, match="offer code"):
        campaigns.create_campaign(session, name="s", purpose="sales", offer_id="fibra/€", flow="campaign_service",
                                  languages=["it"], reason={"it": "x"}, created_by="test", at=clock.now())


# --- gap 7: every campaign belongs to an offer or appeal --------------------------------------


def _survey(session, clock, name: str, reason: str, purpose: str = "survey") -> Campaign:
    return campaigns.create_campaign(session, name=name, purpose=purpose, flow="campaign_survey", languages=["it"],
                                     reason={"it": reason}, created_by="test", at=clock.now())


def test_a_campaign_without_an_offer_belongs_to_the_appeal_its_purpose_and_reason_say(app, clock):
    with app.app_context(), session_scope(app) as session:
        first = _survey(session, clock, "autumn", "un breve sondaggio sul servizio")
        again = _survey(session, clock, "autumn again", "  un breve  sondaggio sul servizio ")
        other = _survey(session, clock, "other", "un sondaggio sulla rete")
        appeal = _survey(session, clock, "charity", "un breve sondaggio sul servizio", purpose="charity")
        assert first.offer_id and first.offer_id.startswith("survey:")
        assert first.offer_id == again.offer_id
        assert first.offer_id not in (other.offer_id, appeal.offer_id)


def test_a_survey_run_again_by_a_second_campaign_waits_out_the_same_offer_courtesy(app, clock):
    """The issue's reproduction: the same survey put by a second campaign the next day."""
    ids = make_contacts(app, [IT_MOBILE], clock)
    with app.app_context(), session_scope(app) as session:
        first = _survey(session, clock, "autumn", "un breve sondaggio sul servizio")
        again = _survey(session, clock, "autumn bis", "un breve sondaggio sul servizio")
        contact = session.get(Contact, ids[0])
        record_attempt(session, contact.e164, at=clock.now(), purpose="survey", offer_id=first.offer_id,
                       outcome="completed", campaign_id=first.id)
        decision = check_call(session, contact, purpose="survey", offer_id=again.offer_id,
                              at=clock.now() + timedelta(days=1), automated=True)
    assert (decision.allowed, decision.rule_id) == (False, "courtesy.same_offer")


# --- gap 9: premium-rate and service numbers ----------------------------------------------------

# Numbers from the national plans phonenumbers carries (types checked with phonenumbers).
SPECIAL = {
    "+448712345678": "premium",   # UK 0871 (premium rate, service charge)
    "+443031234567": "uan",       # UK 03 (non-geographic, charged as geographic)
    "+18005550100": "toll_free",  # US 800
    "+447012345678": "personal",  # UK 070 personal numbering
    "+39899123456": "premium",    # IT 899 (premium rate)
    "+39848123456": "shared_cost",  # IT 848 (ripartito)
    "+39199123456": "personal",   # IT 199 (phonenumbers files it as a personal number)
    "+31900123456": "premium",    # NL 0900
    "+31881234567": "uan",        # NL 088 (company numbers)
}


def test_the_sample_numbers_are_of_the_type_named():
    assert {n: phone.parse(n).line_type for n in SPECIAL} == SPECIAL


def test_special_service_numbers_are_refused_at_import_with_a_reason_per_line(app, clock):
    lines = "\n".join(f"{n},crm" for n in (*SPECIAL, IT_MOBILE))
    with session_scope(app) as session:
        report = import_contacts_text(session, "number,source\n" + lines, at=clock.now(), recorded_by="test")
    assert report.created == 1
    assert [line for line, _ in report.errors] == list(range(2, 2 + len(SPECIAL)))
    for (_, reason), (number, kind) in zip(report.errors, SPECIAL.items(), strict=True):
        why = line_type_refusal(None, kind)
        assert why and f"{number}: never called by policy: {why}" == str(reason)


def test_a_special_service_number_already_stored_is_refused_at_decision_time(app, clock):
    with app.app_context(), session_scope(app) as session:
        contact = Contact(e164="+31900123456", region="NL", line_type="premium", time_zone="Europe/Amsterdam",
                          time_zones=["Europe/Amsterdam"], source="legacy", created_at=clock.now(),
                          updated_at=clock.now())
        session.add(contact)
        session.flush()
        decision = check_call(session, contact, purpose="service", offer_id=None, at=clock.now())
    assert (decision.allowed, decision.rule_id) == (False, "number.special_service")
    assert "premium-rate" in decision.reason


# --- the API says which kind of call a campaign is, and refuses service numbers ----------------


def test_the_api_says_a_campaign_is_an_automated_call_and_which_offer_it_belongs_to(client):
    body = {"name": "Sondaggio", "purpose": "survey", "flow": "campaign_survey", "languages": ["it", "en"],
            "reason": SURVEY_REASON, "calling_days": "mon-sun", "calling_hours": "08:00-21:00"}
    created = client.post("/api/campaigns", headers=BEARER, json=body).get_json()
    assert created["call_kind"] == "automated" and "text-to-speech" in created["call_kind_reason"]
    assert created["offer_id"].startswith("survey:")


def test_the_api_refuses_a_premium_rate_contact_and_keeps_legal_person(client):
    refused = client.post("/api/contacts", headers=BEARER, json={"e164": "+39899123456", "source": "crm"})
    assert refused.status_code == 422 and "premium-rate" in refused.get_data(as_text=True)
    company = client.post("/api/contacts", headers=BEARER,
                          json={"e164": "+31201234567", "source": "kvk", "is_business": True, "legal_person": True})
    assert company.status_code == 201 and company.get_json()["legal_person"] is True


def test_the_console_campaign_page_says_it_is_an_automated_call(app, client):
    add_operator(app, language="en")
    login(client)
    cid = seed_campaign(app)
    html = client.get(f"/console/campaigns/{cid}").get_data(as_text=True)
    assert "automated (synthetic voice): needs consent" in html and "survey:" in html


# --- offers.yaml ------------------------------------------------------------------------------


def test_the_catalogue_groups_offers_into_categories():
    assert (offers.category("FIBRA-1G"), offers.category("tv"), offers.category("insurance-home")) == (
        "broadband", "television", None)


def test_every_mistake_in_the_catalogue_is_named_with_its_key(tmp_path):
    path = tmp_path / "offers.yaml"
    path.write_text('version: "offers-9"\ncategory:\n  tv: ["tv-*"]\n', encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        offers.read_catalogue(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: category: unknown key (did you mean 'categories'?)")
    path.write_text('categories:\n  tv: "tv-*"\n  mobile: {sim: "sim-*"}\n', encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        offers.read_catalogue(path)
    assert caught.value.problems == [f"{path}: categories.tv: expected a list, got 'tv-*'",
                                     f"{path}: categories.mobile: expected a list, got {{'sim': 'sim-*'}}"]
