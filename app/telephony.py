"""The one gateway to Twilio: the only module importing twilio.rest, and the one TwiML writer.

Everything else speaks our own types: `TwilioGateway` places and steers calls (with bounded
retries and typed errors carrying Twilio's code), `Twiml` builds the documents webhooks return.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from flask import Response
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.config import Settings
from app.i18n import TWILIO_LANGUAGE, TWILIO_VOICE
from app.inputs import xml_safe
from app.phone import mask

log = logging.getLogger(__name__)

TWILIO_API_HOST = "api.twilio.com"
# Twilio error codes that say the number itself is wrong or unreachable: retrying never helps.
NUMBER_ERROR_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21610, 13223, 13224})
BLOCKED_CODES = frozenset({21216})
PERMISSION_CODES = frozenset({21215, 21210, 21212})
AUTH_CODES = frozenset({20003, 20005})
RATE_LIMIT_CODES = frozenset({20429})


class TelephonyError(Exception):
    """A Twilio operation failed; `code` is Twilio's error code when it sent one."""

    retryable = False

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidNumberError(TelephonyError):
    """The destination is not a valid/reachable number (21211, 21214, 21217, 13223...)."""


class BlockedNumberError(TelephonyError):
    """Twilio refuses to call this number (21216): stop calling it."""


class PermissionError_(TelephonyError):
    """The account may not call there (geo permissions, unverified caller ID)."""


class AuthenticationError(TelephonyError):
    """Credentials rejected (20003): a configuration problem, not a call problem."""


class SimulatedCallRefused(TelephonyError):
    """A call for something a simulated call made (a callback booked on the softphone): it
    must never ring a real phone, so it never reaches Twilio."""


class RateLimitedError(TelephonyError):
    retryable = True


class TwilioUnavailableError(TelephonyError):
    """5xx answers or connection failures that lasted through every retry."""

    retryable = True


class AmbiguousRequestError(TelephonyError):
    """The request was sent but no answer came: the call may or may not exist.

    Not retried for call creation, because Twilio has no idempotency key and a retry could
    ring someone twice; the caller must reconcile (e.g. by status callback) instead.
    """


@dataclass(frozen=True)
class CallInfo:
    sid: str
    status: str
    to: str
    from_: str
    direction: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class RebasedHttpClient(TwilioHttpClient):
    """Sends every Twilio REST request to TWILIO_API_BASE_URL (a local fake in tests)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        parts = urlsplit(url)
        path = self._base.path.rstrip("/") + parts.path
        rebased = urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))
        return super().request(method, rebased, *args, **kwargs)


def _never_sent(exc: BaseException) -> bool:
    """True only when the request provably never reached Twilio: we could not connect."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(inner, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


def _ambiguous(exc: BaseException, *, creating: bool) -> bool:
    """A create whose answer we lost (timeout, connection dropped mid-answer) may have rung
    the callee already: retrying it could ring them twice."""
    return creating and isinstance(exc, requests.exceptions.RequestException) and not _never_sent(exc)


def _is_transient(exc: BaseException, *, creating: bool) -> bool:
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.code in RATE_LIMIT_CODES or exc.status >= 500
    if isinstance(exc, requests.exceptions.RequestException):
        return not _ambiguous(exc, creating=creating)
    return False


def _map_error(exc: BaseException) -> TelephonyError:
    if isinstance(exc, TelephonyError):
        return exc
    if isinstance(exc, TwilioRestException):
        code, status, msg = exc.code, exc.status, str(exc.msg)
        if code in NUMBER_ERROR_CODES:
            return InvalidNumberError(msg, code=code, status=status)
        if code in BLOCKED_CODES:
            return BlockedNumberError(msg, code=code, status=status)
        if code in PERMISSION_CODES:
            return PermissionError_(msg, code=code, status=status)
        if code in AUTH_CODES or status == 401:
            return AuthenticationError(msg, code=code, status=status)
        if status == 429 or code in RATE_LIMIT_CODES:
            return RateLimitedError(msg, code=code, status=status)
        if status >= 500:
            return TwilioUnavailableError(msg, code=code, status=status)
        return TelephonyError(msg, code=code, status=status)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return AmbiguousRequestError(f"no answer from Twilio: {exc}")
    if isinstance(exc, requests.exceptions.RequestException):
        return TwilioUnavailableError(f"cannot reach Twilio: {exc}")
    if isinstance(exc, TwilioException):
        return TelephonyError(str(exc))
    raise exc


