"""Operator console: server-rendered pages (Jinja, static CSS/JS, no build step) in Italian,
Dutch and English, behind an operator login with CSRF-protected forms."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Page modules register their routes (and nav entries) on the blueprint when imported.
    from app.console import views  # noqa: F401  (first: dashboard and calls lead the menu)
    from app.console import consent_pages, support_pages  # noqa: F401
    from app.console import callbacks_pages, campaigns_pages, flows_pages, softphone_page  # noqa: F401
    from app.console.web import bp

    settings = app.extensions["cortese.settings"]
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    # Secure cookies need HTTPS; local development and the browser tests use plain http.
    app.config["SESSION_COOKIE_SECURE"] = settings.cortese_env == "production"
    app.register_blueprint(bp)
