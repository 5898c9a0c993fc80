"""The support hotline through the simulator, part two (it/nl/en): the operator (queue with its
position and wait message, leaving the queue for a callback, closed hours, a queue too long, a
queue timeout), angry callers, callers recognised by number, silence and wrong keys at every
question, and callers hanging up mid-flow (nothing lost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import i18n
from app.callbacks.models import Callback
from app.consent.contacts import get_or_create
from app.db import session_scope
from app.models import Call
from app.sim.call import QueuePlan
from app.support import services
from app.support.models import Ticket
from tests.test_support_scenarios import (
    LANGS,
    LINES,
    MONDAY,
    add_order,
    add_product,
    add_unit,
    dial,
    rows,
    spaced,
    steps_of,
)
from tests.test_support_scenarios import (
    T as T_SUPPORT,
)

T_MENU = T_SUPPORT["menu"]
SUNDAY = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

T: dict[str, dict[str, str]] = {
    "operator": {"it": "La metto in contatto con un operatore", "nl": "Ik verbind u door met een medewerker",
                 "en": "Let me put you through to an operator"},
    "nobody": {"it": "Non c'è nessuno in attesa prima di lei.", "nl": "Er wacht niemand voor u.",
               "en": "There is nobody ahead of you."},
    "two_ahead": {"it": "Ci sono 2 persone prima di lei.", "nl": "Er zijn 2 bellers voor u.",
                  "en": "There are 2 callers ahead of you."},
    "leave_booking": {"it": "Fissiamo una richiamata", "nl": "Dan plannen we een terugbelafspraak",
                      "en": "Let's book a callback"},
    "when": {"it": "Quando preferisce essere richiamato?", "nl": "Wanneer wilt u worden teruggebeld?",
             "en": "When would you like us to call you back?"},
    "closed": {"it": "torneranno domani, lunedì 2 marzo, alle 9:00",
               "nl": "zij zijn er weer morgen, maandag 2 maart, om 8:30",
               "en": "they will be back tomorrow, Monday 2 March, at 9:00 am"},
    "busy": {"it": "Tutti i nostri operatori sono occupati", "nl": "Al onze medewerkers zijn in gesprek",
             "en": "All our operators are busy"},
    "after_call": {"it": "Grazie per aver chiamato", "nl": "Bedankt voor het bellen met", "en": "Thank you for calling"},
    "sorry": {"it": "Mi dispiace davvero", "nl": "Het spijt me echt", "en": "I'm truly sorry"},
    "complaint": {"it": "Ho registrato il suo reclamo con il riferimento",
                  "nl": "Ik heb uw klacht vastgelegd onder nummer",
                  "en": "I've recorded your complaint under reference"},
    "priority": {"it": "con precedenza", "nl": "met voorrang", "en": "with priority"},
    "angry_fault": {"it": "Registro subito il guasto con la massima priorità",
                    "nl": "Ik leg de storing direct vast met de hoogste prioriteit",
                    "en": "I'm logging this fault right away with top priority"},
    "open_order": {"it": "Chiama per il suo ordine 4 7 1 1?", "nl": "Belt u over uw bestelling 4 7 1 1?",
                   "en": "Are you calling about your order 4 7 1 1?"},
    "shipped": {"it": "Il suo ordine 4 7 1 1 è spedito", "nl": "Uw bestelling 4 7 1 1 is verzonden",
                "en": "Your order 4 7 1 1 is on its way"},
    "open_ticket": {"it": "è ancora aperta e ce ne stiamo occupando", "nl": "staat nog open en wij werken eraan",
                    "en": "is still open and we are working on it"},
    "welcome_back": {"it": "grazie di aver chiamato di nuovo", "nl": "welkom terug", "en": "welcome back"},
    "urgency": {"it": "È rimasto del tutto senza servizio?", "nl": "Werkt er op dit moment helemaal niets meer?",
                "en": "Are you completely without service?"},
}
ANGRY = {"it": "è una vergogna, siete dei ladri", "nl": "dit is schandalig, stelletje oplichters",
         "en": "this is ridiculous, you useless crooks"}
DESCRIPTION = {"it": "il modem non si accende più", "nl": "het modem gaat niet meer aan",
               "en": "the router does not switch on any more"}
QUESTION = {"it": "posso portare il mio cane in negozio", "nl": "mag mijn hond mee in de winkel",
            "en": "can I bring my dog to the shop"}


def t(key: str, language: str) -> str:
    return T[key][language]


@pytest.fixture(autouse=True)
def _monday(clock):
    clock.set(MONDAY)


def callbacks(app) -> list[Callback]:
    return rows(app, Callback)


def waiting_callers(app, count: int, *, language: str = "it") -> None:
    """`count` live calls already parked in the operator queue."""
    with session_scope(app) as session:
        for i in range(count):
            session.add(Call(call_sid=f"CAwaiting{language}{i:024d}", direction="inbound",
                             from_number=f"+3934700000{i:02d}", to_number=LINES[language][1],
                             status="in-progress", flow="operator", node="enqueue",
                             started_at=MONDAY, updated_at=MONDAY))


def stored_call(app, sid: str) -> Call:
    with session_scope(app) as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        session.expunge(call)
        return call


# --- operator -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_operator_open_enqueue_with_position_and_wait_message(sim, app, language):
    call = dial(sim, language, queue=QueuePlan("bridged", after_loops=2, position=1))
    call.press("0")
    assert call.heard(t("operator", language)) and call.heard(t("nobody", language))
    assert call.heard(i18n.prompt("queue_position", language).format(position=1))
    assert call.heard(i18n.prompt("queue_leave", language))
    call.silence()  # keeps waiting; the agent answers on the second round of music
    call.silence()
    assert call.ended and call.heard(t("after_call", language))
    assert any(e.kind == "queue" and e.text == "bridged to an agent" for e in call.transcript)
    steps = steps_of(app, call.sid)
    assert ("support.operator", "0", "open") in steps and ("transfer_result", "bridged", "bridged") in steps
    call.assert_courteous()


def test_the_position_counts_callers_already_waiting(sim, app):
    waiting_callers(app, 2)
    call = dial(sim, "it")
    call.press("0")
    assert call.heard(t("two_ahead", "it"))


@pytest.mark.parametrize("language", LANGS)
def test_leaving_the_queue_books_a_callback_with_an_operator(sim, app, language):
    call = dial(sim, language, queue=QueuePlan("bridged", after_loops=5))
    call.press("0")
    call.press("1")  # "if you would rather be called back, press 1"
    assert call.heard(t("leave_booking", language)) and call.heard(t("when", language))
    call.press("2")  # tomorrow morning
    call.press("1")  # confirm
    [cb] = callbacks(app)
    assert cb.reason == "operator" and cb.language == language and cb.origin_call_sid == call.sid
    assert cb.e164 == LINES[language][0]
    call.assert_courteous()


@pytest.fixture
def short_queue_wait(settings):
    """QUEUE_MAX_WAIT_SECONDS at its minimum; request it before `sim`/`app` are built."""
    settings["QUEUE_MAX_WAIT_SECONDS"] = 30


@pytest.mark.parametrize("language", LANGS)
def test_a_queue_timeout_apologises_and_offers_a_callback(short_queue_wait, sim, app, language):
    call = dial(sim, language, queue=QueuePlan("bridged", after_loops=50))
    call.press("0")
    for _ in range(10):
        if call.heard(i18n.prompt("queue_timeout", language)):
            break
        call.silence()
    assert call.heard(i18n.prompt("queue_timeout", language)) and call.heard(t("when", language))
    assert any(e.kind == "queue" and e.text == "QueueResult=leave" for e in call.transcript)
    call.press("3")  # tomorrow evening
    call.press("1")
    [cb] = callbacks(app)
    assert cb.reason == "queue_timeout"
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_outside_hours_callers_hear_when_operators_are_back_and_can_book(sim, app, clock, language):
    clock.set(SUNDAY)
    call = dial(sim, language)
    call.press("0")
    assert call.heard(t("closed", language))
    call.press("2")
    assert call.heard(t("when", language))
    assert ("support.operator", None, "closed") in steps_of(app, call.sid)


def test_on_a_national_holiday_the_operators_are_closed(sim, app, clock):
    clock.set(datetime(2026, 4, 6, 9, 0, tzinfo=UTC))  # Easter Monday in Italy, 11:00 in Rome
    call = dial(sim, "it")
    call.press("0")
    assert call.heard("torneranno domani, martedì 7 aprile, alle 9:00")


@pytest.mark.parametrize("language", LANGS)
def test_a_queue_too_long_says_so_and_offers_a_callback_or_waiting(sim, app, language):
    waiting_callers(app, 10, language=language)
    call = dial(sim, language)
    call.press("0")
    assert call.heard(t("busy", language))
    call.press("2")
    assert call.heard(t("when", language))
    patient = dial(sim, language, queue=QueuePlan("bridged"))
    patient.press("0")
    patient.press("1")  # wait anyway
    assert any(e.kind == "queue" for e in patient.transcript)


def test_a_line_without_operators_says_so_and_offers_a_callback_never_a_loop(sim, app):
    call = sim.inbound(from_=LINES["it"][0], to="+390299999999")  # not in hotlines.yaml: defaults
    call.press("0")
    assert call.heard("su questa linea non è possibile parlare con un operatore")
    call.silence()
    call.silence()
    assert call.ended and call.heard(t("after_call", "it"))
    call.assert_courteous()
    again = sim.inbound(from_=LINES["it"][0], to="+390299999999")
    again.press("0")
    again.press("2")
    assert again.heard(t("when", "it"))


# --- angry callers --------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_an_angry_caller_is_acknowledged_flagged_and_put_first_in_line(sim, app, language):
    call = dial(sim, language, queue=QueuePlan("bridged"))
    call.speak(ANGRY[language])
    assert call.heard(t("sorry", language))
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.flagged and complaint.priority == "high" and complaint.status == "open"
    assert complaint.description == ANGRY[language] and complaint.language == language
    assert complaint.caller_number == LINES[language][0] and complaint.call_sid == call.sid
    assert call.heard(t("complaint", language) + " " + spaced(complaint.reference))
    call.press("1")
    assert call.heard(t("priority", language))
    assert any(e.kind == "queue" and "support-priority" in e.text for e in call.transcript)
    # What matters for the review is in the call's steps: the words, the level, the ticket.
    steps = steps_of(app, call.sid)
    assert any(k == "support.anger" and i == ANGRY[language] for k, i, _ in steps)
    assert ("support.complaint", complaint.reference, "ok") in steps
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_an_angry_caller_can_have_a_priority_callback_about_their_complaint(sim, app, language):
    call = dial(sim, language)
    call.speak(ANGRY[language])
    call.press("2")
    assert call.heard(t("when", language))
    call.press("2")
    call.press("1")
    [cb] = callbacks(app)
    assert cb.reason == "complaint" and cb.language == language
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.details["callback_wanted"] is True


@pytest.mark.parametrize(("language", "vent"), [
    ("it", "è una vergogna, il modem non funziona ancora"),
    ("nl", "dit is belachelijk, ik wil een medewerker"),
    ("en", "this is ridiculous, I want to speak to a person"),
])
def test_venting_in_words_that_pick_an_option_is_still_acknowledged_first(sim, app, language, vent):
    call = dial(sim, language, queue=QueuePlan("bridged"))
    call.speak(vent)
    assert call.heard(t("sorry", language)) and call.heard(t("complaint", language))
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.flagged and complaint.description == vent


def test_calm_words_go_straight_to_their_option(sim, app):
    call = dial(sim, "it")
    call.speak("il modem non funziona")
    assert call.heard("Di che prodotto si tratta?") and rows(app, Ticket) == []


def test_an_angry_caller_is_never_hung_up_on_even_when_silent(sim, app):
    call = dial(sim, "it", queue=QueuePlan("bridged"))
    call.speak("vaffanculo, siete degli incompetenti")
    call.silence()
    call.silence()  # no choice made: a person, not a hang-up
    assert call.heard(t("priority", "it"))
    assert any(e.kind == "queue" for e in call.transcript)
    call.assert_courteous()


def test_an_angry_caller_out_of_hours_is_offered_a_callback(sim, app, clock):
    clock.set(SUNDAY)
    call = dial(sim, "en")
    call.speak(ANGRY["en"])
    call.press("1")
    assert call.heard(t("closed", "en"))
    call.press("2")
    call.press("2")
    call.press("1")
    [cb] = callbacks(app)
    assert cb.reason == "complaint"


def test_three_failures_in_a_row_hand_the_caller_to_a_person_without_a_complaint(sim, app):
    call = dial(sim, "it")
    call.press("7")
    call.speak("boh non lo so")
    call.press("8")
    assert call.heard("il menu non la sta aiutando: la passo a un operatore")
    assert rows(app, Ticket) == []  # a confused caller is helped, not reported as angry


@pytest.mark.parametrize("language", LANGS)
def test_anger_in_a_fault_description_keeps_the_fault_at_top_priority(sim, app, language):
    call = dial(sim, language)
    call.press("2")
    call.press("1")
    call.speak(ANGRY[language] + ", " + DESCRIPTION[language])
    assert call.heard(t("angry_fault", language)) and call.heard(t("urgency", language))
    call.press("2")
    [fault] = rows(app, Ticket, Ticket.kind == "fault")
    assert fault.flagged and fault.priority == "high"


# --- callers recognised by number -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_a_caller_with_an_open_order_is_greeted_by_name_and_offered_it_first(sim, app, language):
    add_order(app, "4711", status="shipped", expected=date(2026, 3, 5), customer=LINES[language][0],
              name="Giulia Rossi")
    call = dial(sim, language)
    assert call.heard("Giulia") and not call.heard("Rossi") and call.heard(t("open_order", language))
    call.press("1")
    assert call.heard(t("shipped", language))
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_a_caller_with_an_open_ticket_is_offered_an_operator_about_it(sim, app, language):
    with session_scope(app) as session:
        contact = get_or_create(session, LINES[language][0], source="test", at=MONDAY, name="Marco Bianchi")
        ticket = services.create_ticket(
            session, kind="fault", at=MONDAY - timedelta(days=2),
            caller=services.CallerRef(number=LINES[language][0], contact_id=contact.id, language=language))
        reference = ticket.reference
    call = dial(sim, language, queue=QueuePlan("bridged"))
    assert call.heard("Marco") and call.heard(spaced(reference)) and call.heard(t("open_ticket", language))
    call.press("1")
    assert call.heard(t("operator", language))


def test_a_known_contact_without_orders_is_welcomed_back_by_name(sim, app):
    with session_scope(app) as session:
        get_or_create(session, LINES["nl"][0], source="test", at=MONDAY, name="Sanne de Vries")
    call = dial(sim, "nl")
    assert call.heard("Sanne, " + t("welcome_back", "nl"))


@pytest.mark.parametrize(("language", "name", "expected"), [
    # Italian: no gendered "bentornato" to Marta; English: a comma before the name.
    ("it", "Marta Rossi", "Buongiorno Marta, grazie di aver chiamato di nuovo il servizio clienti di Cortese."),
    ("en", "Oliver Smith", "Good morning, Oliver. Welcome back to Cortese customer support."),
])
def test_a_known_caller_is_greeted_as_a_native_speaker_would(sim, app, language, name, expected):
    with session_scope(app) as session:
        get_or_create(session, LINES[language][0], source="test", at=MONDAY, name=name)
    call = dial(sim, language)
    assert call.said[0] == expected, call.format_transcript()


def test_a_caller_can_decline_the_order_offered_and_reach_the_menu(sim, app):
    add_order(app, "4711", status="shipped", expected=date(2026, 3, 5), customer=LINES["it"][0])
    call = dial(sim, "it")
    call.press("2")
    assert "Per informazioni prema 1" in call.last_said


# --- silence and wrong keys at every question -----------------------------------------------


def _one_unit(app, language: str) -> None:
    add_unit(app, add_product(app, "ROUTER-S", months=36), "20250001", owner=LINES[language][0])


def _two_units(app, language: str) -> None:
    product = add_product(app, "ROUTER-S", months=36)
    add_unit(app, product, "20250001", owner=LINES[language][0])
    add_unit(app, product, "20250002", owner=LINES[language][0])


def _open_order(app, language: str) -> None:
    add_order(app, "4711", status="shipped", expected=date(2026, 3, 5), customer=LINES[language][0])


def _open_ticket(app, language: str) -> None:
    with session_scope(app) as session:
        services.create_ticket(session, kind="fault", at=MONDAY,
                               caller=services.CallerRef(number=LINES[language][0]))


def _unit(app, language: str) -> None:
    add_unit(app, add_product(app, "ROUTER-S", months=36), "20250001")


def _order(app, language: str) -> None:
    add_order(app, "4711", status="shipped", expected=date(2026, 3, 5))


Setup = Callable[[Any, str], None] | None
# (flow.node, data the path needs, how the caller gets there, does a wrong key repeat the question?)
ASKS: list[tuple[str, Setup, list[tuple[str, Any]], bool]] = [
    ("support_hotline.ask_open_order", _open_order, [], True),
    ("support_hotline.ask_open_ticket", _open_ticket, [], True),
    ("support_menu.menu", None, [], True),
    ("faq.ask_question", None, [("press", "1")], True),
    ("faq.after_answer", None, [("press", "1"), ("press", "1")], True),
    ("faq.offer_person", None, [("press", "1"), ("speak", QUESTION)], True),
    ("fault_report.confirm_product", _one_unit, [("press", "2")], True),
    ("fault_report.choose_product", _two_units, [("press", "2")], False),
    ("fault_report.product_family", None, [("press", "2")], False),
    ("fault_report.describe", None, [("press", "2"), ("press", "1")], False),
    ("fault_report.urgency", None, [("press", "2"), ("press", "1"), ("speak", DESCRIPTION)], True),
    ("fault_report.after_ticket", None,
     [("press", "2"), ("press", "1"), ("speak", DESCRIPTION), ("press", "2")], True),
    ("warranty_claim.ask_serial", None, [("press", "3")], False),
    ("warranty_claim.ask_serial_again", None, [("press", "3"), ("press", "55554444#")], True),
    ("warranty_claim.ask_date", _unit, [("press", "3"), ("press", "20250001#")], False),
    ("warranty_claim.ask_date_again", _unit, [("press", "3"), ("press", "20250001#"), ("press", "31022025")], False),
    ("warranty_claim.after_claim", _unit, [("press", "3"), ("press", "20250001#"), ("press", "15012025")], True),
    ("warranty_claim.refused_offer", None,
     [("press", "3"), ("press", "55554444#"), ("press", "2"), ("press", "01022025")], True),
    ("delivery_status.ask_number", None, [("press", "4")], False),
    ("delivery_status.unknown", None, [("press", "4"), ("press", "9999#")], True),
    ("delivery_status.after_status", _order, [("press", "4"), ("press", "4711#")], True),
    ("operator.busy", lambda app, lang: waiting_callers(app, 10, language=lang), [("press", "0")], True),
    ("operator.left_queue_offer", None, [("press", "0")], True),  # the queue fails: see QUEUE_ERROR
    ("complaint.acknowledge", None, [("speak", ANGRY)], True),
]
QUEUE_ERROR = {"operator.left_queue_offer"}
WRONG_KEY = {"faq.ask_question": "9"}  # 7 is a topic there (delivery)


def _resolve_tickets_of(app, call_sid: str) -> None:
    with session_scope(app) as session:
        for ticket in session.scalars(select(Ticket).where(Ticket.call_sid == call_sid)):
            ticket.status = "resolved"


def _reach(sim, app, language: str, where: str, path: list[tuple[str, Any]]):
    queue = QueuePlan("error") if where in QUEUE_ERROR else QueuePlan("bridged")
    call = dial(sim, language, queue=queue)
    for action, value in path:
        getattr(call, action)(value[language] if isinstance(value, dict) else value)
    stored = stored_call(app, call.sid)
    assert f"{stored.flow}.{stored.node}" == where, call.format_transcript()
    assert call.waiting_for == "gather"
    return call


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize(("where", "setup", "path", "same"), ASKS, ids=[a[0] for a in ASKS])
def test_silence_and_a_wrong_key_at_every_question(sim, app, language, where, setup, path, same):
    """One app per question and language (they are costly), two callers: one stays silent, one
    presses a key that is no option."""
    if setup is not None:
        setup(app, language)
    silent = _reach(sim, app, language, where, path)
    question, before = silent.last_said, len(silent.said)
    silent.silence()
    # The apology, then (at the main menu, after the other languages' offers) the question again.
    assert silent.said[before] == i18n.prompt("not_heard", language) and silent.last_said == question
    for _ in range(6):  # keep silent: the call moves on, to a person or a polite goodbye
        if silent.ended:
            break
        silent.silence()
    silent.hangup()
    silent.assert_courteous()
    _resolve_tickets_of(app, silent.sid)  # or the next call would be offered them first

    clumsy = _reach(sim, app, language, where, path)
    question, before = clumsy.last_said, len(clumsy.said)  # (a complaint has a new reference)
    clumsy.press(WRONG_KEY.get(where, "7"))
    heard = clumsy.said[before:]
    assert heard, clumsy.format_transcript()
    sorry = i18n.prompt("not_understood", language).split(",")[0]  # Mi scusi / Excuses / Sorry
    assert any(s.startswith(sorry) for s in heard) or not same, clumsy.format_transcript()
    if same:  # the question again, after saying we did not understand
        assert heard[-1] == question, clumsy.format_transcript()
    assert not clumsy.ended or clumsy.heard(t("after_call", language))
    clumsy.hangup()
    clumsy.assert_courteous()


# --- hanging up mid-flow --------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_hanging_up_mid_fault_report_keeps_a_draft_ticket(sim, app, language):
    call = dial(sim, language)
    call.press("2")
    call.press("1")
    call.speak(DESCRIPTION[language])
    assert call.heard(t("urgency", language))
    call.hangup()
    stored = stored_call(app, call.sid)
    assert stored.status == "completed" and stored.ended_at is not None
    [draft] = rows(app, Ticket, Ticket.kind == "fault")
    assert draft.status == "draft" and draft.description == DESCRIPTION[language]
    assert draft.language == language and draft.caller_number == LINES[language][0]
    assert draft.details["hung_up_at"] == {"flow": "fault_report", "node": "urgency"}
    assert ("support.draft", draft.reference, "draft_ticket") in steps_of(app, call.sid)


def test_hanging_up_after_the_report_is_made_adds_no_draft(sim, app):
    call = dial(sim, "it")
    call.press("2")
    call.press("1")
    call.speak(DESCRIPTION["it"])
    call.press("1")
    call.hangup()
    [ticket] = rows(app, Ticket)
    assert ticket.status == "open" and ticket.priority == "urgent"


def test_hanging_up_at_the_recording_keeps_what_was_caught(sim, app):
    call = dial(sim, "it")
    call.press("2")
    call.press("1")
    call.speak("frr il mmm", confidence=0.1)
    assert call.waiting_for == "record"
    call.hangup()
    [draft] = rows(app, Ticket)
    assert draft.status == "draft" and draft.description == "frr il mmm"


@pytest.mark.parametrize("language", LANGS)
def test_hanging_up_elsewhere_closes_the_call_and_makes_nothing_up(sim, app, language):
    call = dial(sim, language)
    call.press("3")
    call.hangup()
    assert stored_call(app, call.sid).status == "completed"
    assert rows(app, Ticket) == []


@pytest.mark.parametrize("language", LANGS)
def test_a_warranty_caller_who_hangs_up_leaves_no_fault_draft(sim, app, language):
    _unit(app, language)
    call = dial(sim, language)
    call.press("3")
    call.press("20250001#")  # a known serial: the product is named, then the date is asked
    call.hangup()
    assert rows(app, Ticket) == []


def test_a_fault_caller_who_only_picked_the_kind_of_product_keeps_a_draft(sim, app):
    call = dial(sim, "en")
    call.press("2")
    call.press("1")  # modem or router: the caller's own answer about the fault
    call.hangup()
    [draft] = rows(app, Ticket)
    assert (draft.kind, draft.status, draft.details["hung_up_at"]["node"]) == ("fault", "draft", "describe")


def test_a_caller_who_hangs_up_in_the_queue_no_longer_counts_as_waiting(sim, app):
    first = dial(sim, "it", queue=QueuePlan("bridged", after_loops=9))
    first.press("0")
    first.hangup()
    assert stored_call(app, first.sid).status == "completed"
    second = dial(sim, "it")
    second.press("0")
    assert second.heard(t("nobody", "it"))


def test_calls_with_status_callbacks_out_of_order_still_keep_the_draft(sim, app):
    call = dial(sim, "en", events=("initiated", "ringing", "answered", "completed"), delivery="chaos", seed=3)
    call.press("2")
    call.press("1")
    call.speak(DESCRIPTION["en"])
    call.hangup()
    drafts = rows(app, Ticket)
    assert len(drafts) == 1 and drafts[0].status == "draft"


# --- engine behaviour reported to the lead ---------------------------------------------------


def test_star_at_a_question_that_captures_opens_the_language_menu(sim, app):
    call = dial(sim, "it")
    call.press("1")  # information: the question is a capture (a key or words)
    call.press("*")
    assert call.heard("Per l'italiano prema 1"), call.format_transcript()


@pytest.mark.parametrize("language", LANGS)
def test_the_language_menu_speaks_and_listens_in_each_language_in_turn(sim, app, language):
    def last() -> tuple[str, str]:
        entry = [e for e in call.transcript if e.kind == "say"][-1]
        return entry.text, entry.data["language"]

    call = dial(sim, language)
    call.press("*")
    assert last() == ("Per l'italiano prema 1.", "it-IT") and call.waiting_for == "gather"
    call.silence()  # a moment later, in Dutch, for Dutch ears
    assert last() == ("Voor Nederlands, druk op 2.", "nl-NL")
    call.silence()
    assert last() == ("For English, press 3.", "en-GB")
    call.silence()  # nobody chose: the menu again, in the language of the call
    assert T_MENU[language] in call.last_said, call.format_transcript()
    call.press("*")
    call.silence()
    call.press("2")  # during the Dutch offer
    assert "Voor informatie druk" in call.last_said, call.format_transcript()


# What each other language's speaker hears before the menu, as a native speaker of it says it,
# and the Twilio language code it must be spoken and listened to in.
LANGUAGE_OFFERS = {"it": ("Per l'italiano prema asterisco.", "it-IT"),
                   "nl": ("Voor Nederlands, druk op het sterretje.", "nl-NL"),
                   "en": ("For English, press star.", "en-GB")}


@pytest.mark.parametrize("language", LANGS)
def test_the_main_menu_offers_the_other_languages_each_in_its_own_voice(sim, app, language):
    """An English sentence read by the Italian voice is not English to an English ear: each
    offer is its own <Say> in its language's voice; the menu listens in the line's language."""
    call = dial(sim, language)
    says = [e for e in call.transcript if e.kind == "say"]
    menu = next(i for i, e in enumerate(says) if T_MENU[language] in e.text)
    offers = [(e.text, e.data["language"]) for e in says[menu - 2: menu]]
    assert offers == [LANGUAGE_OFFERS[lang] for lang in LANGS if lang != language], call.format_transcript()
    voices = {e.data["voice"] for e in says[menu - 2: menu + 1]}
    assert len(voices) == 3 and says[menu].data["language"] == i18n.TWILIO_LANGUAGE[language]
    assert call.waiting_for == "gather" and call.gather_attr("language") == i18n.TWILIO_LANGUAGE[language]
    call.press("*")  # the offer's key opens the language menu
    assert call.heard("Per l'italiano prema 1"), call.format_transcript()
