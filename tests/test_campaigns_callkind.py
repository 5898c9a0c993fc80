"""Which kind of call a campaign or callback is (automated or live), and that the dialer and
the callback dispatcher tell the consent check so.

Expected values come from the law: a call that plays an artificial (text-to-speech) or
prerecorded voice is an automated call under 47 CFR 64.1200(a)(2)/(a)(3), the CRTC ADAD
rules, PECR reg. 19, Codice privacy art. 130(1) and Telecommunicatiewet art. 11.7(1).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import Callback
from app.campaigns.callkind import call_kind, callback_call_kind, campaign_call_kind
from app.campaigns.models import Campaign, CampaignAttempt
from app.consent import registries
from app.consent.ledger import record_consent
from app.consent.models import ComplianceDecision, Contact
from app.db import session_scope
from app.flows.model import Flow, Node
from app.telephony import CallInfo
from tests.callback_support import RecordingGateway, book, no_pause
from tests.campaign_support import fake_dialer, make_campaign, make_contacts

US_MOBILE = "+12025550143"
# Monday 2 March 2026, 10:00 in Washington DC (EST): inside the US calling window.
US_MORNING = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class Gateway:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def place_call(self, to: str, url: str, **kwargs: object) -> object:
        self.calls.append(to)
        return CallInfo(sid=f"CA{len(self.calls):032x}", status="queued", to=to, from_="+12025550100",
                        direction="outbound-api")


def _flow(start: Node) -> Flow:
    return Flow(name="f", kind="outbound", start=start.name, nodes={start.name: start}, file="f.yaml")


def test_a_text_to_speech_opener_is_an_automated_call_whatever_the_machine_policy():
    opener = _flow(Node(name="opener", kind="say", say={"en": "Hello, this is the virtual assistant"}, next="end"))
    assert call_kind(opener, "hangup").automated
    assert call_kind(opener, "message").automated


def test_an_operator_first_flow_is_live_only_when_machines_get_no_spoken_message():
    operator = _flow(Node(name="agent", kind="transfer", transfer={"queue": "sales"}))
    assert not call_kind(operator, "hangup").automated
    # A message left on a machine is a prerecorded/artificial voice (64.1200(a)(3)).
    assert call_kind(operator, "message").automated


def test_an_operator_transfer_announced_by_a_synthetic_voice_is_automated():
    announced = _flow(Node(name="agent", kind="transfer", say={"en": "Please hold"}, transfer={"queue": "sales"}))
    assert call_kind(announced, "hangup").automated


def test_an_unknown_flow_is_taken_as_automated():
    assert call_kind(None, "hangup").automated


def test_the_shipped_campaign_flows_and_callbacks_are_automated(app, clock):
    ids = make_contacts(app, ["+393471234567"], clock)
    campaign_id = make_campaign(app, clock, ids, start=False)
    with session_scope(app) as session:
        campaign = session.get(Campaign, campaign_id)
        kind = campaign_call_kind(app, campaign)
    assert kind.automated and kind.name == "automated" and "text-to-speech" in kind.why
    assert callback_call_kind(app).automated


@pytest.fixture
def us_ready(app, clock):
    """A US mobile contact, a fresh National DNC copy that does not list it, 10:00 local."""
    clock.set(US_MORNING)
    ids = make_contacts(app, [US_MOBILE], clock, automated_consent=False)
    with session_scope(app) as session:
        registries.import_registry(session, "US", io.BytesIO(b"+12025550199\n"), at=clock.now(),
                                   file_name="dnc.txt")
    return ids


def _us_sales(app, clock, ids):
    return make_campaign(app, clock, ids, purpose="sales", offer_id="FIBER-1G", flow="campaign_service",
                         languages=["en"], reason={"en": "our new fibre offer"})


def test_dialer_refuses_artificial_voice_telemarketing_without_written_consent(app, clock, us_ready):
    """47 CFR 64.1200(a)(2): telemarketing with an artificial voice needs prior express
    written consent; consent given orally is not enough."""
    with session_scope(app) as session:
        contact = session.get(Contact, us_ready[0])
        record_consent(session, contact, action="given", purpose="sales", at=clock.now() - timedelta(days=3),
                       source="phone call", recorded_by="agent:1", channel="any")
    _us_sales(app, clock, us_ready)
    gateway = Gateway()
    report = fake_dialer(app, clock, gateway=gateway).tick()
    assert gateway.calls == [] and report.refused == 1
    with session_scope(app) as session:
        attempt = session.scalars(select(CampaignAttempt)).one()
        decision = session.get(ComplianceDecision, attempt.decision_id)
        assert attempt.rule_id == "automated.consent_required"
        assert decision is not None and decision.automated and decision.inputs["automated"] is True


def test_dialer_calls_with_prior_express_written_consent_for_automated_calls(app, clock, us_ready):
    with session_scope(app) as session:
        contact = session.get(Contact, us_ready[0])
        record_consent(session, contact, action="given", purpose="sales", at=clock.now() - timedelta(days=3),
                       source="signed web form", recorded_by="import", channel="automated_voice", written=True)
    _us_sales(app, clock, us_ready)
    gateway = Gateway()
    fake_dialer(app, clock, gateway=gateway).tick()
    assert gateway.calls == [US_MOBILE]


def test_callback_dispatcher_records_its_calls_as_automated(app, clock):
    with session_scope(app) as session:
        cb_id = book(session, "+393471234567", clock.now() + timedelta(hours=1), at=clock.now()).id
    clock.advance(timedelta(hours=1))
    Dispatcher(app, gateway=RecordingGateway(), clock=clock, pace=no_pause).run_once()
    with session_scope(app) as session:
        cb = session.get(Callback, cb_id)
        assert cb is not None and cb.decision_id is not None
        decision = session.get(ComplianceDecision, cb.decision_id)
        assert decision is not None and decision.automated and decision.purpose == "callback"
