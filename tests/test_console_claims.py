"""Warranty claims in the console: in the navigation, listed, and each one can be opened."""

from __future__ import annotations

from datetime import date

from app.db import session_scope
from app.support.services import CallerRef, create_ticket, make_claim
from tests.console_support import BEARER, add_operator, login, page_csrf


def _claim(app, serial: str = "SN-404-UNKNOWN") -> str:  # type: ignore[no-untyped-def]
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        made = make_claim(session, serial=serial, purchased_on=date(2025, 3, 1), at=clock.now(),
                          today=clock.now().date(),
                          caller=CallerRef(number="+393471234567", language="it", call_sid=None))
        return made.claim.reference


def test_claims_are_in_the_navigation_and_open_from_the_list(app, client):
    add_operator(app)
    login(client)
    reference = _claim(app)
    dashboard = client.get("/console/").get_data(as_text=True)
    assert 'href="/console/claims"' in dashboard
    listing = client.get("/console/claims").get_data(as_text=True)
    assert f'href="/console/claims/{reference}"' in listing
    detail = client.get(f"/console/claims/{reference}")
    assert detail.status_code == 200
    page = detail.get_data(as_text=True)
    assert "SN404UNKNOWN" in page and "+393471234567" in page
    assert 'id="claim-outcome">needs review<' in page  # an unknown serial is kept for review


def test_a_claim_reads_in_the_operators_language(app, client):
    add_operator(app)
    login(client)
    reference = _claim(app)
    client.post("/console/language", data={"lang": "it", "csrf_token": page_csrf(client),
                                           "next": "/console/"})
    page = client.get(f"/console/claims/{reference}").get_data(as_text=True)
    assert 'id="claim-outcome">da verificare<' in page and "Numero di serie" in page
    assert "numero di serie sconosciuto" in page and "unknown_serial" not in page


def test_an_unknown_claim_is_a_404_page(app, client):
    add_operator(app)
    login(client)
    assert client.get("/console/claims/NOPE-0000").status_code == 404


def test_ticket_subjects_read_in_the_operators_language_and_the_callers_words_as_said(app, client):
    """A subject we word ourselves is shown in the reader's language (English in the API); what
    the caller said stays in their words."""
    add_operator(app)
    login(client)
    clock = app.extensions["cortese.clock"]
    caller = CallerRef(number="+393471234567", language="it", call_sid=None)
    with session_scope(app) as session:
        late = create_ticket(session, kind="delivery_chase", at=clock.now(), caller=caller, priority="high",
                             subject_code="order_late", subject_values={"order": "4712"}).reference
        upset = create_ticket(session, kind="complaint", at=clock.now(), caller=caller, priority="high",
                              subject_code="caller_angry").reference
        words = create_ticket(session, kind="unanswered_question", at=clock.now(), caller=caller,
                              subject="a che ora aprite domenica?").reference
        create_ticket(session, kind="fault", at=clock.now(), caller=caller, subject_code="named",
                      subject_values={"it": "un altro prodotto", "nl": "een ander product", "en": "another product"})
    expected = {"en": ("Order 4712 late", "Caller angry", "another product"),
                "it": ("Ordine 4712 in ritardo", "Chiamante arrabbiato", "un altro prodotto"),
                "nl": ("Bestelling 4712 te laat", "Beller boos", "een ander product")}
    for lang, (late_text, upset_text, product) in expected.items():
        client.post("/console/language", data={"lang": lang, "csrf_token": page_csrf(client), "next": "/console/"})
        listing = client.get("/console/tickets").get_data(as_text=True)
        assert late_text in listing and upset_text in listing and "a che ora aprite domenica?" in listing, lang
        assert f"<td>{product}</td>" in listing, lang
        assert f"<dd>{late_text}</dd>" in client.get(f"/console/tickets/{late}").get_data(as_text=True)
    api = app.test_client().get(f"/api/tickets/{upset}", headers=BEARER).get_json()
    assert (api["subject"], api["subject_code"]) == ("Caller angry", "caller_angry")
    said = app.test_client().get(f"/api/tickets/{words}", headers=BEARER).get_json()
    assert (said["subject"], said["subject_code"]) == ("a che ora aprite domenica?", None)
