"""Inbound support: tickets, warranty claims, orders and delivery, FAQ knowledge, operator hours.

Flow actions live in actions.py (registered with the flow engine); everything else is plain
services callable from the CLI, the console and tests.
"""

from flask import Flask

from app import flows
from app.support import drafts, faq, services
from app.support.actions import ACTIONS

# The word files this package reads from the flows directory: the FAQ's knowledge.
WORDS = (faq.WORDS,)


def init_app(app: Flask) -> None:
    """Flow actions and the FAQ's word files; draft tickets from calls ended mid report; owned
    products for consent."""
    flows.register_actions(app, ACTIONS)
    flows.register_words(app, *WORDS)
    drafts.connect()
    services.connect()
