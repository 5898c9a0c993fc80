"""Checks shared by the reliability tests: what a webhook answer must look like on a live call."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.sim.twiml import Verb, parse_document
from tests.conftest import PUBLIC_BASE_URL

# Verbs that make the caller hear something or move the call on.
SPEAKS_OR_ROUTES = {"Say", "Play", "Dial", "Enqueue", "Redirect", "Leave", "Record"}
FLOW_STEP_PREFIX = PUBLIC_BASE_URL + "/voice/"


def assert_voice_answer(response: Any) -> list[Verb]:
    """HTTP 200 TwiML Twilio would execute, that speaks or routes, and never ends on a Gather
    (a caller who says nothing after a trailing Gather hears the call drop in silence)."""
    body = response.get_data(as_text=True)
    assert response.status_code == 200, f"HTTP {response.status_code}: {body[:500]}"
    assert response.mimetype in ("text/xml", "application/xml"), response.mimetype
    verbs = parse_document(body)  # raises TwimlError (12100/12200) for TwiML Twilio refuses
    assert verbs, "empty <Response/>"
    names = [v.name for v in verbs]
    assert SPEAKS_OR_ROUTES & set(names), f"silent TwiML: {body}"
    assert names[-1] != "Gather", f"Gather is the last verb (silence after its timeout): {body}"
    for verb in verbs:
        for url in _urls(verb):
            assert url.startswith(FLOW_STEP_PREFIX), f"URL outside the app: {url}"
            query = parse_qs(urlsplit(url).query)
            if "/voice/flow/" in url:
                assert query.get("v", [""])[0].isdigit(), f"flow URL without a version: {url}"
    return verbs


def _urls(verb: Verb) -> list[str]:
    urls = [verb.attrs[a] for a in ("action", "waitUrl") if verb.attrs.get(a)]
    if verb.name == "Redirect":
        urls.append(verb.text)
    for child in verb.children:
        urls.extend(_urls(child))
    return urls


def said(verbs: list[Verb]) -> str:
    """Everything spoken by a document, Gather prompts included."""
    parts: list[str] = []
    for verb in verbs:
        if verb.name == "Say":
            parts.append(verb.text)
        parts.extend(said(verb.children))
    return " ".join(parts)


def first_gather_action(verbs: list[Verb]) -> str | None:
    for verb in verbs:
        if verb.name == "Gather":
            return verb.attrs.get("action")
    return None


def path_of(url: str) -> str:
    """/voice/flow/input?v=3 from a full public URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
