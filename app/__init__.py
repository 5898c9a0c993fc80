"""cortese: a courteous telephony IVR for Twilio.

`create_app()` is the factory; `gunicorn 'app:create_app()'` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.clock import Clock
from app.config import INSTANCE_DIR, Settings, load_settings


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    gateway: Any | None = None,
) -> Flask:
    """Build the app. `config` is a Settings, a mapping of setting overrides (tests: `.env` is
    not read then), or None for environment + `.env`. Raises ConfigError on bad settings."""
    from app import db, logs, scheduler
    from app.telephony import TwilioGateway

    if isinstance(config, Settings):
        settings = config
    elif config is not None:
        settings = load_settings(config, env_file=None)
    else:
        settings = load_settings()

    logs.configure(settings)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
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
    db.import_models()
    _register_blueprints(app)
    scheduler.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from app import callbacks, campaigns, desk, flows
    from app.webhooks import bp as voice_bp

    app.register_blueprint(voice_bp)
    flows.init_app(app)
    campaigns.init_app(app)
    callbacks.init_app(app)
    desk.init_app(app)

    from app import api, console

    api.init_app(app)
    console.init_app(app)

    from app.sim import web as sim_web

    sim_web.init_app(app)  # the softphone: development/test or SIM_ENABLED only
