"""The Twilio gateway: retries transient failures with backoff, never retries number errors."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
import responses
import urllib3
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.twiml.voice_response import Dial, VoiceResponse

from app.config import load_settings
from app.i18n import TWILIO_LANGUAGE, TWILIO_VOICE
from app.inputs import xml_safe
from app.telephony import (
    AmbiguousRequestError,
    AuthenticationError,
    BlockedNumberError,
    InvalidNumberError,
    RateLimitedError,
    TwilioGateway,
    TwilioUnavailableError,
    Twiml,
    hint_text,
)
from tests.conftest import ACCOUNT_SID, base_settings

CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


def _call_json(sid="CA" + "1" * 32, status="queued"):
    return {"sid": sid, "status": status, "direction": "outbound-api", "to": "+393471234567",
            "from": "+390212345678", "account_sid": ACCOUNT_SID,
            "date_created": "Wed, 25 Nov 2026 10:00:00 +0000"}


def _error(code, status, message="error"):
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def gateway(tmp_path, sleeps):
    settings = load_settings({**base_settings(tmp_path), "TWILIO_RETRY_BASE_SECONDS": 0.5,
                              "TWILIO_RETRY_MAX_SECONDS": 4, "TWILIO_MAX_ATTEMPTS": 4}, env_file=None)
    return TwilioGateway(settings, sleep=sleeps.append)


def _place(gateway):
    return gateway.place_call("+393471234567", "https://cortese.example.test/voice/outbound",
                              status_callback="https://cortese.example.test/voice/status",
                              machine_detection="DetectMessageEnd")


@responses.activate
def test_place_call_sends_twilios_form_fields(gateway):
    responses.post(CALLS_URL, json=_call_json(), status=201)
    info = _place(gateway)
    sent = parse_qs(responses.calls[0].request.body)
    assert sent == {
        "To": ["+393471234567"], "From": ["+390212345678"],
        "Url": ["https://cortese.example.test/voice/outbound"], "Method": ["POST"],
        "StatusCallback": ["https://cortese.example.test/voice/status"], "StatusCallbackMethod": ["POST"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "MachineDetection": ["DetectMessageEnd"]}
    assert info.sid == "CA" + "1" * 32 and info.status == "queued"
    assert info.direction == "outbound-api"


@responses.activate
def test_429_then_success_is_retried_with_bounded_backoff(gateway, sleeps):
    responses.post(CALLS_URL, json=_error(20429, 429, "Too Many Requests"), status=429)
    responses.post(CALLS_URL, json=_error(20429, 429, "Too Many Requests"), status=429)
    responses.post(CALLS_URL, json=_call_json(), status=201)
    assert _place(gateway).status == "queued"
    assert len(responses.calls) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 4 for s in sleeps)


@responses.activate
@pytest.mark.parametrize("code", [21211, 21214, 21217, 13223, 13224])
def test_invalid_number_is_not_retried(gateway, sleeps, code):
    responses.post(CALLS_URL, json=_error(code, 400, "The 'To' number is not valid"), status=400)
    with pytest.raises(InvalidNumberError) as info:
        _place(gateway)
    assert info.value.code == code and info.value.status == 400
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_blocked_number_is_typed_and_not_retried(gateway):
    responses.post(CALLS_URL, json=_error(21216, 400, "blocked"), status=400)
    with pytest.raises(BlockedNumberError) as info:
        _place(gateway)
    assert info.value.code == 21216 and len(responses.calls) == 1


@responses.activate
def test_authentication_error(gateway):
    responses.post(CALLS_URL, json=_error(20003, 401, "Authenticate"), status=401)
    with pytest.raises(AuthenticationError):
        _place(gateway)
    assert len(responses.calls) == 1


def _refused() -> requests.exceptions.ConnectionError:
    cause = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, CALLS_URL, cause))  # type: ignore[arg-type]


@responses.activate
def test_connection_refused_is_retried(gateway, sleeps):
    responses.post(CALLS_URL, body=_refused())
    responses.post(CALLS_URL, json=_call_json(), status=201)
    assert _place(gateway).sid.startswith("CA")
    assert len(sleeps) == 1


@responses.activate
def test_a_connection_dropped_during_create_is_ambiguous_not_retried(gateway, sleeps):
    responses.post(CALLS_URL, body=requests.exceptions.ConnectionError("Connection aborted."))
    with pytest.raises(AmbiguousRequestError):
        _place(gateway)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_dropped_connection_on_fetch_is_retried(gateway, sleeps):
    url = CALLS_URL.replace(".json", "/CA" + "1" * 32 + ".json")
    responses.get(url, body=requests.exceptions.ConnectionError("Connection aborted."))
    responses.get(url, json=_call_json(), status=200)
    assert gateway.fetch_call("CA" + "1" * 32).sid.startswith("CA")


@responses.activate
def test_5xx_storm_gives_up_after_max_attempts(gateway, sleeps):
    for _ in range(4):
        responses.post(CALLS_URL, json=_error(20500, 503, "Service Unavailable"), status=503)
    with pytest.raises(TwilioUnavailableError) as info:
        _place(gateway)
    assert info.value.status == 503
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_rate_limit_storm_surfaces_typed_error(gateway):
    for _ in range(4):
        responses.post(CALLS_URL, json=_error(20429, 429), status=429)
    with pytest.raises(RateLimitedError):
        _place(gateway)


@responses.activate
def test_read_timeout_on_create_is_not_retried(gateway):
    """The call may exist already: retrying could ring the person twice."""
    responses.post(CALLS_URL, body=requests.exceptions.ReadTimeout("no answer"))
    with pytest.raises(AmbiguousRequestError):
        _place(gateway)
    assert len(responses.calls) == 1


@responses.activate
def test_read_timeout_on_update_is_retried(gateway):
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/CA{'2' * 32}.json"
    responses.post(url, body=requests.exceptions.ReadTimeout("slow"))
    responses.post(url, json=_call_json("CA" + "2" * 32, "completed"), status=200)
    assert gateway.hang_up("CA" + "2" * 32).status == "completed"


@responses.activate
def test_api_base_url_redirects_every_rest_call(tmp_path):
    settings = load_settings({**base_settings(tmp_path), "TWILIO_API_BASE_URL": "http://127.0.0.1:8099/fake"},
                             env_file=None)
    fake = f"http://127.0.0.1:8099/fake/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    responses.post(fake, json=_call_json(), status=201)
    responses.get(fake.replace("Calls.json", f"Calls/CA{'1' * 32}.json"), json=_call_json(), status=200)
    gateway = TwilioGateway(settings, sleep=lambda s: None)
    _place(gateway)
    gateway.fetch_call("CA" + "1" * 32)
    assert responses.calls[0].request.url.split("?")[0] == fake


def test_gather_is_speech_and_dtmf_in_the_callers_language():
    xml = Twiml("it").gather("/voice/next", ["Prema 1"], hints=["sì", "no"]).redirect("/voice/next").xml()
    assert 'language="it-IT"' in xml and 'input="dtmf speech"' in xml
    assert 'actionOnEmptyResult="false"' in xml and xml.index("<Gather") < xml.index("<Redirect")
    assert json.dumps("sì")  # hints may carry accents


# Any character, and often those that XML escapes, forbids or ElementTree writes as references.
_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",))
                    | st.sampled_from(list('&<>"\'\r\n\t\x00\x08\x0b\x1f\ufffe\uffff\u00a0\u00ade')), max_size=40)


@hypothesis_settings(max_examples=300, deadline=None)
@given(says=st.lists(st.tuples(_ANY_TEXT, st.sampled_from(["it", "nl", "en"])), max_size=3),
       action=_ANY_TEXT, hints=st.lists(_ANY_TEXT, max_size=3), digits=st.none() | st.integers(1, 9),
       number=_ANY_TEXT, finish=st.none() | _ANY_TEXT, model=st.none() | _ANY_TEXT,
       verb=st.sampled_from(["dial", "conference", "enqueue", "record", "hangup"]),
       listen=st.sampled_from(["dtmf speech", "dtmf", "speech"]), joined=st.booleans())
def test_our_twiml_is_byte_for_byte_what_twilios_library_writes(says, action, hints, digits, number, finish,
                                                                  model, verb, listen, joined):
    """Twiml writes TwiML itself, for speed; every verb it writes must be exactly what twilio's
    own VoiceResponse writes for the same call (str(doc)), less the characters XML 1.0 forbids
    (which twilio writes as they are, making a document Twilio refuses with 12100)."""
    ours, theirs = Twiml("it"), VoiceResponse()

    def say_both(target, text, language):
        target.say(text, voice=TWILIO_VOICE.get(language), language=TWILIO_LANGUAGE[language])

    for text, language in says:
        ours.say(text, language)
        say_both(theirs, text, language)
    ours.gather(action, says or ["x"], input=listen, num_digits=digits, hints=hint_text(hints) if joined else hints,
                finish_on_key=finish, speech_model=model)
    speech = "speech" in listen
    attrs = {"action": action, "method": "POST", "input": listen, "timeout": 5,
             "action_on_empty_result": False, "language": "it-IT" if speech else None,
             "speech_timeout": "auto" if speech else None, "hints": (str(hint_text(hints)) or None) if speech else None,
             "speech_model": (model or None) if speech else None, "num_digits": digits or None,
             "finish_on_key": finish}
    gather = theirs.gather(**attrs)
    for text, language in says or [("x", "it")]:
        if text:
            say_both(gather, text, language)
    ours.pause(2).play(action)
    theirs.pause(length=2)
    theirs.play(action)
    if verb == "dial":
        ours.dial_number(number, action=action or None, caller_id=finish)
        dial = Dial(action=action or None, method="POST" if action else None, timeout=30, caller_id=finish)
        dial.number(number)
        theirs.append(dial)
    elif verb == "conference":
        ours.dial_conference(number, action=action, time_limit=digits)
        dial = Dial(action=action, method="POST", time_limit=digits)
        dial.conference(number, start_conference_on_enter=True, end_conference_on_exit=True, beep=False)
        theirs.append(dial)
    elif verb == "enqueue":
        ours.enqueue(number, action=action, wait_url=action)
        theirs.enqueue(number, action=action, method="POST", wait_url=action, wait_url_method="POST")
    elif verb == "record":
        ours.record(action=action, play_beep=bool(digits))
        theirs.record(action=action, method="POST", max_length=120, finish_on_key="#", play_beep=bool(digits))
    else:
        ours.leave().reject().hangup()
        theirs.leave()
        theirs.reject(reason="rejected")
        theirs.hangup()
    ours.redirect(action)
    theirs.redirect(action, method="POST")
    assert ours.xml() == xml_safe(str(theirs))


def test_an_empty_document_is_what_twilios_library_writes():
    assert Twiml("it").xml() == str(VoiceResponse())
