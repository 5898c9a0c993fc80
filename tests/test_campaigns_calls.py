"""Campaign calls end to end with the simulator: the opener, the script, callbacks, opt-out,
answering machines, dispositions and the abandonment rate."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import COMPLETED, Callback
from app.campaigns import service
from app.campaigns.models import Campaign, CampaignAttempt, CampaignContact
from app.consent.models import ContactAttempt, OptOut
from app.db import session_scope
from app.flows import engine
from app.telephony import CallInfo
from tests.campaign_support import fake_dialer, make_campaign, make_contacts
from tests.conftest import voice_params

IT_NUMBER = "+393471234567"
NL_NUMBER = "+31612345678"
UK_NUMBER = "+447400123456"


@pytest.fixture
def settings(settings):
    settings["CAMPAIGN_ACCOUNT_CPS"] = 20
    return settings


def rows(app, model, **where):
    with session_scope(app) as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.scalars(query))


def ring(sim, app, clock, numbers, *, flow="campaign_survey", contact_fields=None, **campaign):
    """Create contacts and a running campaign, let the dialer place the calls, ring them."""
    ids = make_contacts(app, numbers, clock, **(contact_fields or {}))
    campaign.setdefault("cps", 10)
    campaign_id = make_campaign(app, clock, ids, flow=flow, **campaign)
    report = fake_dialer(app, clock).tick()
    assert report.dialled == len(numbers), report
    calls = sim.twilio.ring_pending()
    return campaign_id, calls


def test_a_person_hears_the_opener_at_once_and_completes_the_survey(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    # Monday 10:00 in Rome: greeting by time of day, identity, reason, the good-time question.
    opener = call.said[0]
    assert opener.startswith("Buongiorno, sono l'assistente virtuale di Cortese")
    assert "un breve sondaggio sul servizio" in opener and "buon momento" in opener
    call.press("1")
    assert call.heard("Da 1 a 5")
    call.speak("direi quattro")
    assert call.heard("Consiglierebbe Cortese")
    call.speak("sì, certo")
    assert call.heard("Grazie per il suo tempo") and call.ended
    call.assert_courteous()
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.answers == {"satisfaction": 4, "recommend": True}
    assert (attempt.disposition, attempt.status) == ("completed", "ended") and attempt.opener_at is not None
    assert (rows(app, CampaignContact)[0].status, rows(app, CampaignContact)[0].disposition) == ("done", "completed")
    assert rows(app, ContactAttempt)[0].outcome == "completed"


def test_unreadable_answer_is_asked_again_then_skipped(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.press("1")
    call.speak("boh, dipende")
    assert call.heard("mi serve un numero da 1 a 5")
    call.press("7")  # not 1-5 either: give up on this question, go on
    assert call.heard("Consiglierebbe")
    call.press("2")
    assert call.ended
    assert rows(app, CampaignAttempt)[0].answers == {"satisfaction": None, "recommend": False}


def test_english_speaker_who_wants_to_think_about_it_is_offered_a_callback(sim, app, clock):
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 15:00 in London
    _, (call,) = ring(sim, app, clock, [UK_NUMBER], contact_fields={"language": "en"})
    assert call.said[0].startswith("Good afternoon, this is the virtual assistant of Cortese")
    call.speak("I want to think about it")
    assert call.heard("call you back") or call.heard("callback")
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.answers.get("callback_wanted") is True


def test_later_books_a_callback_and_the_disposition_says_so(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.press("2")
    call.press("2")  # quick option: tomorrow morning (callback_booking's keys)
    for _ in range(3):  # confirm the read-back
        if call.ended:
            break
        call.press("1")
    call.hangup()
    attempt = rows(app, CampaignAttempt)[0]

    booked = rows(app, Callback)
    assert booked and booked[0].origin_call_sid == attempt.call_sid and booked[0].campaign_id == attempt.campaign_id
    assert attempt.disposition == "callback-booked"


def test_opt_out_is_recorded_confirmed_and_cancels_other_campaigns(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    ids = [r.contact_id for r in rows(app, CampaignContact)]
    other = make_campaign(app, clock, ids, name="next-month", start=False)
    call.press("9")
    assert call.heard("non la chiameremo più") and call.ended
    call.assert_courteous()
    assert rows(app, OptOut)[0].e164 == IT_NUMBER
    assert rows(app, CampaignAttempt)[0].disposition == "opted-out"
    queued = rows(app, CampaignContact, campaign_id=other)[0]
    assert (queued.status, queued.disposition) == ("cancelled", "opted-out")


@pytest.mark.parametrize("said", ["Guardi, ha sbagliato numero, qui non c'è nessun Rossi", "numero sbagliato"])
def test_a_wrong_number_is_never_called_again_for_a_campaign(sim, app, clock, said):
    """Whoever answers a number we hold for someone else is not that person: never again,
    never a callback booked with a stranger."""
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.speak(said)
    assert call.ended and call.heard("non la chiameremo più"), call.format_transcript()
    call.assert_courteous()
    assert rows(app, OptOut)[0].e164 == IT_NUMBER and rows(app, Callback) == []


@pytest.mark.parametrize("said", [
    "Nou, ik heb me al twee keer afgemeld, zet me nou eens op de bel-me-niet-lijst",
    "ik wil me uitschrijven",
])
def test_a_dutch_callee_asking_for_the_do_not_call_list_is_opted_out(sim, app, clock, said):
    clock.set(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))  # Monday 19:00 in Amsterdam
    _, (call,) = ring(sim, app, clock, [NL_NUMBER], languages=["it", "nl"], purpose="service",
                      flow="campaign_service",
                      reason={"it": "la manutenzione della caldaia", "nl": "het onderhoud van uw ketel"},
                      details={"it": "Il tecnico passerà martedì.", "nl": "De monteur komt dinsdag langs."})
    call.speak(said)
    assert call.ended, call.format_transcript()
    assert rows(app, OptOut)[0].e164 == NL_NUMBER
    assert rows(app, CampaignAttempt)[0].disposition == "opted-out"


def test_dutch_callee_hears_dutch_when_the_campaign_speaks_it(sim, app, clock):
    clock.set(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))  # Monday 19:00 in Amsterdam
    _, (call,) = ring(sim, app, clock, [NL_NUMBER], languages=["it", "nl"], purpose="service",
                      flow="campaign_service",
                      reason={"it": "la manutenzione della caldaia", "nl": "het onderhoud van uw ketel"},
                      details={"it": "Il tecnico passerà martedì.", "nl": "De monteur komt dinsdag langs."})
    assert call.said[0].startswith("Goedenavond, u spreekt met de digitale assistent van Cortese")
    call.speak("ja")
    assert call.heard("De monteur komt dinsdag langs.")
    call.press("2")
    assert call.ended and rows(app, CampaignAttempt)[0].disposition == "completed"


# --- answering machines ----------------------------------------------------------------------


def test_machine_gets_the_message_with_identity_and_callback_number(sim, app, clock):
    sim.twilio.script(IT_NUMBER, answer="machine_end_beep")
    _, (call,) = ring(sim, app, clock, [IT_NUMBER], callback_number="+390298765432")
    # Async AMD: the opener started at answer; the verdict redirects the call through the REST
    # API. (The simulator applies a REST redirect when the current <Gather> ends.)
    assert sim.twilio.calls[0].async_amd and call.heard("buon momento")
    call.poll()
    if not call.ended:
        call.silence()
    assert call.heard("questo è un messaggio di Cortese") and call.heard("3 9 0 2 9 8 7 6 5 4 3 2")
    assert call.ended
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.disposition == "machine" and attempt.answered_by == "machine_end_beep"
    assert rows(app, ContactAttempt)[0].outcome == "machine"
    assert (rows(app, CampaignContact)[0].status, rows(app, CampaignContact)[0].disposition) == ("done", "machine")


def test_machine_hangup_policy_with_synchronous_detection(sim, app, clock):
    sim.twilio.script(IT_NUMBER, answer="machine_start")
    _, (call,) = ring(sim, app, clock, [IT_NUMBER], machine_policy="hangup", amd_async=False)
    created = sim.twilio.calls[0]
    assert created.machine_detection == "Enable" and not created.async_amd
    assert call.ended and call.said == []
    assert rows(app, CampaignAttempt)[0].disposition == "machine"


def test_synchronous_detection_of_a_person_starts_the_opener(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER], amd_async=False)
    assert call.heard("È un buon momento") and rows(app, CampaignAttempt)[0].answered_by == "human"


# --- dispositions and abandonment ------------------------------------------------------------


def test_callee_hangs_up_at_the_opener(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.hangup()
    attempt = rows(app, CampaignAttempt)[0]
    assert attempt.disposition == "answered-human"


def test_busy_then_retry_with_the_simulator(sim, app, clock):
    sim.twilio.script(IT_NUMBER, answer="busy")
    _, (call,) = ring(sim, app, clock, [IT_NUMBER], retry_busy_minutes=30)
    assert call.status == "busy"
    row = rows(app, CampaignContact)[0]
    assert (row.status, row.disposition) == ("queued", "busy")
    sim.twilio.script(IT_NUMBER, answer="human")
    clock.set(row.next_attempt_at)
    assert fake_dialer(app, clock).tick().dialled == 1
    (second,) = sim.twilio.ring_pending()
    assert second.heard("Buongiorno")


def test_abandonment_rate_counts_answered_calls_without_an_opener(app, clock, twilio):
    ids = make_contacts(app, ["+393471234567", "+393471234568", "+393471234569"], clock)
    campaign_id = make_campaign(app, clock, ids, cps=10)

    class Gateway:
        n = 0

        def place_call(self, to, url, **kwargs):
            Gateway.n += 1
            return CallInfo(sid=f"CA{Gateway.n:032x}", status="queued", to=to, from_="+390212345678",
                            direction="outbound-api")

    fake_dialer(app, clock, gateway=Gateway()).tick()
    attempts = sorted(rows(app, CampaignAttempt), key=lambda a: a.id)

    def post(path, attempt, **extra):
        params = voice_params(CallSid=attempt.call_sid, Direction="outbound-api", From="+390212345678",
                              To=attempt.e164, **extra)
        return twilio.post(path, params)

    # 1: a person hears the opener, then hangs up.
    assert "buon momento" in post(f"/voice/outbound?attempt={attempts[0].id}", attempts[0],
                                  CallStatus="in-progress").get_data(as_text=True)
    post("/voice/status", attempts[0], CallStatus="completed", SequenceNumber="4")
    # 2: answered, but the app never spoke to them (e.g. the Url failed): abandoned.
    post("/voice/status", attempts[1], CallStatus="in-progress", SequenceNumber="2")
    post("/voice/status", attempts[1], CallStatus="completed", SequenceNumber="4")
    # 3: an answering machine does not count as a live call.
    post("/voice/status", attempts[2], CallStatus="completed", SequenceNumber="4", AnsweredBy="machine_start")
    with session_scope(app) as session:
        stats = service.stats(session, session.get(Campaign, campaign_id), at=clock.now())
    assert stats["live_answered"] == 2 and stats["abandoned"] == 1
    assert stats["abandonment_rate"] == 0.5 and stats["abandonment_rate_24h"] == 0.5
    assert stats["abandonment_rate_30d"] == 0.5
    with session_scope(app) as session:  # two days later: out of Ofcom's 24 hours, inside the FCC's 30 days
        later = service.stats(session, session.get(Campaign, campaign_id), at=clock.now() + timedelta(days=2))
    assert later["abandonment_rate_24h"] == 0.0 and later["abandonment_rate_30d"] == 0.5
    assert stats["attempts"] == {"answered-human": 1, "abandoned": 1, "machine": 1}
    history = {a.call_sid: a.outcome for a in rows(app, ContactAttempt)}
    assert history[attempts[1].call_sid] == "abandoned"  # consent's 72-hour rule sees it


def test_broken_flow_start_is_an_apology_and_counts_as_abandoned(app, clock, twilio, monkeypatch):
    ids = make_contacts(app, [IT_NUMBER], clock)
    make_campaign(app, clock, ids)

    class Gateway:
        def place_call(self, to, url, **kwargs):
            return CallInfo(sid="CA" + "1" * 32, status="queued", to=to, from_="+39", direction="outbound-api")

    fake_dialer(app, clock, gateway=Gateway()).tick()
    attempt = rows(app, CampaignAttempt)[0]

    def boom(*args, **kwargs):
        raise RuntimeError("flow engine down")

    monkeypatch.setattr(engine, "start_flow", boom)
    params = voice_params(CallSid=attempt.call_sid, Direction="outbound-api", From="+390212345678", To=IT_NUMBER,
                          CallStatus="in-progress")
    body = twilio.post(f"/voice/outbound?attempt={attempt.id}", params).get_data(as_text=True)
    assert "Ci scusi" in body and "<Hangup" in body
    twilio.post("/voice/status", {**params, "CallStatus": "completed", "SequenceNumber": "3"})
    assert rows(app, CampaignAttempt)[0].disposition == "abandoned"


@pytest.mark.parametrize("query", ["", "?attempt=999", "?attempt=abc"])
def test_unknown_attempt_gets_a_polite_goodbye(app, twilio, query):
    params = voice_params(Direction="outbound-api", From="+390212345678", To=IT_NUMBER, CallStatus="in-progress")
    response = twilio.post(f"/voice/outbound{query}", params)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<Say" in body and "<Hangup" in body


def test_attempt_url_replayed_for_another_number_is_refused(app, clock, twilio):
    ids = make_contacts(app, [IT_NUMBER], clock)
    make_campaign(app, clock, ids)

    class Gateway:
        def place_call(self, to, url, **kwargs):
            raise AssertionError("not dialled in this test")

    with session_scope(app) as session:  # an attempt whose CallSid is not stored yet
        row = session.scalars(select(CampaignContact)).one()
        session.add(CampaignAttempt(campaign_id=row.campaign_id, campaign_contact_id=row.id, number=1,
                                    e164=IT_NUMBER, status="dialing", answers={}, created_at=clock.now(),
                                    language="it"))
    attempt = rows(app, CampaignAttempt)[0]
    params = voice_params(Direction="outbound-api", From="+390212345678", To="+393339999999", CallStatus="in-progress")
    body = twilio.post(f"/voice/outbound?attempt={attempt.id}", params).get_data(as_text=True)
    assert "buon momento" not in body and "<Hangup" in body
    assert rows(app, CampaignAttempt)[0].call_sid is None


def test_unsigned_outbound_webhook_is_rejected(client):
    assert client.post("/voice/outbound?attempt=1", data={"CallSid": "CA1"}).status_code == 403


def test_stats_after_pause_keep_the_reason(app, clock):
    ids = make_contacts(app, [IT_NUMBER], clock)
    campaign_id = make_campaign(app, clock, ids)
    with session_scope(app) as session:
        campaign = session.get(Campaign, campaign_id)
        service.pause(session, campaign, at=clock.now() + timedelta(minutes=1), reason="client review")
        stats = service.stats(session, campaign, at=clock.now())
    assert stats["status"] == "paused" and stats["status_reason"] == "client review"
    assert stats["contacts"] == {"queued": 1} and stats["abandonment_rate"] == 0.0


@pytest.mark.parametrize(("number", "language", "words", "expected"), [
    (IT_NUMBER, "it", "non chiamatemi più", "opt_out"),
    (IT_NUMBER, "it", "ci devo pensare", "later"),
    (IT_NUMBER, "it", "sì, va bene", "good_time"),
    (NL_NUMBER, "nl", "bel me niet meer", "opt_out"),
    (NL_NUMBER, "nl", "ik wil erover nadenken", "later"),
    (NL_NUMBER, "nl", "ja hoor", "good_time"),
    (UK_NUMBER, "en", "please don't call me again", "opt_out"),
    (UK_NUMBER, "en", "not now", "later"),
    # a plain "no" leading a specific request is a preface: the request decides
    (IT_NUMBER, "it", "no, non chiamatemi più", "opt_out"),
    (NL_NUMBER, "nl", "nee, bel me niet meer", "opt_out"),
    (UK_NUMBER, "en", "no, don't call me again", "opt_out"),
    (UK_NUMBER, "en", "nah, not now", "later"),
    # busy, in the callee's own words: a call later, never the question again
    (UK_NUMBER, "en", "Sorry, I'm driving.", "later"),
    (IT_NUMBER, "it", "sono in riunione", "later"),
    (NL_NUMBER, "nl", "we zitten net aan tafel", "later"),
    # never again, however it is put
    (UK_NUMBER, "en", "take me off your list", "opt_out"),
    (IT_NUMBER, "it", "toglietemi dalla vostra lista", "opt_out"),
    (NL_NUMBER, "nl", "haal me uit jullie bestand", "opt_out"),
    # Dutch says "never" after the verb, past a "please": never a call back
    (NL_NUMBER, "nl", "Bel me alstublieft nooit meer.", "opt_out"),
    # a polite "no" before it, a "please" inside it: still never again
    (UK_NUMBER, "en", "no thanks, and don't ring again", "opt_out"),
    (IT_NUMBER, "it", "no grazie, e non richiamate", "opt_out"),
    (NL_NUMBER, "nl", "Ik heb geen interesse, stop alstublieft met bellen.", "opt_out"),
    # a good time, said in so many words
    (UK_NUMBER, "en", "Yes, I've got a few minutes.", "good_time"),
    (NL_NUMBER, "nl", "Ja, ik heb even tijd.", "good_time"),
])
def test_opener_understands_spoken_answers(sim, app, clock, number, language, words, expected):
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))  # Tuesday, within every window
    _, (call,) = ring(sim, app, clock, [number], languages=["it", "nl", "en"],
                      reason={"it": "un sondaggio", "nl": "een enquête", "en": "a survey"})
    call.speak(words)
    heard = {
        "opt_out": {"it": "non la chiameremo più", "nl": "we bellen u niet meer", "en": "we won't call you again"},
        "good_time": {"it": "Da 1 a 5", "nl": "van 1 tot 5", "en": "scale of 1 to 5"},
    }
    if expected == "later":
        assert rows(app, CampaignAttempt)[0].answers.get("callback_wanted") is True
    else:
        assert call.heard(heard[expected][language]), call.format_transcript()


def test_a_retried_outbound_webhook_resumes_instead_of_restarting(app, clock, twilio):
    ids = make_contacts(app, [IT_NUMBER], clock)
    make_campaign(app, clock, ids)

    class Gateway:
        def place_call(self, to, url, **kwargs):
            return CallInfo(sid="CA" + "2" * 32, status="queued", to=to, from_="+39", direction="outbound-api")

    fake_dialer(app, clock, gateway=Gateway()).tick()
    attempt = rows(app, CampaignAttempt)[0]
    params = voice_params(CallSid=attempt.call_sid, Direction="outbound-api", From="+390212345678", To=IT_NUMBER,
                          CallStatus="in-progress")
    first = twilio.post(f"/voice/outbound?attempt={attempt.id}", params).get_data(as_text=True)
    assert "buon momento" in first
    # Our first answer was lost: the retry says it all again, who is calling included.
    lost = twilio.post(f"/voice/outbound?attempt={attempt.id}", params).get_data(as_text=True)
    assert re.findall(r"<Say[^>]*>([^<]*)</Say>", lost) == re.findall(r"<Say[^>]*>([^<]*)</Say>", first)
    first = lost
    action = html.unescape(re.search(r'action="([^"]+)"', first).group(1)).removeprefix("https://cortese.example.test")
    assert "Da 1 a 5" in twilio.post(action, {**params, "Digits": "1"}).get_data(as_text=True)
    replayed = twilio.post(f"/voice/outbound?attempt={attempt.id}", params).get_data(as_text=True)
    assert "Da 1 a 5" in replayed and "buon momento" not in replayed


def test_a_fax_gets_no_message_whatever_the_policy(sim, app, clock):
    sim.twilio.script(IT_NUMBER, answer="fax")
    _, (call,) = ring(sim, app, clock, [IT_NUMBER], amd_async=False)
    assert call.ended and call.said == []
    assert rows(app, CampaignAttempt)[0].disposition == "machine"


# --- a callback booked at "later" goes on with the script -------------------------------------


def _book_later(sim, app, clock):
    """The survey's callee says "later" and books tomorrow morning; the callback comes due."""
    campaign_id, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.press("2")
    call.press("2")  # tomorrow morning
    while not call.ended:
        call.press("1")  # confirm the read-back
    [cb] = rows(app, Callback)
    clock.set(cb.due_at)
    assert Dispatcher(app, pace=lambda _s: None).run_once().placed == [cb.id]
    [callback_call] = sim.twilio.ring_pending()
    return campaign_id, cb.id, callback_call


