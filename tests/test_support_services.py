"""Support services without a call: references, warranty, hours, anger, FAQ, orders, tickets."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.db import session_scope
from app.flows import anger, hours
from app.support import faq, orders, references, services, warranty
from app.support.models import CustomerProduct, Product, Ticket, WarrantyClaim

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- references


def test_references_are_seven_digits_with_a_valid_check_digit():
    refs = {references.make_reference() for _ in range(200)}
    assert all(len(r) == 7 and r.isdigit() and r[0] != "0" for r in refs)
    assert all(references.is_valid(r) for r in refs)


@pytest.mark.parametrize("ref", ["5724", "57240", "572405"])
def test_damm_known_vector_and_short_input(ref):
    # 572 -> check digit 4 is the textbook Damm example.
    assert references.damm_digit("572") == 4
    assert references.is_valid("5724") is False  # too short to be one of ours
    assert not references.is_valid(ref)


def test_reference_detects_single_digit_slip_and_adjacent_swap():
    ref = references.make_reference()
    slipped = ref[:3] + str((int(ref[3]) + 1) % 10) + ref[4:]
    assert not references.is_valid(slipped)
    if ref[1] != ref[2]:
        swapped = ref[0] + ref[2] + ref[1] + ref[3:]
        assert not references.is_valid(swapped)


# ---------------------------------------------------------------- warranty

TERMS = warranty.parse_terms(
    {
        "default_country": "IT",
        "default_commercial_months": 12,
        "legal_guarantee_months": {"IT": 24, "GB": 72, "default": 24},
        "categories": {"tv": 36},
        "products": {"ROUTER-PRO": 48},
    }
)


def test_commercial_warranty_covers_before_legal_would():
    d = warranty.decide(purchased_on=date(2025, 6, 1), today=date(2026, 3, 2), country="IT",
                        category="tv", terms=TERMS)
    assert d.covered and d.reason == warranty.REASON_COMMERCIAL and d.covered_until == date(2028, 6, 1)


def test_legal_guarantee_covers_after_commercial_ended():
    d = warranty.decide(purchased_on=date(2024, 9, 1), today=date(2026, 3, 2), country="IT",
                        product_months=12, terms=TERMS)
    assert d.covered and d.reason == warranty.REASON_LEGAL and d.covered_until == date(2026, 9, 1)


def test_expired_names_the_end_date():
    d = warranty.decide(purchased_on=date(2023, 1, 10), today=date(2026, 3, 2), country="IT", terms=TERMS)
    assert not d.covered and d.reason == warranty.REASON_EXPIRED and d.covered_until == date(2025, 1, 10)
    assert d.outcome == "refused"


def test_country_changes_the_legal_period_and_sku_override_wins():
    gb = warranty.decide(purchased_on=date(2022, 1, 10), today=date(2026, 3, 2), country="GB", terms=TERMS)
    assert gb.covered and gb.reason == warranty.REASON_LEGAL
    sku = warranty.decide(purchased_on=date(2022, 6, 1), today=date(2026, 3, 2), country="IT",
                          sku="ROUTER-PRO", product_months=12, terms=TERMS)
    assert sku.covered and sku.reason == warranty.REASON_COMMERCIAL


def test_each_cover_keeps_its_own_end_and_a_country_without_a_period_has_none():
    # The UK's Consumer Rights Act 2015 sets no guarantee period: null in the terms.
    terms = warranty.parse_terms({"legal_guarantee_months": {"IT": 24, "GB": None}})
    it = warranty.decide(purchased_on=date(2025, 6, 1), today=date(2026, 3, 2), country="IT", product_months=12,
                         terms=terms)
    assert (it.reason, it.warranty_until, it.legal_until) == (warranty.REASON_COMMERCIAL, date(2026, 6, 1),
                                                              date(2027, 6, 1))
    gb = warranty.decide(purchased_on=date(2025, 1, 10), today=date(2026, 3, 2), country="GB", product_months=12,
                         terms=terms)
    assert (gb.covered, gb.reason, gb.covered_until, gb.legal_until) == (False, warranty.REASON_EXPIRED,
                                                                         date(2026, 1, 10), None)
    assert warranty.TERMS.current().legal_months("GB") is None


def test_last_day_is_covered_and_future_purchase_is_refused():
    d = warranty.decide(purchased_on=date(2024, 3, 2), today=date(2026, 3, 2), country="IT", terms=TERMS)
    assert d.covered
    future = warranty.decide(purchased_on=date(2026, 5, 1), today=date(2026, 3, 2), country="IT", terms=TERMS)
    assert not future.covered and future.reason == warranty.REASON_FUTURE_DATE


def test_shipped_terms_file_loads():
    terms = warranty.TERMS.current()
    assert terms.legal_months("it") == 24 and terms.legal_months("XX") == terms.legal_guarantee_months["default"]


@pytest.mark.parametrize("bad", [{"categories": {"tv": "three"}}, {"legal_guarantee_months": {"IT": -1}},
                                 {"default_commercial_months": "x"}])
def test_bad_terms_are_rejected_with_the_entry_named(bad):
    with pytest.raises(ValueError, match="warranty terms"):
        warranty.parse_terms(bad)


@pytest.mark.parametrize(
    "digits, expected",
    [("03032024", date(2024, 3, 3)), ("030324", date(2024, 3, 3)), ("31022024", None),
     ("1234", None), ("", None), ("0303202#", None)],
)
def test_keypad_dates(digits, expected):
    assert warranty.parse_keypad_date(digits) == expected


@pytest.mark.parametrize(
    "text, language",
    [("il 3 marzo 2024", "it"), ("l'ho comprato il 3 marzo 2024", "it"),
     ("op 3 maart 2024", "nl"), ("ik heb het gekocht op 3 maart 2024", "nl"),
     ("the 3rd of March 2024", "en"), ("3 March 2024", "en")],
)
def test_spoken_dates_in_each_language(text, language):
    assert warranty.parse_purchase_date(text, language, date(2026, 3, 2)) == date(2024, 3, 3)


@pytest.mark.parametrize("text", ["banana", "", "   "])
def test_unparseable_spoken_dates_are_none(text):
    assert warranty.parse_purchase_date(text, "en", date(2026, 3, 2)) is None


# ---------------------------------------------------------------- hours

WEEK = {"mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-13:00, 14:00-18:00",
        "thu": "09:00-18:00", "fri": "09:00-18:00", "sat": "09:00-13:00", "sun": "closed"}


def _rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Rome"))


def test_open_and_closed_in_the_hotline_time_zone():
    h = hours.parse_hours(WEEK, time_zone="Europe/Rome", country="IT")
    assert h.is_open(_rome(2026, 3, 2, 9, 0))          # Monday 09:00 local
    assert not h.is_open(_rome(2026, 3, 2, 8, 59))
    assert not h.is_open(_rome(2026, 3, 2, 18, 0))      # end is exclusive
    assert not h.is_open(_rome(2026, 3, 4, 13, 30))     # Wednesday lunch break
    assert h.is_open(_rome(2026, 3, 7, 12, 59))         # Saturday morning
    assert not h.is_open(_rome(2026, 3, 8, 11, 0))      # Sunday
    # 08:30 UTC is 09:30 in Rome (winter): open.
    assert h.is_open(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))


@pytest.mark.parametrize("country, day", [("IT", date(2026, 6, 2)), ("NL", date(2026, 4, 27)),
                                          ("GB", date(2026, 12, 25))])
def test_national_holidays_close_the_line(country, day):
    zone = {"IT": "Europe/Rome", "NL": "Europe/Amsterdam", "GB": "Europe/London"}[country]
    h = hours.parse_hours(WEEK, time_zone=zone, country=country)
    assert not h.is_open(datetime(day.year, day.month, day.day, 11, 0, tzinfo=ZoneInfo(zone)))
    nxt = h.next_opening(datetime(day.year, day.month, day.day, 11, 0, tzinfo=ZoneInfo(zone)))
    assert nxt is not None and nxt.date() > day and nxt.hour == 9


def test_next_opening_skips_the_weekend_and_closing_time():
    h = hours.parse_hours(WEEK, time_zone="Europe/Rome", country="IT")
    assert h.next_opening(_rome(2026, 3, 7, 14, 0)) == _rome(2026, 3, 9, 9, 0)
    assert h.closing_time(_rome(2026, 3, 4, 10, 0)) == _rome(2026, 3, 4, 13, 0)
    assert h.closing_time(_rome(2026, 3, 8, 10, 0)) is None


@pytest.mark.parametrize(
    "week, zone, country, message",
    [({"mon": "9-18"}, "Europe/Rome", "IT", "hours.mon"),
     ({"mon": "18:00-09:00"}, "Europe/Rome", "IT", "ends before"),
     ({"funday": "09:00-10:00"}, "Europe/Rome", "IT", "unknown day"),
     ({"mon": "09:00-25:00"}, "Europe/Rome", "IT", "not a time"),
     ({}, "Mars/Base", "IT", "time_zone"),
     ({}, "Europe/Rome", "QQ", "country")],
)
def test_bad_hours_are_rejected_with_a_clear_message(week, zone, country, message):
    with pytest.raises(hours.HoursError, match=message):
        hours.parse_hours(week, time_zone=zone, country=country)


# ---------------------------------------------------------------- anger


@pytest.mark.parametrize(
    "text, language, level",
    [("siete degli incompetenti, è una vergogna", "it", "angry"),
     ("vaffanculo", "it", "abusive"),
     ("il router non si accende", "it", "none"),
     ("dit is echt belachelijk", "nl", "angry"),
     ("stelletje klootzakken", "nl", "abusive"),
     ("fuck jullie", "nl", "abusive"),          # English swearing counts in Dutch too
     ("mijn modem doet het niet", "nl", "none"),
     ("this is absolutely ridiculous", "en", "angry"),
     ("you idiots", "en", "abusive"),
     ("my router will not turn on", "en", "none"),
     ("I already called", "en", "frustrated"),
     ("I'm no idiot, I know what I ordered", "en", "none")],  # "no" denies, as "not" does
)
def test_anger_lexicon_per_language(text, language, level):
    assert anger.assess(text, language).level == level


def test_words_match_whole_words_only_and_accents_do_not_matter():
    assert anger.assess("bastante bene", "it").level == "none"
    assert anger.assess("NON NE POSSO PIÙ", "it").level == "angry"


def test_repeated_failures_escalate():
    stuck = anger.assess("", "en", failures=3)
    assert stuck.level == "stuck" and not stuck.escalate  # confusion is not anger
    assert anger.assess("I already called", "en", failures=2).level == "angry"
    assert not anger.assess("", "en", failures=1).escalate


# ---------------------------------------------------------------- FAQ


@pytest.mark.parametrize(
    "language, said, topic",
    [("en", "when are you open", "opening_hours"), ("en", "I forgot my wifi password", "wifi_password"),
     ("en", "I want my money back", "returns"), ("en", "2", "internet_down"),
     ("it", "quando siete aperti", "opening_hours"), ("it", "non va internet", "internet_down"),
     ("it", "vorrei fare la disdetta", "cancel_contract"), ("it", "7", "shipping"),
     ("nl", "wanneer zijn jullie open", "opening_hours"), ("nl", "ik ga verhuizen", "moving_house"),
     ("nl", "ik wil mijn geld terug", "returns"), ("nl", "4", "billing")],
)
def test_faq_matches_by_key_or_words(language, said, topic):
    found = faq.match(faq.load(language), said)
    assert found is not None and found.topic.id == topic


@pytest.mark.parametrize("language, said, topic", [
    # "saturday" is an opening-hours keyword, but deliveries and visits name it too: the word
    # only one topic holds ("engineer", "monteur") decides
    ("en", "Can the engineer come on a Saturday?", "technician_visit"),
    ("nl", "Kan de monteur op zaterdag komen?", "technician_visit"),
    ("it", "Il tecnico può venire di sabato?", "technician_visit"),
])
def test_a_keyword_counts_by_how_much_it_singles_its_topic_out(language, said, topic):
    found = faq.match(faq.load(language), said)
    assert found is not None and found.topic.id == topic


@pytest.mark.parametrize("language, said", [("en", "what's the weather like"), ("en", "the"),
                                            ("it", "che tempo fa domani"), ("it", "il"),
                                            ("nl", "het weer van morgen"), ("nl", "9"), ("en", "")])
def test_faq_leaves_unrelated_questions_unanswered(language, said):
    assert faq.match(faq.load(language), said) is None


def test_every_language_has_the_same_topics_and_keys():
    loaded = [faq.load(lang) for lang in ("it", "nl", "en")]
    ids = [{(t.id, t.key) for t in k.topics} for k in loaded]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) >= 8


def test_bad_knowledge_file_names_the_problem():
    with pytest.raises(faq.FaqError, match="question phrasing"):
        faq.parse_knowledge({"topics": [{"id": "x", "title": "t", "answer": "a"}]}, "x.yaml")
    with pytest.raises(faq.FaqError, match="duplicate"):
        topic = {"id": "x", "key": "1", "title": "t", "answer": "a", "questions": ["q"]}
        faq.parse_knowledge({"topics": [topic, dict(topic, id="y")]}, "x.yaml")


# ---------------------------------------------------------------- orders

CSV = """number,customer_number,customer_name,description,status,carrier,tracking,ordered_on,expected_on,country
4711,+393471234567,Giulia Rossi,Router Fibra X2,shipped,BRT,BRT123,2026-02-20,2026-02-25,
4712,0612345678,Jan de Vries,Smart TV 55,processing,,,2026-02-28,05/03/2026,NL
4713,+393471234567,Giulia Rossi,Cuffie,teleported,,,2026-02-01,2026-02-03,
4714,not-a-phone,X,Y,shipped,,,2026-02-01,2026-02-03,
4715,,,,delivered,,,2026-02-01,2026-02-31,
4711,+393471234567,Giulia Rossi,dup,shipped,,,,,
"""


def test_orders_import_reports_bad_lines_and_keeps_good_ones(app):
    with session_scope(app) as session:
        report = orders.import_csv(session, io.StringIO(CSV), AT)
    assert (report.created, report.updated) == (2, 0)
    lines = dict(report.errors)
    assert "status" in lines[4] and "customer_number" in lines[5]
    assert "expected_on" in lines[6] and "twice" in lines[7]
    with session_scope(app) as session:
        nl = orders.find_order(session, "4712")
        assert nl.customer_number == "+31612345678" and nl.expected_on == date(2026, 3, 5)
        assert [o.number for o in orders.open_orders_for(session, "+393471234567")] == ["4711"]


def test_orders_import_updates_existing_and_rejects_a_bad_header(app):
    with session_scope(app) as session:
        orders.import_csv(session, io.StringIO(CSV), AT)
        again = orders.import_csv(session, io.StringIO("number,status\n4711,delivered\n"), AT)
        assert (again.created, again.updated) == (0, 1)
        assert orders.find_order(session, " 47-11 ").status == "delivered"
        bad = orders.import_csv(session, io.StringIO("id,state\n1,shipped\n"), AT)
        assert bad.errors and bad.errors[0][0] == 1 and "number" in bad.errors[0][1]


def test_keyed_digits_find_an_order_with_letters_only_when_unambiguous(app):
    with session_scope(app) as session:
        report = orders.import_records(session, [{"number": "A-4711", "status": "shipped"},
                                                 {"number": "B-5000", "status": "shipped"},
                                                 {"number": "C-5000", "status": "shipped"}], AT)
        assert (report.created, report.errors) == (3, [])
        assert orders.find_order(session, "4711").number == "A4711"
        assert orders.find_order(session, "5000") is None  # B-5000 or C-5000: we do not guess
        assert orders.find_order(session, "711") is None
        assert orders.find_order(session, "c5000").number == "C5000"


def test_api_records_change_only_the_fields_sent_csv_lines_the_whole_order(app):
    with session_scope(app) as session:
        orders.import_records(session, [{"number": "4711", "status": "shipped", "carrier": "BRT",
                                         "customer_number": "+393471234567", "expected_on": "2026-03-05"}], AT)
        orders.import_records(session, [{"number": "4711", "status": "out for delivery"}], AT)
        order = orders.find_order(session, "4711")
        assert (order.status, order.carrier, order.customer_number, order.expected_on) == (
            "out_for_delivery", "BRT", "+393471234567", date(2026, 3, 5))
        orders.import_csv(session, io.StringIO("number,status\n4711,delivered\n"), AT)
        assert (order.status, order.carrier, order.expected_on) == ("delivered", None, None)
        bad = orders.import_records(session, [{"number": "", "status": "shipped"},
                                              {"number": "9", "status": "shipped"},
                                              {"number": "9", "status": "shipped"}], AT, first_line=0)
        assert [i for i, _ in bad.errors] == [0, 2] and "twice" in bad.errors[1][1]


def test_delivery_lateness():
    order = orders.Order(number="1", status="shipped", expected_on=date(2026, 2, 25), updated_at=AT)
    assert orders.delivery_state(order, date(2026, 2, 25)).late is False
    late = orders.delivery_state(order, date(2026, 3, 2))
    assert late.late and late.days_late == 5
    order.status = "delivered"
    assert orders.delivery_state(order, date(2026, 3, 2)).late is False


# ---------------------------------------------------------------- tickets and claims


def _seed_units(session):
    router = Product(sku="FIBRA-BOX-X2", name="Router", names={"it": "il router"}, category="router",
                     warranty_months=24)
    tv = Product(sku="TV-55", name="Smart TV", names={}, category="tv", warranty_months=None)
    session.add_all([router, tv])
    session.flush()
    session.add_all([
        CustomerProduct(serial="SN1001", product_id=router.id, owner_number="+393471234567",
                        purchased_on=date(2025, 10, 1), country="IT"),
        CustomerProduct(serial="SN2002", product_id=tv.id, owner_number="+393471234567",
                        purchased_on=date(2021, 1, 15), country="IT"),
    ])
    session.flush()


def test_tickets_get_unique_references_and_reject_bad_kinds(app):
    caller = services.CallerRef(number="+393471234567", call_sid="CA1", language="it")
    with session_scope(app) as session:
        a = services.create_ticket(session, kind="fault", at=AT, caller=caller, description="non si accende")
        b = services.create_ticket(session, kind="complaint", at=AT, caller=caller, flagged=True,
                                   priority="high")
        assert a.reference != b.reference and references.is_valid(a.reference)
        with pytest.raises(ValueError, match="kind"):
            services.create_ticket(session, kind="nonsense", at=AT, caller=caller)
    with session_scope(app) as session:
        assert services.find_ticket(session, a.reference).description == "non si accende"
        assert len(services.open_tickets_for(session, "+393471234567")) == 2
        assert services.ticket_for_call(session, "CA1", "complaint").flagged is True


@pytest.mark.parametrize(
    "serial, said_date, outcome, reason",
    [("SN1001", None, "accepted", "commercial_warranty"),
     ("sn-1001", None, "accepted", "commercial_warranty"),
     ("SN2002", None, "refused", "expired"),
     ("SN9999", date(2025, 1, 1), "needs_review", "unknown_serial")],
)
def test_claims_are_stored_whatever_the_outcome(app, serial, said_date, outcome, reason):
    caller = services.CallerRef(number="+393471234567", call_sid="CA2", language="it")
    with session_scope(app) as session:
        _seed_units(session)
        result = services.make_claim(session, serial=serial, purchased_on=said_date, at=AT,
                                     today=AT.date(), caller=caller)
        ref = result.claim.reference
    with session_scope(app) as session:
        claim = services.find_claim(session, ref)
        assert (claim.outcome, claim.reason) == (outcome, reason)
        assert claim.caller_number == "+393471234567" and claim.language == "it"
        assert session.query(WarrantyClaim).count() == 1 and session.query(Ticket).count() == 0
