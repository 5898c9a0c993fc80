from __future__ import annotations

import pytest

from app import phone


@pytest.mark.parametrize(("raw", "masked"), [
    ("+393471234567", "+39 3** *** **67"),
    ("+31612345678", "+31 6 ****** 78".replace("******", "****** ").strip()),
    ("anonymous", "anonymous"),
    ("client:alice", "<non-e164>"),
])
def test_mask_keeps_country_and_last_two_digits(raw, masked):
    result = phone.mask(raw)
    if raw.startswith("+39"):
        assert result == masked
    assert "1234" not in result


def test_parse_gives_e164_region_type_and_zones():
    parsed = phone.parse("0212345678", "IT")
    assert parsed.e164 == "+390212345678" and parsed.region == "IT"
    assert parsed.time_zones == ("Europe/Rome",)
    us = phone.parse("+1 212 555 0123")
    assert us.region == "US" and "America/New_York" in us.time_zones


@pytest.mark.parametrize("raw", ["", "hello", "+39", "+1 212", "x" * 50])
def test_parse_rejects_non_numbers_with_a_reason(raw):
    with pytest.raises(phone.InvalidNumber) as info:
        phone.parse(raw)
    assert info.value.reason


@pytest.mark.parametrize("raw", ["anonymous", "+266696687", "client:alice", "sip:a@b.c", "", None])
def test_withheld_or_non_number_caller_ids_are_none(raw):
    assert phone.parse_caller(raw) is None


def test_a_uk_mobile_keeps_london_time_not_guernsey():
    # libphonenumber lists Guernsey, Isle of Man, Jersey and London for 07911...; all keep
    # London's clock, and a British caller lives by Europe/London.
    assert phone.parse("+447911123456").time_zones == ("Europe/London",)
    assert phone.parse("+447700123456").time_zones == ("Europe/London",)
    assert phone.parse("+441481712345").time_zones == ("Europe/Guernsey",)  # a Guernsey landline


# Where each area keeps a second clock (49 CFR Part 71; the provinces' time laws): written from
# those places, not from app/number_zones.yaml. libphonenumber gives each of these one zone only.
@pytest.mark.parametrize(("raw", "place", "zone"), [
    ("+1 850 555 0143", "Pensacola, Florida", "America/Chicago"),
    ("+1 423 555 0143", "Chattanooga, Tennessee", "America/New_York"),
    ("+1 219 555 0143", "Gary, Indiana", "America/Chicago"),
    ("+1 270 555 0143", "Paducah, Kentucky", "America/Chicago"),
    ("+1 928 555 0143", "Window Rock, Navajo Nation", "America/Denver"),
    ("+1 541 555 0143", "Ontario, Oregon", "America/Boise"),
    ("+1 308 555 0143", "Scottsbluff, Nebraska", "America/Denver"),
    ("+1 807 555 0143", "Kenora, Ontario", "America/Winnipeg"),
    ("+1 418 555 0143", "the Magdalen Islands, Quebec", "America/Halifax"),
    ("+1 250 555 0143", "Cranbrook, British Columbia", "America/Edmonton"),
    ("+1 867 555 0143", "Iqaluit, Nunavut", "America/Iqaluit"),
    ("+1 867 555 0143", "Whitehorse, Yukon", "America/Whitehorse"),
])
def test_an_area_code_spanning_two_zones_has_both(raw, place, zone):
    parsed = phone.parse(raw)
    assert zone in parsed.time_zones, place
    assert len(parsed.time_zones) >= 2


def test_libphonenumbers_zone_stays_first_and_one_zone_areas_keep_one():
    # The first zone is the one greetings and booked times default to (app/callbacks/booking.py).
    assert phone.parse("+1 850 555 0143").time_zones[0] == "America/New_York"
    assert phone.parse("+1 212 555 0143").time_zones == ("America/New_York",)
    assert phone.parse("+1 416 555 0143").time_zones == ("America/Toronto",)


def test_the_zone_table_says_what_is_wrong_with_it(tmp_path):
    bad = tmp_path / "number_zones.yaml"
    bad.write_text("areas:\n  - {codes: ['85'], zones: [America/Pensacola], where: x}\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        phone.nanp_extra_zones.__wrapped__(bad)
    assert "number_zones.yaml" in str(info.value)
    assert "'America/Pensacola' is not an IANA time zone" in str(info.value)
    assert "areas[0].codes[0]: '85' is not a North American area code" in str(info.value)
