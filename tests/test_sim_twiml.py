"""The simulator reads a webhook answer the way Twilio does (shared/TWILIO.md)."""

from __future__ import annotations

import pytest

from app.sim.transport import Fetched
from app.sim.twiml import TwimlError, UnsupportedTwiml, check_response, parse_document
from app.telephony import Twiml
from tests.sim_support import doc


def fetched(body: str, status: int | None = 200, ctype: str = "text/xml",
            elapsed: float = 0.1, error: str | None = None) -> Fetched:
    return Fetched("POST", "https://x.test/voice", {}, status, ctype, body, elapsed, error)


def code_of(answer: Fetched) -> int:
    with pytest.raises(TwimlError) as info:
        check_response(answer)
    return info.value.code


def test_accepts_text_xml_and_application_xml_with_charset() -> None:
    body = doc("<Say>ciao</Say>")
    assert check_response(fetched(body))[0].text == "ciao"
    assert check_response(fetched(body, ctype="application/xml; charset=utf-8"))[0].name == "Say"


@pytest.mark.parametrize("ctype", ["text/html", "text/plain", "application/json", ""])
def test_wrong_content_type_is_12300(ctype: str) -> None:
    assert code_of(fetched(doc("<Say>ciao</Say>"), ctype=ctype)) == 12300


@pytest.mark.parametrize("status", [301, 404, 500, 503])
def test_non_2xx_is_11200(status: int) -> None:
    assert code_of(fetched(doc("<Say>ciao</Say>"), status=status)) == 11200


def test_no_answer_or_over_15_seconds_is_11205() -> None:
    assert code_of(fetched("", status=None, error="connection refused")) == 11205
    assert code_of(fetched(doc("<Say>late</Say>"), elapsed=15.2)) == 11205
    assert check_response(fetched(doc("<Say>just in time</Say>"), elapsed=14.9))


@pytest.mark.parametrize("body", [
    "<Response><Say>unclosed</Response>",
    "",
    "   ",
    "<Reply><Say>wrong root</Say></Reply>",
    "just text",
])
def test_bad_xml_or_wrong_root_is_12100(body: str) -> None:
    assert code_of(fetched(body)) == 12100


@pytest.mark.parametrize("verb", ["<Speak>hi</Speak>", "<say>lowercase</say>", "<Goto/>"])
def test_unknown_verb_is_12100(verb: str) -> None:
    assert code_of(fetched(doc(verb))) == 12100


@pytest.mark.parametrize("verb", [
    '<Say lang="it-IT">ciao</Say>',
    '<Gather numdigits="1"><Say>x</Say></Gather>',
    '<Gather timeOut="5"/>',
    '<Hangup reason="x"/>',
])
def test_unknown_attribute_is_an_error(verb: str) -> None:
    assert code_of(fetched(doc(verb))) == 12200


@pytest.mark.parametrize("verb", [
    '<Gather method="PUT"/>',
    '<Gather numDigits="zero"/>',
    '<Gather input="keys"/>',
    '<Gather actionOnEmptyResult="yes"/>',
    '<Pause length="-1"/>',
    '<Reject reason="nope"/>',
    '<Dial timeout="2">+390212345678</Dial>',
    '<Say language="Italian">ciao</Say>',
])
def test_bad_attribute_values_are_errors(verb: str) -> None:
    assert code_of(fetched(doc(verb))) == 12200


@pytest.mark.parametrize("verb", [
    "<Gather><Dial>+39021</Dial></Gather>",
    "<Gather><Gather/></Gather>",
    "<Dial><Say>x</Say></Dial>",
    "<Say>hello <Pause/></Say>",
    "<Hangup><Say>x</Say></Hangup>",
])
def test_bad_nesting_is_12100(verb: str) -> None:
    assert code_of(fetched(doc(verb))) == 12100


def test_known_verbs_nouns_and_ssml_parse() -> None:
    verbs = parse_document(doc(
        '<Say voice="Polly.Bianca-Neural" language="it-IT" loop="2">Ciao <break time="1s"/>'
        '<emphasis>Mario</emphasis></Say>',
        '<Play loop="1">https://x.test/a.mp3</Play>', '<Pause length="2"/>',
        '<Gather input="dtmf speech" action="/a" method="POST" timeout="5" finishOnKey="#" '
        'numDigits="1" speechTimeout="auto" language="it-IT" hints="sì, no" '
        'actionOnEmptyResult="false"><Say>x</Say><Pause/></Gather>',
        '<Dial action="/d" timeout="30" callerId="+390212345678"><Number>+390298765432</Number>'
        '</Dial>',
        '<Enqueue action="/q" waitUrl="/w" waitUrlMethod="POST">support</Enqueue>',
        '<Record action="/r" maxLength="120" playBeep="true" finishOnKey="#"/>',
        '<Redirect method="POST">/x</Redirect>', "<Leave/>", "<Hangup/>", '<Reject reason="busy"/>',
    ))
    assert [v.name for v in verbs] == ["Say", "Play", "Pause", "Gather", "Dial", "Enqueue",
                                       "Record", "Redirect", "Leave", "Hangup", "Reject"]
    assert verbs[0].text == "Ciao Mario"
    assert verbs[4].children[0].text == "+390298765432"


def test_twiml_built_by_the_app_parses() -> None:
    xml = (Twiml("it").say("Buongiorno").gather("/a", ["Prema 1"], num_digits=1,
                                                 hints=["sì"]).redirect("/b").xml())
    assert [v.name for v in parse_document(xml)] == ["Say", "Gather", "Redirect"]


def test_valid_twiml_the_simulator_cannot_run_is_not_blamed_on_the_app() -> None:
    with pytest.raises(UnsupportedTwiml):
        parse_document(doc("<Connect><Stream url='wss://x'/></Connect>"))
