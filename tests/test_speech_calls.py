"""Whole calls through the simulator for what callers *say*: a negated answer is never taken as
its positive, a key said as a word is that key, two close options get a short question, a
question asked at the menu gets its answer, and every speech prompt tells Twilio what to
expect (hints, speechModel). The phrasings are how people answer on the phone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.callbacks.models import Callback
from app.db import session_scope
from app.flows import vocab as vocabulary
from app.flows.matching import heard_words, normalise
from app.support.models import Ticket
from app.telephony import Twiml

# Monday 2 March 2026, 10:00 in Rome: the operators are in.
MONDAY_10_ROME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IT = ("+393471234567", "+390212345678")
NL = ("+31612345678", "+31201234567")
EN = ("+447400123456", "+442071234567")
LINES = {"it": IT, "nl": NL, "en": EN}
READ_BACK = {"it": "La richiameremo", "nl": "Wij bellen u terug", "en": "We will call you back"}
ASK_WHEN = {"it": "Quando preferisce essere richiamato?", "nl": "Wanneer wilt u worden teruggebeld?",
            "en": "When would you like us to call you back?"}


@pytest.fixture(autouse=True)
def _monday(clock):
    clock.set(MONDAY_10_ROME)


def _callbacks(app) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Callback)) or 0)


def _at_read_back(sim, language: str):
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    call.press("5")  # book a callback
    call.press("3")  # tomorrow evening
    assert call.heard(READ_BACK[language])
    return call


@pytest.mark.parametrize("language, said", [
    ("it", "no, non va bene"), ("nl", "nee, dat is niet goed"), ("en", "no, that's not fine"),
    ("it", "non mi va bene"), ("nl", "dat klopt niet"), ("en", "that's not right"),
])
def test_a_negated_yes_at_the_read_back_books_nothing_and_asks_the_time_again(sim, app, language, said):
    call = _at_read_back(sim, language)
    asked_before = sum(ASK_WHEN[language] in s for s in call.said)
    call.speak(said)
    assert sum(ASK_WHEN[language] in s for s in call.said) == asked_before + 1, call.format_transcript()
    assert _callbacks(app) == 0


@pytest.mark.parametrize("language, said", [
    ("it", "sì certo"), ("nl", "ja hoor"), ("en", "yeah sure"), ("it", "uno"), ("en", "press one"),
])
def test_a_casual_yes_or_the_key_said_as_a_word_books_it(sim, app, language, said):
    call = _at_read_back(sim, language)
    call.speak(said)
    assert _callbacks(app) == 1, call.format_transcript()


@pytest.mark.parametrize("language, said", [
    ("it", "non sono sicura"), ("it", "non so se va bene"), ("nl", "ik weet het niet zeker"),
    ("nl", "geen idee of dat klopt"), ("en", "I'm not sure that's right"), ("en", "not too sure"),
    # "sinceramente" is near "certamente" (a yes), but the caller said they do not know
    ("it", "Sinceramente non lo so."),
])
def test_a_doubt_at_the_read_back_is_no_answer_the_question_comes_again(sim, app, language, said):
    """Doubt is neither a yes (book it) nor a no (ask the time again): the read-back is repeated."""
    call = _at_read_back(sim, language)
    read_backs, asked_when = (sum(text in s for s in call.said) for text in (READ_BACK[language], ASK_WHEN[language]))
    call.speak(said)
    assert sum(READ_BACK[language] in s for s in call.said) == read_backs + 1, call.format_transcript()
    assert sum(ASK_WHEN[language] in s for s in call.said) == asked_when
    assert _callbacks(app) == 0
    call.speak({"it": "sì", "nl": "ja", "en": "yes"}[language])
    assert _callbacks(app) == 1, call.format_transcript()


@pytest.mark.parametrize("language, said", [("it", "certo che no"), ("it", "sono sicuro di no"),
                                            ("nl", "natuurlijk niet"), ("en", "certainly not")])
def test_a_word_of_certainty_beside_a_no_is_a_firmer_no(sim, app, language, said):
    call = _at_read_back(sim, language)
    asked_before = sum(ASK_WHEN[language] in s for s in call.said)
    call.speak(said)
    assert sum(ASK_WHEN[language] in s for s in call.said) == asked_before + 1, call.format_transcript()
    assert _callbacks(app) == 0


def _urgency_of_fault(sim, app, answer: str) -> str:
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.press("2")  # fault
    call.press("1")  # the kind of product
    call.speak("il modem non si accende più da ieri")
    assert call.heard("senza servizio")
    call.speak(answer)
    with session_scope(app) as session:
        ticket = session.scalar(select(Ticket).where(Ticket.kind == "fault"))
        assert ticket is not None, call.format_transcript()
        return ticket.priority


def test_no_i_am_not_without_service_is_not_stored_as_urgent(sim, app):
    assert _urgency_of_fault(sim, app, "no, non sono senza servizio") == "normal"


def test_not_sure_whether_without_service_is_asked_again_never_stored_as_either(sim, app):
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.press("2")
    call.press("1")
    call.speak("il modem non si accende più da ieri")
    call.speak("non ne sono sicuro")
    with session_scope(app) as session:
        assert session.scalar(select(Ticket).where(Ticket.kind == "fault")) is None, call.format_transcript()
    assert sum("senza servizio" in s for s in call.said) == 2


def test_yes_without_any_service_is_urgent(sim, app):
    assert _urgency_of_fault(sim, app, "sì, sono completamente senza linea") == "urgent"


def test_elisions_are_split_not_joined():
    assert normalise("Come posso recedere dall'abbonamento?") == "come posso recedere dall abbonamento"
    assert normalise("For fuck's sake") == "for fuck s sake"
    assert normalise("L’ordine") == "l ordine"


def test_a_question_with_an_elision_finds_its_answer(sim):
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.press("1")
    call.speak("come faccio a recedere dall'abbonamento")
    assert call.heard("Dopo il periodo minimo può disdire in qualsiasi momento"), call.format_transcript()


@pytest.mark.parametrize("language, said, heard", [
    # a key said as a word selects that key
    ("it", "uno", "Mi dica in poche parole la sua domanda"),
    ("nl", "optie twee", "Om welk product gaat het?"),
    ("en", "press five", "When would you like us to call you back?"),
    ("en", "zero", "put you through"),
    ("it", "ehm tre", "numero di serie"),
    # a question the FAQ answers goes to its answer
    ("it", "a che ora aprite", "I nostri operatori sono disponibili dal lunedì al venerdì"),
    ("nl", "ik heb een vraag over mijn factuur", "Uw facturen staan in uw online account"),
    # "information" is the catch-all: the words callers put before what they want yield to it
    ("it", "volevo chiedere quando arriva il mio ordine", "Digiti il numero dell'ordine"),
    ("nl", "ik wilde even vragen wanneer mijn bestelling komt", "Toets uw bestelnummer in"),
    ("en", "I'm calling to find out where my parcel is", "Please key in your order number"),
    # a negation does not reach past the recogniser's comma: the call is asked for
    ("it", "Adesso non posso, mi chiamate voi dopo?", "Quando preferisce essere richiamato"),
    ("nl", "Ik heb nu geen tijd, kunt u mij straks bellen?", "Wanneer wilt u worden teruggebeld"),
    ("en", "I can't talk now, can someone call me this afternoon?", "When would you like us to call you back?"),
    # a Dutch separable verb split by its modals at the end of a clause; a visit asked for
    ("nl", "als iemand mij vanavond even terug zou kunnen bellen, graag", "Wanneer wilt u worden teruggebeld"),
    ("nl", "ik wil graag dat iemand me later vandaag belt", "Wanneer wilt u worden teruggebeld"),
    ("nl", "we zitten zonder internet, kan er een monteur langskomen?", "Om welk product gaat het?"),
    ("en", "we've been without internet since Sunday, can an engineer come out?", "What kind of product is it?"),
    # a word nearly like a phrase's is not that phrase: "waarom is mijn" is no "waar is mijn"
    # (a parcel), "chiamare questo numero" no "richiamare" (a callback)
    ("nl", "waarom is mijn factuur deze maand zo veel hoger dan normaal?", "Uw facturen staan in uw online account"),
    ("it", "mi ha detto mia figlia di chiamare questo numero", "Per informazioni prema 1"),
    # what the caller asks for outweighs what they describe: the breakage is why they claim
    ("en", "my tablet's screen stopped working, I'd like it repaired under the warranty", "serial number"),
    ("nl", "mijn koptelefoon doet het niet meer, ik wil graag een garantieclaim indienen", "serienummer"),
    # a question on how things are done or cost gets the knowledge's answer, not a tracking
    ("en", "How much do you charge for delivery?", "Delivery is free above fifty euros"),
    ("it", "devo restituire delle cuffie che ho ordinato online, come funziona il reso?", "entro quattordici giorni"),
    ("en", "where is my order, it should have come yesterday", "Please key in your order number"),
    # an introduction asks for nothing: "mi chiamo" is no "mi chiami"
    ("it", "buongiorno, mi chiamo Giulia e mi servirebbero delle informazioni", "Mi dica in poche parole la sua domanda"),
])
def test_words_at_the_menu_lead_where_the_caller_meant(sim, language, said, heard):
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    call.speak(said)
    assert call.heard(heard), call.format_transcript()


def test_without_the_comma_the_same_words_stay_denied():
    """Only the written clause break lets the request through: unpunctuated, "non posso mi
    chiamate voi" keeps its negation (asked again, never taken as a request)."""
    italian, dutch = vocabulary.for_language("it"), vocabulary.for_language("nl")
    assert heard_words("Adesso non posso, mi chiamate voi dopo?", italian)[1] == {3}
    assert heard_words("adesso non posso mi chiamate voi dopo", italian)[1] == frozenset()
    # a time or a decimal is one word, not a clause break
    assert heard_words("alle 10:30, va bene", italian)[1] == {3}
    assert heard_words("costa 2.5 euro", italian)[1] == frozenset()
    # a courtesy is left out, also inside what the phrase says
    assert heard_words("Stop alstublieft met bellen.", dutch) == (["stop", "met", "bellen"], frozenset())


