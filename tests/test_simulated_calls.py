"""With SIM_ENABLED in production an operator can place simulated calls from the softphone, with
any caller number. What such a call books must never ring that number for real: simulated
calls, and the callbacks and tickets they make, are marked, and the one gateway to Twilio
refuses to dial for them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import Callback
from app.calls import SIMULATED_HEADER, simulated_mark
from app.campaigns import service
from app.campaigns.models import CampaignAttempt, CampaignContact
from app.config import load_settings
from app.consent.contacts import find_by_number, get_or_create
from app.db import session_scope
from app.models import Call
from app.support.models import Ticket
from app.telephony import TwilioGateway
from tests.callback_support import book
from tests.campaign_support import automated_consent_given, fake_dialer, screened
from tests.conftest import AUTH_TOKEN, base_settings, voice_params
from tests.test_callbacks_booking import IT_CALLER, IT_LINE, NOW


class TwilioClientStub:
    """Stands in for twilio.rest.Client at https://api.twilio.com: records what would be sent."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.calls = SimpleNamespace(create=self._create)

    def _create(self, **kwargs: Any) -> Any:
        self.created.append(kwargs)
        return SimpleNamespace(sid="CA" + "f" * 32, status="queued", to=kwargs["to"], _from=kwargs["from_"],
                               direction="outbound-api", _properties={})


def _real_twilio(tmp_path) -> tuple[TwilioGateway, TwilioClientStub]:
    settings = load_settings({**base_settings(tmp_path), "TWILIO_API_BASE_URL": "https://api.twilio.com"},
                             env_file=None)
    stub = TwilioClientStub()
    return TwilioGateway(settings, client=stub, sleep=lambda _: None), stub  # type: ignore[arg-type]


def _book_on_the_softphone(sim, clock) -> Any:
    clock.set(NOW)
    call = sim.inbound(from_=IT_CALLER, to=IT_LINE)
    call.press("5")  # support menu: book a callback
    call.press("3")  # tomorrow evening
    call.press("1")  # confirm
    assert call.ended
    return call


def test_a_callback_booked_on_a_simulated_call_never_reaches_twilio(sim, app, clock, tmp_path):
    call = _book_on_the_softphone(sim, clock)
    with session_scope(app) as session:
        assert session.scalar(select(Call.simulated).where(Call.call_sid == call.sid)) is True
        [cb] = session.scalars(select(Callback))
        assert cb.simulated and cb.origin_call_sid == call.sid
        due = cb.due_at
    gateway, stub = _real_twilio(tmp_path)
    clock.set(due)
    Dispatcher(app, gateway=gateway, worker="w1", pace=lambda *_: None).run_once()
    assert stub.created == []  # nothing was sent to Twilio
    with session_scope(app) as session:
        [cb] = session.scalars(select(Callback))
        assert cb.status == "failed" and "simulated" in (cb.last_error or "")


def test_a_real_callback_still_goes_out_through_the_same_gateway(app, clock, tmp_path):
    clock.set(NOW)
    with session_scope(app) as session:
        cb = book(session, IT_CALLER, NOW, at=NOW)
        assert not cb.simulated
    gateway, stub = _real_twilio(tmp_path)
    Dispatcher(app, gateway=gateway, worker="w1", pace=lambda *_: None).run_once()
    assert [c["to"] for c in stub.created] == [IT_CALLER]


def test_a_ticket_made_on_a_simulated_call_is_marked(sim, app, clock):
    clock.set(NOW)
    call = sim.inbound(from_=IT_CALLER, to=IT_LINE)
    call.press("0")  # operator: outside hours or busy, the flow files what it must
    call.hangup()
    call2 = sim.inbound(from_=IT_CALLER, to=IT_LINE)
    call2.speak("siete dei ladri, vergognatevi")  # a complaint ticket
    call2.hangup()
    with session_scope(app) as session:
        tickets = list(session.scalars(select(Ticket)))
        assert tickets and all(t.simulated for t in tickets)


def test_twilio_requests_are_never_taken_for_simulated_ones(app, twilio):
    """A webhook without the mark, or with a mark for another call, is a real call."""
    plain = voice_params()
    assert twilio.post("/voice/inbound", plain).status_code == 200
    forged = voice_params()
    other = simulated_mark(AUTH_TOKEN, "CA" + "0" * 32)
    assert twilio.post("/voice/inbound", {**forged, "CorteseSimulated": "true"},
                       headers={SIMULATED_HEADER: other}).status_code == 200
    with session_scope(app) as session:
        assert list(session.scalars(select(Call.simulated))) == [False, False]


# --- contacts made on simulated calls -----------------------------------------------------------

def test_a_contact_made_on_a_simulated_call_is_marked_and_no_campaign_dials_it(sim, app, clock, tmp_path):
    _book_on_the_softphone(sim, clock)
    with session_scope(app) as session:
        contact = find_by_number(session, IT_CALLER)
        assert contact is not None and contact.simulated
        automated_consent_given(session, contact, NOW - timedelta(days=1))  # consent would allow it
        screened(session, {"IT"}, NOW)
        campaign = service.create_campaign(
            session, name="survey", purpose="survey", flow="campaign_survey", languages=["it"],
            reason={"it": "un breve sondaggio sul servizio"}, created_by="test", at=NOW,
            calling_days="mon-sun", calling_hours="00:00-23:59")
        report = service.add_contacts(session, campaign, [contact.id], at=NOW)
        assert report.added == 0 and [str(why.code) for _, why in report.errors] == ["contact_simulated"]
        # Even a row that got onto the list (added before the mark existed) is never dialled.
        session.add(CampaignContact(campaign_id=campaign.id, contact_id=contact.id, e164=contact.e164,
                                    status="queued", next_attempt_at=NOW, attempts_made=0, created_at=NOW,
                                    updated_at=NOW))
        service.start(session, campaign, at=NOW)
    gateway, stub = _real_twilio(tmp_path)
    fake_dialer(app, clock, gateway=gateway, worker="d1").tick()
    assert stub.created == []  # nothing was sent to Twilio
    with session_scope(app) as session:
        [attempt] = session.scalars(select(CampaignAttempt))
        assert attempt.status == "error" and "simulated" in (attempt.reason or "")


def test_a_simulated_call_changes_no_real_contact(sim, app, clock):
    clock.set(NOW)
    with session_scope(app) as session:
        real = get_or_create(session, IT_CALLER, source="customer list 2026", at=NOW, language="en")
        assert not real.simulated
    call = sim.inbound(from_=IT_CALLER, to=IT_LINE)
    call.press("*")  # the language menu
    call.press("2")  # Nederlands: a real caller's choice is kept with their contact
    call.hangup()
    with session_scope(app) as session:
        contact = find_by_number(session, IT_CALLER)
        assert contact is not None and not contact.simulated and contact.language == "en"


def test_a_real_source_of_the_number_makes_a_simulated_contact_real(sim, app, clock):
    _book_on_the_softphone(sim, clock)
    with session_scope(app) as session:
        assert find_by_number(session, IT_CALLER).simulated
        get_or_create(session, IT_CALLER, source="customer list 2026", at=NOW)
    with session_scope(app) as session:
        assert not find_by_number(session, IT_CALLER).simulated
