"""Helpers shared by the API and console tests: operators, logged-in clients, seeded calls."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app import calls
from app.callbacks import service as callbacks
from app.campaigns import service as campaigns
from app.consent.contacts import get_or_create
from app.db import session_scope
from app.operators.users import create_user
from app.support.services import CallerRef, create_ticket
from tests.campaign_support import automated_consent_given, screened

ADMIN_TOKEN = "test-admin-token-0123456789"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_operator(app: Flask, username: str = "olga", password: str = PASSWORD, **fields: Any) -> None:
    with session_scope(app) as session:
        create_user(session, username, password, at=app.extensions["cortese.clock"].now(), **fields)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def login(client: FlaskClient, username: str = "olga", password: str = PASSWORD) -> Any:
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": token})


def page_csrf(client: FlaskClient, path: str = "/console/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def signed_in(app: Flask, client: FlaskClient, **fields: Any) -> FlaskClient:
    """The client of an operator (added with `fields`) who has signed in to the console."""
    add_operator(app, **fields)
    login(client)
    return client


def speak(client: FlaskClient, lang: str) -> None:
    """The signed-in operator picks the console's language."""
    client.post("/console/language", data={"lang": lang, "csrf_token": page_csrf(client), "next": "/console/"})


def seed_call(app: Flask, *, sid: str = "CA" + "1" * 32, at: datetime | None = None,
              status: str = "completed", steps: list[dict[str, Any]] | None = None,
              from_: str = "+393471234567", flow: str | None = "inbound") -> str:
    """A finished inbound call with the given steps, written through app.calls."""
    moment = at or app.extensions["cortese.clock"].now()
    with session_scope(app) as session:
        call = calls.ensure_call(session, {"CallSid": sid, "From": from_, "To": "+390212345678",
                                           "Direction": "inbound"}, moment)
        call.flow = flow
        for index, step in enumerate(steps or []):
            calls.add_step(session, call, moment + timedelta(seconds=index), **step)
        calls.advance_status(call, "in-progress", moment, 1)
        calls.advance_status(call, status, moment + timedelta(minutes=2), 2)
    return sid


def seed_ticket(app: Flask, *, subject: str = "Router non si accende", number: str = "+393471234567",
                kind: str = "fault", status: str = "open", call_sid: str | None = None,
                **fields: Any) -> str:
    """A ticket made through app.support's service, as a call would make it."""
    with session_scope(app) as session:
        ticket = create_ticket(session, kind=kind, status=status, at=app.extensions["cortese.clock"].now(),
                               caller=CallerRef(number=number, language="it", call_sid=call_sid), subject=subject, **fields)
        return ticket.reference


def seed_callback(app: Flask, *, e164: str = "+393471234567", due_in: timedelta = timedelta(hours=2),
                  status: str | None = None, note: str | None = None, language: str = "it",
                  time_zone: str = "Europe/Rome") -> int:
    """A callback booked through app.callbacks' service; `status` then walks its state machine."""
    clock = app.extensions["cortese.clock"]
    with session_scope(app) as session:
        cb = callbacks.book(session, callbacks.Booking(
            e164=e164, due_at=clock.now() + due_in, time_zone=time_zone, language=language,
            note=note, origin="call"), at=clock.now(), by="test")
        path = {"missed": ["dispatching", "placed", "missed"], "failed": ["dispatching", "failed"],
                "completed": ["dispatching", "placed", "completed"], "cancelled": ["cancelled"]}
        for step in path.get(status or "", []):
            callbacks.transition(session, cb, step, at=clock.now(), actor="test")
        return cb.id


SURVEY_REASON = {"it": "un breve sondaggio sul servizio", "en": "a short survey about our service"}


def seed_campaign(app: Flask, *, name: str = "Sondaggio autunno", numbers: tuple[str, ...] = ("+393471234567",),
                  start: bool = False, **overrides: Any) -> int:
    """A survey campaign made through app.campaigns' services, targeting `numbers`."""
    clock = app.extensions["cortese.clock"]
    args: dict[str, Any] = {"name": name, "purpose": "survey", "flow": "campaign_survey",
                            "languages": ["it", "en"], "reason": SURVEY_REASON, "created_by": "test",
                            "at": clock.now(), "calling_days": "mon-sun", "calling_hours": "00:00-23:59"}
    args.update(overrides)
    with app.app_context(), session_scope(app) as session:
        campaign = campaigns.create_campaign(session, **args)
        contacts = [get_or_create(session, n, source="customer list 2026", at=clock.now()) for n in numbers]
        for contact in contacts:  # the survey speaks with a synthetic voice: see make_contacts
            automated_consent_given(session, contact, clock.now())
        ids = [c.id for c in contacts]
        screened(session, {c.region for c in contacts}, clock.now())
        campaigns.add_contacts(session, campaign, ids, at=clock.now())
        if start:
            campaigns.start(session, campaign, at=clock.now())
        return campaign.id


def campaign_form(csrf_token: str) -> dict[str, Any]:
    """The new-campaign form as an operator fills it in, with the English reason left empty."""
    return {"csrf_token": csrf_token, "name": "Sondaggio primavera", "purpose": "survey", "flow": "campaign_survey",
            "languages": ["it", "en"], "reason_it": "un breve sondaggio", "reason_en": "",
            "calling_days": ["mon", "tue", "wed", "thu", "fri", "sat"], "calling_hours": "09:00-19:00", "cps": "2", "max_concurrent": "3",
            "max_attempts": "2", "machine_policy": "hangup"}
