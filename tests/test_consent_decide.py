"""decide(): table-driven, pure, with the time edges in the callee's zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.consent.decide import AttemptFact, ConsentFact, Facts, decide
from app.consent.packs import load_packs

PACKS = load_packs()


def local(zone: str, text: str) -> datetime:
    """A wall-clock time in `zone` as aware UTC ("2026-03-04 08:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def facts(country: str = "US", zones: tuple[str, ...] = ("America/New_York",), **kw) -> Facts:
    base = dict(e164="+12125550123", country=country, time_zones=zones, purpose="survey")
    base.update(kw)
    return Facts(**base)


def check(f: Facts, at: datetime, country: str | None = None):
    return decide(f, PACKS.get(country or f.country or ""), at)


# --- calling windows: US, in each of its zones ----------------------------------------------

US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"]


@pytest.mark.parametrize("zone", US_ZONES)
@pytest.mark.parametrize(("clock", "allowed"), [("07:59", False), ("08:00", True), ("20:59", True), ("21:00", False)])
def test_us_window_edges_in_every_zone(zone, clock, allowed):
    at = local(zone, f"2026-03-04 {clock}")  # a Wednesday, no holiday
    decision = check(facts(zones=(zone,)), at)
    assert decision.allowed is allowed, decision.reason
    if not allowed:
        assert decision.rule_id == "window"
        assert decision.next_allowed_at.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:00"
        assert decision.next_allowed_at > at


@pytest.mark.parametrize(
    ("zone_clock", "allowed"),
    [
        # +1 208 spans America/Boise (Mountain) and America/Los_Angeles (Pacific).
        (("America/Boise", "2026-03-04 08:00"), False),   # 07:00 in Los Angeles
        (("America/Los_Angeles", "2026-03-04 08:00"), True),
        (("America/Boise", "2026-03-04 20:59"), True),    # 19:59 in Los Angeles
        (("America/Boise", "2026-03-04 21:00"), False),
    ],
)
def test_number_spanning_two_zones_must_be_lawful_in_both(zone_clock, allowed):
    f = facts(zones=("America/Boise", "America/Los_Angeles"), e164="+12085550123")
    decision = check(f, local(*zone_clock))
    assert decision.allowed is allowed, decision.reason
    if not allowed:
        # The next lawful moment is 08:00 in the western zone, when both are open.
        assert decision.next_allowed_at.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%H:%M") == "08:00"


# --- US states stricter than the TCPA --------------------------------------------------------
# Fla. Stat. 501.616 (2021 SB 1120), the Oklahoma Telephone Solicitation Act of 2022 and
# Maryland's Stop the Spam Calls Act of 2023: sales calls from 8 a.m. to 8 p.m. in the called
# person's time; a call to one of the state's area codes is presumed to reach a resident.


@pytest.mark.parametrize(
    ("e164", "zone", "clock", "purpose", "allowed"),
    [
        ("+13055550123", "America/New_York", "2026-03-04 19:59", "sales", True),     # Miami
        ("+13055550123", "America/New_York", "2026-03-04 20:00", "sales", False),
        ("+13055550123", "America/New_York", "2026-03-04 20:30", "service", True),   # not a sales call
        ("+13055550123", "America/New_York", "2026-03-04 07:59", "sales", False),
        ("+14055550123", "America/Chicago", "2026-03-07 20:15", "sales", False),     # Oklahoma City
        ("+14105550123", "America/New_York", "2026-03-08 20:00", "sales", False),    # Baltimore
        ("+14105550123", "America/New_York", "2026-03-08 19:30", "sales", True),
        ("+12125550123", "America/New_York", "2026-03-04 20:30", "sales", True),     # New York: the TCPA's 9 p.m.
    ],
)
def test_a_states_own_hours_narrow_the_federal_window(e164, zone, clock, purpose, allowed):
    f = facts(zones=(zone,), e164=e164, purpose=purpose, consents=(consent(purpose=purpose),),
              registry_listed=False, registry_obtained_at=local(zone, clock) - timedelta(days=2))
    decision = check(f, local(zone, clock))
    assert decision.allowed is allowed, decision.reason


@pytest.mark.parametrize(
    ("e164", "zone", "clock", "automated", "allowed", "rule"),
    [
        # Tex. Bus. & Com. Code 301.051: Sundays from noon.
        ("+15125550123", "America/Chicago", "2026-03-08 11:30", False, False, "window"),
        ("+15125550123", "America/Chicago", "2026-03-08 12:30", False, True, "allowed"),
        # Ala. Admin. Code r. 770-X-5-.17: never on Sundays; Alabama's own holidays (Confederate
        # Memorial Day, the fourth Monday of April) closed too.
        ("+12055550123", "America/Chicago", "2026-03-08 12:00", False, False, "window"),
        ("+12055550123", "America/Chicago", "2026-04-27 12:00", False, False, "holiday"),
        # R.I. Gen. Laws 5-61-2: Saturdays 10 a.m. to 5 p.m.
        ("+14015550123", "America/New_York", "2026-03-07 17:30", False, False, "window"),
        # Utah Code 13-25a-103(3): no calls on a legal holiday (Pioneer Day, 24 July), and
        # Juneteenth on a Friday is kept the Monday before (63G-1-301 as amended in 2025).
        ("+18015550123", "America/Denver", "2026-07-24 12:00", False, False, "holiday"),
        ("+18015550123", "America/Denver", "2026-06-15 12:00", False, False, "holiday"),
        ("+18015550123", "America/Denver", "2026-06-16 12:00", False, True, "allowed"),
        # 73 P.S. 2245(a)(10): no calls on legal holidays; Good Friday and Flag Day are
        # Pennsylvania's (44 P.S. 11), not in python-holidays.
        ("+12155550123", "America/New_York", "2026-04-03 12:00", False, False, "holiday"),
        ("+12155550123", "America/New_York", "2026-06-15 12:00", False, True, "allowed"),
        # NRS 597.814: prerecorded messages from 9 a.m. only; a live call keeps the TCPA's 8 a.m.
        ("+17025550123", "America/Los_Angeles", "2026-03-04 08:30", True, False, "window"),
        ("+17025550123", "America/Los_Angeles", "2026-03-04 08:30", False, True, "allowed"),
        # SDCL 37-30-28: automated dialing on weekdays only.
        ("+16055550123", "America/Chicago", "2026-03-07 12:00", True, False, "window"),
    ],
)
def test_more_states_hours_days_and_holidays(e164, zone, clock, automated, allowed, rule):
    at = local(zone, clock)
    kind = "automated_voice" if automated else "voice"
    f = facts(zones=(zone,), e164=e164, purpose="sales", automated=automated,
              consents=(consent(written=True, channel=kind, at=at - timedelta(days=10)),),
              registry_listed=False, registry_obtained_at=at - timedelta(days=2))
    decision = check(f, at)
    assert (decision.allowed, decision.rule_id) == (allowed, rule), decision.reason


def test_a_state_refusal_names_the_state_and_reopens_at_eight():
    f = facts(e164="+18505550123", zones=("America/New_York", "America/Chicago"), purpose="sales",
              registry_listed=False, registry_obtained_at=local("America/New_York", "2026-03-02 12:00"))
    decision = check(f, local("America/Chicago", "2026-03-04 19:30"))  # 20:30 in Tallahassee
    assert (decision.allowed, decision.rule_id) == (False, "window")
    assert "US pack, Florida (FL)" in decision.reason
    assert decision.next_allowed_at == local("America/Chicago", "2026-03-05 08:00")


# --- DST start/end days --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "utc_open"),
    [
        ("2026-03-07", "13:00"),  # EST, the day before DST starts
        ("2026-03-08", "12:00"),  # DST starts (EDT)
        ("2026-10-31", "12:00"),  # EDT, the day before DST ends
        ("2026-11-01", "13:00"),  # DST ends (EST)
    ],
)
def test_us_dst_days_open_at_local_eight(day, utc_open):
    f = facts(zones=("America/New_York",))
    opening = datetime.fromisoformat(f"{day} {utc_open}").replace(tzinfo=UTC)
    assert check(f, opening).allowed
    before = check(f, opening - timedelta(minutes=1))
    assert not before.allowed and before.next_allowed_at == opening


