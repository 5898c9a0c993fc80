"""What a support call leaves behind is findable: the tickets, warranty claims and callbacks it
made, with caller, language and references, in the DB, through the API and `cortese support`."""

from __future__ import annotations

from itertools import pairwise

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.callbacks.models import Callback
from app.db import session_scope
from app.models import Call, CallStep
from app.support.cli import cli
from app.support.models import Ticket, WarrantyClaim
from tests.console_support import BEARER
from tests.test_support_scenarios import LINES, MONDAY, dial, rows

CALLER, LINE = LINES["nl"]


@pytest.fixture(autouse=True)
def _monday(clock):
    clock.set(MONDAY)


@pytest.fixture
def run(app, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _one_call_three_records(sim):
    """A Dutch caller reports a fault, files a warranty claim and books a callback, in one call."""
    call = dial(sim, "nl")
    call.press("2")              # fault
    call.press("1")              # router
    call.speak("het modem knippert rood")
    call.press("2")              # can wait
    call.press("9")              # main menu
    call.press("3")              # warranty
    call.press("77778888#")      # a serial we do not know
    call.press("2")              # file it anyway
    call.press("01022025")
    call.press("9")              # main menu
    call.press("5")              # book a callback
    call.press("2")              # tomorrow morning
    call.press("1")              # confirm
    assert call.ended
    call.assert_courteous()
    return call


def test_a_calls_tickets_claims_and_callbacks_carry_caller_language_and_references(sim, app, client, run):
    call = _one_call_three_records(sim)
    [ticket] = rows(app, Ticket)
    [claim] = rows(app, WarrantyClaim)
    [callback] = rows(app, Callback)
    for record in (ticket, claim):
        assert (record.call_sid, record.language, record.caller_number) == (call.sid, "nl", CALLER)
    assert (callback.origin_call_sid, callback.language, callback.e164) == (call.sid, "nl", CALLER)
    assert ticket.description == "het modem knippert rood" and claim.outcome == "needs_review"

    tickets = client.get(f"/api/tickets?call_sid={call.sid}&language=nl", headers=BEARER).get_json()
    assert [t["reference"] for t in tickets["items"]] == [ticket.reference]
    assert tickets["items"][0]["caller_number"] == CALLER
    assert client.get("/api/tickets?language=it", headers=BEARER).get_json()["total"] == 0
    claims = client.get(f"/api/claims?call_sid={call.sid}", headers=BEARER).get_json()
    assert [(c["reference"], c["language"]) for c in claims["items"]] == [(claim.reference, "nl")]
    assert client.get("/api/claims?language=en", headers=BEARER).get_json()["total"] == 0
    booked = client.get("/api/callbacks?number=" + CALLER.replace("+", "%2B"), headers=BEARER).get_json()
    assert [(b["origin_call_sid"], b["language"]) for b in booked["items"]] == [(call.sid, "nl")]

    out = run("call", call.sid).output
    assert ticket.reference in out and claim.reference in out and f"#{callback.id}" in out
    assert "language nl" in out and "support.claim" in out  # the call's steps follow
    assert CALLER not in out and run("call", call.sid, "--full-numbers").output.count(CALLER) >= 1
    assert ticket.reference in run("tickets", "--language", "nl").output
    assert ticket.reference not in run("tickets", "--language", "en").output
    assert claim.reference in run("claims", "--language", "nl").output
    shown = run("show", claim.reference).output
    assert "unknown_serial" in shown and call.sid in shown


def test_an_unknown_call_is_a_clear_error(run, app):
    result = run("call", "CAnothere")
    assert result.exit_code == 1 and "No call CAnothere." in result.output


def test_every_step_of_the_call_is_stored_with_inputs_and_outcomes(sim, app):
    call = _one_call_three_records(sim)
    with session_scope(app) as session:
        stored = session.scalar(select(Call).where(Call.call_sid == call.sid))
        steps = list(session.scalars(select(CallStep).where(CallStep.call_id == stored.id).order_by(CallStep.id)))
        inputs = [s.input for s in steps if s.kind == "input"]
        kinds = {s.kind for s in steps}
    assert inputs[:4] == ["2", "1", "het modem knippert rood", "2"]
    assert {"support.ticket", "support.serial", "support.claim", "jump", "ask", "action"} <= kinds


def test_a_line_of_history_says_its_thing_once(sim, app):
    """An action that writes its own line (the caller recognised, a claim filed) is not
    followed by the engine's line saying the same outcome at the same node; where its own line
    says something else (the claim's reference and reason), the engine's outcome is kept."""
    call = _one_call_three_records(sim)
    with session_scope(app) as session:
        stored = session.scalar(select(Call).where(Call.call_sid == call.sid))
        steps = list(session.scalars(select(CallStep).where(CallStep.call_id == stored.id).order_by(CallStep.id)))
    repeated = [(a.kind, b.kind, a.node, a.outcome) for a, b in pairwise(steps)
                if a.outcome is not None and (a.node, a.outcome) == (b.node, b.outcome)]
    assert repeated == []
    assert [(s.kind, s.outcome) for s in steps if s.node == "identify"] == [("support.identify", "unknown")]
    claim = next(s for s in steps if s.kind == "support.claim")
    at_claim = [(s.kind, s.outcome) for s in steps if s.node == claim.node]
    assert at_claim[0] == ("support.claim", claim.outcome) and at_claim[1][0] == "action"
    assert at_claim[1][1] != claim.outcome


def test_the_shop_pushes_orders_through_the_api_and_callers_hear_them(sim, app, client):
    body = {"orders": [
        {"number": "A-4711", "status": "dispatched", "customer_number": "0612345678", "country": "NL",
         "customer_name": "Sanne de Vries", "expected_on": "05/03/2026", "carrier": "PostNL"},
        {"number": "4712", "status": "lost"},
        {"number": "4713", "status": "delivered", "delivered_on": "2026-02-27"},
    ]}
    result = client.post("/api/orders", json=body, headers=BEARER)
    assert result.status_code == 200, result.get_json()
    report = result.get_json()
    assert (report["created"], report["updated"]) == (2, 0)
    assert report["errors"] == [{"index": 1, "message": report["errors"][0]["message"]}]
    assert report["errors"][0]["message"].startswith("status: 'lost' is not one of")
    again = client.post("/api/orders", json={"orders": [{"number": "a4711", "status": "out for delivery",
                                                         "expected_on": "2026-03-02"}]}, headers=BEARER)
    assert again.get_json() == {"created": 0, "updated": 1, "errors": []}
    order = client.get("/api/orders/a-4711", headers=BEARER).get_json()
    assert order["number"] == "A4711" and order["status"] == "out_for_delivery"
    assert client.get("/api/orders/9999", headers=BEARER).status_code == 404
    assert client.post("/api/orders", json={"orders": []}, headers=BEARER).status_code == 422

    call = dial(sim, "nl")  # the customer's number: their open order is offered first
    assert call.heard("Sanne") and call.heard("Belt u over uw bestelling A 4 7 1 1?")
    call.press("1")
    assert call.heard("Uw bestelling A 4 7 1 1 is vandaag onderweg naar u."), call.format_transcript()
    other = sim.inbound(from_="+31687654321", to=LINES["nl"][1])
    other.press("4")
    other.press("4711#")  # letters cannot be keyed in: the digits find A-4711
    assert other.heard("Uw bestelling A 4 7 1 1 is vandaag onderweg naar u."), other.format_transcript()


def test_orders_api_needs_the_token(client):
    assert client.post("/api/orders", json={"orders": [{"number": "1", "status": "shipped"}]}).status_code == 401