def test_a_callback_booked_from_the_survey_goes_on_with_the_survey(sim, app, clock):
    _, cb_id, call = _book_later(sim, app, clock)
    # The campaign's own reason, not a sales "proposal" the survey never made.
    assert call.heard("Ci aveva chiesto di richiamarla per un breve sondaggio sul servizio.")
    assert call.heard("È un buon momento") and not call.heard("proposta")
    call.press("1")
    assert call.heard("Da 1 a 5")  # the survey's first question, not the opener again
    assert not call.heard("La metto in contatto con un operatore")
    call.speak("cinque")
    assert call.heard("Consiglierebbe Cortese")
    call.press("1")
    assert call.heard("Grazie per il suo tempo") and call.ended
    call.assert_courteous()
    [attempt] = rows(app, CampaignAttempt)  # the answers belong to the call that booked it
    assert attempt.answers == {"callback_wanted": True, "satisfaction": 5, "recommend": True}
    assert attempt.disposition == "completed" and attempt.status == "ended"
    [row] = rows(app, CampaignContact)
    assert (row.status, row.disposition) == ("done", "completed")

    assert [(cb.id, cb.status) for cb in rows(app, Callback)] == [(cb_id, COMPLETED)]
    assert len(sim.twilio.calls) == 2  # the campaign call and the callback, nothing more