@pytest.mark.parametrize(
    ("sunday", "next_utc"),
    [
        ("2026-03-29", "2026-03-30 07:00"),  # EU DST starts: Monday 09:00 CEST = 07:00 UTC
        ("2026-10-25", "2026-10-26 08:00"),  # EU DST ends: Monday 09:00 CET = 08:00 UTC
    ],
)
def test_italy_on_eu_dst_sundays_is_closed_and_reopens_at_local_nine(sunday, next_utc):
    # A service notice: the Registro (which covers surveys) is not what this test is about.
    f = facts(country="IT", zones=("Europe/Rome",), e164="+390212345678", purpose="service")
    decision = check(f, local("Europe/Rome", f"{sunday} 11:00"))
    assert not decision.allowed and decision.rule_id == "window"
    assert decision.next_allowed_at == datetime.fromisoformat(next_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "utc", "allowed"),
    [
        ("2026-03-29 07:59", "05:59", False),  # a pack open on Sundays, on the EU DST start day
        ("2026-03-29 08:00", "06:00", True),
        ("2026-10-25 08:00", "07:00", True),
        ("2026-10-25 20:59", "19:59", True),
        ("2026-10-25 21:00", "20:00", False),
    ],
)
def test_window_edges_on_eu_dst_days_with_a_seven_day_pack(text, utc, allowed):
    # The US pack (open every day 08-21) applied to a European zone isolates the DST arithmetic.
    at = local("Europe/Amsterdam", text)
    assert at.strftime("%H:%M") == utc
    assert check(facts(zones=("Europe/Amsterdam",)), at, "US").allowed is allowed


