"""Anger is checked in every spoken answer, first (issue: "anger is checked in every free-text
answer, first"), through whole simulated calls: outbound openers and survey answers, a fault
described in anger on a bad line, a product said in anger, an offered callback time picked in
anger, a callback booked in anger on an outbound call. Each gets the apology and one complaint
ticket, and the answer itself still counts: the caller's real problem is solved."""

from __future__ import annotations

import pytest

from app.callbacks.models import Callback
from app.campaigns.models import CampaignAttempt
from app.consent.models import OptOut
from app.support.models import Ticket
from tests.test_campaigns_calls import IT_NUMBER, NL_NUMBER, UK_NUMBER, ring
from tests.test_support_scenarios import MONDAY, dial, rows

SORRY = {"it": "Mi dispiace davvero", "nl": "Het spijt me echt", "en": "I'm truly sorry"}
NUMBERS = {"it": IT_NUMBER, "nl": NL_NUMBER, "en": UK_NUMBER}


@pytest.fixture
def settings(settings):
    settings["CAMPAIGN_ACCOUNT_CPS"] = 20
    return settings


def _one_complaint(app, said: str) -> Ticket:
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.flagged and complaint.priority == "high"
    assert complaint.description == said
    return complaint


# A Dutch service notice, as campaigns that speak Dutch are set up (test_campaigns_calls).
DUTCH_CAMPAIGN = {"languages": ["it", "nl"], "purpose": "service", "flow": "campaign_service",
                  "reason": {"it": "la manutenzione della caldaia", "nl": "het onderhoud van uw ketel"},
                  "details": {"it": "Il tecnico passerà martedì.", "nl": "De monteur komt dinsdag langs."}}


@pytest.mark.parametrize(("language", "said", "goodbye"), [
    ("it", "siete dei ladri, non chiamatemi più", "non la chiameremo più"),
    ("nl", "stelletje oplichters, bel me niet meer", "we bellen u niet meer"),
    ("en", "this is a joke, stop calling me", "we won't call you again"),
])
def test_abuse_at_an_outbound_opener_is_apologised_for_and_the_opt_out_still_counts(sim, app, clock, language,
                                                                                    said, goodbye):
    campaign = DUTCH_CAMPAIGN if language == "nl" else {}
    _, (call,) = ring(sim, app, clock, [NUMBERS[language]], contact_fields={"language": language}, **campaign)
    call.speak(said)
    assert call.heard(SORRY[language]), call.format_transcript()
    _one_complaint(app, said)
    assert call.heard(goodbye) and call.ended
    assert [o.e164 for o in rows(app, OptOut)] == [NUMBERS[language]]
    said_in_order = call.said
    assert (next(i for i, s in enumerate(said_in_order) if SORRY[language] in s)
            <= next(i for i, s in enumerate(said_in_order) if goodbye in s))


def test_anger_in_a_survey_answer_is_apologised_for_and_the_answer_is_kept(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.press("1")
    call.speak("è una vergogna, uno")
    assert call.heard(SORRY["it"]), call.format_transcript()
    _one_complaint(app, "è una vergogna, uno")
    assert call.heard("Consiglierebbe")
    call.press("2")
    assert rows(app, CampaignAttempt)[0].answers == {"satisfaction": 1, "recommend": False}


def test_an_outbound_callee_who_books_a_callback_in_anger_is_apologised_to(sim, app, clock):
    _, (call,) = ring(sim, app, clock, [IT_NUMBER])
    call.press("2")  # later: the callback booking
    said = "domani alle dieci, siete degli incompetenti"
    call.speak(said)
    assert call.heard(SORRY["it"]), call.format_transcript()
    _one_complaint(app, said)
    assert call.heard("La richiameremo domani")
    call.press("1")
    assert len(rows(app, Callback)) == 1


@pytest.fixture
def _monday(clock):
    clock.set(MONDAY)


@pytest.mark.usefixtures("_monday")
def test_a_fault_described_in_anger_on_a_bad_line_is_apologised_for_then_recorded(sim, app):
    call = dial(sim, "it")
    call.press("2")  # fault
    call.press("1")  # modem or router
    call.speak("il modem non va, che schifo, siete degli incapaci", confidence=0.3)
    assert call.heard("Mi dispiace molto per il disagio"), call.format_transcript()
    assert call.heard("Dopo il segnale acustico")  # the words may be misheard: a recording
    call.speak("il modem non si accende da ieri")  # the message, after the beep
    call.press("2")  # it can wait
    [fault] = rows(app, Ticket, Ticket.kind == "fault")
    # the person is the priority: the fault ticket is flagged for review like every angry one
    assert fault.flagged and fault.priority == "high", call.format_transcript()


@pytest.mark.usefixtures("_monday")
def test_a_product_said_in_anger_is_apologised_for_and_the_report_goes_on(sim, app):
    call = dial(sim, "en")
    call.press("2")  # fault
    said = "the router, and this is the third time I'm calling"
    call.speak(said)
    assert call.heard(SORRY["en"]), call.format_transcript()
    _one_complaint(app, said)
    assert call.heard("describe the problem in your own words")


@pytest.mark.usefixtures("_monday")
def test_an_offered_time_picked_in_anger_is_apologised_for_and_read_back(sim, app):
    call = dial(sim, "it")
    call.press("5")
    call.speak("domani pomeriggio")
    assert call.heard("Posso richiamarla")
    said = "la seconda, ma che vergogna"
    call.speak(said)
    assert call.heard(SORRY["it"]), call.format_transcript()
    _one_complaint(app, said)
    assert call.heard("La richiameremo domani")


@pytest.mark.usefixtures("_monday")
def test_anger_is_recorded_once_per_call(sim, app):
    call = dial(sim, "nl")
    call.press("5")
    call.speak("morgenmiddag")
    call.speak("de eerste, wat een schande")
    call.speak("ja, belachelijk")
    assert sum(SORRY["nl"] in s for s in call.said) == 1, call.format_transcript()
    assert len(rows(app, Ticket, Ticket.kind == "complaint")) == 1
    assert len(rows(app, Callback)) == 1


@pytest.mark.usefixtures("_monday")
def test_anger_that_answers_nothing_hears_the_apology_first_then_the_question_again(sim, app):
    call = dial(sim, "en")
    call.press("5")
    call.press("3")  # tomorrow evening: the read-back
    call.speak("this is a joke")
    said = call.said
    apology = next(i for i, s in enumerate(said) if SORRY["en"] in s)
    again = max(i for i, s in enumerate(said) if "didn't understand" in s)
    assert apology < again, call.format_transcript()
    assert call.heard("We will call you back") and not rows(app, Callback)
    _one_complaint(app, "this is a joke")