def test_a_number_inside_a_sentence_is_no_key(sim):
    call = sim.inbound(from_=EN[0], to=EN[1])
    call.speak("I've been waiting two weeks for my parcel")
    assert call.heard("order number"), call.format_transcript()
    assert not call.heard("What kind of product is it?")


def test_a_topic_key_said_as_a_word_in_the_faq(sim):
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.press("1")
    call.speak("uno")  # topic 1: opening hours
    assert call.heard("I nostri operatori sono disponibili dal lunedì al venerdì"), call.format_transcript()


@pytest.mark.parametrize("language, said, question, answer, then", [
    ("en", "my washing machine broke and it's still under warranty",
     "Would you like to report a fault, or make a warranty claim?", "the warranty claim", "serial number"),
    ("it", "si è rotta la lavatrice ed è ancora in garanzia",
     "Vuole segnalare un guasto, oppure fare una richiesta di garanzia?", "un guasto", "Di che prodotto"),
    ("nl", "mijn wasmachine is kapot en valt nog onder de garantie",
     "Wilt u een storing melden, of garantie aanvragen?", "drie", "serienummer"),
])
def test_two_close_intents_get_a_short_question_not_i_did_not_understand(sim, language, said, question,
                                                                         answer, then):
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    call.speak(said)
    assert call.heard(question), call.format_transcript()
    assert not call.heard("didn't understand") and not call.heard("non ho capito")
    call.speak(answer)
    assert call.heard(then), call.format_transcript()