# --- other countries' windows and holidays -------------------------------------------------


@pytest.mark.parametrize(
    ("country", "zone", "text", "allowed", "rule"),
    [
        ("CA", "America/Toronto", "2026-03-04 08:59", False, "window"),
        ("CA", "America/Toronto", "2026-03-04 09:00", True, "allowed"),
        ("CA", "America/Toronto", "2026-03-04 21:29", True, "allowed"),
        ("CA", "America/Toronto", "2026-03-04 21:30", False, "window"),
        ("CA", "America/Vancouver", "2026-03-07 09:59", False, "window"),  # Saturday
        ("CA", "America/Vancouver", "2026-03-07 10:00", True, "allowed"),
        ("CA", "America/Vancouver", "2026-03-08 17:59", True, "allowed"),  # Sunday
        ("CA", "America/Vancouver", "2026-03-08 18:00", False, "window"),
        ("CA", "America/Toronto", "2026-07-01 12:00", False, "holiday"),  # Canada Day
        ("IT", "Europe/Rome", "2026-03-04 08:59", False, "window"),
        ("IT", "Europe/Rome", "2026-03-04 09:00", True, "allowed"),
        ("IT", "Europe/Rome", "2026-03-04 19:59", True, "allowed"),
        ("IT", "Europe/Rome", "2026-03-04 20:00", False, "window"),
        ("IT", "Europe/Rome", "2026-03-07 09:59", False, "window"),  # Saturday 10-19
        ("IT", "Europe/Rome", "2026-03-07 18:59", True, "allowed"),
        ("IT", "Europe/Rome", "2026-03-07 19:00", False, "window"),
        ("IT", "Europe/Rome", "2026-03-08 12:00", False, "window"),  # Sunday
        ("IT", "Europe/Rome", "2026-06-01 09:30", False, "window"),  # day before Festa della Repubblica
        ("IT", "Europe/Rome", "2026-06-01 10:00", True, "allowed"),
        ("IT", "Europe/Rome", "2026-06-01 19:00", False, "window"),
        ("IT", "Europe/Rome", "2026-06-02 12:00", False, "holiday"),  # Festa della Repubblica
        ("US", "America/New_York", "2026-11-26 12:00", False, "holiday"),  # Thanksgiving
        ("NL", "Europe/Amsterdam", "2026-04-27 12:00", False, "holiday"),  # Koningsdag
        ("GB", "Europe/London", "2026-12-25 12:00", False, "holiday"),
        ("GB", "Europe/London", "2026-03-04 19:59", True, "allowed"),
        ("GB", "Europe/London", "2026-03-04 20:00", False, "window"),
    ],
)
def test_country_windows_and_holidays(country, zone, text, allowed, rule):
    f = facts(country=country, zones=(zone,), purpose="service")
    decision = check(f, local(zone, text))
    assert (decision.allowed, decision.rule_id) == (allowed, rule), decision.reason
    if not allowed:
        assert decision.next_allowed_at is not None and decision.next_allowed_at > local(zone, text)


