"""The flow engine: YAML call flows loaded, linted and walked one webhook at a time.

The packages above it give it what it runs, from their `init_app`: their flow actions
(`register_actions`) and who a caller is (`use_contacts`, the consent package). `init_app`,
called after them, loads flows/*.yaml and flows/hotlines.yaml and refuses to start the app
when a flow is invalid (FlowError lists every problem with file and node); the app then
speaks the prompts/ of that same directory.
"""

from __future__ import annotations

from flask import Flask

from app import prompts
from app.flows.actions import Actions
from app.flows.engine import Contacts, Engine
from app.flows.hotlines import load_hotlines
from app.flows.loader import load_valid_flows

ACTIONS_KEY = "cortese.flow_actions"
CONTACTS_KEY = "cortese.flow_contacts"


def register_actions(app: Flask, actions: Actions) -> None:
    """A package's flow actions join the app's (before `init_app` lints the flows)."""
    app.extensions.setdefault(ACTIONS_KEY, Actions()).add(actions)


def use_contacts(app: Flask, contacts: Contacts) -> None:
    """Where the engine looks up the other party of a call (language, time zone)."""
    app.extensions[CONTACTS_KEY] = contacts


def app_actions(app: Flask) -> Actions:
    return app.extensions.setdefault(ACTIONS_KEY, Actions())


def init_app(app: Flask) -> None:
    settings = app.extensions["cortese.settings"]
    actions = app_actions(app)
    flows = load_valid_flows(settings.flows_dir, actions)  # its prompts/ linted too
    prompts.init_app(app, settings.flows_dir)
    hotlines = load_hotlines(settings.flows_dir / "hotlines.yaml", company=settings.company_name,
                             flows=set(flows.flows))
    app.extensions["cortese.flows"] = Engine(flows, hotlines, settings, actions,
                                             app.extensions.get(CONTACTS_KEY))


__all__ = ["Actions", "Contacts", "Engine", "app_actions", "init_app", "register_actions", "use_contacts"]
