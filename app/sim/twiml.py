"""Reading a webhook answer the way Twilio does: status, Content-Type, XML, verbs, attributes.

Anything Twilio would refuse becomes a `TwimlError` carrying Twilio's error code:
11200 (HTTP retrieval failure: non-2xx), 11205 (connection failure / no answer in 15 s),
12100 (document parse failure: bad XML, root not <Response>, unknown verb or bad nesting),
12300 (invalid Content-Type), 12200 (schema validation: unknown attribute or bad value).

Twilio itself only *warns* (12200) about unknown attributes and carries on; the simulator is
deliberately strict there, because an attribute Twilio ignores (a typo such as `numdigits`)
silently changes what the caller experiences.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from app.sim.transport import TWILIO_TIMEOUT_SECONDS, Fetched

ACCEPTED_CONTENT_TYPES = frozenset({"text/xml", "application/xml"})


class TwimlError(Exception):
    """The answer is not TwiML Twilio would execute; `code` is Twilio's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class UnsupportedTwiml(Exception):
    """Valid TwiML the simulator cannot execute (e.g. <Connect><Stream>): a simulator limit,
    not an application error, so tests fail loudly instead of passing by accident."""


@dataclass
class Verb:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Verb] = field(default_factory=list)

    def attr(self, name: str, default: str = "") -> str:
        return self.attrs.get(name, default)


_COMMON_CALLBACK = {"statusCallbackEvent", "statusCallback", "statusCallbackMethod"}
_AMD = {
    "machineDetection", "amdStatusCallback", "amdStatusCallbackMethod", "machineDetectionTimeout",
    "machineDetectionSpeechThreshold", "machineDetectionSpeechEndThreshold",
    "machineDetectionSilenceTimeout",
}
_RECORDING_CB = {"recordingStatusCallback", "recordingStatusCallbackMethod",
                 "recordingStatusCallbackEvent"}

# Verb -> attributes Twilio documents for it.
VERB_ATTRIBUTES: dict[str, set[str]] = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": {
        "action", "method", "timeout", "finishOnKey", "numDigits", "input", "speechTimeout",
        "language", "hints", "profanityFilter", "speechModel", "enhanced", "bargeIn",
        "partialResultCallback", "partialResultCallbackMethod", "actionOnEmptyResult", "debug",
        "dtmfDetection",
    },
    "Redirect": {"method"},
    "Dial": {
        "action", "method", "timeout", "hangupOnStar", "timeLimit", "callerId", "record", "trim",
        "answerOnBridge", "ringTone", "recordingTrack", "sequential", "referUrl", "referMethod",
        "events",
    } | _RECORDING_CB,
    "Enqueue": {"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"},
    "Leave": set(),
    "Hangup": set(),
    "Reject": {"reason"},
    "Record": {
        "action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim",
        "transcribe", "transcribeCallback", "recordingChannels",
    } | _RECORDING_CB,
}
NOUN_ATTRIBUTES: dict[str, set[str]] = {
    "Number": {"sendDigits", "url", "method", "byoc"} | _COMMON_CALLBACK | _AMD,
    "Client": {"url", "method"} | _COMMON_CALLBACK,
    "Sip": {"username", "password", "url", "method"} | _COMMON_CALLBACK | _AMD,
    "Queue": {"url", "method", "reservationSid", "postWorkActivitySid"},
    "Conference": {
        "muted", "beep", "startConferenceOnEnter", "endConferenceOnExit", "waitUrl", "waitMethod",
        "maxParticipants", "record", "region", "coach", "trim", "eventCallbackUrl",
        "jitterBufferSize", "participantLabel",
    } | _COMMON_CALLBACK | _RECORDING_CB,
    "Application": {"copyParentTo", "customerId", "url", "method"} | _COMMON_CALLBACK,
    "Sim": set(),
    "Task": {"priority", "timeout"},
    "Identity": set(),
    "Parameter": {"name", "value"},
}
# Real Twilio verbs the simulator does not execute.
UNSUPPORTED_VERBS = frozenset({"Connect", "Pay", "Prompt", "Refer", "Start", "Stop", "Echo", "Sms",
                               "Message"})
SSML_TAGS = frozenset({"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as",
                       "sub", "w"})
ALLOWED_CHILDREN: dict[str, frozenset[str]] = {
    "Gather": frozenset({"Say", "Play", "Pause"}),
    "Dial": frozenset({"Number", "Client", "Sip", "Queue", "Conference", "Sim", "Application"}),
    "Enqueue": frozenset({"Task"}),
    "Client": frozenset({"Identity", "Parameter"}),
    "Application": frozenset({"Parameter"}),
}

