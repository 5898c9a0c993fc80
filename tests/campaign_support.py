"""Helpers shared by tests/test_campaigns_*.py: contacts, campaigns, a fake-clock dialer, Twilio stubs."""

from __future__ import annotations

import io
import itertools
import json
from datetime import timedelta
from typing import Any

import responses

from app.campaigns import service
from app.campaigns.dialer import Dialer
from app.clock import FakeClock
from app.consent import registries
from app.consent.contacts import get_or_create
from app.consent.ledger import record_consent
from app.consent.packs import pack_for
from app.db import session_scope
from tests.conftest import ACCOUNT_SID

CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


def make_contacts(app: Any, numbers: list[str], clock: FakeClock, *, automated_consent: bool = True,
                  **fields: Any) -> list[int]:
    """Contacts from a customer list. By default each agreed in writing to automated calls: the
    shipped campaign flows speak with a synthetic voice, which needs prior consent in every
    country we call (47 CFR 64.1200(a)(2), CRTC ADAD rules, PECR reg. 19, Codice privacy art.
    130(1), Telecommunicatiewet art. 11.7(1)); tests of that rule pass automated_consent=False."""
    with session_scope(app) as session:
        contacts = [get_or_create(session, n, source="customer list 2026", at=clock.now(), **fields)
                    for n in numbers]
        if automated_consent:
            for contact in contacts:
                automated_consent_given(session, contact, clock.now() - timedelta(days=1))
        screened(session, {c.region for c in contacts}, clock.now())
        return [c.id for c in contacts]


# A number of each country's plan that is on no test's list.
_UNRELATED = {"IT": "+390612345699", "US": "+12025550199", "CA": "+14165550199", "GB": "+442079460999",
              "NL": "+31201234599"}


def screened(session: Any, regions: set[str | None], at: Any) -> None:
    """A fresh registry copy (not listing the test's numbers) for each region that has none, as
    a campaign's list is screened before it starts: the Italian Registro covers surveys too."""

    for region in sorted(r for r in regions if r in _UNRELATED):
        pack = pack_for(region)
        if pack is not None and pack.registry is not None and registries.current_import(session, region) is None:
            registries.import_registry(session, region, io.BytesIO(_UNRELATED[region].encode()), at=at,
                                       file_name=f"{region.lower()}-registry.txt")


def automated_consent_given(session: Any, contact: Any, at: Any) -> None:
    """Signed consent to automated calls for any purpose, as a web form with a signature gives."""
    record_consent(session, contact, action="given", purpose="any", channel="automated_voice", written=True,
                   at=at, source="signed web form", recorded_by="test", proof="form 2026-01")


def make_campaign(app: Any, clock: FakeClock, contact_ids: list[int], *, start: bool = True,
                  **overrides: Any) -> int:
    args: dict[str, Any] = {
        "name": "survey-" + str(len(contact_ids)) + "-" + str(clock.now().timestamp()),
        "purpose": "survey", "flow": "campaign_survey", "languages": ["it", "en"],
        "reason": {"it": "un breve sondaggio sul servizio", "en": "a short survey about our service"},
        "created_by": "test", "at": clock.now(), "calling_days": "mon-sun", "calling_hours": "00:00-23:59",
    }
    args.update(overrides)
    with app.app_context(), session_scope(app) as session:
        campaign = service.create_campaign(session, **args)
        service.add_contacts(session, campaign, contact_ids, at=clock.now())
        if start:
            service.start(session, campaign, at=clock.now())
        return campaign.id


def fake_dialer(app: Any, clock: FakeClock, **kwargs: Any) -> Dialer:
    """A dialer whose waiting moves the fake clock instead of sleeping."""
    return Dialer(app, sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)), **kwargs)


def twilio_ok(rsps: responses.RequestsMock, count: int = 1) -> None:
    """Twilio accepts `count` calls, each with a fresh CallSid."""
    counter = itertools.count(1)

    def created(request: Any) -> tuple[int, dict[str, str], str]:
        sid = f"CA{next(counter):032x}"
        return 201, {}, json.dumps({"sid": sid, "status": "queued", "direction": "outbound-api",
                                    "to": "+39", "from": "+39", "account_sid": ACCOUNT_SID})

    rsps.add_callback(responses.POST, CALLS_URL, callback=created, content_type="application/json")


def twilio_error(rsps: responses.RequestsMock, status: int, code: int, message: str = "error") -> None:
    rsps.add(responses.POST, CALLS_URL, status=status,
             json={"code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors", "status": status})
