"""Operator console: server-rendered pages (Jinja, static CSS/JS, no build step) in Italian,
Dutch and English, behind an operator login with CSRF-protected forms."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import Babel

from app.console import (
    callbacks_pages,
    campaigns_pages,
    consent_pages,
    desk_pages,
    flows_pages,
    softphone_page,
    support_pages,
    views,
)
from app.console.i18n import current_language
from app.console.web import bp


class SessionOnDemand(SecureCookieSessionInterface):
    """Flask builds the cookie signer for every request before it looks for the cookie. Only
    operators' browsers carry one; Twilio's webhooks (the bulk of requests) never do, so they
    get an empty session without the signer (about 3 % of a menu step's CPU)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/voice/"):
            return None  # Flask's null session: a webhook has no operator to remember
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


# The pages: each module declares its routes (and navigation entries) on `bp` (Flask's
# blueprint pattern), so the blueprint is whole once they are imported, here.
PAGES = (views, callbacks_pages, campaigns_pages, consent_pages, desk_pages, flows_pages, softphone_page,
         support_pages)
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _init_translations(app: Flask) -> None:
    """Flask-Babel reads the compiled catalogs (app/translations/<lang>/LC_MESSAGES/messages.mo,
    committed beside their .po) for the operator's chosen language; English is the source text."""

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    Babel(app, locale_selector=current_language)


def init_app(app: Flask) -> None:

    settings = app.extensions["cortese.settings"]
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    # Secure cookies need HTTPS; local development and the browser tests use plain http.
    app.config["SESSION_COOKIE_SECURE"] = settings.cortese_env == "production"
    app.session_interface = SessionOnDemand()
    _init_translations(app)
    app.register_blueprint(bp)
