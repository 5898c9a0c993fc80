"""The flow engine: YAML call flows loaded, linted and walked one webhook at a time.

The packages above it give it what it runs, from their `init_app`: their flow actions
(`register_actions`), the kinds of word file they read (`register_words`: times/, faq/) and
who a caller is (`use_contacts`, the consent package). `init_app`, called after them, loads
flows/*.yaml and flows/hotlines.yaml with every word file of that same directory (vocab/,
anger/ and the packages') and refuses to start the app when a flow or a word file is invalid
(FlowError lists every problem with its file); the app then speaks the prompts/ and hears the
words of that directory.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from app import prompts
from app.flows import anger, vocab
from app.flows.actions import Actions
from app.flows.engine import Contacts, Engine
from app.flows.hotlines import load_hotlines
from app.flows.loader import load_valid_flows
from app.flows.words import WordFiles

ACTIONS_KEY = "cortese.flow_actions"
CONTACTS_KEY = "cortese.flow_contacts"
WORDS_KEY = "cortese.word_files"
# The engine's own kinds of word file besides vocab/ (which the loader reads for the flows'
# "@concepts" anyway): anger, heard in every answer.
WORDS: tuple[WordFiles[Any], ...] = (anger.WORDS,)


def register_actions(app: Flask, actions: Actions) -> None:
    """A package's flow actions join the app's (before `init_app` lints the flows)."""
    app.extensions.setdefault(ACTIONS_KEY, Actions()).add(actions)


def use_contacts(app: Flask, contacts: Contacts) -> None:
    """Where the engine looks up the other party of a call (language, time zone)."""
    app.extensions[CONTACTS_KEY] = contacts


def register_words(app: Flask, *kinds: WordFiles[Any]) -> None:
    """Kinds of word file a package reads: `init_app` reads and checks them with the flows."""
    app.extensions.setdefault(WORDS_KEY, []).extend(kinds)


def app_actions(app: Flask) -> Actions:
    return app.extensions.setdefault(ACTIONS_KEY, Actions())


def app_words(app: Flask) -> tuple[WordFiles[Any], ...]:
    """Every kind of word file the app reads besides vocab/: the engine's and its packages'."""
    return (*WORDS, *app.extensions.get(WORDS_KEY, ()))


def init_app(app: Flask) -> None:
    settings = app.extensions["cortese.settings"]
    actions = app_actions(app)
    words = app_words(app)
    flows = load_valid_flows(settings.flows_dir, actions, words)  # its prompts/ linted too
    prompts.init_app(app, settings.flows_dir)
    vocab.WORDS.use(app, flows.vocab)
    for kind in words:
        kind.use(app, flows.words[kind.folder])
    hotlines = load_hotlines(settings.flows_dir / "hotlines.yaml", company=settings.company_name,
                             flows=set(flows.flows))
    app.extensions["cortese.flows"] = Engine(flows, hotlines, settings, actions,
                                             app.extensions.get(CONTACTS_KEY))


__all__ = ["Actions", "Contacts", "Engine", "WordFiles", "app_actions", "app_words", "init_app",
           "register_actions", "register_words", "use_contacts"]
