"""The URLs of the desk's voice webhooks (/voice/desk/*), as Twilio is given them: by the
webhooks themselves (the next step of a call) and by the bridge (where a caller taken out of
the queue goes)."""

from __future__ import annotations

from flask import current_app


def desk_url(path: str, **query: object) -> str:
    """The URL of one of the desk's voice webhooks; needs the app's context."""
    args = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{current_app.extensions['cortese.settings'].public_base_url}/voice/desk/{path}?{args}"
