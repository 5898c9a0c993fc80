"""cortese: a courteous telephony IVR for Twilio.

`create_app()` is the factory; `gunicorn 'app:create_app()'` serves it. It is the one place
that knows every package: each package has one `init_app(app)` that registers its blueprints,
signal receivers, scheduler jobs and flow actions, and create_app calls them in order (the
layers, bottom up: pyproject.toml's import-linter contract keeps them so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.orm import configure_mappers
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    api,
    callbacks,
    campaigns,
    consent,
    console,
    db,
    desk,
    flows,
    inputs,
    logs,
    scheduler,
    support,
    webhooks,
)
from app.clock import Clock
from app.config import INSTANCE_DIR, Settings, load_settings
from app.datafiles import DataFile
from app.flows.actions import Actions
from app.flows.words import WordFiles
from app.telephony import TwilioGateway

# The domain packages, in the order create_app initialises them: each registers its flow
# actions before app.flows loads and lints the flows.
DOMAIN_PACKAGES = (consent, support, callbacks, campaigns, desk)
# Who calls the flows' `action:` nodes: every domain package's set of actions.
FLOW_ACTIONS = (consent.ACTIONS, support.ACTIONS, callbacks.ACTIONS, campaigns.ACTIONS)
# The kinds of word file the app reads from its flows directory besides vocab/: the engine's
# and each package's, as their init_app registers them.
WORD_FILES: tuple[WordFiles[Any], ...] = (*flows.WORDS, *support.WORDS, *callbacks.WORDS)
# The company's data files in the flows directory (offers.yaml, warranty.yaml), as each package's
# init_app reads them.
DATA_FILES: tuple[DataFile[Any], ...] = (*consent.DATA_FILES, *support.DATA_FILES)


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    gateway: Any | None = None,
    extra_actions: Actions | None = None,
) -> Flask:
    """Build the app. `config` is a Settings, a mapping of setting overrides (tests: `.env` is
    not read then), or None for environment + `.env`. `extra_actions`: flow actions besides
    the packages' (a test's own flows). Raises ConfigError on bad settings."""
    if isinstance(config, Settings):
        settings = config
    elif config is not None:
        settings = load_settings(config, env_file=None)
    else:
        settings = load_settings()

    logs.configure(settings)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.request_class = inputs.Request  # forms whose get() is cheap for an absent parameter
    # Bodies up to 4 MiB: a 100,000-character CSV field may take 12 bytes a character once
    # JSON-escaped, and it must reach validation (a clear 422), not stop at a bare 413.
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=4 * 1024 * 1024)
    if settings.trust_proxy_headers:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.extensions["cortese.settings"] = settings
    app.extensions["cortese.clock"] = clock or Clock()
    app.extensions["cortese.gateway"] = gateway or TwilioGateway(settings)
    db.init_app(app, settings.database_url)
    db.import_models()  # every table in Base.metadata, whatever a package imports
    # Relationships between the models are resolved now, not inside a worker's first request
    # (a new call's contact lookup paid 34 ms of CPU for it), and a broken one stops start-up.
    configure_mappers()
    for package in DOMAIN_PACKAGES:
        package.init_app(app)
    if extra_actions is not None:
        flows.register_actions(app, extra_actions)
    flows.init_app(app)  # after the packages: it lints the flows against their actions
    webhooks.init_app(app)
    api.init_app(app)
    console.init_app(app)
    if settings.simulator_served:
        _init_simulator(app)
    scheduler.init_app(app)  # last: it starts the jobs the packages added
    return app


def flow_actions() -> Actions:
    """Every package's flow actions, as create_app registers them, for the tools that lint
    flows without building an app (`cortese flows lint`, start-up's preflight)."""
    return Actions(*FLOW_ACTIONS)


def word_files() -> tuple[WordFiles[Any], ...]:
    """Every kind of word file the app reads, as create_app's packages register them, for the
    tools that lint a flows directory without building an app."""
    return WORD_FILES


def data_files() -> tuple[DataFile[Any], ...]:
    """The company's data files the app reads from its flows directory, for the tools that
    check a flows directory without building an app."""
    return DATA_FILES


def _init_simulator(app: Flask) -> None:
    # The simulator (the softphone pages) is a development and test tool: production start-up
    # imports none of its modules, so it is imported here, only when it is served.
    from app.sim import web as sim_web  # noqa: PLC0415 - only when served: see above

    sim_web.init_app(app)


__all__ = ["DOMAIN_PACKAGES", "create_app", "data_files", "flow_actions", "word_files"]
