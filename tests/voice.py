"""A minimal caller for engine tests: follows Gather/Redirect URLs of the TwiML the app returns.

The full simulator (app/sim) interprets every verb; this keeps the engine's own tests readable
and independent of it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import PUBLIC_BASE_URL, SignedClient, voice_params


@dataclass
class Reply:
    xml: str
    said: list[str]
    gather: dict[str, str] | None
    redirect: str | None
    verbs: list[str]
    root: Any = field(repr=False, default=None)

    @property
    def text(self) -> str:
        return " ".join(self.said)

    @property
    def hung_up(self) -> bool:
        return "Hangup" in self.verbs


class Caller:
    def __init__(self, twilio: SignedClient, **params: str) -> None:
        self.twilio = twilio
        self.params = voice_params(**params)
        self.replies: list[Reply] = []

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def post(self, url: str, **extra: str) -> Reply:
        path = url.removeprefix(PUBLIC_BASE_URL)
        response = self.twilio.post(path, {**self.params, "CallStatus": "in-progress", **extra})
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        reply = parse(response.get_data(as_text=True))
        self.replies.append(reply)
        return reply

    def dial(self, path: str = "/voice/inbound") -> Reply:
        return self.post(path)

    def press(self, digits: str) -> Reply:
        assert self.last.gather, f"nothing to press at: {self.last.xml}"
        return self.post(self.last.gather["action"], Digits=digits)

    def speak(self, text: str, confidence: str = "0.9") -> Reply:
        assert self.last.gather, f"nothing to answer at: {self.last.xml}"
        return self.post(self.last.gather["action"], SpeechResult=text, Confidence=confidence)

    def silence(self) -> Reply:
        assert self.last.redirect, f"no fall-through after the Gather: {self.last.xml}"
        return self.post(self.last.redirect)


def parse(xml: str) -> Reply:
    root = ET.fromstring(xml)
    assert root.tag == "Response"
    said: list[str] = []
    verbs: list[str] = []
    gather = redirect = None
    for verb in root:
        verbs.append(verb.tag)
        if verb.tag == "Say":
            said.append(verb.text or "")
        elif verb.tag == "Gather":
            gather = dict(verb.attrib)
            said.extend(s.text or "" for s in verb if s.tag == "Say")
        elif verb.tag == "Redirect":
            redirect = verb.text
    return Reply(xml, said, gather, redirect, verbs, root)