@pytest.mark.parametrize("action", ["pause", "stop"])
def test_a_paused_or_stopped_campaigns_callback_goes_to_a_person(sim, app, clock, action):
    campaign_id, _, call = _book_later(sim, app, clock)
    with session_scope(app) as session:
        getattr(service, action)(session, session.get(Campaign, campaign_id), at=clock.now())
    call.press("1")
    assert call.heard("La metto in contatto con un operatore") and not call.heard("Da 1 a 5")
    assert rows(app, CampaignAttempt)[0].disposition == "callback-booked"


def test_a_campaign_flow_without_a_resume_node_sends_its_callback_to_a_person(sim, app, clock, monkeypatch):
    engine = app.extensions["cortese.flows"]
    monkeypatch.setitem(engine.flows.flows, "campaign_survey",
                        replace(engine.flows.flows["campaign_survey"], resume=None))
    _, _, call = _book_later(sim, app, clock)
    call.press("1")
    assert call.heard("La metto in contatto con un operatore")


def test_later_said_again_on_the_callback_still_goes_on_with_the_survey_next_time(sim, app, clock):
    _, first_id, call = _book_later(sim, app, clock)
    call.press("2")  # not now either: book again
    call.press("3")  # tomorrow evening
    while not call.ended:
        call.press("1")
    [second] = [cb for cb in rows(app, Callback) if cb.id != first_id]
    clock.set(second.due_at)
    assert Dispatcher(app, pace=lambda _s: None).run_once().placed == [second.id]
    [again] = sim.twilio.ring_pending()
    again.press("1")
    assert again.heard("Da 1 a 5")
    again.press("4")
    again.press("2")
    assert again.ended
    [attempt] = rows(app, CampaignAttempt)
    assert (attempt.answers["satisfaction"], attempt.answers["recommend"], attempt.disposition) == (4, False, "completed")
