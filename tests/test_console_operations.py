"""Console pages for callbacks, campaigns, flows and the softphone entry: what operators see
and do, CSRF on every form, escaping of stored text, and the three languages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from app.callbacks import service as callbacks
from app.campaigns.models import CampaignAttempt, CampaignContact
from app.consent.contacts import get_or_create
from app.db import session_scope
from tests.campaign_support import fake_dialer, make_campaign, make_contacts
from tests.console_support import (
    BEARER,
    add_operator,
    campaign_form,
    login,
    page_csrf,
    seed_call,
    seed_callback,
    seed_campaign,
    signed_in,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def settings(settings):
    settings["CAMPAIGN_ACCOUNT_CPS"] = 20  # the simulated campaign dials both numbers in one tick
    return settings


@pytest.fixture
def operator(app, client):
    return signed_in(app, client)


def _html(client, path):
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def test_new_pages_need_a_login(app, client):
    cb = seed_callback(app)
    cid = seed_campaign(app)
    for path in ("/console/callbacks", f"/console/callbacks/{cb}", "/console/campaigns", "/console/campaigns/new",
                 f"/console/campaigns/{cid}", "/console/flows", "/console/flows/support_hotline", "/console/softphone"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.location.startswith("/console/login"), path


def test_every_new_form_refuses_a_post_without_csrf(app, operator):
    cb = seed_callback(app)
    cid = seed_campaign(app)
    posts = {f"/console/callbacks/{cb}/move": {"local_due": "2026-03-05T10:00"},
             f"/console/callbacks/{cb}/cancel": {"reason": "x"},
             "/console/campaigns": {"name": "x"},
             f"/console/campaigns/{cid}/start": {}, f"/console/campaigns/{cid}/stop": {},
             f"/console/campaigns/{cid}/contacts": {"contact_ids": "1"}}
    for path, data in posts.items():
        assert operator.post(path, data=data).status_code == 400, path
        assert operator.post(path, data={**data, "csrf_token": "forged"}).status_code == 400, path
    body = operator.get(f"/api/callbacks/{cb}", headers=BEARER).get_json()
    assert body["status"] == "scheduled" and len(body["history"]) == 1  # nothing happened
    assert operator.get(f"/api/campaigns/{cid}", headers=BEARER).get_json()["status"] == "draft"


def test_stored_html_is_escaped_on_every_new_page(app, operator):
    cb = seed_callback(app, note=HOSTILE, status="missed")
    cid = seed_campaign(app, name=HOSTILE[:100], start=True)
    for path in ("/console/callbacks", "/console/callbacks?view=missed", f"/console/callbacks/{cb}",
                 "/console/campaigns", f"/console/campaigns/{cid}", "/console/"):
        html = _html(operator, path)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in _html(operator, f"/console/callbacks/{cb}")
    assert "&lt;img src=x onerror=alert(1)&gt;" in _html(operator, f"/console/campaigns/{cid}")


def test_callback_views_and_the_move_form(app, operator, clock):
    soon = seed_callback(app, due_in=timedelta(hours=2), e164="+393470000001")
    missed = seed_callback(app, status="missed", e164="+393470000002")
    tomorrow = seed_callback(app, due_in=timedelta(days=1, hours=3), e164="+393470000003")
    today = _html(operator, "/console/callbacks?view=due_today")
    assert "is the day in Europe/Rome" in today
    assert "+393470000001" in today and "+393470000002" in today and "+393470000003" not in today
    missed_page = _html(operator, "/console/callbacks?view=missed")
    assert "+393470000002" in missed_page and "+393470000001" not in missed_page
    assert 'id="callbacks-today">2<' in _html(operator, "/console/")
    assert 'id="callbacks-missed">1<' in _html(operator, "/console/")
    assert _html(operator, "/console/callbacks?number=12&status=bogus&offset=-1")  # bad filters: a page, not a 500

    token = page_csrf(operator, f"/console/callbacks/{missed}")
    resp = operator.post(f"/console/callbacks/{missed}/move",
                         data={"local_due": "2026-03-03T18:30", "note": "sera", "csrf_token": token})
    assert resp.status_code == 302
    page = _html(operator, f"/console/callbacks/{missed}")
    assert "2026-03-03 18:30 (Europe/Rome)" in page and "scheduled" in page and "operator:olga" in page
    assert "Callback moved to 2026-03-03 18:30" in page or "Richiamata spostata" in page

    for bad in ("yesterday", "2026-03-01T10:00"):
        operator.post(f"/console/callbacks/{soon}/move", data={"local_due": bad, "csrf_token": token})
        page = _html(operator, f"/console/callbacks/{soon}")
        assert 'class="flash error"' in page, bad
    assert operator.get(f"/api/callbacks/{tomorrow}", headers=BEARER).get_json()["status"] == "scheduled"


def test_cancel_form_needs_a_reason_and_finished_callbacks_offer_no_forms(app, operator):
    cb = seed_callback(app)
    token = page_csrf(operator, f"/console/callbacks/{cb}")
    operator.post(f"/console/callbacks/{cb}/cancel", data={"reason": " ", "csrf_token": token})
    assert "Say why the callback is cancelled." in _html(operator, f"/console/callbacks/{cb}")
    operator.post(f"/console/callbacks/{cb}/cancel", data={"reason": "ha già chiamato", "csrf_token": token})
    page = _html(operator, f"/console/callbacks/{cb}")
    assert "ha già chiamato" in page and 'id="cancel-form"' not in page and 'id="move-form"' not in page
    assert operator.get("/console/callbacks/999").status_code == 404
    assert operator.post("/console/callbacks/999/move", data={"csrf_token": token}).status_code == 404


def test_campaign_create_form_shows_errors_and_creates(app, operator):
    token = page_csrf(operator, "/console/campaigns/new")
    form = campaign_form(token)
    refused = operator.post("/console/campaigns", data=form)
    assert refused.status_code == 422 and "Say why we call in every campaign language (missing: en)" in refused.get_data(as_text=True)
    assert 'value="Sondaggio primavera"' in refused.get_data(as_text=True)  # nothing typed is lost
    bad_number = operator.post("/console/campaigns", data={**form, "reason_en": "a short survey", "cps": "fast"})
    assert bad_number.status_code == 422 and "«fast» is not a number." in bad_number.get_data(as_text=True)
    created = operator.post("/console/campaigns", data={**form, "reason_en": "a short survey"})
    assert created.status_code == 302
    page = _html(operator, created.location)
    assert "Sondaggio primavera" in page and 'id="campaign-start"' in page and 'id="campaign-pause"' not in page
    listing = _html(operator, "/console/campaigns")
    assert "Sondaggio primavera" in listing


def _beside(html: str, field: str) -> str:
    """The text of the error shown beside a form field ("" when there is none)."""
    marker = f'id="error-{field}">'
    if marker not in html:
        return ""
    rest = html[html.index(marker) + len(marker):]
    return rest[:rest.index("</span>")]


def test_one_submit_shows_every_problem_beside_its_field(operator):
    """Someone who got four fields wrong learns all four at once, each where they will fix it."""
    token = page_csrf(operator, "/console/campaigns/new")
    form = {**campaign_form(token), "name": "", "calling_hours": "19:00-09:00", "cps": "fast", "max_attempts": "40"}
    refused = operator.post("/console/campaigns", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _beside(html, "name") == "The name needs 1 to 100 characters."
    assert _beside(html, "reason") == "Say why we call in every campaign language (missing: en)."
    assert _beside(html, "calling_hours") == "The calling hours must start before they end."
    assert _beside(html, "cps") == "«fast» is not a number."
    assert _beside(html, "max_attempts") == "Attempts per contact: 1 to 10."
    assert _beside(html, "flow") == "" and _beside(html, "languages") == ""
    assert "The form has 5 problems: each is shown beside its field." in html
    assert 'name="calling_hours" id="campaign-hours" value="19:00-09:00"' in html  # nothing typed is lost
    operator.post("/console/language", data={"lang": "it", "csrf_token": page_csrf(operator)})
    italian = operator.post("/console/campaigns", data=form).get_data(as_text=True)
    assert _beside(italian, "cps") == "«fast» non è un numero."
    assert "Il modulo ha 5 problemi" in italian
    no_flow = operator.post("/console/campaigns", data={**form, "flow": ""}).get_data(as_text=True)
    assert _beside(no_flow, "flow") == "Scegli uno dei flussi scritti per le campagne."
    assert ">lasciare un messaggio</option>" in no_flow and ">riagganciare</option>" in no_flow


def test_the_campaign_form_offers_only_campaign_flows_and_preselects_none(operator):
    html = _html(operator, "/console/campaigns/new")
    select = html[html.index('id="campaign-flow"'):]
    select = select[:select.index("</select>")]
    assert 'value="campaign_survey"' in select and 'value="campaign_service"' in select
    assert "callback_opener" not in select and "support_hotline" not in select
    assert '<option value="" selected disabled>' in select and select.count("selected") == 1
    token = page_csrf(operator, "/console/campaigns/new")
    forged = operator.post("/console/campaigns", data={**campaign_form(token), "reason_en": "a survey",
                                                       "flow": "callback_opener"})
    assert forged.status_code == 422
    assert ("«callback_opener» is not written for campaigns; choose one of: campaign_service, campaign_survey."
            in forged.get_data(as_text=True))


def test_campaign_target_start_pause_stop_and_live_progress(app, operator, clock):
    cid = seed_campaign(app, numbers=())
    contacts = operator.post("/api/contacts", headers=BEARER, json={"e164": "+393471234567"}).get_json()
    token = page_csrf(operator, f"/console/campaigns/{cid}")
    operator.post(f"/console/campaigns/{cid}/contacts", data={"contact_ids": f"{contacts['id']}, 424242", "csrf_token": token})
    page = _html(operator, f"/console/campaigns/{cid}")
    assert "424242: no such contact" in page
    operator.post(f"/console/campaigns/{cid}/contacts", data={"contact_ids": "x;y", "csrf_token": token})
    assert "contact_ids:" in _html(operator, f"/console/campaigns/{cid}")
    operator.post(f"/console/campaigns/{cid}/start", data={"csrf_token": token})
    running = _html(operator, f"/console/campaigns/{cid}")
    assert 'data-refresh-seconds="5"' in running and 'id="campaign-pause"' in running
    with session_scope(app) as session:
        row = session.query(CampaignContact).filter_by(campaign_id=cid).one()
        for disposition in ("completed", "abandoned"):
            session.add(CampaignAttempt(campaign_id=cid, campaign_contact_id=row.id, number=1, e164=row.e164,
                                        status="ended", disposition=disposition, created_at=clock.now(),
                                        dialled_at=clock.now(), answered_at=clock.now()))
    live = _html(operator, f"/console/campaigns/{cid}")
    assert 'id="campaign-abandonment">50.0%<' in live and "Over the limit of 3%" in live
    assert "abandoned" in live and "completed" in live
    dashboard = _html(operator, "/console/")
    assert "Sondaggio autunno: 50%" in dashboard  # the abandonment chart's bar title
    operator.post(f"/console/campaigns/{cid}/pause", data={"csrf_token": token})
    assert 'id="campaign-resume"' in _html(operator, f"/console/campaigns/{cid}")
    operator.post(f"/console/campaigns/{cid}/stop", data={"csrf_token": token})
    stopped = _html(operator, f"/console/campaigns/{cid}")
    assert 'id="campaign-status">stopped<' in stopped and 'id="target-form"' not in stopped
    operator.post(f"/console/campaigns/{cid}/resume", data={"csrf_token": token})
    assert "Cannot resume a stopped campaign" in _html(operator, f"/console/campaigns/{cid}")
    assert operator.post(f"/console/campaigns/{cid}/explode", data={"csrf_token": token}).status_code == 404
    assert operator.get("/console/campaigns/999").status_code == 404


def test_flows_pages_show_lint_status_and_the_diagram(operator):
    listing = _html(operator, "/console/flows")
    assert "support_hotline" in listing and "lint-ok" in listing and "lint-problems" not in listing
    resp = operator.get("/console/flows/callback_booking")
    html = resp.get_data(as_text=True)
    assert 'class="mermaid diagram"' in html and "flowchart TD" in html
    assert "vendor/mermaid/mermaid.min.js" in html and "cdn" not in html.lower()
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp
    assert "unsafe-inline" not in operator.get("/console/flows").headers["Content-Security-Policy"]
    assert operator.get("/console/static/vendor/mermaid/mermaid.min.js").status_code == 200
    assert operator.get("/console/flows/nope").status_code == 404


def test_softphone_entry_opens_the_simulator(operator):
    resp = operator.get("/console/softphone")
    assert resp.status_code == 302 and resp.location == "/sim/softphone"
    assert "/console/softphone" in _html(operator, "/console/")


@pytest.mark.parametrize("lang, words", [
    ("it", ("Richiamate", "Campagne", "Flussi", "Previste oggi")),
    ("nl", ("Terugbelverzoeken", "Campagnes", "Flows", "Vandaag gepland")),
    ("en", ("Callbacks", "Campaigns", "Flows", "Due today")),
])
def test_new_pages_in_three_languages(app, operator, lang, words):
    cid = seed_campaign(app)
    operator.post("/console/language", data={"lang": lang, "csrf_token": page_csrf(operator)})
    html = _html(operator, "/console/callbacks") + _html(operator, f"/console/campaigns/{cid}") + _html(operator, "/console/flows")
    for word in words:
        assert word in html, (lang, word)


def test_campaign_page_follows_a_campaign_dialled_through_the_simulator(sim, app, client, clock):
    person, busy = "+393471234567", "+393471234568"
    cid = make_campaign(app, clock, make_contacts(app, [person, busy], clock), cps=10)
    sim.twilio.script(busy, answer="busy")
    assert fake_dialer(app, clock).tick().dialled == 2
    (call,) = [c for c in sim.twilio.ring_pending() if c.to == person]
    call.press("1")
    call.speak("direi quattro")
    call.speak("sì, certo")
    assert call.ended
    add_operator(app)
    login(client)
    page = _html(client, f"/console/campaigns/{cid}")
    table = page.split('id="campaign-dispositions"')[1].split("</table>")[0]
    assert "<td>completed</td><td>1</td>" in table and "<td>busy</td><td>1</td>" in table
    assert 'id="campaign-dialled">2<' in page and 'id="campaign-abandonment">0.0%<' in page
    attempts = page.split('id="campaign-attempts"')[1].split("</table>")[0]
    assert f"/console/calls/{call.sid}" in attempts and "busy" in attempts
    calls = _html(client, "/console/calls?direction=outbound-api")
    assert call.sid in calls
    detail = _html(client, f"/console/calls/{call.sid}")
    assert "Buongiorno, sono l&#39;assistente virtuale di Cortese" in detail and "direi quattro" in detail
    assert f'/console/campaigns/{cid}">' in detail.split('id="call-campaign"')[1].split("</dd>")[0]


def test_call_page_links_the_callback_booked_on_it(app, operator):
    sid = seed_call(app)
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        cb = callbacks.book(session, callbacks.Booking(
            e164="+393471234567", due_at=clock.now() + timedelta(hours=4), time_zone="Europe/Rome",
            language="it", origin_call_sid=sid), at=clock.now(), by="call")
        cb_id = cb.id
    html = _html(operator, f"/console/calls/{sid}")
    assert f"/console/callbacks/{cb_id}" in html and "2026-03-02 14:00 Europe/Rome" in html
    assert f"/console/calls/{sid}" in _html(operator, f"/console/callbacks/{cb_id}")


def test_move_form_refuses_an_unlawful_time_unless_forced_and_offers_lawful_ones(app, operator):
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        get_or_create(session, "+393471234567", source="crm", at=clock.now())
    cb = seed_callback(app, due_in=timedelta(hours=3))
    page = _html(operator, f"/console/callbacks/{cb}")
    offers = page.split('id="move-offers"')[1].split("</div>")[0]
    assert offers.count("data-slot=") >= 1
    token = page_csrf(operator, f"/console/callbacks/{cb}")
    night = operator.post(f"/console/callbacks/{cb}/move", data={"local_due": "2026-03-03T03:00", "csrf_token": token})
    assert "wanted=2026-03-03T03:00" in night.location
    page = _html(operator, night.location)
    assert "Not moved. Calls are not allowed then" in page and 'value="2026-03-03T03:00"' in page
    assert operator.get(f"/api/callbacks/{cb}", headers=BEARER).get_json()["local_due"] == "2026-03-02T13:00"
    operator.post(f"/console/callbacks/{cb}/move", data={"local_due": "2026-03-03T03:00", "force": "1", "csrf_token": token})
    assert operator.get(f"/api/callbacks/{cb}", headers=BEARER).get_json()["local_due"] == "2026-03-03T03:00"
    slot = offers.split('data-slot="')[1].split('"')[0]
    operator.post(f"/console/callbacks/{cb}/move", data={"local_due": slot, "csrf_token": token})
    assert operator.get(f"/api/callbacks/{cb}", headers=BEARER).get_json()["local_due"] == slot


def test_campaign_contacts_from_a_csv_upload(app, operator):
    cid = seed_campaign(app, numbers=())
    token = page_csrf(operator, f"/console/campaigns/{cid}")
    csv = b"number,name\n+393471234567,<b>Anna</b>\nnope,Bob\n"
    operator.post(f"/console/campaigns/{cid}/contacts", content_type="multipart/form-data",
                  data={"csrf_token": token, "file": (io.BytesIO(csv), "list.csv")})
    assert "source: the CSV has no source column" in _html(operator, f"/console/campaigns/{cid}")
    operator.post(f"/console/campaigns/{cid}/contacts", content_type="multipart/form-data",
                  data={"csrf_token": token, "source": "fiera 2026", "file": (io.BytesIO(csv), "list.csv")})
    page = _html(operator, f"/console/campaigns/{cid}")
    assert "Added 1, already there 0, errors 1" in page and "Line 3: «nope»" in page
    assert operator.get(f"/api/campaigns/{cid}/stats", headers=BEARER).get_json()["contacts"] == {"queued": 1}
