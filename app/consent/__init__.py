"""Consent and compliance: the one place that says yes or no to an outbound call.

Public API:
    decide(facts, rules, at) -> Decision                      pure; see decide.py
    check_call(session, contact, *, purpose, offer_id, at, campaign_id=None,
               callback_id=None, automated=False) -> Decision  stores a ComplianceDecision
    next_allowed_slots(session, contact, *, purpose, offer_id, after, count=3) -> [datetime]
    has_product(session, contact, offer_id) -> bool            existing-customer products
    record_attempt / finish_attempt                             call history for courtesy rules
    optouts.record_opt_out(session, e164, *, at, source, by)    internal do-not-call list
"""

from flask import Flask

from app import flows
from app.consent import attempts, offers
from app.consent.actions import ACTIONS
from app.consent.attempts import call_under_way, finish_attempt, outcome_from_twilio, record_attempt
from app.consent.compliance import check_call, gather_facts, next_allowed_slots
from app.consent.contacts import find_by_number, get_or_create
from app.consent.decide import AttemptFact, ConsentFact, Decision, Facts, decide
from app.consent.ledger import add_owned_product, has_product, record_consent, record_relationship
from app.consent.optouts import is_opted_out, record_opt_out
from app.consent.packs import RulePack, load_packs, pack_for

# The company data this package reads from the flows directory: which offers are alike.
DATA_FILES = (offers.CATALOGUE,)


class CallerContacts:
    """The flow engine's view of contacts: a caller's kept language and time zone."""

    find = staticmethod(find_by_number)
    get_or_create = staticmethod(get_or_create)


def init_app(app: Flask) -> None:
    """Flow actions (opt-out), the engine's contact look-ups, finishing attempts on status, and
    the offer catalogue of the app's flows directory (raises DataFileError when unusable)."""
    for data in DATA_FILES:
        data.use(app, app.extensions["cortese.settings"].flows_dir)
    flows.register_actions(app, ACTIONS)
    flows.use_contacts(app, CallerContacts())
    attempts.connect()


__all__ = [
    "DATA_FILES", "AttemptFact", "ConsentFact", "Decision", "Facts", "RulePack", "add_owned_product", "call_under_way",
    "check_call", "decide", "find_by_number", "finish_attempt", "gather_facts", "get_or_create",
    "has_product", "init_app", "is_opted_out", "load_packs", "next_allowed_slots", "outcome_from_twilio",
    "pack_for", "record_attempt", "record_consent", "record_opt_out", "record_relationship",
]
