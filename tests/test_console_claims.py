"""Warranty claims in the console: in the navigation, listed, and each one can be opened."""

from __future__ import annotations

from datetime import date

from app.db import session_scope
from app.support.services import CallerRef, make_claim
from tests.console_support import add_operator, login, page_csrf


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