def test_holiday_next_allowed_skips_to_the_next_open_day():
    f = facts(country="IT", zones=("Europe/Rome",), purpose="service")
    decision = check(f, local("Europe/Rome", "2026-06-02 12:00"))
    assert decision.next_allowed_at == local("Europe/Rome", "2026-06-03 09:00")


# --- registries and their exemptions -------------------------------------------------------

NOW = local("America/New_York", "2026-03-04 12:00")
FRESH = NOW - timedelta(days=3)


def us_listed(**kw) -> Facts:
    return facts(purpose="sales", offer_id="fiber", registry_listed=True, registry_obtained_at=FRESH, **kw)


def consent(purpose="sales", written=False, at=NOW - timedelta(days=10), action="given", channel="voice", **kw):
    return ConsentFact(action=action, channel=channel, purpose=purpose, at=at, written=written, **kw)


@pytest.mark.parametrize(
    ("label", "f", "allowed", "rule"),
    [
        ("listed, no exemption", us_listed(), False, "registry.listed"),
        ("not listed", replace(us_listed(), registry_listed=False), True, "allowed"),
        ("purchase 17 months ago", us_listed(last_purchase_at=NOW - timedelta(days=17 * 30)), True, "allowed"),
        ("purchase 19 months ago", us_listed(last_purchase_at=NOW - timedelta(days=19 * 30)), False, "registry.listed"),
        ("inquiry 2 months ago", us_listed(last_inquiry_at=NOW - timedelta(days=60)), True, "allowed"),
        ("inquiry 4 months ago", us_listed(last_inquiry_at=NOW - timedelta(days=120)), False, "registry.listed"),
        ("written consent", us_listed(consents=(consent(written=True),)), True, "allowed"),
        ("oral consent is not written", us_listed(consents=(consent(),)), False, "registry.listed"),
        ("written consent withdrawn", us_listed(consents=(
            consent(written=True), consent(action="withdrawn", at=NOW - timedelta(days=1)))), False, "consent.withdrawn"),
        ("charity", replace(us_listed(), purpose="charity"), True, "allowed"),
        ("political", replace(us_listed(), purpose="political"), True, "allowed"),
        ("survey", replace(us_listed(), purpose="survey"), True, "allowed"),
        ("copy 31 days old", replace(us_listed(), registry_obtained_at=NOW - timedelta(days=31), registry_listed=False), True, "allowed"),
        ("copy 32 days old", replace(us_listed(), registry_obtained_at=NOW - timedelta(days=32)), False, "registry.stale"),
        ("no copy", replace(us_listed(), registry_obtained_at=None, registry_listed=None), False, "registry.missing"),
        ("stale copy does not block surveys", replace(us_listed(), purpose="survey", registry_obtained_at=None), True, "allowed"),
    ],
)
def test_us_registry_and_exemptions(label, f, allowed, rule):
    decision = check(f, NOW)
    assert (decision.allowed, decision.rule_id) == (allowed, rule), f"{label}: {decision.reason}"
    if rule.startswith("registry"):
        assert decision.next_allowed_at is None  # waiting does not help


