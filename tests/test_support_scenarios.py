"""The support hotline as callers live it, through the simulator, in it/nl/en:
information (by key, in words, unanswered), fault reports, warranty claims, delivery status.

Each scenario rings the hotline of its language (flows/hotlines.yaml) from a number of that
country, acts like the caller (keys, words, silence, hanging up) and checks both what was said
and what was stored. Operator, anger, recognition, silence and hang-ups:
test_support_scenarios_calls.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.models import Call, CallStep
from app.support import faq
from app.support.models import CustomerProduct, Order, Product, Ticket, WarrantyClaim

LANGS = ("it", "nl", "en")
# Caller and hotline per language: a mobile of that country dialling that country's line.
LINES = {
    "it": ("+393471234567", "+390212345678"),
    "nl": ("+31612345678", "+31201234567"),
    "en": ("+447812345678", "+442071234567"),
}
# Monday 2 March 2026, 11:00 in Rome and Amsterdam, 10:00 in London: operators are in.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# What the caller hears, per language (substrings of the flows' prompts).
T: dict[str, dict[str, str]] = {
    "menu": {"it": "Per informazioni prema 1", "nl": "Voor informatie druk op 1",
             "en": "For information, press 1"},
    "faq_menu": {"it": "scelga un argomento", "nl": "kies een onderwerp", "en": "choose a topic"},
    "after_answer": {"it": "Per riascoltare prema 1", "nl": "Om het nog eens te horen, druk op 1",
                     "en": "To hear that again, press 1"},
    "unanswered": {"it": "non ho una risposta sicura", "nl": "geen zeker antwoord",
                   "en": "I don't have a reliable answer"},
    "when": {"it": "Quando preferisce essere richiamato?", "nl": "Wanneer wilt u worden teruggebeld?",
             "en": "When would you like us to call you back?"},
    "operator": {"it": "La metto in contatto con un operatore", "nl": "Ik verbind u door met een medewerker",
                 "en": "Let me put you through to an operator"},
    "confirm_product": {"it": "Il guasto riguarda", "nl": "Gaat de storing over", "en": "Is the fault with"},
    "choose_product": {"it": "Quale prodotto non funziona?", "nl": "Welk product werkt niet?",
                       "en": "Which product is not working?"},
    "family": {"it": "Di che prodotto si tratta?", "nl": "Om welk product gaat het?",
               "en": "What kind of product is it?"},
    "describe": {"it": "Mi descriva il problema", "nl": "Beschrijf het probleem",
                 "en": "Please describe the problem"},
    "record": {"it": "Dopo il segnale acustico", "nl": "Beschrijf na de pieptoon", "en": "After the beep"},
    "urgency": {"it": "È rimasto del tutto senza servizio?", "nl": "Werkt er op dit moment helemaal niets meer?",
                "en": "Are you completely without service?"},
    "reference": {"it": "Il numero di riferimento è {r}. Ripeto: {r}.",
                  "nl": "Het referentienummer is {r}. Ik herhaal: {r}.",
                  "en": "Your reference number is {r}. Again: {r}."},
    "technician": {"it": "un tecnico la richiamerà", "nl": "een monteur belt u terug",
                   "en": "a technician will call you back"},
    "serial": {"it": "Digiti il numero di serie", "nl": "Toets het serienummer",
               "en": "key in the product's serial number"},
    "date": {"it": "Quando lo ha acquistato?", "nl": "Wanneer heeft u het gekocht?", "en": "When did you buy it?"},
    # Each cover with its own end date (D is the date as day_words says it).
    "covered": {"it": "coperto dalla garanzia del produttore fino a {d}", "nl": "valt tot {d} onder de fabrieksgarantie",
                "en": "covered by the manufacturer's warranty until {d}"},
    "legal_too": {"it": "e dalla garanzia legale del venditore fino a {d}",
                  "nl": "en tot {d} onder de wettelijke garantie van de verkoper",
                  "en": "and by the seller's legal guarantee until {d}"},
    "legal": {"it": "ancora coperto dalla garanzia legale del venditore fino a {d}",
              "nl": "valt nog tot {d} onder de wettelijke garantie van de verkoper",
              "en": "still covered by the seller's legal guarantee until {d}"},
    "warranty_ended": {"it": "è scaduta {d}", "nl": "verlopen op {d}", "en": "ended on {d}"},
    "legal_ended": {"it": "e la garanzia legale {d}", "nl": "en de wettelijke garantie op {d}",
                    "en": "and the legal guarantee on {d}"},
    "bought_on": {"it": "acquistato {d}", "nl": "gekocht op {d}", "en": "bought on {d}"},
    "refused_offer": {"it": "Per parlarne con un operatore prema 0", "nl": "Om dit met een medewerker te bespreken, druk op 0",
                      "en": "To discuss this with an operator, press 0"},
    "unknown_serial": {"it": "Non trovo il numero di serie", "nl": "Ik kan serienummer",
                       "en": "I can't find serial number"},
    "review": {"it": "un collega controllerà la sua richiesta", "nl": "een collega bekijkt uw aanvraag",
               "en": "a colleague will review your request"},
    "future": {"it": "è nel futuro", "nl": "ligt in de toekomst", "en": "is in the future"},
    "order_ask": {"it": "Digiti il numero dell'ordine", "nl": "Toets uw bestelnummer in",
                  "en": "key in your order number"},
    "shipped": {"it": "Il suo ordine 4 7 1 1 è spedito. La consegna è prevista per giovedì",
                "nl": "Uw bestelling 4 7 1 1 is verzonden. De verwachte bezorgdatum is donderdag",
                "en": "Your order 4 7 1 1 is on its way. Delivery is expected Thursday"},
    "late": {"it": "ci scusiamo per il ritardo. Ho aperto un sollecito con il numero",
             "nl": "excuses voor de vertraging. Ik heb een navraag geopend onder nummer",
             "en": "we're sorry for the delay. I've opened a delivery enquiry, number"},
    "late_next": {"it": "contattiamo il corriere e la aggiorniamo entro domani, martedì",
                  "nl": "wij nemen contact op met de vervoerder en laten u uiterlijk morgen, dinsdag",
                  "en": "we'll chase the carrier and update you by tomorrow, Tuesday"},
    "late_existing": {"it": "è già aperto", "nl": "loopt al", "en": "is already open"},
    "unknown_order": {"it": "non trovo l'ordine 9 9 9 9", "nl": "ik kan bestelling 9 9 9 9 niet vinden",
                      "en": "I can't find order 9 9 9 9"},
    "goodbye": {"it": "Grazie per aver chiamato", "nl": "Bedankt voor het bellen met",
                "en": "Thank you for calling"},
}
MONTHS = {
    "it": ["gennaio", "febbraio", "marzo"], "nl": ["januari", "februari", "maart"],
    "en": ["January", "February", "March"],
}


def t(key: str, language: str, **values: Any) -> str:
    return T[key][language].format(**values)


def day_words(day: date, language: str, year: bool = True) -> str:
    """'15 gennaio 2028' / '15 januari 2028' / '15 January 2028' (months Jan-Mar only)."""
    words = f"{day.day} {MONTHS[language][day.month - 1]}"
    return f"{words} {day.year}" if year else words


def spaced(reference: str) -> str:
    return " ".join(reference)


@pytest.fixture(autouse=True)
def _monday(clock):
    clock.set(MONDAY)


def dial(sim, language: str, **kwargs: Any):
    caller, line = LINES[language]
    return sim.inbound(from_=caller, to=line, **kwargs)


def rows(app, model: Any, *where: Any) -> list[Any]:
    with session_scope(app) as session:
        found = list(session.scalars(select(model).where(*where).order_by(model.id)))
        session.expunge_all()
        return found


def steps_of(app, call_sid: str) -> list[tuple[str, str | None, str | None]]:
    with session_scope(app) as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        return [(s.kind, s.input, s.outcome) for s in
                session.scalars(select(CallStep).where(CallStep.call_id == call.id).order_by(CallStep.id))]


def add_product(app, sku: str, *, months: int | None, category: str = "router",
                names: dict[str, str] | None = None) -> int:
    with session_scope(app) as session:
        product = Product(sku=sku, name=sku.title(), names=names or {}, category=category,
                          warranty_months=months)
        session.add(product)
        session.flush()
        return product.id


def add_unit(app, product_id: int, serial: str, *, owner: str | None = None, name: str | None = None,
             country: str | None = None, purchased_on: date | None = None) -> None:
    with session_scope(app) as session:
        session.add(CustomerProduct(serial=serial, product_id=product_id, owner_number=owner,
                                    owner_name=name, country=country, purchased_on=purchased_on))


def add_order(app, number: str, *, status: str, expected: date | None, customer: str | None = None,
              name: str | None = None) -> None:
    with session_scope(app) as session:
        session.add(Order(number=number, status=status, expected_on=expected, customer_number=customer,
                          customer_name=name, updated_at=MONDAY))


# --- information ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_information_by_key_reads_the_answer_from_the_knowledge_file(sim, app, language):
    answer = faq.load(language).by_key("1").answer
    call = dial(sim, language)
    call.press("1")
    assert call.heard(t("faq_menu", language))
    call.press("1")
    assert call.heard(answer) and call.heard(t("after_answer", language))
    said_before = len(call.said)
    call.press("1")  # hear it again
    assert answer in " ".join(call.said[said_before:])
    call.press("9")
    assert t("menu", language) in call.last_said
    call.hangup()
    assert ("support.faq", "1", "answered:opening_hours") in steps_of(app, call.sid)
    call.assert_courteous()


@pytest.mark.parametrize(("language", "question"), [
    ("it", "vorrei sapere come posso fare un reso"),
    ("nl", "ik wil graag iets retourneren"),
    ("en", "how can I return a product please"),
])
def test_information_in_the_callers_words(sim, app, language, question):
    call = dial(sim, language)
    call.press("1")
    call.speak(question)
    assert call.heard(faq.load(language).by_id("returns").answer)
    call.silence()
    call.silence()  # nothing more: a goodbye, not a hang-up in silence
    assert call.ended and call.heard(t("goodbye", language))
    call.assert_courteous()


@pytest.mark.parametrize(("language", "question"), [
    ("it", "posso portare il mio cane in negozio"),
    ("nl", "mag mijn hond mee in de winkel"),
    ("en", "can I bring my dog to the shop"),
])
def test_an_unanswered_question_is_logged_and_a_person_or_callback_offered(sim, app, language, question):
    call = dial(sim, language)
    call.press("1")
    call.speak(question)
    assert call.heard(t("unanswered", language))
    [logged] = rows(app, Ticket, Ticket.kind == "unanswered_question")
    assert logged.description == question and logged.language == language
    assert logged.caller_number == LINES[language][0] and logged.call_sid == call.sid
    call.press("2")  # be called back
    assert call.heard(t("when", language))
    call.assert_courteous()


def test_an_unanswered_question_can_go_to_an_operator(sim, app):
    call = dial(sim, "it")
    call.press("1")
    call.speak("posso portare il mio cane in negozio")
    call.press("1")
    assert call.heard(t("operator", "it"))


# --- fault report ---------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "description"), [
    ("it", "il modem non si accende più da ieri sera"),
    ("nl", "het modem gaat sinds gisteren niet meer aan"),
    ("en", "the router won't switch on since yesterday"),
])
def test_a_known_caller_reports_a_fault_on_their_product(sim, app, language, description):
    names = {"it": "il modem Fibra Box", "nl": "het modem Fibra Box", "en": "the Fibra Box router"}
    product = add_product(app, "FIBRA-BOX-X2", months=36, names=names)
    add_unit(app, product, "FB123456", owner=LINES[language][0], name="Giulia Rossi")
    call = dial(sim, language)
    assert call.heard("Giulia")  # recognised by number, greeted by (first) name
    call.press("2")
    assert call.heard(f"{t('confirm_product', language)} {names[language]}?")
    call.press("1")
    assert call.heard(t("describe", language))
    call.speak(description)
    assert call.heard(t("urgency", language))
    call.press("1")  # urgent
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.status == "open" and ticket.priority == "urgent" and ticket.description == description
    assert ticket.customer_product_id is not None and ticket.language == language
    assert ticket.caller_number == LINES[language][0]
    assert call.heard(t("reference", language, r=spaced(ticket.reference)))
    said_before = len(call.said)
    call.press("1")  # repeat
    assert spaced(ticket.reference) in " ".join(call.said[said_before:])
    call.press("2")  # a technician should call back: booked through callback_booking
    assert call.heard(t("technician", language)) and call.heard(t("when", language))
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.details["technician_callback"] is True
    call.assert_courteous()


def test_a_caller_with_several_products_picks_one_by_number(sim, app):
    router = add_product(app, "ROUTER-1", months=24, names={"it": "il router"})
    tv = add_product(app, "TV-55", months=24, category="tv", names={"it": "il televisore"})
    add_unit(app, router, "R0000001", owner=LINES["it"][0])
    add_unit(app, tv, "T0000001", owner=LINES["it"][0])
    call = dial(sim, "it")
    call.press("2")
    assert call.heard(t("choose_product", "it")) and call.heard("1: il router; 2: il televisore")
    call.press("9")  # not on the list: asked again
    assert call.heard("Mi scusi, non ho capito.") or call.heard(t("family", "it"))
    call = dial(sim, "it")
    call.press("2")
    call.press("2")
    call.speak("lo schermo resta nero")
    call.press("2")  # can wait
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.priority == "normal"
    # The product is kept in every language, so an operator of any language reads it in theirs.
    assert (ticket.subject, ticket.subject_code, ticket.subject_values["it"]) == (None, "named", "il televisore")
    assert set(ticket.subject_values) == {"it", "nl", "en"}


@pytest.mark.parametrize("language", LANGS)
def test_an_unknown_caller_chooses_the_kind_of_product(sim, app, language):
    add_product(app, "TV-55", months=24, category="tv")
    call = dial(sim, language)
    call.press("2")
    assert call.heard(t("family", language))
    call.press("2")  # TV
    call.speak({"it": "non si vede niente", "nl": "ik zie geen beeld", "en": "there is no picture"}[language])
    call.press("2")
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.product_id is not None and ticket.customer_product_id is None
    assert ticket.language == language and ticket.priority == "normal"


@pytest.mark.parametrize("language", LANGS)
def test_low_confidence_speech_becomes_a_recorded_message(sim, app, language):
    call = dial(sim, language)
    call.press("2")
    call.press("4")  # something else
    call.speak("mmm frr kzz", confidence=0.2)
    assert call.heard(t("record", language)) and call.waiting_for == "record"
    call.speak({"it": "il telefono si spegne da solo", "nl": "de telefoon valt steeds uit",
                "en": "the phone keeps switching itself off"}[language])
    assert call.heard(t("urgency", language))
    call.press("2")
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.recording_url == call.recordings[0]["url"]
    assert ticket.description == "mmm frr kzz"  # what we did catch is kept next to the recording
    call.assert_courteous()


def test_silence_at_the_description_also_leads_to_a_recording(sim, app):
    call = dial(sim, "it")
    call.press("2")
    call.press("1")
    call.silence()
    assert call.heard("Mi scusi, non ho sentito nulla.")
    call.silence()
    assert call.waiting_for == "record"
    call.silence()  # nothing recorded either: we still go on, and still make the ticket
    call.press("1")
    [ticket] = rows(app, Ticket, Ticket.kind == "fault")
    assert ticket.priority == "urgent" and ticket.recording_url is None


# --- warranty claim -------------------------------------------------------------------------


def _warranty_call(sim, app, language: str, *, months: int, bought: str, serial: str = "SN20250001"):
    product = add_product(app, "ROUTER-W", months=months)
    add_unit(app, product, serial)
    call = dial(sim, language)
    call.press("3")
    assert call.heard(t("serial", language))
    call.press(serial[2:] + "#") if serial.startswith("SN") else call.press(serial + "#")
    assert call.heard(t("date", language))
    call.press(bought) if bought.isdigit() else call.speak(bought)
    return call


# Expected covers come from the law, not from warranty.yaml: the seller answers for a lack of
# conformity for 2 years from delivery in Italy and the Netherlands (Directive (EU) 2019/771
# art. 10(1)); the UK's Consumer Rights Act 2015 sets no guarantee period at all (the 6 years
# of the Limitation Act 1980 are a time limit for going to court), so no legal end date is said.
# The English line is the London hotline. Today is Monday 2 March 2026.
def _says(call, key: str, day: date, language: str) -> bool:
    """The sentence with the date in it, its weekday allowed before it ("sabato 15 gennaio 2028";
    a date this year is said without the year, as people do, unless another date of the same
    sentence says its year: "until 15 March 2026, and until 15 March 2027")."""
    before, _, after = T[key][language].partition("{d}")
    spoken = re.escape(day_words(day, language, year=day.year != MONDAY.year))
    if day.year == MONDAY.year:
        spoken += f"(?: {day.year})?"
    pattern = re.escape(before) + r"(?:\w+ )?" + spoken + re.escape(after)
    return any(re.search(pattern, said) for said in call.said)


@pytest.mark.parametrize("language", LANGS)
def test_a_unit_our_sales_record_dates_is_not_asked_its_purchase_date(sim, app, language):
    # What we know we do not ask: the claim goes by the date of our own sale.
    add_unit(app, add_product(app, "ROUTER-D", months=36), "20250002", purchased_on=date(2025, 1, 15))
    call = dial(sim, language)
    call.press("3")
    call.press("20250002#")
    assert not call.heard(t("date", language)), call.format_transcript()
    [claim] = rows(app, WarrantyClaim)
    assert claim.purchased_on == date(2025, 1, 15) and claim.covered_until == date(2028, 1, 15)
    assert _says(call, "covered", date(2028, 1, 15), language), call.format_transcript()
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_warranty_covered_by_the_manufacturer_says_its_own_end(sim, app, language):
    # 36 months from 15 January 2025 outlast the legal 24: only the manufacturer's date is said.
    call = _warranty_call(sim, app, language, months=36, bought="15012025", serial="20250001")
    [claim] = rows(app, WarrantyClaim)
    assert claim.outcome == "accepted" and claim.reason == "commercial_warranty"
    assert claim.covered_until == date(2028, 1, 15) and claim.language == language
    assert claim.caller_number == LINES[language][0] and claim.call_sid == call.sid
    assert _says(call, "covered", date(2028, 1, 15), language), call.format_transcript()
    assert call.heard(spaced(claim.reference))
    assert not call.heard(t("legal_too", language, d="")[:12])
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_a_short_manufacturer_warranty_is_not_given_the_legal_guarantee_end(sim, app, language):
    # 12 months from 15 March 2025: the manufacturer's warranty ends 15 March 2026; in Italy and
    # the Netherlands the legal guarantee runs to 15 March 2027, and is said as such.
    call = _warranty_call(sim, app, language, months=12, bought="15032025", serial="20250003")
    [claim] = rows(app, WarrantyClaim)
    assert claim.outcome == "accepted" and claim.reason == "commercial_warranty"
    assert _says(call, "covered", date(2026, 3, 15), language), call.format_transcript()
    if language == "en":
        assert claim.covered_until == date(2026, 3, 15) and "2027" not in " ".join(call.said)
    else:
        assert claim.covered_until == date(2027, 3, 15)
        assert _says(call, "legal_too", date(2027, 3, 15), language), call.format_transcript()


@pytest.mark.parametrize("language", LANGS)
def test_warranty_after_the_manufacturer_ended_follows_the_law_of_the_country(sim, app, language):
    # 12 months from 15 January 2025 ended on 15 January 2026.
    call = _warranty_call(sim, app, language, months=12, bought="15012025", serial="20250002")
    [claim] = rows(app, WarrantyClaim)
    assert _says(call, "warranty_ended", date(2026, 1, 15), language), call.format_transcript()
    if language == "en":  # no legal guarantee period in the UK: refused, an operator offered
        assert claim.outcome == "refused" and claim.reason == "expired"
        assert "2027" not in " ".join(call.said) and call.heard(t("refused_offer", language))
    else:
        assert claim.outcome == "accepted" and claim.reason == "legal_guarantee"
        assert claim.covered_until == date(2027, 1, 15)
        assert _says(call, "legal", date(2027, 1, 15), language), call.format_transcript()


@pytest.mark.parametrize(("language", "said"), [
    ("it", "l'ho comprato il 15 gennaio 2018"),
    ("nl", "ik heb het op 15 januari 2018 gekocht"),
    ("en", "I bought it on 15 January 2018"),
])
def test_expired_warranty_reads_the_reason_back_and_offers_an_operator(sim, app, language, said):
    call = _warranty_call(sim, app, language, months=12, bought=said, serial="20180001")
    [claim] = rows(app, WarrantyClaim)
    assert claim.outcome == "refused" and claim.reason == "expired"
    assert claim.purchased_on == date(2018, 1, 15)
    assert _says(call, "bought_on", date(2018, 1, 15), language), call.format_transcript()
    assert _says(call, "warranty_ended", date(2019, 1, 15), language), call.format_transcript()
    if language != "en":
        assert _says(call, "legal_ended", date(2020, 1, 15), language), call.format_transcript()
    assert call.heard(spaced(claim.reference)) and call.heard(t("refused_offer", language))
    said_before = len(call.said)
    call.press("1")  # the claim number again
    assert spaced(claim.reference) in " ".join(call.said[said_before:])
    call.press("0")
    assert call.heard(t("operator", language))


@pytest.mark.parametrize("language", LANGS)
def test_unknown_serial_can_be_retried_or_filed_for_review(sim, app, language):
    call = dial(sim, language)
    call.press("3")
    call.press("55554444#")
    assert call.heard(t("unknown_serial", language) + " 5 5 5 5 4 4 4 4")
    call.press("1")  # try again
    call.press("55554443#")
    call.press("2")  # file it anyway
    assert call.heard(t("date", language))
    call.press("01022025")
    [claim] = rows(app, WarrantyClaim)
    assert claim.outcome == "needs_review" and claim.reason == "unknown_serial"
    assert claim.serial == "55554443" and claim.purchased_on == date(2025, 2, 1)
    assert call.heard(t("review", language)) and call.heard(t("refused_offer", language))
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_a_purchase_date_in_the_future_is_refused_with_the_reason(sim, app, language):
    call = _warranty_call(sim, app, language, months=24, bought="01062026", serial="20260001")
    [claim] = rows(app, WarrantyClaim)
    assert claim.outcome == "refused" and claim.reason == "purchase_in_future"
    assert call.heard(t("future", language)) and call.heard(t("refused_offer", language))


def test_a_date_that_is_no_date_is_asked_again_as_eight_digits(sim, app):
    call = _warranty_call(sim, app, "it", months=24, bought="31022025", serial="20250003")
    assert call.heard("non riesco a leggere quella data") and call.heard("con otto cifre")
    call.press("28022025")
    [claim] = rows(app, WarrantyClaim)
    assert claim.purchased_on == date(2025, 2, 28) and claim.outcome == "accepted"


# --- delivery status ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_delivery_status_and_expected_date_in_words(sim, app, language):
    add_order(app, "4711", status="shipped", expected=date(2026, 3, 5))
    call = dial(sim, language)
    call.press("4")
    assert call.heard(t("order_ask", language))
    call.press("4711#")
    assert call.heard(t("shipped", language)) and call.heard(day_words(date(2026, 3, 5), language, year=False))
    assert rows(app, Ticket) == []
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_a_late_order_opens_a_delivery_chase_and_says_what_happens_next(sim, app, language):
    add_order(app, "4711", status="shipped", expected=date(2026, 2, 25))
    call = dial(sim, language)
    call.press("4")
    call.press("4711#")
    [chase] = rows(app, Ticket, Ticket.kind == "delivery_chase")
    assert chase.status == "open" and chase.priority == "high" and chase.language == language
    assert chase.caller_number == LINES[language][0] and chase.order_id is not None
    # What the chase is about is stored as its meaning, read in each reader's own language.
    assert (chase.subject, chase.subject_code, chase.subject_values) == (None, "order_late", {"order": "4711"})
    assert call.heard(t("late", language) + " " + spaced(chase.reference))
    assert call.heard(t("late_next", language)) and call.heard(day_words(date(2026, 3, 3), language, year=False))
    call.press("1")  # the same order again: the open enquiry is named, no second ticket
    call.press("4711#")
    assert call.heard(t("late_existing", language))
    assert len(rows(app, Ticket, Ticket.kind == "delivery_chase")) == 1


@pytest.mark.parametrize("language", LANGS)
def test_an_unknown_order_is_explained_and_can_be_retried(sim, app, language):
    add_order(app, "4711", status="delivered", expected=date(2026, 2, 25))
    call = dial(sim, language)
    call.press("4")
    call.press("9999#")
    assert call.heard(t("unknown_order", language))
    call.press("1")
    call.press("4711#")
    assert call.heard("4 7 1 1")
    call.assert_courteous()


@pytest.mark.parametrize(("language", "delivered", "cancelled"), [
    ("it", "risulta consegnato venerdì 27 febbraio", "risulta annullato"),
    ("nl", "is vrijdag 27 februari bezorgd", "is geannuleerd"),
    ("en", "was delivered Friday 27 February", "has been cancelled"),
])
def test_delivered_and_cancelled_orders_say_what_an_operator_can_do(sim, app, language, delivered, cancelled):
    with session_scope(app) as session:
        session.add(Order(number="4711", status="delivered", delivered_on=date(2026, 2, 27), updated_at=MONDAY))
        session.add(Order(number="4712", status="cancelled", updated_at=MONDAY))
    call = dial(sim, language)
    call.press("4")
    call.press("4711#")
    assert call.heard(delivered)
    call.press("1")  # another order
    call.press("4712#")
    assert call.heard(cancelled)
    call.press("0")
    assert call.heard({"it": "La metto in contatto", "nl": "Ik verbind u door", "en": "Let me put you through"}[language])
    assert rows(app, Ticket) == []


@pytest.mark.parametrize(("language", "today"), [
    ("it", "La consegna è prevista per oggi, lunedì 2 marzo."),
    ("nl", "De verwachte bezorgdatum is vandaag, maandag 2 maart."),
    ("en", "Delivery is expected today, Monday 2 March."),
])
def test_an_order_due_today_is_said_naturally(sim, app, language, today):
    add_order(app, "4711", status="out_for_delivery", expected=date(2026, 3, 2))
    call = dial(sim, language)
    call.press("4")
    call.press("4711#")
    assert call.heard(today)
