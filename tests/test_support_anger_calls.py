"""Angry callers through the simulator (it/nl/en): anger is checked first in every free-text
answer, so a question asked in anger gets the apology, a complaint ticket and then its answer;
compounds, idioms and repeated-call complaints are anger; calm but worried callers are not."""

from __future__ import annotations

from datetime import date

import pytest

from app.callbacks.models import Callback
from app.support import faq
from app.support.models import Ticket, WarrantyClaim
from tests.test_support_scenarios import LANGS, MONDAY, add_product, add_unit, dial, rows

SORRY = {"it": "Mi dispiace davvero", "nl": "Het spijt me echt", "en": "I'm truly sorry"}
COMPLAINT = {"it": "Ho registrato il suo reclamo", "nl": "Ik heb uw klacht vastgelegd",
             "en": "I've recorded your complaint"}
ANSWER_INTRO = {"it": "Intanto, alla sua domanda:", "nl": "Intussen, op uw vraag:",
                "en": "Meanwhile, to answer your question:"}
# A billing question asked in anger, and the same question asked calmly (worried, not angry).
ANGRY_BILLING = {"it": "ladri, mi avete addebitato due volte la bolletta",
                 "nl": "stelletje oplichters, jullie hebben mijn rekening twee keer afgeschreven",
                 "en": "you thieves, you charged my bill twice"}
CALM_BILLING = {"it": "sono un po' preoccupato, mi avete addebitato due volte la bolletta",
                "nl": "ik maak me zorgen, mijn rekening is twee keer afgeschreven",
                "en": "I'm a bit worried, my bill was charged twice"}


@pytest.fixture(autouse=True)
def _monday(clock):
    clock.set(MONDAY)


def _billing_answer(language: str, question: str) -> str:
    found = faq.match(faq.load(language), question)
    assert found is not None, f"the knowledge file has no answer for {question!r}"
    return found.topic.answer


@pytest.mark.parametrize("language", LANGS)
def test_an_angry_faq_question_gets_apology_complaint_and_its_answer(sim, app, language):
    call = dial(sim, language)
    call.press("1")  # information
    call.speak(ANGRY_BILLING[language])
    assert call.heard(SORRY[language])
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.flagged and complaint.priority == "high"
    assert complaint.description == ANGRY_BILLING[language] and complaint.call_sid == call.sid
    # The real problem is still solved: the answer to the question, after the apology.
    assert call.heard(f"{ANSWER_INTRO[language]} {_billing_answer(language, CALM_BILLING[language])}")
    assert call.heard(COMPLAINT[language])
    said = call.said
    apology = next(i for i, s in enumerate(said) if SORRY[language] in s)
    answer = next(i for i, s in enumerate(said) if ANSWER_INTRO[language] in s)
    assert apology < answer
    call.assert_courteous()


@pytest.mark.parametrize("language", LANGS)
def test_an_angry_question_at_the_main_menu_is_answered_after_the_apology(sim, app, language):
    call = dial(sim, language)
    call.speak(ANGRY_BILLING[language])  # straight at the menu, no option chosen
    assert call.heard(SORRY[language])
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.description == ANGRY_BILLING[language]
    assert call.heard(f"{ANSWER_INTRO[language]} {_billing_answer(language, CALM_BILLING[language])}")
    assert call.heard(COMPLAINT[language])


@pytest.mark.parametrize("language", LANGS)
def test_a_calm_worried_caller_gets_the_answer_and_no_complaint(sim, app, language):
    call = dial(sim, language)
    call.press("1")
    call.speak(CALM_BILLING[language])
    assert call.heard(_billing_answer(language, CALM_BILLING[language]))
    assert not call.heard(SORRY[language])
    assert rows(app, Ticket, Ticket.kind == "complaint") == []


@pytest.mark.parametrize(("language", "said"), [
    ("nl", "die kutrouter doet het weer niet"),  # a swear in a compound
    ("nl", "ik ben het spuugzat"),
    ("it", "è la terza volta che chiamo"),  # repeated calls
    ("en", "this is a joke, my internet has been down for a week"),  # an idiom
    ("it", "che schifo"),
    ("en", "I've called four times already and nobody fixed it"),
])
def test_compounds_idioms_and_repeated_calls_are_anger_at_the_menu(sim, app, language, said):
    call = dial(sim, language)
    call.speak(said)
    assert call.heard(SORRY[language])
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.description == said


@pytest.mark.parametrize(("language", "said"), [
    ("it", "non sono arrabbiato, volevo solo sapere quando arriva il mio ordine"),
    ("nl", "ik ben niet boos, ik wil alleen weten wanneer mijn pakket komt"),
    ("en", "I'm not angry, I just want to know when my order arrives"),
])
def test_a_negated_anger_word_is_not_anger(sim, app, language, said):
    call = dial(sim, language)
    call.speak(said)
    assert not call.heard(SORRY[language])
    assert rows(app, Ticket, Ticket.kind == "complaint") == []


VENT = {"it": "Mi dispiace davvero, ha ragione ad aspettarsi di meglio. Ho registrato il suo reclamo",
        "nl": "Het spijt me echt, u mag terecht meer van ons verwachten. Ik heb uw klacht vastgelegd",
        "en": "I'm truly sorry, you are right to expect better from us. I've recorded your complaint"}


@pytest.mark.parametrize(("language", "said", "read_back", "due"), [
    ("it", "domani alle tre, ed è la terza volta che chiamo", "domani, martedì 3 marzo, alle 15:00",
     "2026-03-03T15:00"),
    ("nl", "morgen om drie uur, ik ben het spuugzat", "morgen, dinsdag 3 maart, om 15:00", "2026-03-03T15:00"),
    ("en", "tomorrow at 3 pm, this is ridiculous", "tomorrow, Tuesday 3 March, at 3:00 pm", "2026-03-03T15:00"),
])
def test_anger_in_a_callback_time_is_acknowledged_then_the_time_is_booked(sim, app, language, said,
                                                                          read_back, due):
    call = dial(sim, language)
    call.press("5")  # book a callback
    call.speak(said)
    assert call.heard(VENT[language])
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.description == said and complaint.flagged
    assert call.heard(read_back)  # the time in the same words is still understood
    call.press("1")
    [callback] = rows(app, Callback)
    assert callback.local_due == due
    call.assert_courteous()


@pytest.mark.parametrize(("language", "said"), [
    ("it", "che schifo, l'ho comprato il 15 gennaio 2018"),
    ("en", "for god's sake, I bought it on 15 January 2018"),
])
def test_anger_in_a_purchase_date_is_acknowledged_then_the_claim_goes_on(sim, app, language, said):
    product = add_product(app, "ROUTER-W", months=12)
    add_unit(app, product, "20180001")
    call = dial(sim, language)
    call.press("3")
    call.press("20180001#")
    call.speak(said)
    assert call.heard(VENT[language])
    [complaint] = rows(app, Ticket, Ticket.kind == "complaint")
    assert complaint.description == said
    [claim] = rows(app, WarrantyClaim)
    assert claim.purchased_on == date(2018, 1, 15) and claim.outcome == "refused"
