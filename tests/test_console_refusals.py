"""A service's "no" reaches the operator in the console's language, and API clients in English.

Services refuse with `Refusal(code, english, **values)`; the console translates the code, the
API shows the English text (the contract its clients already parse)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from app.refusals import Refusal
from tests.console_support import (
    BEARER,
    campaign_form,
    page_csrf,
    seed_callback,
    seed_campaign,
    seed_ticket,
    signed_in,
    speak,
)


@pytest.fixture
def operator(app, client):
    return signed_in(app, client, language="it")


def _flashes(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return " ".join(part.split("</", 1)[0] for part in html.split('class="flash error" role="status">')[1:])


def _upload(client, path: str, form_page: str, content: bytes, **fields: str) -> str:
    """Post a file from the page `form_page` to `path` as a browser does; the page shown after."""
    data = {"csrf_token": page_csrf(client, form_page), **fields, "file": (io.BytesIO(content), "upload.csv")}
    return client.post(path, data=data, content_type="multipart/form-data",
                       follow_redirects=True).get_data(as_text=True)


def test_cancelling_a_cancelled_callback_is_refused_in_the_operators_language(app, operator):
    cb = seed_callback(app, status="cancelled")
    token = page_csrf(operator)
    for lang, words in (("it", "non si può annullare"), ("nl", "kan niet worden geannuleerd"),
                        ("en", "cannot be cancelled")):
        speak(operator, lang)
        operator.post(f"/console/callbacks/{cb}/cancel", data={"reason": "doppione", "csrf_token": token})
        shown = _flashes(operator, f"/console/callbacks/{cb}")
        assert words in shown and "cancelled" in shown, (lang, shown)


def test_moving_a_finished_callback_is_refused_in_italian(app, operator):
    cb = seed_callback(app, status="completed")
    local = (app.extensions["cortese.clock"].now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    operator.post(f"/console/callbacks/{cb}/move", data={"local_due": local, "force": "1",
                                                          "csrf_token": page_csrf(operator)})
    shown = _flashes(operator, f"/console/callbacks/{cb}")
    assert "non si può spostare" in shown and "completed" in shown


def test_an_impossible_campaign_step_names_the_possible_ones_in_dutch(app, operator):
    cid = seed_campaign(app)
    speak(operator, "nl")
    token = page_csrf(operator)
    operator.post(f"/console/campaigns/{cid}/stop", data={"csrf_token": token})
    operator.post(f"/console/campaigns/{cid}/resume", data={"csrf_token": token})
    shown = _flashes(operator, f"/console/campaigns/{cid}")
    assert "«resume» kan niet" in shown and "stopped" in shown and "definitief" in shown, shown


def test_a_ticket_already_in_that_status_is_refused_in_italian(app, operator):
    reference = seed_ticket(app)
    token = page_csrf(operator)
    operator.post(f"/console/tickets/{reference}/status", data={"status": "open", "csrf_token": token})
    shown = _flashes(operator, f"/console/tickets/{reference}")
    assert "Il ticket è già in stato open" in shown, shown


def test_the_api_keeps_the_english_text(app, client):
    cb = seed_callback(app, status="cancelled")
    resp = client.post(f"/api/callbacks/{cb}/cancel", json={"reason": "x"},
                       headers=BEARER)
    assert resp.status_code in (409, 422) and "cannot be cancelled" in resp.get_json()["detail"]


def test_a_refusal_is_a_value_error_with_its_code_and_values():
    refusal = Refusal("callback_not_cancellable", "status: a completed callback cannot be cancelled",
                      status="completed")
    assert isinstance(refusal, ValueError) and str(refusal).endswith("cannot be cancelled")
    assert (refusal.code, refusal.values) == ("callback_not_cancellable", {"status": "completed"})


def test_the_campaign_form_explains_itself_in_italian_and_keeps_what_was_typed(app, operator):
    token = page_csrf(operator, "/console/campaigns/new")
    form = campaign_form(token)
    cases = [
        ({}, "Scrivi perché chiamiamo in ogni lingua della campagna (manca: en)."),
        ({"reason_en": "a survey", "calling_hours": "19:00-09:00"}, "L&#39;inizio della fascia oraria deve precedere la fine."),
        ({"reason_en": "a survey", "calling_hours": "tutto il giorno"}, "«tutto il giorno» non è una fascia oraria"),
        ({"reason_en": "a survey", "max_attempts": "40"}, "Tentativi per contatto: da 1 a 10."),
        ({"reason_en": "a survey", "languages": []}, "Scegli almeno una lingua."),
        ({"reason_en": "a survey", "calling_hours": "9-20"}, "«9» non è un orario come 09:00."),
        ({"reason_en": "a survey", "calling_days": []}, "Serve almeno un giorno di chiamata."),
        ({"reason_en": "a survey", "callback_number": "12"}, "«12»: manca il prefisso internazionale (scriva +39...)."),
        ({"reason_en": "a survey", "callback_number": "+39 12"}, "«+39 12» non è un numero valido per il suo paese."),
        ({"reason_en": "a survey", "purpose": "sales"}, "Una campagna di vendita deve dire quale offerta presenta."),
    ]
    for change, words in cases:
        page = operator.post("/console/campaigns", data={**form, **change})
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and words in html, (change, words)
        assert 'value="Sondaggio primavera"' in html  # nothing typed is lost
    assert operator.post("/console/campaigns", data={**form, "reason_en": "a survey"}).status_code == 302
    again = operator.post("/console/campaigns", data={**form, "reason_en": "a survey"}).get_data(as_text=True)
    assert "Esiste già una campagna chiamata «Sondaggio primavera»." in again


@pytest.mark.parametrize("text, words", [
    (b"", "Il file è vuoto (serve una riga di intestazione)."),
    (b"phone,colour\n+393471234567,blu\n", "Riga 1: colonne sconosciute phone, colour"),
    (b"name\nGiulia\n", "Riga 1: mancano le colonne obbligatorie"),
])
def test_a_refused_contacts_file_says_why_in_italian(app, operator, text, words):
    page = _upload(operator, "/console/contacts/import", "/console/contacts", text)
    assert words in page, page[page.find("flash"):][:300]


def test_a_registry_file_without_a_number_column_says_why_in_dutch(app, operator):
    speak(operator, "nl")
    page = _upload(operator, "/console/registries/import", "/console/registries",
                   b"nome,cognome\nGiulia,Rossi\n", country="IT")
    assert "de kopregel heeft geen nummerkolom" in page, page[page.find("flash"):][:300]


def test_a_refused_targeting_csv_says_why_in_italian(app, operator):
    cid = seed_campaign(app, numbers=())
    page = _upload(operator, f"/console/campaigns/{cid}/contacts", f"/console/campaigns/{cid}", b"name\nGiulia\n",
                   source="lista clienti 2026")
    assert "Riga 1: mancano le colonne obbligatorie" in page, page[page.find("flash"):][:300]


BAD_LINES = (
    "number,source,language,time_zone,is_customer,consent_purposes,consent_at,consent_channel\n"
    "+393471234567,fiera 2026,fr,,,,,\n"                                      # 2 language
    "+393471234568,fiera 2026,,Mars/Base,,,,\n"                               # 3 time zone
    "+393471234569,fiera 2026,,,forse,,,\n"                                   # 4 yes/no
    "+393471234570,fiera 2026,,,,survey,,\n"                                  # 5 consent_at missing
    "+393471234571,fiera 2026,,,,survey,ieri sera boh,\n"                     # 6 bad date
    "+393471234572,fiera 2026,,,,survey,2026-01-02,piccione\n"                # 7 channel
    "+393471234573,fiera 2026,,,,lotteria,2026-01-02,voice\n"                 # 8 purpose
    "+393471234574,pagine bianche,,,,,,\n"                                    # 9 scraped source
    "+393471234575,,,,,,,\n"                                                  # 10 no source
    "ciao,fiera 2026,,,,,,\n"                                                 # 11 not a number
    "+393471234576,fiera 2026,,,,,,,,extra\n"                                 # 12 too many values
)
BAD_LINE_WORDS = {
    "it": ["Riga 2: lingua «fr»: si attende una tra", "Riga 3: fuso orario «Mars/Base»",
           "Riga 4: is_customer «forse»: si attende sì o no.", "Riga 5: consent_at è obbligatorio",
           "Riga 6: data non valida in consent_at", "Riga 7: canale del consenso «piccione»",
           "Riga 8: scopo del consenso «lotteria»", "Riga 9: fonte «pagine bianche» rifiutata",
           "Riga 10: manca la fonte", "Riga 11: «ciao»", "Altre righe con errori, non mostrate: 1."],
    "nl": ["Regel 2: taal «fr»: verwacht een van", "Regel 4: is_customer «forse»: verwacht ja of nee.",
           "Regel 9: bron «pagine bianche» geweigerd", "Meer regels met fouten, niet getoond: 1."],
}


@pytest.mark.parametrize("lang", sorted(BAD_LINE_WORDS))
def test_each_bad_line_of_a_contacts_file_is_explained_in_the_operators_language(app, operator, lang):
    speak(operator, lang)
    page = _upload(operator, "/console/contacts/import", "/console/contacts", BAD_LINES.encode())
    for words in BAD_LINE_WORDS[lang]:
        assert words in page, (words, page[page.find("flash"):][:2000])
    assert "expected one of" not in page and "required when" not in page  # no English left


def test_a_line_with_too_many_values_is_explained_in_italian(app, operator):
    text = b"number,source\n+393471234567,fiera 2026,extra\n"
    page = _upload(operator, "/console/contacts/import", "/console/contacts", text)
    assert "Riga 2: 3 valori, ma l&#39;intestazione ha 2 colonne." in page, page[page.find("flash"):][:600]


def test_bad_lines_keep_their_english_text_in_the_api(client):
    body = client.post("/api/contacts/import", headers=BEARER, json={"csv": BAD_LINES}).get_json()
    messages = {e["line"]: e["message"] for e in body["errors"]}
    assert messages[2] == "language 'fr': expected one of it, nl, en"
    assert messages[9].startswith("source 'pagine bianche' refused: numbers from public directories")
    assert messages[11] == "invalid number 'ciao': not a number"
    assert messages[12] == "unknown column: 10 values but the header names 8"


def test_a_registry_files_bad_lines_are_shown_in_italian(app, operator):
    page = _upload(operator, "/console/registries/import", "/console/registries", b"numero\n0212345678\nnon un numero\n", country="IT")
    assert "Riga 3: «non un numero» non è un numero di telefono di IT." in page, page[page.find("flash"):][:600]


def test_targeting_reports_lines_and_unknown_contacts_in_italian(app, operator):
    cid = seed_campaign(app, numbers=())
    page = _upload(operator, f"/console/campaigns/{cid}/contacts", f"/console/campaigns/{cid}",
                   b"number\n+393471234567\nciao\n", source="lista clienti 2026")
    assert "Riga 3: «ciao»" in page, page[page.find("flash"):][:600]
    token = page_csrf(operator, f"/console/campaigns/{cid}")
    page = operator.post(f"/console/campaigns/{cid}/contacts", data={"csrf_token": token, "contact_ids": "424242"},
                         follow_redirects=True).get_data(as_text=True)
    assert "424242: nessun contatto con questo id." in page, page[page.find("flash"):][:600]


def test_a_callbacks_filter_number_that_does_not_parse_is_explained_in_dutch(app, operator):
    seed_callback(app)
    speak(operator, "nl")
    page = operator.get("/console/callbacks?number=ciao").get_data(as_text=True)
    assert "«ciao» is geen telefoonnummer." in page or "«ciao»: de landcode ontbreekt" in page, \
        page[page.find("flash"):][:600]
    assert "+39 347" in page or "347" in page  # the unfiltered list is shown instead
