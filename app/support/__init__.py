"""Inbound support: tickets, warranty claims, orders and delivery, FAQ knowledge, operator hours.

Flow actions live in actions.py (registered with the flow engine); everything else is plain
services callable from the CLI, the console and tests.
"""

from flask import Flask

from app import flows
from app.support import drafts, faq, services, warranty
from app.support.actions import ACTIONS

# The word files this package reads from the flows directory: the FAQ's knowledge.
WORDS = (faq.WORDS,)
# The company data it reads from there: the warranty terms.
DATA_FILES = (warranty.TERMS,)


def init_app(app: Flask) -> None:
    """Flow actions and the FAQ's word files; draft tickets from calls ended mid report; owned
    products for consent; the warranty terms of the app's flows directory (raises DataFileError
    when they are unusable)."""
    for data in DATA_FILES:
        data.use(app, app.extensions["cortese.settings"].flows_dir)
    flows.register_actions(app, ACTIONS)
    flows.register_words(app, *WORDS)
    drafts.connect()
    services.connect()