def _listed(country: str, zone: str, **kw) -> Facts:
    return facts(country=country, zones=(zone,), purpose="sales", offer_id="fiber", registry_listed=True,
                 registry_obtained_at=FRESH, **kw)


CA_AT = local("America/Toronto", "2026-03-04 12:00")
IT_AT = local("Europe/Rome", "2026-03-04 12:00")
GB_AT = local("Europe/London", "2026-03-04 12:00")


@pytest.mark.parametrize(
    ("label", "f", "at", "allowed"),
    [
        ("CA listed", _listed("CA", "America/Toronto"), CA_AT, False),
        ("CA oral express consent", _listed("CA", "America/Toronto", consents=(consent(),)), CA_AT, True),
        ("CA inquiry 5 months ago", _listed("CA", "America/Toronto", last_inquiry_at=CA_AT - timedelta(days=150)), CA_AT, True),
        ("CA inquiry 7 months ago", _listed("CA", "America/Toronto", last_inquiry_at=CA_AT - timedelta(days=210)), CA_AT, False),
        ("CA business line", _listed("CA", "America/Toronto", is_business=True), CA_AT, True),
        ("CA charity", replace(_listed("CA", "America/Toronto"), purpose="charity"), CA_AT, True),
        ("IT listed", _listed("IT", "Europe/Rome"), IT_AT, False),
        ("IT earlier consent is revoked by registration", _listed("IT", "Europe/Rome", consents=(consent(),)), IT_AT, False),
        ("IT active contract", _listed("IT", "Europe/Rome", is_customer=True), IT_AT, True),
        ("IT contract ended 20 days ago", _listed("IT", "Europe/Rome", is_customer=True,
                                                  customer_until=IT_AT - timedelta(days=20)), IT_AT, True),
        ("IT contract ended 40 days ago", _listed("IT", "Europe/Rome", is_customer=True,
                                                  customer_until=IT_AT - timedelta(days=40)), IT_AT, False),
        # A former customer (no longer `is_customer`): the contract's end date decides. L. 5/2018
        # art. 1(5): contracts ended "da non più di trenta giorni".
        ("IT former customer, ended 30 days ago", _listed("IT", "Europe/Rome",
                                                           customer_until=IT_AT - timedelta(days=30)), IT_AT, True),
        ("IT former customer, ended 31 days ago", _listed("IT", "Europe/Rome",
                                                           customer_until=IT_AT - timedelta(days=31)), IT_AT, False),
        ("IT contract ending next month", _listed("IT", "Europe/Rome", is_customer=True,
                                                  customer_until=IT_AT + timedelta(days=30)), IT_AT, True),
        # Codice privacy art. 130(3-bis): the Registro covers "ricerche di mercato" too.
        ("IT survey to a listed number", replace(_listed("IT", "Europe/Rome"), purpose="survey"), IT_AT, False),
        ("GB listed", _listed("GB", "Europe/London"), GB_AT, False),
        ("GB consent to this caller", _listed("GB", "Europe/London", consents=(consent(),)), GB_AT, True),
        ("GB charity is marketing too", replace(_listed("GB", "Europe/London"), purpose="charity"), GB_AT, False),
    ],
)
def test_other_registries_and_exemptions(label, f, at, allowed):
    decision = check(f, at)
    assert decision.allowed is allowed, f"{label}: {decision.rule_id} {decision.reason}"
    if not allowed:
        assert decision.rule_id == "registry.listed"


@pytest.mark.parametrize(
    ("age_days", "country", "zone", "allowed"),
    [(15, "IT", "Europe/Rome", True), (16, "IT", "Europe/Rome", False),
     (28, "GB", "Europe/London", True), (29, "GB", "Europe/London", False)],
)
def test_registry_max_age_per_pack(age_days, country, zone, allowed):
    at = local(zone, "2026-03-04 12:00")
    f = replace(_listed(country, zone), registry_listed=False, registry_obtained_at=at - timedelta(days=age_days))
    decision = check(f, at)
    assert decision.allowed is allowed, decision.reason
    assert allowed or decision.rule_id == "registry.stale"