def test_wrong_is_a_no_to_a_fact_checked_not_to_a_good_time(sim, app, clock):
    """'Sbagliato' at the read-back asks for another time; the same word is no answer to 'is this
    a good time?' (tests/test_campaigns_calls.py books nothing with it)."""
    call = sim.inbound(from_=LINES["it"][0], to=LINES["it"][1])
    call.press("5")
    call.press("2")  # tomorrow morning
    call.speak("no, sbagliato")
    assert call.heard("Quando preferisce essere richiamato"), call.format_transcript()


@pytest.mark.parametrize("language, said, question", [
    ("nl", "het is eigenlijk allebei, mijn internet doet het niet en ik wacht op een pakket",
     "Wilt u een storing melden, of weten waar uw bestelling blijft?"),
    ("it", "sono due cose, internet non funziona e aspetto un pacco",
     "Vuole segnalare un guasto, oppure sapere a che punto è una consegna?"),
    ("en", "it's both really, my internet is down and I'm waiting for a parcel",
     "Would you like to report a fault, or check on a delivery?"),
])
def test_a_caller_who_wants_both_is_asked_which_first(sim, language, said, question):
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    call.speak(said)
    assert call.heard(question), call.format_transcript()


def test_a_close_call_is_asked_once_never_in_a_loop(sim):
    call = sim.inbound(from_=EN[0], to=EN[1])
    question = "Would you like to report a fault, or make a warranty claim?"
    call.speak("my washing machine broke and it's still under warranty")
    call.speak("my washing machine broke and it's still under warranty")
    assert sum(question in s for s in call.said) == 1, call.format_transcript()
    assert call.waiting_for == "gather"  # the call goes on: the menu's fallbacks take over


