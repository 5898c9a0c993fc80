"""The engine walking real calls: courtesy, retries, language, state in the DB, transfers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app import calls, create_app
from app.consent.contacts import find_by_number, get_or_create
from app.db import session_scope
from app.flows.actions import Actions
from app.flows.engine import start_flow
from app.models import Call, CallStep
from tests.conftest import copy_word_files
from tests.voice import Caller

LAB = """
flow: lab
kind: inbound
start: hello
nodes:
  hello:
    say: {it: "{greeting}, qui {company}.", nl: "{greeting}, u spreekt met {company}.", en: "{greeting}, this is {company}."}
    next: menu
  menu:
    ask:
      say: {it: "Ordine 1, operatore 2, messaggio 3, numero 4.", nl: "Bestelling 1, medewerker 2, bericht 3, nummer 4.", en: "Order 1, operator 2, message 3, number 4."}
      input: "dtmf speech"
      choices:
        order: {dtmf: "1", speech: {it: ["ordine"], nl: ["bestelling"], en: ["order", "my order"]}, next: ask_ref}
        operator: {dtmf: "2", speech: {it: ["operatore"], nl: ["medewerker"], en: ["operator", "don't want an operator"]}, next: queue}
        message: {dtmf: "3", speech: {it: ["messaggio"], nl: ["bericht"], en: ["message"]}, next: record}
        number: {dtmf: "4", speech: {it: ["numero"], nl: ["nummer"], en: ["number"]}, next: dial}
      no_input: {reprompt: 2, then: offer}
      invalid: {reprompt: 1, then: offer}
  ask_ref:
    ask:
      say: {it: "Digiti il riferimento e cancelletto.", nl: "Toets de referentie en hekje.", en: "Key in the reference, then hash."}
      input: dtmf
      capture: {slot: ref, input: dtmf, finish_on_key: "#", max_digits: 12, next: check}
      no_input: {reprompt: 1, then: offer}
      invalid: {reprompt: 1, then: offer}
  check:
    action: lab_check
    next: {ok: read_back, boom: read_back}
  read_back:
    say: {it: "Riferimento {ref|digits}, consegna {when|datetime}.", nl: "Referentie {ref|digits}, levering {when|datetime}.", en: "Reference {ref|digits}, delivery {when|datetime}."}
    next: bye
  queue:
    transfer: {queue: support}
    next: {bridged: bye, leave: offer, redirected: offer, hangup: bye, queue-full: offer, error: offer, system-error: offer}
  dial:
    transfer: {number: "+390299999999"}
    next: {completed: bye, answered: bye, busy: offer, no-answer: offer, failed: offer, canceled: offer}
  record:
    record: {slot: message_url, max_length: 60}
    next: bye
  offer:
    say: {it: "Posso farla richiamare.", nl: "Ik kan u laten terugbellen.", en: "I can have you called back."}
    next: bye
  bye:
    end: {it: "Grazie, {farewell}.", nl: "Dank u, {farewell}.", en: "Thank you, {farewell}."}
"""
HOTLINES = """
defaults: {flow: lab, time_zone: Europe/Rome, country: IT, company: Lab}
hotlines:
  "+31201234567": {name: NL, language: nl, time_zone: Europe/Amsterdam, country: NL}