# --- automated calls (US written consent, CA express consent) ------------------------------


@pytest.mark.parametrize(
    ("label", "f", "allowed"),
    [
        ("no consent", facts(purpose="sales", automated=True, registry_listed=False, registry_obtained_at=FRESH), False),
        ("relationship is not enough", facts(purpose="sales", automated=True, registry_listed=False,
                                             registry_obtained_at=FRESH, last_purchase_at=NOW - timedelta(days=5)), False),
        ("oral consent is not enough", facts(purpose="sales", automated=True, registry_listed=False,
                                             registry_obtained_at=FRESH, consents=(consent(),)), False),
        ("written consent to live calls only", facts(purpose="sales", automated=True, registry_listed=False,
                                                     registry_obtained_at=FRESH, consents=(consent(written=True),)), False),
        ("written consent to automated calls", facts(
            purpose="sales", automated=True, registry_listed=False, registry_obtained_at=FRESH,
            consents=(consent(written=True, channel="automated_voice"),)), True),
        # 47 CFR 64.1200(a)(1)(iii): an artificial-voice call to a mobile needs prior express
        # consent whatever its purpose; a US number may always be a mobile.
        ("automated survey without consent", facts(purpose="survey", automated=True), False),
        ("automated survey with oral consent", facts(purpose="survey", automated=True, consents=(
            consent(purpose="survey", channel="automated_voice"),)), True),
        ("live survey", facts(purpose="survey", automated=False), True),
    ],
)
def test_us_automated_marketing_needs_written_consent(label, f, allowed):
    decision = check(f, NOW)
    assert decision.allowed is allowed, f"{label}: {decision.reason}"
    assert allowed or decision.rule_id == "automated.consent_required"


# --- NL opt-in -----------------------------------------------------------------------------

NL_AT = local("Europe/Amsterdam", "2026-03-04 12:00")


BROADBAND = {"offer_category": "broadband", "owned_categories": frozenset({"broadband"})}


def nl(**kw) -> Facts:
    return facts(country="NL", zones=("Europe/Amsterdam",), e164="+31612345678", purpose="sales", offer_id="fiber", **kw)


@pytest.mark.parametrize(
    ("label", "f", "allowed"),
    [
        ("no opt-in", nl(), False),
        ("opt-in for this offer", nl(consents=(consent(offer_ids=("fiber",)),)), True),
        ("opt-in for another offer", nl(consents=(consent(offer_ids=("tv",)),)), False),
        ("opt-in expired", nl(consents=(consent(valid_until=NL_AT - timedelta(days=1)),)), False),
        ("opt-in for any purpose", nl(consents=(consent(purpose="any"),)), True),
        ("charity without opt-in", replace(nl(), purpose="charity"), False),
        ("survey without opt-in", replace(nl(), purpose="survey"), True),
        # Sole traders and partnerships are natural persons (art. 11.7): a business line is not
        # enough, only a legal person is outside the opt-in.
        ("business line of a sole trader", nl(is_business=True), False),
        ("legal person", nl(is_business=True, legal_person=True), True),
        # The customer exception covers the company's own *similar* products only.
        ("current customer, similar product", nl(is_customer=True, **BROADBAND), True),
        ("current customer, another kind of product", nl(is_customer=True, offer_category="broadband",
                                                         owned_categories=frozenset({"television"})), False),
        ("current customer, offer of no known kind", nl(is_customer=True), False),
        ("current customer, charity appeal", replace(nl(is_customer=True, **BROADBAND), purpose="charity"), False),
        ("former customer 35 months", nl(is_customer=False, customer_until=NL_AT - timedelta(days=35 * 30),
                                         **BROADBAND), True),
        ("former customer 37 months", nl(is_customer=False, customer_until=NL_AT - timedelta(days=37 * 30),
                                         **BROADBAND), False),
    ],
)
def test_nl_needs_opt_in_for_marketing_to_consumers(label, f, allowed):
    decision = check(f, NL_AT)
    assert decision.allowed is allowed, f"{label}: {decision.reason}"
    assert allowed or decision.rule_id == "optin.required"


