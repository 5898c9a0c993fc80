"""Support flow actions (handlers.py) driven directly, with a stand-in for the engine's ActionContext,
and the draft ticket kept when a caller hangs up mid fault report (through /voice/status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from app import calls
from app.consent.models import Contact
from app.db import session_scope
from app.flows.actions import step_row
from app.models import Call, CallStep
from app.support import handlers, references
from app.support.models import CustomerProduct, Order, Product, Ticket, WarrantyClaim
from tests.conftest import voice_params

MONDAY_10_ROME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUNDAY_10_ROME = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
CALLER = "+393471234567"
WEEK = {
    "mon": "09:00-18:00",
    "tue": "09:00-18:00",
    "wed": "09:00-18:00",
    "thu": "09:00-18:00",
    "fri": "09:00-18:00",
    "sat": "09:00-13:00",
    "sun": "closed",
}
HOTLINES = {
    "it": SimpleNamespace(
        number="+390212345678",
        name="IT",
        flow="inbound",
        language="it",
        country="IT",
        time_zone="Europe/Rome",
        operator={"queue": "support-it", "max_queue": 2, "hours": WEEK},
    ),
    "nl": SimpleNamespace(
        number="+31201234567",
        name="NL",
        flow="inbound",
        language="nl",
        country="NL",
        time_zone="Europe/Amsterdam",
        operator={"queue": "support-nl", "max_queue": 2, "hours": WEEK},
    ),
    "en": SimpleNamespace(
        number="+442071234567",
        name="GB",
        flow="inbound",
        language="en",
        country="GB",
        time_zone="Europe/London",
        operator={"queue": "support-gb", "max_queue": 2, "hours": WEEK},
    ),
}
LANGS = ["it", "nl", "en"]


@dataclass
class Ctx:
    session: Any
    call: Call
    language: str
    now: datetime
    hotline: Any
    params: dict[str, str] = field(default_factory=dict)
    contact: Any = None
    settings: Any = None

    @property
    def slots(self) -> dict[str, Any]:
        return self.call.slots

    def add_step(self, kind: str, *, input: str | None = None, outcome: str | None = None) -> None:
        # The engine writes a turn's steps when the turn ends; a handler driven alone has no turn.
        self.session.add(
            CallStep(
                **step_row(self.call.id, self.now, None, None, kind, input=input, outcome=outcome)
            )
        )


@pytest.fixture
def db(app):
    with session_scope(app) as session:
        router = Product(
            sku="FIBRA-BOX-X2",
            name="Router Fibra X2",
            names={"it": "il router", "nl": "het modem", "en": "the router"},
            category="router",
            warranty_months=24,
        )
        tv = Product(sku="TV-55", name="Smart TV 55", names={"it": "il televisore"}, category="tv")
        session.add_all([router, tv])
        session.flush()
        session.add_all(
            [
                CustomerProduct(
                    serial="SN1001",
                    product_id=router.id,
                    owner_number=CALLER,
                    owner_name="Giulia Rossi",
                    purchased_on=date(2025, 10, 1),
                    country="IT",
                ),
                CustomerProduct(
                    serial="SN2002",
                    product_id=tv.id,
                    owner_number=CALLER,
                    purchased_on=date(2021, 1, 15),
                    country="IT",
                ),
                Order(
                    number="4711",
                    customer_number=CALLER,
                    customer_name="Giulia Rossi",
                    status="shipped",
                    expected_on=date(2026, 2, 25),
                    updated_at=MONDAY_10_ROME,
                ),
                Order(
                    number="4800",
                    customer_number="+31612345678",
                    status="shipped",
                    expected_on=date(2026, 3, 4),
                    updated_at=MONDAY_10_ROME,
                ),
                Order(
                    number="4900",
                    status="delivered",
                    expected_on=date(2026, 2, 1),
                    delivered_on=date(2026, 2, 1),
                    updated_at=MONDAY_10_ROME,
                ),
            ]
        )
    with session_scope(app) as session:
        yield session


def make_ctx(db, language="it", caller=CALLER, now=MONDAY_10_ROME, **slots) -> Ctx:
    call = calls.ensure_call(db, voice_params(From=caller, To=HOTLINES[language].number), now)
    call.flow, call.node, call.language, call.slots = "inbound", "menu", language, dict(slots)
    db.flush()
    return Ctx(session=db, call=call, language=language, now=now, hotline=HOTLINES[language])


# ---------------------------------------------------------------- caller recognition


def test_known_caller_is_named_and_offered_the_open_order(db):
    ctx = make_ctx(db)
    assert handlers.identify_caller(ctx) == "order"
    assert ctx.slots["caller_name"] == "Giulia" and ctx.slots["open_order"] == "4711"
    assert handlers.use_open_order(ctx) == "ok" and ctx.slots["order_number"] == "4711"


def test_contact_name_wins_and_open_ticket_is_offered_without_orders(db):
    ctx = make_ctx(db, caller="+393331112222")
    # Tickets reference the contacts table, so the contact must be a stored one.
    ctx.contact = Contact(
        e164="+393331112222",
        name="Marco Bianchi",
        source="consent form",
        created_at=MONDAY_10_ROME,
        updated_at=MONDAY_10_ROME,
    )
    db.add(ctx.contact)
    db.flush()
    handlers.create_fault_ticket(ctx)
    other = make_ctx(db, caller="+393331112222")
    other.contact = ctx.contact
    assert handlers.identify_caller(other) == "ticket"
    assert other.slots["caller_name"] == "Marco" and references.is_valid(other.slots["open_ticket"])


@pytest.mark.parametrize("caller", ["+441632960000", "anonymous", ""])
def test_unknown_and_withheld_callers(db, caller):
    assert handlers.identify_caller(make_ctx(db, "en", caller=caller)) == "unknown"


# ---------------------------------------------------------------- anger


@pytest.mark.parametrize(
    "language, said",
    [
        ("it", "siete ridicoli, è una vergogna"),
        ("nl", "dit is belachelijk"),
        ("en", "this is ridiculous"),
    ],
)
def test_angry_words_escalate_to_a_flagged_complaint(db, language, said):
    ctx = make_ctx(db, language)
    ctx.params = {"SpeechResult": said, "Confidence": "0.9"}
    assert handlers.check_mood(ctx) == "angry"
    assert handlers.record_complaint(ctx) == "ok"
    assert handlers.record_complaint(ctx) == "ok"  # a retried webhook makes no second ticket
    tickets = db.scalars(select(Ticket).where(Ticket.kind == "complaint")).all()
    assert len(tickets) == 1
    t = tickets[0]
    assert t.flagged and t.priority == "high" and t.description == said and t.language == language
    assert ctx.slots["complaint_ref"] == t.reference and ctx.slots["priority"] is True


@pytest.mark.parametrize(
    ("params", "outcome"),
    [
        ({"Digits": "2"}, "calm"),
        ({"SpeechResult": "il modem non funziona", "Confidence": "0.9"}, "calm"),
        ({"SpeechResult": "è una vergogna, il modem non funziona", "Confidence": "0.9"}, "angry"),
    ],
)
def test_venting_is_checked_even_when_the_words_picked_an_option(db, params, outcome):
    ctx = make_ctx(db)
    ctx.params = params
    assert handlers.vent_check(ctx) == outcome
    assert bool(ctx.slots.get("angry")) is (outcome == "angry")
    if outcome == "angry":
        assert ctx.slots["complaint_text"] == params["SpeechResult"]


def test_a_callback_after_a_complaint_is_about_the_complaint(db):
    ctx = make_ctx(db, "nl")
    ctx.params = {"SpeechResult": "dit is schandalig"}
    handlers.check_mood(ctx)
    handlers.record_complaint(ctx)
    assert handlers.prefer_callback(ctx) == "ok" and ctx.slots["callback_reason"] == "complaint"
    ticket = db.scalar(select(Ticket).where(Ticket.kind == "complaint"))
    assert ticket.details["callback_wanted"] is True
    calm = make_ctx(db, "nl")
    assert handlers.prefer_callback(calm) == "ok" and calm.slots["callback_reason"] == "operator"


@pytest.mark.parametrize(
    ("waiting", "language", "words"),
    [
        (0, "it", "Non c'è nessuno in attesa prima di lei."),
        (1, "nl", "Er is één beller voor u."),
        (3, "en", "There are 3 callers ahead of you."),
    ],
)
def test_the_queue_position_in_words(waiting, language, words):
    assert handlers._ahead_text(waiting, language) == words


def test_repeated_failures_hand_over_to_a_person_without_a_complaint(db):
    ctx = make_ctx(db, "en")
    ctx.params = {"SpeechResult": "pizza"}
    assert [handlers.check_mood(ctx) for _ in range(3)] == ["calm", "calm", "stuck"]
    assert ctx.slots["priority"] is True and not ctx.slots.get("angry")
    assert db.scalars(select(CallStep).where(CallStep.kind == "support.anger")).all() == []


def test_cross_words_escalate(db):
    ctx = make_ctx(db, "en")
    ctx.params = {"SpeechResult": "this is ridiculous, you useless crooks"}
    assert handlers.check_mood(ctx) == "angry"


# ---------------------------------------------------------------- FAQ


@pytest.mark.parametrize(
    "language, question, topic",
    [
        ("it", "a che ora aprite", "opening_hours"),
        ("nl", "wat is mijn wifi wachtwoord", "wifi_password"),
        ("en", "3", "wifi_password"),
    ],
)
def test_faq_answers_by_words_or_key(db, language, question, topic):
    ctx = make_ctx(db, language, faq_question=question)
    assert handlers.answer_question(ctx) == "answered"
    assert ctx.slots["faq_topic"] == topic and len(ctx.slots["faq_answer"]) > 40


@pytest.mark.parametrize(
    "language, question",
    [
        ("it", "che tempo fa a Milano"),
        ("nl", "hoe laat is het in Tokio"),
        ("en", "who won the match yesterday"),
    ],
)
def test_unanswered_question_is_logged_for_the_team(db, language, question):
    ctx = make_ctx(db, language, faq_question=question)
    assert handlers.answer_question(ctx) == "unanswered"
    handlers.log_unanswered(ctx)
    handlers.log_unanswered(ctx)
    logged = db.scalars(select(Ticket).where(Ticket.kind == "unanswered_question")).all()
    assert len(logged) == 1 and logged[0].description == question and logged[0].language == language


def test_angry_question_goes_to_the_complaint_path(db):
    ctx = make_ctx(db, "en", faq_question="you useless idiots never answer")
    assert handlers.answer_question(ctx) == "angry"


# ---------------------------------------------------------------- fault report


def test_fault_products_offered_from_the_callers_units(db):
    ctx = make_ctx(db, "it")
    assert handlers.offer_products(ctx) == "several"
    assert (
        "1: il router" in ctx.slots["product_menu"]
        and "2: il televisore" in ctx.slots["product_menu"]
    )
    for bad in ("9", "", "x"):
        ctx.slots["product_choice"] = bad
        assert handlers.pick_product(ctx) == "invalid"
    ctx.slots["product_choice"] = "2"
    assert handlers.pick_product(ctx) == "ok" and ctx.slots["product_name"] == "il televisore"


def test_unknown_caller_picks_a_product_family(db):
    ctx = make_ctx(db, "nl", caller="+31612345678", product_family="1")
    assert handlers.offer_products(ctx) == "none"
    assert handlers.set_product_family(ctx) == "ok" and ctx.slots["product_name"] == "het modem"
    ctx.slots["product_family"] = "mijn smartphone"
    handlers.set_product_family(ctx)
    assert ctx.slots["product_name"] == "de smartphone" and ctx.slots["product_id"] is None
    ctx.slots["product_family"] = ""
    handlers.set_product_family(ctx)
    assert ctx.slots["product_name"] == "een ander product"


@pytest.mark.parametrize(
    "text, confidence, outcome",
    [
        ("il router non si accende", "0.92", "ok"),
        ("", "", "unclear"),
        ("ruter non", "0.2", "unclear"),
        ("non funziona, siete dei ladri", "0.9", "angry"),
    ],
)
def test_description_checked_for_confidence_and_anger(db, text, confidence, outcome):
    ctx = make_ctx(db, "it", fault_description=text)
    ctx.params = {"SpeechResult": text, "Confidence": confidence}
    assert handlers.check_description(ctx) == outcome


@pytest.mark.parametrize("language", LANGS)
def test_fault_ticket_with_reference_and_technician_callback(db, language):
    ctx = make_ctx(
        db,
        language,
        product_name="the router",
        fault_description="no lights at all",
        urgency="urgent",
        customer_product_id=None,
    )
    assert handlers.create_fault_ticket(ctx) == "ok"
    assert handlers.create_fault_ticket(ctx) == "ok"  # idempotent on retries
    assert handlers.mark_technician_callback(ctx) == "ok"
    (ticket,) = db.scalars(select(Ticket).where(Ticket.kind == "fault")).all()
    assert ticket.reference == ctx.slots["ticket_ref"] and references.is_valid(ticket.reference)
    assert (ticket.priority, ticket.status, ticket.language) == ("urgent", "open", language)
    assert ticket.details["technician_callback"] is True and ticket.caller_number == CALLER


def test_recorded_description_is_kept_on_the_ticket(db):
    ctx = make_ctx(db, "en", product_name="tv", fault_recording="https://api.twilio.com/rec/RE1")
    handlers.create_fault_ticket(ctx)
    assert db.scalar(select(Ticket)).recording_url == "https://api.twilio.com/rec/RE1"


# ---------------------------------------------------------------- warranty


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize(
    "serial, raw_date, expected",
    [
        ("SN1001", "01102025", "covered"),
        ("SN2002", "15012021", "expired"),
        ("SN9999", "01012025", "review"),
        ("SN1001", None, "covered"),
    ],
)
def test_warranty_claims_are_made_whatever_the_outcome(db, language, serial, raw_date, expected):
    ctx = make_ctx(db, language, serial=serial, purchase_date_raw=raw_date)
    known = handlers.check_serial(ctx)
    # SN1001 and SN2002 carry our sales date, so the flow would not ask; a date said anyway
    # is still read, and the sales record wins (make_claim).
    assert known == ("unknown" if serial == "SN9999" else "dated")
    if raw_date:
        assert handlers.parse_purchase(ctx) == "ok"
    assert handlers.decide_warranty(ctx) == expected
    claim = db.scalar(select(WarrantyClaim))
    assert claim.reference == ctx.slots["claim_ref"] and claim.language == language


def test_warranty_bad_input(db):
    ctx = make_ctx(db, "it", serial="12", purchase_date_raw="31022024")
    assert handlers.check_serial(ctx) == "invalid"
    assert handlers.parse_purchase(ctx) == "invalid"
    ctx.slots["purchase_date_raw"] = "il 3 marzo 2024"
    assert handlers.parse_purchase(ctx) == "ok" and ctx.slots["purchase_date"] == "2024-03-03"


def test_future_purchase_date_is_refused_when_unit_has_no_sales_date(db):
    unit = db.scalar(select(CustomerProduct).where(CustomerProduct.serial == "SN1001"))
    unit.purchased_on = None
    ctx = make_ctx(db, "en", serial="SN1001", purchase_date_raw="01122026")
    handlers.check_serial(ctx)
    handlers.parse_purchase(ctx)
    assert handlers.decide_warranty(ctx) == "future_date"


# ---------------------------------------------------------------- delivery


@pytest.mark.parametrize(
    "language, words", [("it", "spedito"), ("nl", "verzonden"), ("en", "on its way")]
)
def test_late_order_opens_one_delivery_chase(db, language, words):
    ctx = make_ctx(db, language, order_number="47 11")
    assert handlers.lookup_order(ctx) == "late"
    assert ctx.slots["order_status"] == words and ctx.slots["order_expected"] == "2026-02-25"
    assert ctx.slots["days_late"] == 5
    assert handlers.open_delivery_chase(ctx) == "ok"
    assert ctx.slots["chase_by"] == "2026-03-03"
    assert (
        handlers.open_delivery_chase(
            make_ctx(db, language, order_number="4711", order_id=ctx.slots["order_id"])
        )
        == "existing"
    )
    assert len(db.scalars(select(Ticket).where(Ticket.kind == "delivery_chase")).all()) == 1


@pytest.mark.parametrize(
    "number, outcome",
    [("4800", "on_its_way"), ("4900", "delivered"), ("1234", "unknown"), ("", "invalid")],
)
def test_order_lookup_outcomes(db, number, outcome):
    assert handlers.lookup_order(make_ctx(db, "en", order_number=number)) == outcome


# ---------------------------------------------------------------- operator


@pytest.mark.parametrize("language", LANGS)
def test_operator_open_closed_and_busy(db, language):
    assert handlers.operator_status(make_ctx(db, language)) == "open"
    closed = make_ctx(db, language, now=SUNDAY_10_ROME)
    assert handlers.operator_status(closed) == "closed"
    assert closed.slots["opens_at"].startswith("2026-03-09T")
    for _ in range(2):  # two callers already waiting; max_queue is 2
        waiting = make_ctx(db, language)
        waiting.call.flow, waiting.call.node, waiting.call.status = (
            "operator",
            "enqueue",
            "in-progress",
        )
    db.flush()
    assert handlers.operator_status(make_ctx(db, language)) == "busy"
    upset = make_ctx(db, language, priority=True)
    assert handlers.operator_status(upset) == "priority"
    assert upset.slots["queue_name"].endswith("-priority")


def test_operator_closed_on_national_holiday_and_unavailable_without_config(db):
    republic_day = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # a Tuesday, Festa della Repubblica
    assert handlers.operator_status(make_ctx(db, "it", now=republic_day)) == "closed"
    ctx = make_ctx(db, "it")
    ctx.hotline = SimpleNamespace(
        number="+390212345678", country="IT", time_zone="Europe/Rome", operator=None
    )
    assert handlers.operator_status(ctx) == "unavailable"


@pytest.mark.parametrize(
    "result, timed_out, outcome",
    [
        ("bridged", False, "bridged"),
        ("leave", False, "left"),
        ("leave", True, "timeout"),
        ("hangup", False, "hangup"),
        ("system-error", False, "error"),
    ],
)
def test_queue_results(db, result, timed_out, outcome):
    ctx = make_ctx(db, "en", queue_timed_out=timed_out)
    ctx.params = {"QueueResult": result}
    assert handlers.queue_result(ctx) == outcome


# ---------------------------------------------------------------- hang-up mid flow


def _status(twilio, call_sid: str, status: str, seq: int) -> None:
    response = twilio.post(
        "/voice/status", voice_params(CallSid=call_sid, CallStatus=status, SequenceNumber=str(seq))
    )
    assert response.status_code == 204


def _call_in_flow(app, flow: str, node: str, slots: dict[str, Any]) -> str:
    params = voice_params(From=CALLER)
    with session_scope(app) as session:
        call = calls.ensure_call(session, params, MONDAY_10_ROME)
        call.status, call.flow, call.node, call.language, call.slots = (
            "in-progress",
            flow,
            node,
            "it",
            slots,
        )
    return params["CallSid"]


def test_hanging_up_mid_fault_report_keeps_a_draft_ticket(app, twilio):
    sid = _call_in_flow(
        app,
        "fault_report",
        "urgency",
        {"product_name": "il router", "fault_description": "non si accende"},
    )
    _status(twilio, sid, "completed", 5)
    _status(twilio, sid, "completed", 5)  # Twilio repeats itself; still one draft
    with session_scope(app) as session:
        (ticket,) = session.scalars(select(Ticket)).all()
        assert (ticket.kind, ticket.status, ticket.description) == (
            "fault",
            "draft",
            "non si accende",
        )
        assert ticket.caller_number == CALLER and ticket.language == "it" and ticket.call_sid == sid
        assert ticket.details["hung_up_at"] == {"flow": "fault_report", "node": "urgency"}
        call = calls.get_call(session, sid)
        assert any(s.kind == "support.draft" for s in call.steps)


@pytest.mark.parametrize(
    "flow, slots",
    [
        ("fault_report", {}),
        ("faq", {"faq_question": "orari"}),
        ("fault_report", {"fault_description": "x", "ticket_ref": "1234567"}),
        # The product named from our records (fault report) or from the serial (warranty) is not
        # something the caller said about a fault.
        ("fault_report", {"product_name": "il router", "customer_product_id": 1}),
        ("warranty_claim", {"serial": "20250001", "product_name": "il router", "product_id": 1}),
    ],
)
def test_no_draft_when_nothing_to_keep_or_already_a_ticket(app, twilio, flow, slots):
    sid = _call_in_flow(app, flow, "n", slots)
    _status(twilio, sid, "completed", 3)
    with session_scope(app) as session:
        assert session.scalars(select(Ticket)).all() == []
