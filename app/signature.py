"""X-Twilio-Signature validation over the URL Twilio actually requested.

Behind ngrok or a proxy the app sees http://localhost:5000/..., so the public URL is rebuilt
from PUBLIC_BASE_URL, or from X-Forwarded-* headers (ProxyFix) when TRUST_PROXY_HEADERS is on.
"""

from __future__ import annotations

import functools
import hmac
import logging

from flask import Request, current_app
from twilio.request_validator import RequestValidator

from app.config import Settings

log = logging.getLogger(__name__)


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: scheme, host, port, path and query string as Twilio saw them."""
    if settings.trust_proxy_headers:
        return request.url  # ProxyFix has already applied X-Forwarded-Proto/Host/Port/Prefix
    query = request.query_string.decode("latin-1")
    return settings.public_base_url + request.path + (f"?{query}" if query else "")


def _host(request: Request) -> str:
    """The host the request was made to, without the scheme's default port."""
    host = request.host.lower()
    default = {"https": ":443", "http": ":80"}.get(request.scheme, "")
    return host.removesuffix(default) if default else host


def is_valid(request: Request, settings: Settings) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    if settings.trust_proxy_headers and _host(request) not in settings.allowed_hosts:
        # A request signed for someone else's Twilio number and replayed here with their host
        # in X-Forwarded-Host is valid for that host, never for us.
        log.warning("rejected webhook for host %r (not PUBLIC_BASE_URL or PUBLIC_HOSTS)", request.host[:100])
        return False
    params = request.form if request.method == "POST" else {}
    validator = _validator(settings.twilio_auth_token)
    url = public_url(request, settings)
    # The URL exactly as configured matches almost always: one HMAC. Only then try the
    # variants Twilio's validator knows (with/without an explicit port).
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return validator.validate(url, params, signature)


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def check(request: Request, settings: Settings | None = None) -> bool:
    """True when the request may be served; logs a warning for every unchecked request.
    `request` is best the request itself, not Flask's proxy (every attribute read through
    the proxy is a context look-up)."""
    settings = settings or current_app.extensions["cortese.settings"]
    if settings.dev_skip_signature_check:
        log.warning("signature check SKIPPED (DEV_SKIP_SIGNATURE_CHECK) for %s", request.path)
        return True
    return is_valid(request, settings)
