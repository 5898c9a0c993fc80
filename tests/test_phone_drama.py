"""Numbers Ofcom keeps for TV and radio drama ("Telephone numbers for drama": 07700 900000 to
900999 and the ranges below) are shaped like real UK numbers and never allocated to anyone. The
app reads them as numbers (a caller showing one has not withheld anything) of a class of their
own, "fictional", and never dials one, saying why."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import phonenumbers
import pytest
from sqlalchemy import select

from app import phone
from app.callbacks.models import Callback
from app.campaigns.schema import CampaignInput
from app.consent.decide import Facts, decide
from app.consent.packs import load_packs
from app.db import session_scope
from app.desk.service import update_profile
from app.models import Call
from app.refusals import Refusal
from tests.console_support import BEARER

# Ofcom's table, first and last number of each range, as the public dials them.
DRAMA = [
    ("0113 496 0000", "0113 496 0999"), ("0114 496 0000", "0114 496 0999"),
    ("0115 496 0000", "0115 496 0999"), ("0116 496 0000", "0116 496 0999"),
    ("0117 496 0000", "0117 496 0999"), ("0118 496 0000", "0118 496 0999"),
    ("0121 496 0000", "0121 496 0999"), ("0131 496 0000", "0131 496 0999"),
    ("0141 496 0000", "0141 496 0999"), ("0151 496 0000", "0151 496 0999"),
    ("0161 496 0000", "0161 496 0999"), ("020 7946 0000", "020 7946 0999"),
    ("0191 498 0000", "0191 498 0999"), ("028 9649 6000", "028 9649 6999"),
    ("029 2018 0000", "029 2018 0999"), ("01632 960000", "01632 960999"),
    ("07700 900000", "07700 900999"), ("08081 570000", "08081 570999"),
    ("0909 8790000", "0909 8790999"), ("03069 990000", "03069 990999"),
]
SEEN = "+447700900123"


def test_phonenumbers_alone_cannot_tell_a_drama_number():
    """What the library says, and why the app does not rely on it: the mobile range is
    "invalid" (so it was taken for a withheld caller), London's is a valid fixed line."""
    assert not phonenumbers.is_valid_number(phonenumbers.parse(SEEN))
    assert phonenumbers.is_possible_number(phonenumbers.parse(SEEN))
    london = phonenumbers.parse("+442079460123")
    assert phonenumbers.is_valid_number(london)
    assert phonenumbers.number_type(london) == phonenumbers.PhoneNumberType.FIXED_LINE


@pytest.mark.parametrize("first, last", DRAMA)
def test_every_drama_range_is_fictional_from_first_to_last(first, last):
    for spelled in (first, last):
        parsed = phone.parse(spelled, "GB")
        assert (parsed.line_type, parsed.region, parsed.time_zones) == ("fictional", "GB", ("Europe/London",))


@pytest.mark.parametrize("raw, line_type", [
    ("+447700800123", "mobile"),        # an ordinary mobile beside the range
    ("+442079470123", "fixed"),         # London, one block above
    ("+441134970123", "fixed"),         # Leeds, 497 not 496
])
def test_the_neighbours_are_ordinary_numbers(raw, line_type):
    assert phone.parse(raw).line_type == line_type


def test_just_past_the_mobile_range_is_no_number_at_all():
    with pytest.raises(phone.InvalidNumber):
        phone.parse("+447700901000")


def test_a_caller_showing_one_is_a_number_not_a_withheld_caller():
    parsed = phone.parse_caller(SEEN)
    assert parsed is not None and (parsed.e164, parsed.line_type) == (SEEN, "fictional")
    assert phone.parse_caller("anonymous") is None


def test_consent_never_calls_one_and_says_why():
    facts = Facts(e164=SEEN, country="GB", time_zones=("Europe/London",), purpose="callback", line_type="fictional")
    decision = decide(facts, load_packs()["GB"], datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    assert not decision.allowed and decision.rule_id == "number.special_service"
    assert "drama" in decision.reason and "never" in decision.reason


def test_the_api_refuses_it_as_a_contact_with_the_reason(client):
    resp = client.post("/api/contacts", json={"e164": SEEN, "source": "customer list"}, headers=BEARER)
    assert resp.status_code == 422
    assert "never called by policy" in resp.get_json()["detail"] and "drama" in resp.get_json()["detail"]


def test_a_campaign_never_gives_one_as_its_callback_number():
    fields = {"name": "x", "purpose": "survey", "flow": "campaign_survey", "languages": ["en"],
              "reason": {"en": "a survey"}, "callback_number": "+44 20 7946 0123"}
    campaign, problems = CampaignInput.read(fields)
    assert campaign is None and [p.field for p in problems] == ["callback_number"]


def test_the_desk_never_rings_one():
    with pytest.raises(Refusal) as info:
        update_profile(SimpleNamespace(), phone=SEEN, languages=["en"],
                       skills=["support"])
    assert info.value.code == "desk_bad_phone"



def test_a_caller_showing_one_is_not_told_their_number_is_withheld(sim, app, clock):
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    call = sim.inbound(from_=SEEN, to="+442071234567")
    call.press("5")  # support menu: book a callback
    call.press("2")  # tomorrow morning
    assert not call.heard("withheld"), call.format_transcript()
    assert call.heard("we can't book a callback to this number"), call.format_transcript()
    with session_scope(app) as session:
        assert session.scalars(select(Callback)).all() == []
    with session_scope(app) as session:
        assert session.scalars(select(Call.from_number)).all() == [SEEN]