# --- courtesy ------------------------------------------------------------------------------

T0 = local("America/New_York", "2026-03-02 12:00")


def answered(at: datetime, offer: str = "fiber", outcome: str = "declined") -> AttemptFact:
    return AttemptFact(at=at, purpose="survey", offer_id=offer, outcome=outcome)


@pytest.mark.parametrize(
    ("label", "attempts", "at", "allowed", "rule"),
    [
        ("same offer day 29", (answered(T0),), T0 + timedelta(days=29), False, "courtesy.same_offer"),
        ("same offer day 31", (answered(T0),), T0 + timedelta(days=31), True, "allowed"),
        ("same offer accepted, day 29", (answered(T0, outcome="accepted"),), T0 + timedelta(days=29), False, "courtesy.same_offer"),
        ("other offer day 1", (answered(T0, offer="tv"),), T0 + timedelta(days=1), True, "allowed"),
        ("no-answer 3 hours ago", (answered(T0, outcome="no-answer"),), T0 + timedelta(hours=3), False, "courtesy.retry_spacing"),
        ("no-answer 5 hours ago", (answered(T0, outcome="no-answer"),), T0 + timedelta(hours=5), True, "allowed"),
        ("busy 20 minutes ago", (answered(T0, outcome="busy"),), T0 + timedelta(minutes=20), False, "courtesy.retry_spacing"),
        ("busy 31 minutes ago", (answered(T0, outcome="busy"),), T0 + timedelta(minutes=31), True, "allowed"),
        ("call under way", (answered(T0, outcome=None),), T0 + timedelta(minutes=5), False, "courtesy.retry_spacing"),
        ("machine 71 hours ago", (answered(T0, outcome="machine"),), T0 + timedelta(hours=71), False, "courtesy.abandoned"),
        ("abandoned 73 hours ago", (answered(T0, outcome="abandoned"),), T0 + timedelta(hours=73), True, "allowed"),
        ("two attempts today", (answered(T0 - timedelta(hours=8), "a", "busy"), answered(T0 - timedelta(hours=2), "b", "busy")),
         T0, False, "courtesy.max_per_day"),
        ("five attempts this week", tuple(answered(T0 - timedelta(days=d), str(d), "busy") for d in (1, 2, 3, 4, 5)),
         T0, False, "courtesy.max_per_week"),
    ],
)
def test_courtesy_rules(label, attempts, at, allowed, rule):
    f = facts(purpose="sales", offer_id="fiber", registry_listed=False, registry_obtained_at=at - timedelta(days=1),
              attempts=attempts)
    decision = check(f, at)
    assert (decision.allowed, decision.rule_id) == (allowed, rule), f"{label}: {decision.reason}"
    if not allowed:
        assert decision.next_allowed_at is not None and decision.next_allowed_at > at
        assert check(f, decision.next_allowed_at).allowed, f"{label}: next_allowed_at must be lawful"


def test_same_offer_next_allowed_is_day_30_within_calling_hours():
    f = facts(purpose="sales", offer_id="fiber", registry_listed=False, registry_obtained_at=T0 + timedelta(days=28),
              attempts=(answered(T0),))
    decision = check(f, T0 + timedelta(days=29))
    assert decision.next_allowed_at == T0 + timedelta(days=30)


def test_italy_waits_seven_days_after_an_abandoned_call():
    at0 = local("Europe/Rome", "2026-03-02 12:00")
    f = facts(country="IT", zones=("Europe/Rome",), purpose="service", attempts=(answered(at0, outcome="abandoned"),))
    assert check(f, at0 + timedelta(hours=100)).rule_id == "courtesy.abandoned"
    assert check(f, at0 + timedelta(hours=169)).allowed