_BOOL = frozenset({"true", "false"})
_METHOD = frozenset({"GET", "POST"})
_KEYS = re.compile(r"^[0-9#*]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_INPUT = frozenset({"dtmf", "speech", "dtmf speech", "speech dtmf"})


def _int(value: str, lo: int, hi: int) -> bool:
    return value.strip().isdigit() and lo <= int(value) <= hi


def _check_value(verb: str, name: str, value: str) -> str | None:
    """An error message when Twilio would reject this attribute value, else None."""
    checks: dict[str, tuple[bool, str]] = {
        "method": (value.upper() in _METHOD, "must be GET or POST"),
        "waitUrlMethod": (value.upper() in _METHOD, "must be GET or POST"),
        "loop": (_int(value, 0, 1000), "must be a whole number"),
        "length": (_int(value, 0, 3600), "must be a whole number of seconds"),
        "numDigits": (_int(value, 1, 1000), "must be a positive whole number"),
        "maxLength": (_int(value, 1, 14400), "must be a positive whole number of seconds"),
        "input": (" ".join(value.split()) in _INPUT, "must be dtmf, speech or 'dtmf speech'"),
        "finishOnKey": (_KEYS.match(value) is not None, "must be digits, # or *"),
        "reason": (value in ("rejected", "busy"), "must be rejected or busy"),
        "language": (_LANGUAGE.match(value) is not None, "must be a language tag such as it-IT"),
        "speechTimeout": (value == "auto" or _int(value, 0, 600), "must be auto or seconds"),
    }
    if name == "timeout":
        limits = (5, 600) if verb == "Dial" else (0, 600)
        ok = _int(value, *limits)
        return None if ok else f"must be a whole number of seconds ({limits[0]}-{limits[1]})"
    if name in {"actionOnEmptyResult", "playBeep", "hangupOnStar", "profanityFilter", "enhanced",
                "bargeIn", "debug", "answerOnBridge", "transcribe", "dtmfDetection"}:
        return None if value.lower() in _BOOL else "must be true or false"
    if name in checks:
        ok, message = checks[name]
        return None if ok else message
    return None


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _build(element: ET.Element, parent: str) -> Verb:
    name = element.tag
    if not isinstance(name, str) or "}" in name:
        raise TwimlError(12100, f"<{name}> in a namespace is not TwiML")
    known = VERB_ATTRIBUTES.get(name) if parent in ("Response",) else None
    if parent == "Response":
        if name in UNSUPPORTED_VERBS:
            raise UnsupportedTwiml(f"<{name}> is valid TwiML the simulator does not execute")
        if known is None:
            raise TwimlError(12100, f"unknown verb <{name}> in <Response>")
    else:
        allowed = ALLOWED_CHILDREN.get(parent, frozenset())
        if name not in allowed:
            raise TwimlError(12100, f"<{name}> may not be nested in <{parent}>")
        known = VERB_ATTRIBUTES.get(name) or NOUN_ATTRIBUTES.get(name, set())
    for attr, value in element.attrib.items():
        if attr not in known:
            raise TwimlError(12200, f"unknown attribute {attr!r} on <{name}>")
        problem = _check_value(name, attr, value)
        if problem:
            raise TwimlError(12200, f"<{name} {attr}={value!r}>: {problem}")
    children: list[Verb] = []
    if name == "Say":
        for sub in element.iter():
            if sub is not element and sub.tag not in SSML_TAGS:
                raise TwimlError(12100, f"<{sub.tag}> may not be nested in <Say>")
    else:
        children = [_build(child, name) for child in element]
    if name in ("Leave", "Hangup", "Reject", "Pause") and len(element):
        raise TwimlError(12100, f"<{name}> takes no nested elements")
    return Verb(name, dict(element.attrib), _text(element) if not children else "", children)


def parse_document(body: str) -> list[Verb]:
    """The verbs of a TwiML document; TwimlError(12100/12200) when Twilio would refuse it."""
    if not body.strip():
        raise TwimlError(12100, "empty document")
    try:
        root = ET.fromstring(body.encode("utf-8") if isinstance(body, str) else body)
    except ET.ParseError as exc:
        raise TwimlError(12100, f"not well-formed XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(12100, f"the root element is <{root.tag}>, not <Response>")
    if root.attrib:
        raise TwimlError(12200, f"<Response> takes no attributes, got {sorted(root.attrib)}")
    return [_build(child, "Response") for child in root]


def check_response(fetched: Fetched) -> list[Verb]:
    """Apply Twilio's checks to one webhook answer and return its verbs."""
    if fetched.status is None:
        raise TwimlError(11205, f"HTTP connection failure: {fetched.error or 'no answer'}")
    if fetched.elapsed > TWILIO_TIMEOUT_SECONDS:
        raise TwimlError(
            11205, f"the app took {fetched.elapsed:.1f} s; Twilio gives up after 15 s"
        )
    if not 200 <= fetched.status < 300:
        raise TwimlError(11200, f"HTTP retrieval failure: status {fetched.status}")
    mimetype = fetched.content_type.split(";", 1)[0].strip().lower()
    if mimetype not in ACCEPTED_CONTENT_TYPES:
        raise TwimlError(12300, f"invalid Content-Type {fetched.content_type!r} "
                                "(Twilio needs text/xml or application/xml)")
    return parse_document(fetched.body)