class TwilioGateway:
    """Places and steers calls through Twilio's REST API."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        client: Client | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._client = client or self._make_client(settings)

    @staticmethod
    def _make_client(settings: Settings) -> Client:
        http = RebasedHttpClient(settings.twilio_api_base_url, settings.twilio_timeout_seconds)
        if settings.twilio_api_key_sid:
            return Client(
                settings.twilio_api_key_sid,
                settings.twilio_api_key_secret,
                settings.twilio_account_sid,
                http_client=http,
            )
        return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)

    def _run(self, operation: Callable[[], Any], *, creating: bool, what: str) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.twilio_max_attempts),
            wait=wait_random_exponential(
                multiplier=self._settings.twilio_retry_base_seconds,
                max=self._settings.twilio_retry_max_seconds,
            ),
            retry=retry_if_exception(lambda e: _is_transient(e, creating=creating)),
            sleep=self._sleep,
            before_sleep=lambda state: log.warning(
                "twilio %s failed (attempt %d), retrying: %s",
                what, state.attempt_number, state.outcome.exception() if state.outcome else "",
            ),
            reraise=True,
        )
        try:
            return retrying(operation)
        except Exception as exc:
            if _ambiguous(exc, creating=creating):
                raise AmbiguousRequestError(f"Twilio may have received the {what}: {exc}") from exc
            raise _map_error(exc) from exc

    def place_call(
        self,
        to: str,
        url: str,
        *,
        status_callback: str,
        from_: str | None = None,
        machine_detection: str | None = None,
        async_amd: bool = False,
        amd_status_callback: str | None = None,
        ring_timeout: int | None = None,
        events: Sequence[str] = ("initiated", "ringing", "answered", "completed"),
        simulated: bool = False,
    ) -> CallInfo:
        if simulated and urlsplit(self._settings.twilio_api_base_url).hostname == TWILIO_API_HOST:
            # Only the simulator's own fake REST API may place what a simulated call booked.
            log.warning("refused to dial %s for a simulated call", mask(to))
            raise SimulatedCallRefused("booked on a simulated call: never dialled through Twilio")
        kwargs: dict[str, Any] = {
            "to": to,
            "from_": from_ or self._settings.twilio_caller_id,
            "url": url,
            "method": "POST",
            "status_callback": status_callback,
            "status_callback_method": "POST",
            "status_callback_event": list(events),
        }
        if ring_timeout is not None:
            kwargs["timeout"] = ring_timeout
        if machine_detection:
            kwargs["machine_detection"] = machine_detection
            if async_amd:
                kwargs["async_amd"] = "true"
                kwargs["async_amd_status_callback"] = amd_status_callback or status_callback
        log.info("placing call to %s", mask(to))
        call = self._run(lambda: self._client.calls.create(**kwargs), creating=True, what="create")
        return _info(call)

    def update_call(
        self, sid: str, *, url: str | None = None, twiml: str | None = None, status: str | None = None
    ) -> CallInfo:
        kwargs = {k: v for k, v in {"url": url, "twiml": twiml, "status": status}.items() if v}
        if url:
            kwargs["method"] = "POST"
        call = self._run(lambda: self._client.calls(sid).update(**kwargs), creating=False, what="update")
        return _info(call)

    def hang_up(self, sid: str) -> CallInfo:
        return self.update_call(sid, status="completed")

    def dequeue_member(self, queue_sid: str, call_sid: str, url: str) -> None:
        """Take one specific caller out of a queue (the Queue Members API): the caller leaves
        the queue and runs the TwiML at `url` (the operator desk joins them to a conference)."""
        self._run(lambda: self._client.queues(queue_sid).members(call_sid).update(url=url, method="POST"),
                  creating=False, what="dequeue")

    def fetch_call(self, sid: str) -> CallInfo:
        return _info(self._run(lambda: self._client.calls(sid).fetch(), creating=False, what="fetch"))


def _info(call: Any) -> CallInfo:
    return CallInfo(
        sid=call.sid,
        status=str(call.status),
        to=call.to,
        from_=call._from,
        direction=str(call.direction),
        raw=dict(getattr(call, "_properties", {}) or {}),
    )


# --------------------------------------------------------------------------------------------
# TwiML


class HintText(str):
    """Hints already joined for <Gather hints="...">, written as an attribute once (a flow's
    question listens for the same words on every call: its engine keeps one per question)."""

    xml: str  # the text as a TwiML attribute value

    def __new__(cls, text: str = "") -> HintText:
        joined = super().__new__(cls, text)
        joined.xml = _attribute_text(text)
        return joined


def hint_text(hints: Iterable[str]) -> HintText:
    """Twilio reads hints as one comma-separated list of at most 1,000 characters; the words
    in order, each once, and never a phrase cut in half (it would mislead the recogniser)."""
    text = ""
    for hint in dict.fromkeys(h.strip() for h in hints if h and h.strip() and not h.startswith("@")):
        joined = f"{text}, {hint}" if text else hint
        if len(joined) > 1000:
            break
        text = joined
    return HintText(text)


class Twiml:
    """Builds a voice TwiML document; `say` and friends speak in the document's language.

    Every webhook answers with one, so each verb is written straight to text as it is added
    (a third of a menu step's CPU once went to twilio's TwiML classes and ElementTree); the
    bytes are twilio's own `str(VoiceResponse)`, which tests/test_telephony.py checks against
    the library for every verb we use."""

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._parts: list[str] = []

    def _say(self, text: str, language: str | None) -> str:
        return _say_tag(language or self.language) + _text(text) + "</Say>"

    def _add(self, name: str, text: str | None = None, **attrs: Any) -> None:
        self._parts.append(_element(name, attrs, text))

    def say(self, text: str, language: str | None = None) -> Twiml:
        self._parts.append(self._say(text, language) if text else _say_tag(language or self.language)[:-1] + " />")
        return self

    def pause(self, seconds: int = 1) -> Twiml:
        self._add("Pause", length=seconds)
        return self

    def play(self, url: str) -> Twiml:
        self._add("Play", url)
        return self

    def gather(
        self,
        action: str,
        prompts: Iterable[str | tuple[str, str]],
        *,
        input: str = "dtmf speech",
        num_digits: int | None = None,
        timeout: int = 5,
        finish_on_key: str | None = None,
        hints: Iterable[str] | HintText = (),
        language: str | None = None,
        speech_model: str | None = None,
    ) -> Twiml:
        """`hints`: words to listen for, or the HintText `hint_text` joined from them before
        (a flow's question listens for the same words on every call)."""
        lang = language or self.language
        speech = "speech" in input
        joined = (hints if isinstance(hints, HintText) else hint_text(hints)) if speech else None
        opened = '<Gather action="' + _attribute_text(action) + '"' + _gather_attributes(
            input, timeout, TWILIO_LANGUAGE.get(lang, "en-GB") if speech else None, joined or None,
            (speech_model or None) if speech else None, num_digits or None, finish_on_key)
        says = []
        for prompt in prompts:  # a (text, language) pair speaks in that language's voice
            text, say_lang = prompt if isinstance(prompt, tuple) else (prompt, lang)
            if text:
                says.append(self._say(text, say_lang))
        self._parts.append(opened + (">" + "".join(says) + "</Gather>" if says else " />"))
        return self

    def gather_in_turn(
        self,
        action: str,
        prompts: Sequence[tuple[str, str]],
        *,
        input: str = "dtmf speech",
        num_digits: int | None = None,
        timeout: int = 5,
        hints: Iterable[str] = (),
        gap: int = 1,
        speech_models: Mapping[str, str | None] | None = None,
    ) -> Twiml:
        """One <Gather> per (text, language): each said in its voice and listened to in its
        language (one Gather has one recognition language). Silence after one goes on to the
        next after `gap` seconds; after the last, to the verb that follows."""
        hint_list = hint_text(hints)
        for i, (text, lang) in enumerate(prompts):
            last = i == len(prompts) - 1
            self.gather(action, [(text, lang)], input=input, num_digits=num_digits,
                        timeout=timeout if last else gap, hints=hint_list, language=lang,
                        speech_model=(speech_models or {}).get(lang))
        return self

    def redirect(self, url: str) -> Twiml:
        self._parts.append('<Redirect method="POST">' + _text(url) + "</Redirect>" if url
                           else '<Redirect method="POST" />')
        return self

    def dial_number(
        self, number: str, *, action: str | None = None, timeout: int = 30, caller_id: str | None = None
    ) -> Twiml:
        attrs = {"action": action, "method": "POST" if action else None, "timeout": timeout, "callerId": caller_id}
        self._parts.append(_element("Dial", attrs, children=_element("Number", {}, number)))
        return self

    def dial_conference(self, name: str, *, action: str, end_on_exit: bool = True,
                        time_limit: int | None = None) -> Twiml:
        """Join a two-party conference (the desk's bridge); either side leaving ends it."""
        room = _element("Conference", {"startConferenceOnEnter": True, "endConferenceOnExit": end_on_exit,
                                       "beep": False}, name)
        self._parts.append(_element("Dial", {"action": action, "method": "POST", "timeLimit": time_limit},
                                    children=room))
        return self

    def enqueue(self, queue: str, *, action: str, wait_url: str) -> Twiml:
        self._add("Enqueue", queue, action=action, method="POST", waitUrl=wait_url, waitUrlMethod="POST")
        return self

    def leave(self) -> Twiml:
        self._add("Leave")
        return self

    def record(
        self, *, action: str, max_length: int = 120, finish_on_key: str = "#", play_beep: bool = True
    ) -> Twiml:
        self._add("Record", action=action, method="POST", maxLength=max_length, finishOnKey=finish_on_key,
                  playBeep=play_beep)
        return self

    def hangup(self) -> Twiml:
        self._add("Hangup")
        return self

    def reject(self, reason: str = "rejected") -> Twiml:
        self._add("Reject", reason=reason)
        return self

    def xml(self) -> str:
        return _DOCUMENT_START + "".join(self._parts) + "</Response>" if self._parts else _EMPTY_DOCUMENT

    def response(self, status: int = 200) -> Response:
        return Response(self.xml(), status=status, mimetype="text/xml")


# -- writing TwiML as twilio's library does (ElementTree's escaping, attributes sorted) -------

_DOCUMENT_START = '<?xml version="1.0" encoding="UTF-8"?><Response>'
_EMPTY_DOCUMENT = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def _text(text: str) -> str:
    """Element text escaped as ElementTree escapes it. Every value written goes through here or
    `_attribute_text`, which also drop what XML 1.0 forbids: stored text (a contact's name, an
    order's customer) may hold such a character, and one of them makes Twilio refuse the whole
    document (12100) and end the call. `str.replace` only where needed: `str.translate` with
    a table looks every character of a non-ASCII text up one by one, ten times slower."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text if text.isprintable() else xml_safe(text)


def _attribute_text(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it (see `_text`)."""
    text = _text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if text.isprintable():  # no line break or tab to write as a character reference
        return text
    return text.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")


def _attribute(value: Any) -> str:
    if value is True or value is False:  # booleans as twilio writes them: "true", "false"
        return "true" if value else "false"
    if isinstance(value, HintText):
        return value.xml
    return _attribute_text(str(value))


def _open_tag(name: str, attrs: Mapping[str, Any]) -> str:
    """`<Name a="..." b="..."`: attributes sorted by name, those set to None left out."""
    return "<" + name + _attributes(attrs)


def _attributes(attrs: Mapping[str, Any]) -> str:
    return "".join([f' {key}="{_attribute(attrs[key])}"' for key in sorted(attrs) if attrs[key] is not None])


@lru_cache(maxsize=256)
def _gather_attributes(input: str, timeout: int, language: str | None, hints: HintText | None,
                       speech_model: str | None, num_digits: int | None, finish_on_key: str | None) -> str:
    """A <Gather>'s attributes after its action, which sorts first: a question is asked with
    the same ones on every call, only the action's state version changes."""
    return _attributes({"actionOnEmptyResult": False, "method": "POST", "input": input, "timeout": timeout,
                        "language": language, "speechTimeout": "auto" if language else None, "hints": hints,
                        "speechModel": speech_model, "numDigits": num_digits, "finishOnKey": finish_on_key})


def _element(name: str, attrs: Mapping[str, Any], text: str | None = None, children: str = "") -> str:
    opened = _open_tag(name, attrs)
    if not text and not children:
        return opened + " />"
    return opened + ">" + (_text(text) if text else "") + children + "</" + name + ">"


@lru_cache(maxsize=64)
def _say_tag(language: str) -> str:
    """`<Say language=".." voice="..">` of a language (its voice too, when it has one)."""
    return _open_tag("Say", {"language": TWILIO_LANGUAGE.get(language, "en-GB"),
                             "voice": TWILIO_VOICE.get(language)}) + ">"

def apology_twiml(
    language: str, apology: str, next_step: str, goodbye: str, operator_number: str | None
) -> Twiml:
    """The safe answer when something broke mid-call: apologise, try an operator, say goodbye.

    A <Dial> without action continues with the next verb when the operator does not answer,
    so the caller still hears a goodbye rather than silence.
    """
    doc = Twiml(language).say(apology)
    if operator_number:
        doc.say(next_step).dial_number(operator_number, timeout=30)
    return doc.say(goodbye).hangup()