@pytest.mark.parametrize(
    ("label", "automated", "later", "allowed", "rule"),
    [
        ("an automated call after the wait", True, (), False, "courtesy.abandoned_operator"),
        ("a call with an operator after the wait", False, (), True, "allowed"),
        ("an automated call once an operator has reached the person", True, ("completed",), True, "allowed"),
        ("an automated call after later unanswered tries", True, ("no-answer",), False, "courtesy.abandoned_operator"),
        ("an automated call after a later answering machine", True, ("machine",), False, "courtesy.abandoned_operator"),
    ],
)
def test_italy_calls_again_after_a_silent_call_only_with_an_operator(label, automated, later, allowed, rule):
    # Garante, 20 Feb 2014 (silent calls): the number not called again for days, "then only with
    # a guaranteed operator" (COMPLIANCE.md, Italy).
    at0 = local("Europe/Rome", "2026-03-02 12:00")
    attempts = (answered(at0, outcome="abandoned"),
                *(answered(at0 + timedelta(days=8, hours=i), outcome=o) for i, o in enumerate(later)))
    consents = (consent(channel="automated_voice", purpose="service", at=at0 - timedelta(days=30)),)
    f = facts(country="IT", zones=("Europe/Rome",), purpose="service", automated=automated,
              attempts=attempts, consents=consents)
    decision = check(f, at0 + timedelta(days=9))
    assert (decision.allowed, decision.rule_id) == (allowed, rule), f"{label}: {decision.reason}"
    assert decision.next_allowed_at is None


def test_callbacks_skip_courtesy_but_not_opt_outs():
    attempts = (answered(T0, outcome="machine"), answered(T0 + timedelta(minutes=1), outcome="busy"))
    f = facts(purpose="callback", offer_id="fiber", attempts=attempts)
    assert check(f, T0 + timedelta(hours=1)).allowed
    opted = replace(f, opted_out_at=T0)
    decision = check(opted, T0 + timedelta(hours=1))
    assert (decision.allowed, decision.rule_id, decision.next_allowed_at) == (False, "optout.internal_dnc", None)


# --- final refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "f", "rule"),
    [
        ("existing customer of the offer", facts(purpose="sales", offer_id="fiber", owned_offers=frozenset({"fiber"})),
         "courtesy.owned_product"),
        ("opted out", facts(opted_out_at=NOW - timedelta(seconds=1)), "optout.internal_dnc"),
        ("suppressed", facts(suppressed=True), "suppression"),
        ("erased", facts(erased=True), "suppression"),
        ("unknown country", facts(country="FR", zones=("Europe/Paris",)), "pack.missing"),
        ("no zone", facts(zones=()), "zone.unknown"),
        ("unknown purpose", facts(purpose="spam"), "input.purpose"),
        ("consent withdrawn", facts(purpose="survey", consents=(consent("survey", action="withdrawn"),)), "consent.withdrawn"),
    ],
)
def test_final_refusals(label, f, rule):
    decision = check(f, NOW)
    assert (decision.allowed, decision.rule_id, decision.next_allowed_at) == (False, rule, None), label
    assert decision.reason


def test_owned_product_does_not_block_other_offers_or_service_calls():
    f = facts(purpose="sales", offer_id="tv", owned_offers=frozenset({"fiber"}), registry_listed=False,
              registry_obtained_at=FRESH)
    assert check(f, NOW).allowed
    assert check(replace(f, purpose="service", offer_id="fiber"), NOW).allowed


def test_an_opt_out_recorded_after_the_moment_does_not_rewrite_history():
    assert check(facts(opted_out_at=NOW + timedelta(hours=1)), NOW).allowed


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        decide(facts(), PACKS["US"], datetime(2026, 3, 4, 12, 0))


def test_decision_explains_itself():
    decision = check(facts(zones=("America/Chicago",)), local("America/Chicago", "2026-03-04 21:00"))
    assert "21:00" in decision.reason and "America/Chicago" in decision.reason and "08:00-21:00" in decision.reason