def test_a_refused_option_is_asked_again_never_taken(sim):
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.speak("no, non voglio un operatore")
    assert call.heard("non ho capito"), call.format_transcript()
    assert not call.heard("La metto in contatto con un operatore")


@pytest.mark.parametrize("language, model", [("it", "googlev2_telephony"), ("nl", "googlev2_telephony"),
                                             ("en", "googlev2_telephony")])
def test_every_speech_prompt_names_its_language_model_and_hints(sim, language, model):
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    assert call.gather_attr("speechModel") == model
    assert call.gather_attr("language") == {"it": "it-IT", "nl": "nl-NL", "en": "en-GB"}[language]
    assert call.gather_attr("hints")
    call.press("1")  # the FAQ question: free text, hints all the same
    hints = call.gather_attr("hints") or ""
    assert {"it": "bolletta", "nl": "factuur", "en": "invoice"}[language] in hints
    assert call.gather_attr("speechModel") == model


def test_the_callback_time_and_the_fault_description_carry_hints(sim):
    call = sim.inbound(from_=IT[0], to=IT[1])
    call.press("5")
    assert "domani" in (call.gather_attr("hints") or "")
    fault = sim.inbound(from_=IT[0], to=IT[1])
    fault.press("2")
    fault.press("1")
    hints = fault.gather_attr("hints") or ""
    assert "non funziona" in hints and "modem" in hints


@pytest.mark.parametrize("language, words", [
    ("it", ["informazioni", "guasto", "garanzia", "consegna", "richiamata", "operatore"]),
    ("nl", ["informatie", "storing", "garantie", "bezorging", "terugbellen", "medewerker"]),
    ("en", ["information", "fault", "warranty", "delivery", "callback", "operator"]),
])
def test_the_menu_s_hints_name_every_option_not_only_the_first_ones(sim, language, words):
    """Twilio reads 1,000 characters of hints: taken option by option, the long list of ways to
    say "fault" left no room for delivery, callback or operator."""
    call = sim.inbound(from_=LINES[language][0], to=LINES[language][1])
    hints = (call.gather_attr("hints") or "").split(", ")
    assert [w for w in words if w not in hints] == [] and len(", ".join(hints)) <= 1000


def test_the_language_menu_listens_with_each_language_model(sim):
    call = sim.inbound(from_=EN[0], to=EN[1])
    call.press("*")
    assert call.gather_attr("speechModel") == "googlev2_telephony"
    assert call.gather_attr("hints")


def test_a_language_without_a_speech_model_lets_twilio_pick_one():
    """The documented remedy when a language lacks the chosen model (Twilio warning 13331):
    a vocabulary without `speech_model` sends no speechModel at all (Twilio's choice 1)."""
    parsed = vocabulary.parse({"language": "nl", "concepts": {}}, "nl", "test")
    assert parsed.speech_model is None
    xml = Twiml("nl").gather("https://example.test/in", ["Zeg het maar"], input="dtmf speech",
                             speech_model=parsed.speech_model).xml()
    assert 'language="nl-NL"' in xml and "speechModel" not in xml