"""


LAB_ACTIONS = Actions()


@LAB_ACTIONS.action("lab_check", outcomes=("ok", "boom"))
def lab_check(ctx):
    if ctx.slots.get("ref") == "666":
        raise RuntimeError("the order service is down")
    ctx.slots["when"] = "2026-03-03T16:30:00+00:00"
    return "ok"


@pytest.fixture
def extra_actions() -> Actions:
    return LAB_ACTIONS


@pytest.fixture
def lab_flows(tmp_path: Path, settings: dict) -> Path:
    directory = tmp_path / "flows"
    directory.mkdir()
    (directory / "lab.yaml").write_text(LAB, encoding="utf-8")
    (directory / "hotlines.yaml").write_text(HOTLINES, encoding="utf-8")
    copy_word_files(directory)
    settings["FLOWS_DIR"] = str(directory)
    return directory


@pytest.fixture
def caller(lab_flows, twilio):
    return Caller(twilio)


def assert_never_silent(caller: Caller) -> None:
    for reply in caller.replies:
        assert reply.verbs, reply.xml
        assert reply.verbs[-1] != "Gather", f"Gather left last: {reply.xml}"


def test_greets_by_time_of_day_in_the_callers_zone(caller, clock):
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 in Rome
    assert caller.dial().said[0] == "Buongiorno, qui Lab."
    evening = Caller(caller.twilio)
    clock.set(datetime(2026, 3, 2, 18, 30, tzinfo=UTC))  # 19:30 in Rome
    assert evening.dial().said[0] == "Buonasera, qui Lab."
    dutch = Caller(caller.twilio, From="+31612345678", To="+31201234567")
    clock.set(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))  # 14:00 in Amsterdam
    assert dutch.dial().said[0] == "Goedemiddag, u spreekt met Lab."


def test_language_from_hotline_then_country(lab_flows, twilio):
    assert "Ordine 1" in Caller(twilio).dial().text  # Italian caller, default hotline: country
    assert "Order 1" in Caller(twilio, From="+447700900123").dial().text  # British caller
    assert "Bestelling 1" in Caller(twilio, From="+447700900123", To="+31201234567").dial().text


def test_a_reference_is_read_digit_by_digit_and_the_date_in_words(caller):
    caller.dial()
    caller.press("1")
    reply = caller.press("4711")
    assert "Riferimento 4 7 1 1, consegna domani, martedì 3 marzo, alle 17:30." in reply.text
    assert reply.text.endswith("Grazie, buona giornata.") and reply.hung_up


def test_speech_choices_match_words_in_the_callers_language(caller):
    caller.dial()
    assert "Digiti il riferimento" in caller.speak("vorrei sapere del mio ordine").text


def test_silence_reprompts_then_goes_on_never_leaving_gather_last(caller):
    caller.dial()
    first = caller.silence()
    assert first.said[0] == "Mi scusi, non ho sentito nulla." and "Ordine 1" in first.text
    caller.silence()
    last = caller.silence()
    assert "Posso farla richiamare." in last.text and last.hung_up
    assert_never_silent(caller)


def test_invalid_input_says_so_and_lists_the_options_again(caller):
    caller.dial()
    reply = caller.press("9")
    assert reply.said[0] == "Mi scusi, non ho capito." and "Ordine 1, operatore 2" in reply.text
    assert "Posso farla richiamare" in caller.speak("boh").text


def test_star_switches_language_and_the_contact_keeps_it(caller, app):
    caller.dial()
    menu = caller.press("*")
    assert [s for s in menu.said] == ["Per l'italiano prema 1.", "Voor Nederlands, druk op 2.", "For English, press 3."]
    # Each language in its own voice and heard by a recogniser of that language (a <Gather>
    # has one language): one Gather per language, the last one waiting longest.
    gathers = menu.root.findall("Gather")
    assert [g.attrib["language"] for g in gathers] == ["it-IT", "nl-NL", "en-GB"]
    assert [g.find("Say").attrib["language"] for g in gathers] == ["it-IT", "nl-NL", "en-GB"]
    assert len({g.find("Say").attrib.get("voice") for g in gathers}) == 3
    assert [g.attrib["timeout"] for g in gathers] == ["1", "1", "5"]
    assert "Bestelling 1" in caller.press("2").text
    with session_scope(app) as session:
        assert find_by_number(session, "+393471234567").language == "nl"
    assert "Bestelling 1" in Caller(caller.twilio).dial().text  # the next call starts in Dutch


def test_a_language_named_at_a_menu_switches_to_it(caller):
    caller.dial()
    assert "Bestelling 1" in caller.speak("nederlands").text  # the same question, in Dutch
    assert "For English, press 3." in caller.speak("een andere taal").said


def test_the_language_menu_understands_words_and_survives_silence(caller):
    caller.dial()
    caller.press("*")
    assert "Order 1" in caller.speak("english please").text
    caller.press("*")
    assert "Order 1" in caller.silence().text  # silence at the language menu: back, unchanged


def test_any_worker_can_take_the_next_webhook(caller, settings, lab_flows):
    caller.dial()
    other = create_app(settings, extra_actions=LAB_ACTIONS)  # a second process on the same database
    caller.twilio.client = other.test_client()
    reply = caller.press("1")
    assert "Digiti il riferimento" in reply.text


def test_a_replayed_webhook_does_not_advance_the_call_twice(caller, app):
    caller.dial()
    gather_at_menu = caller.last.gather["action"]
    caller.press("1")
    replay = caller.post(gather_at_menu, Digits="1")
    assert "Digiti il riferimento" in replay.text  # the current node again, not a new step
    with session_scope(app) as session:
        call = session.scalar(select(Call))
        inputs = session.scalars(select(CallStep).where(CallStep.kind == "input")).all()
        assert call.node == "ask_ref" and len(inputs) == 1


def test_an_action_that_fails_gives_an_apology_not_silence(caller):
    caller.dial()
    caller.press("1")
    reply = caller.press("666")
    assert "Ci scusi, abbiamo un problema tecnico" in reply.text
    assert reply.verbs[-1] in ("Hangup", "Dial")


def test_unknown_node_in_saved_state_is_an_apology(caller, app):
    caller.dial()
    with session_scope(app) as session:
        session.scalar(select(Call)).node = "deleted_node"
    reply = caller.press("1")
    assert "problema tecnico" in reply.text


def test_operator_queue_wait_leave_and_result(caller, app, settings):
    caller.dial()
    reply = caller.press("2")
    enqueue = reply.root.find("Enqueue")
    assert enqueue.text == "support" and "/voice/flow/transfer?v=" in enqueue.attrib["action"]
    wait = caller.post(enqueue.attrib["waitUrl"], QueuePosition="3", QueueTime="40")
    assert "Lei è il numero 3 in coda." in wait.text and wait.verbs[-1] == "Play"
    leave = caller.post(wait.gather["action"], Digits="1")
    assert leave.verbs == ["Leave"]
    long_wait = caller.post(enqueue.attrib["waitUrl"], QueuePosition="2", QueueTime="900")
    assert long_wait.verbs[-1] == "Leave"
    after = caller.post(enqueue.attrib["action"], QueueResult="leave")
    assert "Posso farla richiamare." in after.text


def test_dial_outcomes_follow_the_flow(caller):
    caller.dial()
    reply = caller.press("4")
    dial = reply.root.find("Dial")
    assert dial.find("Number").text == "+390299999999"
    busy = caller.post(dial.attrib["action"], DialCallStatus="busy")
    assert "Posso farla richiamare." in busy.text


def test_a_recorded_message_is_kept_in_a_slot(caller, app):
    caller.dial()
    reply = caller.press("3")
    record = reply.root.find("Record")
    assert record.attrib["maxLength"] == "60" and reply.verbs[-1] == "Redirect"
    done = caller.post(record.attrib["action"], RecordingUrl="https://api.twilio.com/rec/RE1",
                       RecordingDuration="7")
    assert done.hung_up
    with session_scope(app) as session:
        assert session.scalar(select(Call)).slots["message_url"] == "https://api.twilio.com/rec/RE1"


def test_a_webhook_for_a_call_we_do_not_know_starts_it_properly(caller):
    reply = caller.post("https://cortese.example.test/voice/flow/input?v=7", Digits="1")
    assert "qui Lab" in reply.text and reply.gather


def test_outbound_start_flow_speaks_the_contacts_language(lab_flows, app, clock):
    with app.test_request_context(), session_scope(app) as session:
        contact = get_or_create(session, "+393331112222", source="test", at=clock.now())
        contact.language = "en"
        call = calls.ensure_call(session, {"CallSid": "CA" + "1" * 32, "Direction": "outbound-api",
                                           "From": "+390212345678", "To": "+393331112222"}, clock.now())
        doc = start_flow(session, call, "lab", slots={"ref": "12"}, contact=contact)
        assert "Good morning, this is Lab." in doc.xml() and call.language == "en"


def test_a_retried_webhook_repeats_what_the_lost_answer_said(caller):
    caller.dial()
    caller.press("1")
    gather = caller.last.gather["action"]
    first = caller.post(gather, Digits="4711")
    retry = caller.post(gather, Digits="4711")  # Twilio lost our answer and asked again
    assert first.said == retry.said and "Riferimento 4 7 1 1" in retry.text and retry.hung_up
    assert retry.said.count("Grazie, buona giornata.") == 1


def test_star_at_a_capture_question_opens_the_language_menu(caller):
    caller.dial()
    caller.press("1")
    assert "For English, press 3." in caller.press("*").text
    assert "Key in the reference" in caller.press("3").text


def test_the_webhooks_call_status_is_saved_with_the_turn(caller, app, clock):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    caller.post("/voice/inbound", CallStatus="ringing")
    clock.set(datetime(2026, 3, 2, 9, 0, 20, tzinfo=UTC))
    caller.press("1")  # Twilio's Gather action says in-progress
    with session_scope(app) as session:
        call = session.scalar(select(Call))
        assert (call.status, call.node, call.state_version) == ("in-progress", "ask_ref", 2)
        assert call.updated_at == datetime(2026, 3, 2, 9, 0, 20, tzinfo=UTC)
        assert call.ended_at is None
    stale = caller.post(caller.last.redirect, CallStatus="ringing")  # a status never goes back
    assert stale.verbs
    with session_scope(app) as session:
        assert session.scalar(select(Call.status)) == "in-progress"
    clock.set(datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    caller.post(caller.last.gather["action"], Digits="123", CallStatus="completed")  # hung up mid-Gather
    with session_scope(app) as session:
        call = session.scalar(select(Call))
        assert call.status == "completed"
        assert call.ended_at == datetime(2026, 3, 2, 9, 1, tzinfo=UTC)
