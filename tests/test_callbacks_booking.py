"""Booking a callback inside a call, through the real flows and the simulator: quick keys, a
day and time in it/nl/en words, lawful + capacity-checked nearest slots, read-back, confirm or
redo, silence, an existing booking kept/cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.callbacks import booking, service
from app.callbacks.models import CANCELLED, SCHEDULED, Callback
from app.db import session_scope

ROME = ZoneInfo("Europe/Rome")
# Wednesday 25 November 2026, 15:00 in Rome.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=ROME).astimezone(UTC)
IT_CALLER, IT_LINE = "+393471234567", "+390212345678"
NL_CALLER, NL_LINE = "+31612345678", "+31201234567"
GB_CALLER, GB_LINE = "+447400123456", "+442071234567"


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(NOW)


def _to_booking(sim, caller=IT_CALLER, line=IT_LINE):
    call = sim.inbound(from_=caller, to=line)
    call.press("5")  # support menu: book a callback
    return call


def _callbacks(app) -> list[Callback]:
    with session_scope(app) as session:
        return list(session.scalars(select(Callback).order_by(Callback.id)))


def test_quick_key_tomorrow_evening_is_read_back_and_booked(sim, app):
    call = _to_booking(sim)
    assert call.heard("Per stasera prema 1; per domani mattina prema 2; per domani sera prema 3")
    call.press("3")
    assert call.heard("La richiameremo domani, giovedì 26 novembre, alle 18:00. Per confermare prema 1")
    call.press("1")
    assert call.heard("Fatto: la richiameremo domani, giovedì 26 novembre, alle 18:00.")
    assert call.ended
    [cb] = _callbacks(app)
    assert cb.status == SCHEDULED and cb.language == "it" and cb.time_zone == "Europe/Rome"
    assert cb.due_at == datetime(2026, 11, 26, 17, 0, tzinfo=UTC) and cb.local_due == "2026-11-26T18:00"
    assert cb.e164 == IT_CALLER and cb.origin == "call" and cb.origin_call_sid == call.sid
    assert cb.reason == "support" and cb.origin_flow == "support_menu" and cb.contact_id is not None
    call.assert_courteous()


# "This evening" is 18:00 (CALLBACK_EVENING_TIME) and a callback needs 10 minutes' notice: once
# that has passed in the callee's own zone, the option is not offered, and the keys keep their
# meaning (2 is still tomorrow morning).
@pytest.mark.parametrize("caller, line, local, offered, absent", [
    (IT_CALLER, IT_LINE, datetime(2026, 11, 25, 23, 17, tzinfo=ROME),
     "Quando preferisce essere richiamato? Per domani mattina prema 2; per domani sera prema 3.", "stasera"),
    (IT_CALLER, IT_LINE, datetime(2026, 11, 25, 17, 55, tzinfo=ROME),
     "Quando preferisce essere richiamato? Per domani mattina prema 2;", "stasera"),
    (NL_CALLER, NL_LINE, datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("Europe/Amsterdam")),
     "Wanneer wilt u worden teruggebeld? Voor morgenochtend druk op 2;", "vanavond"),
    (GB_CALLER, GB_LINE, datetime(2026, 11, 25, 19, 0, tzinfo=ZoneInfo("Europe/London")),
     "When would you like us to call you back? For tomorrow morning, press 2;", "this evening"),
])
def test_this_evening_is_not_offered_once_it_has_passed(sim, app, clock, caller, line, local, offered,
                                                        absent):
    clock.set(local.astimezone(UTC))
    call = _to_booking(sim, caller, line)
    assert call.heard(offered)
    assert absent not in call.last_said.lower()
    call.press("2")
    assert call.heard(" 26 ")  # tomorrow morning, the 26th, read back for confirmation


def test_this_evening_follows_the_callees_zone_not_the_servers(sim, app, clock):
    # 18:30 in Rome is 17:30 in London: a British caller's evening is still ahead.
    clock.set(datetime(2026, 11, 25, 18, 30, tzinfo=ROME).astimezone(UTC))
    call = _to_booking(sim, GB_CALLER, GB_LINE)
    assert call.heard("For this evening, press 1; for tomorrow morning, press 2")
    call.press("1")
    assert call.heard("We will call you back today, Wednesday 25 November, at 6:00 pm.")


def test_italian_words_domani_alle_sei_di_sera(sim, app):
    call = _to_booking(sim)
    call.speak("domani alle sei di sera")
    assert call.heard("La richiameremo domani, giovedì 26 novembre, alle 18:00.")
    call.speak("sì")
    assert [c.local_due for c in _callbacks(app)] == ["2026-11-26T18:00"]


def test_dutch_words_morgen_om_half_zeven(sim, app):
    call = _to_booking(sim, NL_CALLER, NL_LINE)
    assert call.heard("Voor vanavond druk op 1")
    call.speak("morgen om half zeven")
    assert call.heard("Wij bellen u terug morgen, donderdag 26 november, om 18:30.")
    call.press("1")
    [cb] = _callbacks(app)
    assert (cb.language, cb.time_zone, cb.local_due) == ("nl", "Europe/Amsterdam", "2026-11-26T18:30")


def test_english_words_friday_at_10am(sim, app):
    call = _to_booking(sim, GB_CALLER, GB_LINE)
    call.speak("Friday at 10am")
    assert call.heard("We will call you back Friday 27 November at 10:00 am.")
    call.speak("yes")
    [cb] = _callbacks(app)
    assert (cb.language, cb.time_zone, cb.local_due) == ("en", "Europe/London", "2026-11-27T10:00")
    assert cb.due_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_time_outside_the_calling_window_gets_the_nearest_lawful_slots(sim, app):
    call = _to_booking(sim)
    call.speak("stasera alle dieci e mezza")  # 22:30: Italy's window closes at 20:00
    # The time understood is said, so a mishearing can be told from a closed window.
    assert call.heard("Mi dispiace, alle 22:30 non possiamo chiamarla.")
    # Three times on one day: the day is said once, as people do.
    assert call.heard("Posso richiamarla: domani, giovedì 26 novembre, alle 9:00 prema 1; alle 9:30 prema 2; "
                      "alle 10:00 prema 3.")
    call.press("2")
    assert call.heard("La richiameremo domani, giovedì 26 novembre, alle 9:30.")
    call.press("1")
    [cb] = _callbacks(app)
    assert cb.due_at == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


def test_a_sunday_is_never_offered_and_words_can_pick_a_slot(sim, app):
    call = _to_booking(sim)
    call.speak("domenica alle 11")  # Sunday: no calls in Italy
    assert call.heard("non possiamo chiamarla")
    said = call.last_said
    assert "domenica" not in said.split("Posso richiamarla:")[1]
    call.speak("la seconda")
    call.press("1")
    [cb] = _callbacks(app)
    assert cb.due_at.astimezone(ROME).weekday() != 6


@pytest.fixture
def two_per_slot(settings):
    settings["CALLBACK_SLOT_CAPACITY"] = 2


def test_a_full_slot_offers_the_nearest_free_ones(two_per_slot, sim, app):
    with session_scope(app) as session:
        for number in ("+393471111111", "+393472222222"):
            service.book(session, service.Booking(e164=number, due_at=datetime(2026, 11, 26, 17, 0, tzinfo=UTC),
                                                  time_zone="Europe/Rome", language="it"), at=NOW, by="test")
    call = _to_booking(sim)
    call.press("3")  # tomorrow 18:00, already holding two callbacks
    assert call.heard("Mi dispiace, domani, giovedì 26 novembre, alle 18:00 le richiamate sono già al completo.")
    # nearest first considered (17:30 and 18:30, then 17:00 before 19:00), said in time order
    assert call.heard("domani, giovedì 26 novembre, alle 17:00 prema 1; alle 17:30 prema 2; alle 18:30 prema 3.")
    assert "alle 18:00 prema" not in call.last_said
    call.press("3")
    call.press("1")
    assert _callbacks(app)[-1].local_due == "2026-11-26T18:30"


def test_choose_another_time_then_book(sim, app):
    call = _to_booking(sim)
    call.press("2")  # tomorrow morning 10:00
    assert call.heard("domani, giovedì 26 novembre, alle 10:00")
    call.press("2")  # no: another time
    assert call.last_said.startswith("Quando preferisce essere richiamato?")
    call.press("1")  # this evening 18:00
    call.press("1")
    assert [c.local_due for c in _callbacks(app)] == ["2026-11-25T18:00"]


def test_silence_reprompts_once_then_books_nothing(sim, app):
    call = _to_booking(sim)
    call.silence()
    assert call.heard("Quando preferisce essere richiamato?")
    call.silence()
    assert call.heard("Non ho prenotato nessuna richiamata.") and call.ended
    assert _callbacks(app) == []
    call.assert_courteous()


def test_words_we_cannot_understand_three_times_lead_to_an_operator(sim, app):
    call = _to_booking(sim)
    call.speak("boh")
    assert call.heard("Mi scusi, non ho capito il giorno e l'ora.")
    call.speak("non saprei proprio")
    call.speak("mah")
    assert call.heard("non riesco a fissare l'orario in questo modo")
    assert _callbacks(app) == []


def test_a_caller_with_a_booking_can_keep_or_cancel_it(sim, app):
    with session_scope(app) as session:
        service.book(session, service.Booking(e164=IT_CALLER, due_at=datetime(2026, 11, 26, 17, 0, tzinfo=UTC),
                                              time_zone="Europe/Rome", language="it"), at=NOW, by="test")
    call = _to_booking(sim)
    assert call.heard("Risulta già una richiamata prenotata per domani, giovedì 26 novembre, alle 18:00.")
    call.press("3")
    assert call.heard("La richiamata è stata annullata.")
    assert [c.status for c in _callbacks(app)] == [CANCELLED]


def test_moving_an_existing_booking_keeps_one_row(sim, app):
    with session_scope(app) as session:
        service.book(session, service.Booking(e164=IT_CALLER, due_at=datetime(2026, 11, 26, 17, 0, tzinfo=UTC),
                                              time_zone="Europe/Rome", language="it"), at=NOW, by="test")
    call = _to_booking(sim)
    call.press("2")  # change the time
    call.speak("venerdì alle 11")
    call.press("1")
    [cb] = _callbacks(app)
    assert cb.local_due == "2026-11-27T11:00" and cb.status == SCHEDULED


def test_a_number_we_have_no_calling_rules_for_is_offered_an_operator(sim, app):
    # No rule pack for Germany: no lawful time to call back, so a person now, not a hang-up.
    call = _to_booking(sim, caller="+4915112345678")
    call.press("1")
    assert call.heard("non possiamo fissare una richiamata a questo numero"), call.format_transcript()
    assert not call.ended and _callbacks(app) == []
    call.press("1")
    assert call.heard("La metto in contatto con un operatore"), call.format_transcript()


def test_withheld_number_cannot_book(sim, app):
    call = sim.inbound(from_="anonymous", to=IT_LINE)
    call.press("5")
    assert call.heard("il suo numero è nascosto") and call.ended
    assert _callbacks(app) == []


def test_operator_closed_menu_offers_a_callback(sim, app, clock):
    clock.set(datetime(2026, 11, 25, 19, 0, tzinfo=ROME).astimezone(UTC))  # operators closed at 18:00
    call = sim.inbound(from_=IT_CALLER, to=IT_LINE)
    call.press("0")
    assert call.heard("per essere richiamato da un operatore prema 2")
    call.press("2")
    call.press("2")  # tomorrow morning
    call.press("1")
    [cb] = _callbacks(app)
    assert (cb.reason, cb.origin_flow) == ("operator", "operator")  # "yes" will lead to an operator
    assert cb.local_due == "2026-11-26T10:00"


# --- pieces, without a call ----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [
    ("it", "domani, giovedì 26 novembre, alle 18:30"),
    ("nl", "morgen, donderdag 26 november, om 18:30"),
    ("en", "tomorrow, Thursday 26 November, at 6:30 pm"),
])
def test_read_back_words(language, expected):
    moment = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    assert booking.when_text(moment, ROME, language, NOW) == expected


@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 11, 27, 12, 0, tzinfo=UTC), "venerdì 27 novembre alle 13:00"),
    (datetime(2026, 11, 27, 12, 15, tzinfo=UTC), "venerdì 27 novembre alle 13:15"),
    (datetime(2026, 11, 27, 0, 15, tzinfo=UTC), "venerdì 27 novembre all'1:15"),  # "all'una e un quarto"
])
def test_italian_elides_only_before_one(utc, expected):
    """Italian says "alle tredici" but "all'una": the elision belongs to 1 o'clock only, and a
    booking reads times like every other prompt (one implementation in flows.render)."""
    assert booking.when_text(utc, ROME, "it", NOW) == expected


def test_zone_order_contact_then_number_then_hotline_then_default():
    class C:
        time_zone = "America/New_York"

    assert booking.resolve_zone(C(), IT_CALLER, None, "UTC") == "America/New_York"
    assert booking.resolve_zone(None, NL_CALLER, None, "UTC") == "Europe/Amsterdam"
    # A UK mobile spans four zones: the hotline's one wins when it is among them.
    assert booking.resolve_zone(None, GB_CALLER, {"time_zone": "Europe/London"}, "UTC") == "Europe/London"
    assert booking.resolve_zone(None, None, {"time_zone": "Europe/London"}, "UTC") == "Europe/London"
    assert booking.resolve_zone(None, None, None, "Europe/Rome") == "Europe/Rome"


def test_quick_options_in_the_callees_zone(app):
    settings = app.extensions["cortese.settings"]
    new_york = ZoneInfo("America/New_York")
    times = [booking.quick_option(k, NOW, new_york, settings) for k in "123"]
    local = [t.astimezone(new_york).strftime("%a %H:%M") for t in times]
    assert local == ["Wed 18:00", "Thu 10:00", "Thu 18:00"]
    assert booking.quick_option("7", NOW, new_york, settings) is None
    assert booking.quick_option("1", NOW, new_york, settings) - NOW == timedelta(hours=9)
