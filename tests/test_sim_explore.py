"""The explorer: every key the prompts mention, an unlisted key and silence, turn by turn."""

from __future__ import annotations

from collections.abc import Mapping

from app.sim import Simulator
from app.sim.explore import explore, options
from tests.sim_support import TwimlApp, doc

MENU = ('<Gather numDigits="1" action="/menu"><Say>Per le fatture prema 1, per il supporto '
        "prema 2, per l'operatore prema asterisco.</Say></Gather>"
        "<Redirect>/voice/inbound</Redirect>")


def menu(form: Mapping[str, str]) -> str:
    digits = form.get("Digits")
    if digits == "1":
        return doc("<Say>Le fatture arrivano per email. Arrivederci</Say>")
    if digits == "2":
        return doc("<Say>Ticket aperto.</Say>", "<Hangup/>")  # rude: no goodbye
    if digits == "*":
        return doc('<Gather numDigits="1" action="/menu"/>')  # dead end: Gather last
    return doc("<Say>Scelta non valida.</Say>", "<Redirect>/voice/inbound</Redirect>")


def test_options_come_from_the_prompt() -> None:
    twiml = TwimlApp().on("/voice/inbound", doc(MENU))
    call = twiml.simulator().inbound()
    assert options(call) == ["1", "2", "*", "7", "silence"]


def test_options_at_a_recording_and_a_speech_prompt() -> None:
    twiml = TwimlApp().on("/voice/inbound", doc("<Say>Dica pure.</Say>",
                                                '<Gather input="speech" action="/x"/>'))
    assert options(twiml.simulator().inbound()) == ["7", "say:vorrei parlare con qualcuno",
                                                    "silence"]
    twiml.on("/voice/inbound", doc("<Say>Lasci un messaggio</Say>", '<Record action="/r"/>'))
    assert options(twiml.simulator().inbound())[0].startswith("say:")


def test_explorer_finds_the_rude_and_the_silent_branches() -> None:
    twiml = TwimlApp().on("/voice/inbound", doc(MENU)).on("/menu", menu)
    result = explore(lambda: twiml.simulator().inbound(), depth=2)
    found = {tuple(f.path): f.problems for f in result.findings}
    assert set(found) == {("2",), ("7", "2"), ("silence", "2"), ("*", "silence"),
                          ("*", "say:vorrei parlare con qualcuno")}
    assert all(found[p][0].startswith("no_goodbye") for p in found if p[-1] == "2")
    assert found[("*", "silence")][0].startswith("silence")
    assert "Ticket aperto" in result.findings[0].report()
    assert not result.truncated and result.calls > 5


def test_explorer_stops_at_max_calls() -> None:
    twiml = TwimlApp().on("/voice/inbound", doc(MENU)).on("/menu", menu)
    result = explore(lambda: twiml.simulator().inbound(), depth=3, max_calls=4)
    assert result.truncated and result.calls == 4


def test_the_shipped_hotline_is_courteous_two_turns_deep(sim: Simulator) -> None:
    result = explore(lambda: sim.inbound(from_="+393471234567", to="+390212345678"), depth=2)
    assert result.findings == [], "\n".join(f.report() for f in result.findings)
    assert result.paths > 30
