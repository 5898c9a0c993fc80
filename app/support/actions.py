"""The support flow actions, named, with their outcomes: ACTIONS, which app.support.init_app
registers with the app.

The work is in handlers.py (plain functions of the ActionContext); this module only names
them and declares their outcomes, so the engine's linter can check every flow's `next`.
"""

from __future__ import annotations

from app.flows.actions import Action, Actions
from app.support.handlers import HANDLERS

ACTIONS = Actions()
for _name, (_handler, _outcomes) in HANDLERS.items():
    ACTIONS.put(Action(_name, _handler, _outcomes))
