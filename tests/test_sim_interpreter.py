"""SimCall executes TwiML like Twilio and flags what a caller would suffer."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from app.sim import STATUS_EVENTS, CallEnded, QueuePlan
from app.sim.call import TWILIO_ERROR_MESSAGE, SimulatorError
from app.sim.courtesy import is_goodbye
from app.sim.params import signature
from tests.sim_support import ACCOUNT, BASE, TOKEN, TwimlApp, doc

GOODBYE = "<Say>Grazie e arrivederci.</Say><Hangup/>"
MENU = ('<Gather input="dtmf speech" numDigits="1" action="/menu" language="it-IT">'
        '<Say language="it-IT">Buongiorno, prema 1 per i guasti</Say></Gather>'
        '<Redirect>/voice/inbound</Redirect>')


@pytest.fixture
def twiml() -> TwimlApp:
    return TwimlApp()


# --------------------------------------------------------------------------- requests


def test_requests_carry_twilio_parameters_and_valid_signatures(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc("<Say>Guasti.</Say>", GOODBYE))
    call = twiml.simulator().inbound(from_="+393471234567", to="+390212345678", CallerName="Rossi")
    call.press("1")
    first, second = twiml.requests_to("/voice/inbound")[0], twiml.requests_to("/menu")[0]
    assert all(seen.signed_ok for seen in twiml.seen)
    assert first.form["CallSid"] == call.sid and call.sid.startswith("CA") and len(call.sid) == 34
    assert first.form["AccountSid"] == ACCOUNT and first.form["ApiVersion"] == "2010-04-01"
    assert first.form["From"] == first.form["Caller"] == "+393471234567"
    assert first.form["To"] == first.form["Called"] == "+390212345678"
    assert first.form["Direction"] == "inbound" and first.form["CallStatus"] == "ringing"
    assert first.form["FromCountry"] == "IT" and first.form["CallerName"] == "Rossi"
    assert second.form["CallStatus"] == "in-progress" and second.form["Digits"] == "1"


def test_signature_validates_with_twilios_validator_and_fails_with_another_token() -> None:
    other = TwimlApp(token="another-token-0123456789abcdef")
    other.on("/voice/inbound", doc("<Say>hi</Say>"))
    call = other.simulator(token=TOKEN).inbound(fallback=None, status_callback=None)
    assert [s.signed_ok for s in other.seen] == [False]
    assert "application_error" in call.problems
    assert call.last_said == TWILIO_ERROR_MESSAGE


def test_get_method_signs_the_url_with_query(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Redirect method="GET">/next?step=2</Redirect>'))
    twiml.on("/next", doc("<Say>ok</Say>", "<Hangup/>"))
    twiml.simulator().inbound()
    seen = twiml.requests_to("/next")[0]
    assert seen.method == "GET" and seen.signed_ok
    assert seen.query["step"] == "2" and seen.query["CallSid"].startswith("CA")


def test_compute_signature_is_twilios_own() -> None:
    params = {"CallSid": "CA1", "Digits": "1"}
    sig = signature(TOKEN, BASE + "/a?x=1", params)
    assert RequestValidator(TOKEN).validate(BASE + "/a?x=1", params, sig)
    assert not RequestValidator(TOKEN).validate(BASE + "/a?x=2", params, sig)


# --------------------------------------------------------------------------- Say / Gather


def test_transcript_said_heard_last_said(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(
        '<Say language="it-IT" voice="Polly.Bianca-Neural" loop="2">Buongiorno</Say>', MENU))
    call = twiml.simulator().inbound()
    assert call.said == ["Buongiorno", "Buongiorno", "Buongiorno, prema 1 per i guasti"]
    assert call.heard("BUONGIORNO, prema") and not call.heard("arrivederci")
    assert call.last_said.endswith("guasti")
    assert call.transcript[1].data == {"language": "it-IT", "voice": "Polly.Bianca-Neural"}
    assert call.waiting_for == "gather" and not call.ended and call.status == "in-progress"
    assert call.urls == [BASE + "/voice/inbound"]
    with pytest.raises(AssertionError, match="never heard 'ciao'"):
        call.expect_say("ciao")


def test_speech_posts_speech_result_and_confidence(twiml: TwimlApp) -> None:
    seen: list[Mapping[str, str]] = []

    def menu(form: Mapping[str, str]) -> str:
        seen.append(dict(form))
        return doc("<Say>Capito, grazie.</Say>", "<Hangup/>")

    twiml.on("/voice/inbound", doc(MENU)).on("/menu", menu)
    call = twiml.simulator().inbound().speak("il modem non funziona", confidence=0.81)
    assert seen[0]["SpeechResult"] == "il modem non funziona" and seen[0]["Confidence"] == "0.81"
    assert "Digits" not in seen[0]
    assert call.ended and call.problems == []


def test_num_digits_and_finish_on_key(twiml: TwimlApp) -> None:
    got: list[str] = []
    twiml.on("/voice/inbound", doc('<Gather numDigits="4" action="/pin"><Say>PIN</Say></Gather>',
                                   "<Say>Nessun PIN, arrivederci</Say>"))
    twiml.on("/pin", lambda f: got.append(f["Digits"]) or doc(  # type: ignore[func-returns-value]
        '<Gather finishOnKey="*" action="/ref"><Say>Codice?</Say></Gather>'))
    twiml.on("/ref", lambda f: got.append(f["Digits"] + "|" + f["FinishedOnKey"]) or doc(  # type: ignore[func-returns-value]
        "<Say>Grazie, arrivederci</Say>"))
    call = twiml.simulator().inbound()
    call.press("123456")  # only the first four count
    call.press("98*7")
    assert got == ["1234", "98|*"]
    assert call.ended and call.problems == []


def test_digits_without_finish_key_are_sent_after_timeout(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Gather action="/a" timeout="3"><Say>Numero?</Say></Gather>'))
    twiml.on("/a", lambda f: doc(f"<Say>Hai detto {f['Digits']}, grazie</Say>"))
    call = twiml.simulator().inbound().press("42")
    assert call.heard("hai detto 42")


def test_gather_action_defaults_to_the_current_document(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound?x=1", "unused")
    calls: list[str] = []

    def inbound(form: Mapping[str, str]) -> str:
        calls.append(form.get("Digits", "-"))
        if form.get("Digits"):
            return doc("<Say>Ricevuto, arrivederci</Say>")
        return doc('<Gather numDigits="1"><Say>Prema un tasto</Say></Gather>')

    twiml.on("/voice/inbound", inbound)
    call = twiml.simulator().inbound().press("7")
    assert calls == ["-", "7"] and call.ended and not call.problems


def test_speech_at_a_dtmf_only_gather_is_no_input(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Gather input="dtmf" action="/a"><Say>Prema 1</Say></Gather>',
                                   "<Say>Non ho ricevuto nulla. Arrivederci</Say>"))
    call = twiml.simulator().inbound().speak("uno")
    assert "/a" not in twiml.paths() and call.heard("non ho ricevuto")


# --------------------------------------------------------------------------- silence (TWILIO.md)


def test_gather_falls_through_on_no_input(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", "never")
    call = twiml.simulator().inbound()
    call.silence()
    assert "/menu" not in twiml.paths()
    assert twiml.paths().count("/voice/inbound") == 2  # the <Redirect> reprompts
    assert call.said.count("Buongiorno, prema 1 per i guasti") == 2
    assert call.problems == []


def test_gather_as_last_verb_ends_in_silence(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Gather action="/a"><Say>Prema 1</Say></Gather>'))
    call = twiml.simulator().inbound().silence()
    assert call.ended and call.status == "completed"
    assert call.problems == ["silence"]
    with pytest.raises(AssertionError, match="silence"):
        call.assert_courteous()


def test_action_on_empty_result_posts_without_digits(twiml: TwimlApp) -> None:
    got: list[dict[str, str]] = []
    twiml.on("/voice/inbound", doc(
        '<Gather action="/a" actionOnEmptyResult="true"><Say>Prema 1</Say></Gather>'))
    twiml.on("/a", lambda f: got.append(dict(f)) or doc("<Say>Va bene, arrivederci</Say>"))  # type: ignore[func-returns-value]
    call = twiml.simulator().inbound().silence()
    assert "Digits" not in got[0] and call.problems == []


def test_empty_response_is_silence(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc())
    call = twiml.simulator().inbound()
    assert call.ended and call.problems == ["silence"]


def test_hangup_after_input_without_a_word_is_silence(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc("<Hangup/>"))
    call = twiml.simulator().inbound().press("1")
    assert call.problems == ["silence"]


def test_hangup_after_input_without_goodbye(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc("<Say>Ticket aperto.</Say><Hangup/>"))
    call = twiml.simulator().inbound().press("1")
    assert call.problems == ["no_goodbye"]
    assert "Ticket aperto" in call.problems[0].detail


@pytest.mark.parametrize("goodbye", ["Thank you for calling.", "Grazie, buona serata!",
                                     "Tot ziens.", "Nog een fijne dag"])
def test_goodbyes_in_three_languages(twiml: TwimlApp, goodbye: str) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc(f"<Say>{goodbye}</Say>"))
    assert twiml.simulator().inbound().press("1").problems == []


def test_dutch_dag_is_a_word_not_a_substring() -> None:
    assert is_goodbye("Dag!") and not is_goodbye("We bellen u vandaag terug")


def test_caller_hanging_up_is_no_problem_and_sends_completed(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU))
    call = twiml.simulator().inbound().hangup()
    status = twiml.requests_to("/voice/status")
    assert call.ended and call.problems == [] and call.end_reason == "caller hung up"
    assert [s.form["CallStatus"] for s in status] == ["completed"]
    assert int(status[0].form["CallDuration"]) >= 1 and status[0].form["SequenceNumber"] == "0"
    assert status[0].form["CallbackSource"] == "call-progress-events"
    assert call.hangup() is call  # hanging up twice is harmless


def test_acting_on_an_ended_call_raises_with_the_transcript(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Say>Chiuso. Arrivederci</Say>"))
    call = twiml.simulator().inbound()
    with pytest.raises(CallEnded, match="Chiuso"):
        call.press("1")


# --------------------------------------------------------------------------- application errors


@pytest.mark.parametrize("answer,code", [
    (("boom", 500, "text/html"), 11200),
    ((doc("<Say>x</Say>"), 200, "text/html"), 12300),
    (("<Response><Say>x</Response>", 200, "text/xml"), 12100),
    ((doc("<Speak>x</Speak>"), 200, "text/xml"), 12100),
    ((doc('<Say colour="red">x</Say>'), 200, "text/xml"), 12200),
])
def test_application_errors_end_the_call_with_twilios_message(
        twiml: TwimlApp, answer: Any, code: int) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", answer)
    call = twiml.simulator().inbound().press("1")
    assert call.ended and call.problems == ["application_error"]
    assert str(code) in call.problems[0].detail
    assert call.last_said == TWILIO_ERROR_MESSAGE
    assert call.end_reason == f"application error {code}"


def test_slow_answer_over_15_seconds_is_an_application_error(twiml: TwimlApp) -> None:
    now = [0.0]

    def slow(form: Mapping[str, str]) -> str:
        now[0] += 16
        return doc("<Say>finally</Say>")

    twiml.on("/voice/inbound", slow)
    call = twiml.simulator(timer=lambda: now[0]).inbound(fallback=None)
    assert call.problems == ["application_error"] and "11205" in call.problems[0].detail
    assert not call.heard("finally")


def test_fallback_url_rescues_the_first_request(twiml: TwimlApp) -> None:
    got: list[dict[str, str]] = []
    twiml.on("/voice/inbound", ("oops", 500, "text/plain"))
    twiml.on("/voice/fallback", lambda f: got.append(dict(f)) or doc(  # type: ignore[func-returns-value]
        "<Say>Ci scusi, richiami più tardi. Arrivederci</Say>"))
    call = twiml.simulator().inbound()
    assert got[0]["ErrorCode"] == "11200" and got[0]["ErrorUrl"] == BASE + "/voice/inbound"
    assert call.heard("ci scusi") and call.problems == ["application_error"]


def test_unreachable_url_in_process_is_a_connection_failure(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Redirect>https://elsewhere.test/x</Redirect>"))
    call = twiml.simulator().inbound()
    assert call.problems == ["application_error"] and "11205" in call.problems[0].detail


# --------------------------------------------------------------------------- redirects


def test_redirect_loop_is_flagged_and_ended(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Redirect>/voice/inbound</Redirect>"))
    call = twiml.simulator().inbound()
    assert call.ended and call.problems == ["redirect_loop"]
    assert len(twiml.requests_to("/voice/inbound")) == 21


def test_redirects_with_speech_in_between_are_fine(twiml: TwimlApp) -> None:
    count = [0]

    def step(form: Mapping[str, str]) -> str:
        count[0] += 1
        if count[0] > 30:
            return doc("<Say>Fine, arrivederci</Say>")
        return doc("<Say>ancora</Say>", "<Redirect>/voice/inbound</Redirect>")

    twiml.on("/voice/inbound", step)
    assert twiml.simulator().inbound().problems == []


def test_relative_urls_resolve_against_the_document(twiml: TwimlApp) -> None:
    twiml.on("/voice/flow/start", doc("<Redirect>next</Redirect>"))
    twiml.on("/voice/flow/next", doc("<Say>eccomi</Say>"))
    call = twiml.simulator().inbound(path="/voice/flow/start")
    assert call.heard("eccomi")


# --------------------------------------------------------------------------- Dial


def test_dial_posts_dial_call_status_to_action(twiml: TwimlApp) -> None:
    got: list[dict[str, str]] = []
    twiml.on("/voice/inbound", doc('<Say>Le passo un operatore</Say><Dial action="/after" '
                                   'timeout="20"><Number>+390298765432</Number></Dial>'))
    twiml.on("/after", lambda f: got.append(dict(f)) or doc(  # type: ignore[func-returns-value]
        f"<Say>Esito {f['DialCallStatus']}. Arrivederci</Say>"))
    call = twiml.simulator().inbound(dial=["busy"])
    assert got[0]["DialCallStatus"] == "busy" and got[0]["DialCallSid"].startswith("CA")
    assert got[0]["DialCallDuration"] == "0"
    assert call.heard("esito busy")
    assert call.transcript[2].kind == "dial" and "Number:+390298765432" in call.transcript[2].text


@pytest.mark.parametrize("outcome", ["completed", "answered", "no-answer", "failed"])
def test_dial_outcomes(twiml: TwimlApp, outcome: str) -> None:
    twiml.on("/voice/inbound", doc('<Dial action="/after">+390298765432</Dial>'))
    twiml.on("/after", lambda f: doc(f"<Say>{f['DialCallStatus']} {f['DialCallDuration']} "
                                     "grazie</Say>"))
    call = twiml.simulator().inbound(dial=[outcome])
    talk = "30" if outcome in ("completed", "answered") else "0"
    assert call.heard(f"{outcome} {talk}")


def test_dial_without_action_continues(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Dial>+390298765432</Dial>",
                                   "<Say>Operatore non disponibile, arrivederci</Say>"))
    call = twiml.simulator().inbound(dial=["no-answer"])
    assert call.heard("non disponibile") and call.problems == []


def test_caller_hangs_up_during_dial(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Dial action="/after">+390298765432</Dial>'))
    twiml.on("/after", doc("<Say>never heard</Say>"))
    call = twiml.simulator().inbound(dial=["hangup"])
    assert call.ended and call.end_reason == "caller hung up" and not call.heard("never heard")
    assert twiml.requests_to("/after")[0].form["DialCallStatus"] == "completed"


# --------------------------------------------------------------------------- Enqueue


def _queue_app(twiml: TwimlApp) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []
    twiml.on("/voice/inbound", doc(
        '<Say>Attenda in linea</Say>',
        '<Enqueue action="/queued" waitUrl="/wait">support</Enqueue>',
        "<Say>after enqueue</Say>"))
    twiml.on("/wait", lambda f: seen.append(dict(f)) or doc(  # type: ignore[func-returns-value]
        f"<Say>Lei è il numero {f['QueuePosition']}</Say>",
        '<Gather numDigits="1" action="/wait-key"><Say>Prema 1 per essere richiamato</Say>'
        "</Gather>"))
    twiml.on("/wait-key", lambda f: doc("<Say>La richiameremo</Say>", "<Leave/>"))
    twiml.on("/queued", lambda f: seen.append(dict(f)) or doc(  # type: ignore[func-returns-value]
        f"<Say>Risultato {f['QueueResult']}. Arrivederci</Say>"))
    return seen


def test_enqueue_loops_wait_url_then_bridges(twiml: TwimlApp) -> None:
    seen = _queue_app(twiml)
    call = twiml.simulator().inbound(queue=QueuePlan("bridged", after_loops=2, position=3))
    assert call.waiting_for == "gather" and call.heard("numero 3")
    call.silence()
    assert call.waiting_for == "gather"  # second loop of the wait TwiML
    call.silence()
    assert seen[0]["QueuePosition"] == "3" and "QueueTime" in seen[0]
    assert seen[0]["CurrentQueueSize"] == "3" and seen[0]["QueueSid"].startswith("QU")
    assert seen[-1]["QueueResult"] == "bridged"
    assert call.heard("risultato bridged") and not call.heard("after enqueue")
    assert call.ended and call.problems == []


def test_leave_from_a_gather_in_the_wait_music(twiml: TwimlApp) -> None:
    seen = _queue_app(twiml)
    call = twiml.simulator().inbound(queue=QueuePlan("bridged", after_loops=5)).press("1")
    assert call.heard("la richiameremo") and seen[-1]["QueueResult"] == "leave"
    assert call.heard("risultato leave")


def test_caller_gives_up_in_the_queue(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Enqueue action="/queued" waitUrl="/wait">support</Enqueue>'))
    twiml.on("/wait", doc("<Say>Attenda</Say>"))
    twiml.on("/queued", doc("<Say>ignored</Say>"))
    call = twiml.simulator().inbound(queue=QueuePlan("hangup", after_loops=3))
    assert call.ended and call.end_reason == "caller hung up in the queue"
    assert call.said.count("Attenda") == 3
    assert twiml.requests_to("/queued")[0].form["QueueResult"] == "hangup"


def test_queue_full_goes_to_action_at_once(twiml: TwimlApp) -> None:
    _queue_app(twiml)
    call = twiml.simulator().inbound(queue=QueuePlan("queue-full"))
    assert call.heard("risultato queue-full") and "/wait" not in twiml.paths()


def test_enqueue_without_action_continues_and_leave_outside_queue_is_ignored(
        twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Leave/>", '<Enqueue waitUrl="/wait">support</Enqueue>',
                                   "<Say>Grazie, arrivederci</Say>"))
    twiml.on("/wait", doc("<Leave/>"))
    call = twiml.simulator().inbound()
    assert call.heard("arrivederci") and call.problems == []


def test_wait_twiml_may_not_dial(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Enqueue waitUrl="/wait">support</Enqueue>'))
    twiml.on("/wait", doc("<Dial>+390298765432</Dial>"))
    assert twiml.simulator().inbound().problems == ["application_error"]


# --------------------------------------------------------------------------- Record


def test_record_posts_recording_parameters(twiml: TwimlApp) -> None:
    got: list[dict[str, str]] = []
    twiml.on("/voice/inbound", doc('<Say>Lasci un messaggio</Say><Record action="/rec" '
                                   'maxLength="60"/><Say>Nessun messaggio, arrivederci</Say>'))
    twiml.on("/rec", lambda f: got.append(dict(f)) or doc(  # type: ignore[func-returns-value]
        "<Say>Messaggio ricevuto, grazie</Say>"))
    call = twiml.simulator().inbound()
    assert call.waiting_for == "record"
    call.speak("il router lampeggia rosso da ieri sera")
    assert got[0]["RecordingSid"].startswith("RE")
    assert got[0]["RecordingUrl"].endswith("/Recordings/" + got[0]["RecordingSid"])
    assert int(got[0]["RecordingDuration"]) >= 1
    assert call.recordings[0]["text"] == "il router lampeggia rosso da ieri sera"
    assert call.problems == []


def test_silent_record_goes_on_to_the_next_verb(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Record action="/rec"/>', "<Say>Nessun messaggio, "
                                   "arrivederci</Say>"))
    call = twiml.simulator().inbound().silence()
    assert "/rec" not in twiml.paths() and call.heard("nessun messaggio")


# --------------------------------------------------------------------------- Hangup / Reject


def test_reject_first_verb_is_not_answered(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Reject reason="busy"/>'))
    call = twiml.simulator().inbound(events=STATUS_EVENTS)
    assert call.status == "busy" and call.ended and call.problems == []
    statuses = [s.form["CallStatus"] for s in twiml.requests_to("/voice/status")]
    assert statuses == ["initiated", "ringing", "busy"]


def test_reject_default_reason_is_no_answer(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Reject/>"))
    assert twiml.simulator().inbound().status == "no-answer"


# --------------------------------------------------------------------------- status callbacks


def test_all_status_events_in_order_with_sequence_numbers(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Say>Arrivederci</Say>"))
    twiml.simulator().inbound(events=STATUS_EVENTS)
    forms = [s.form for s in twiml.requests_to("/voice/status")]
    assert [(f["CallStatus"], f["SequenceNumber"]) for f in forms] == [
        ("initiated", "0"), ("ringing", "1"), ("in-progress", "2"), ("completed", "3")]
    assert "Timestamp" in forms[0] and forms[-1]["Duration"] == "1"


def test_shuffled_and_duplicated_callbacks(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc("<Say>Arrivederci</Say>"))
    twiml.simulator().inbound(events=STATUS_EVENTS, delivery="chaos", seed=3)
    sequence = [s.form["SequenceNumber"] for s in twiml.requests_to("/voice/status")]
    assert sorted(sequence) == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert sequence != sorted(sequence)


def test_unknown_events_and_delivery_are_refused(twiml: TwimlApp) -> None:
    with pytest.raises(ValueError):
        twiml.simulator().inbound(events=("answered", "hung"))
    with pytest.raises(ValueError):
        twiml.simulator().inbound(delivery="random")


# --------------------------------------------------------------------------- misc


def test_runaway_document_stops_with_an_error(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(*["<Pause/>"] * 600))
    with pytest.raises(SimulatorError, match="without waiting"):
        twiml.simulator().inbound()


def test_a_call_survives_pickling_and_reattaching(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc("<Say>Guasti, arrivederci</Say>"))
    sim = twiml.simulator()
    call = sim.inbound()
    restored = pickle.loads(pickle.dumps(call))
    restored.attach(sim.requester).press("1")
    assert restored.heard("guasti, arrivederci") and restored.problems == []


def test_problems_survive_pickling(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc())
    call = pickle.loads(pickle.dumps(twiml.simulator().inbound()))
    assert call.problems == ["silence"] and call.problems[0].detail


def test_replay_sends_every_webhook_twice_with_one_idempotency_token(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc(MENU)).on("/menu", doc("<Say>Guasti, arrivederci</Say>"))
    call = twiml.simulator().inbound(replay=True).press("1")
    assert twiml.paths().count("/voice/inbound") == 2 and twiml.paths().count("/menu") == 2
    first, second = twiml.requests_to("/menu")
    assert first.form == second.form and call.heard("guasti") and call.problems == []


def test_pressing_keys_in_the_queue_does_not_stop_the_agent_answering(twiml: TwimlApp) -> None:
    twiml.on("/voice/inbound", doc('<Enqueue action="/queued" waitUrl="/wait">support</Enqueue>'))
    twiml.on("/wait", doc('<Gather numDigits="1" action="/wait-key"><Say>Prema 1</Say></Gather>'))
    twiml.on("/wait-key", doc('<Gather numDigits="1" action="/wait-key"><Say>Prema 1</Say>'
                              "</Gather>"))
    twiml.on("/queued", lambda f: doc(f"<Say>{f['QueueResult']}, arrivederci</Say>"))
    call = twiml.simulator().inbound(queue=QueuePlan("bridged", after_loops=3))
    call.press("7").press("7").press("7")  # three rounds: each answered by the app
    assert call.waiting_for == "gather" and len(twiml.requests_to("/wait-key")) == 3
    call.press("7")  # the agent picked up meanwhile: this key is moot
    assert call.ended and call.heard("bridged, arrivederci")
    assert len(twiml.requests_to("/wait-key")) == 3


def test_outbound_call_without_the_rest_round_trip(twiml: TwimlApp) -> None:
    twiml.on("/voice/outbound", lambda f: doc(
        f"<Say>Buongiorno, sono Cortese ({f['Direction']}, {f['AnsweredBy']}).</Say>",
        '<Gather numDigits="1" action="/ok"><Say>Prema 1</Say></Gather>'))
    twiml.on("/ok", doc("<Say>Grazie, arrivederci</Say>"))
    call = twiml.simulator().outbound("+393471234567", answered_by="human",
                                      events=STATUS_EVENTS)
    first = twiml.requests_to("/voice/outbound")[0].form
    assert first["From"] == "+390212345678" and first["To"] == "+393471234567"
    assert first["CallStatus"] == "in-progress" and call.heard("outbound-api, human")
    call.press("1")
    assert call.ended and call.problems == []
    assert [s.form["CallStatus"] for s in twiml.requests_to("/voice/status")] == [
        "initiated", "ringing", "in-progress", "completed"]
