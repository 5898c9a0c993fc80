"""Registers the support flow actions with the flow engine.

The work is in handlers.py (plain functions of the ActionContext); this module only names
them and declares their outcomes, so the engine's linter can check every flow's `next`.
"""

from __future__ import annotations

from app.flows.actions import action
from app.support.handlers import ACTIONS

for _name, (_handler, _outcomes) in ACTIONS.items():
    action(_name, outcomes=_outcomes)(_handler)
