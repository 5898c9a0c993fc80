"""The console's browser phone: an operator takes desk calls in the browser, through Twilio's
Voice JavaScript SDK (vendored in app/console/static/vendor/twilio-voice/), instead of on
their phone.

The desk rings `client:desk-<operator id>` exactly as it rings a number: the whisper, "press
1", the conference and every webhook are the same, so nothing else changes. The page
/console/desk/phone registers a `Twilio.Device` with a short-lived access token from
/console/desk/phone/token.json: a JWT signed with the account's API key holding a VoiceGrant
that only allows *incoming* calls (no TwiML App, so the browser can call nobody). The phone
number stays required: with the browser phone off (DESK_BROWSER_PHONE) or unticked, the desk
rings it again.
"""

from __future__ import annotations

from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from app import phone
from app.desk.models import DeskOperator

# Long enough for a shift's first hour; the page asks for a new one before it expires.
TOKEN_SECONDS = 3600


def enabled(settings: Any) -> bool:
    return bool(settings.desk_browser_phone and settings.twilio_api_key_sid and settings.twilio_api_key_secret)


def identity(operator: DeskOperator) -> str:
    """The Twilio Client identity of an operator's browser phone (no personal data in it)."""
    return f"desk-{operator.id}"


# Numbers the desk never rings: every call to them would be charged to us at a premium (premium
# rate, shared cost, personal forwarding numbers) or could not be answered (pagers, voicemail).
COSTLY_OR_DEAD_LINES = frozenset({"premium", "shared_cost", "uan", "personal", "pager", "voicemail"})


def never_rung(destination: str) -> str | None:
    """Why the desk must not dial this destination (a number kept from before the profile
    refused such numbers), or None."""
    parsed = phone.parse_caller(destination)
    if parsed is not None and parsed.line_type in COSTLY_OR_DEAD_LINES:
        return f"the desk phone is a {parsed.line_type.replace('_', '-')} number: change it in your desk profile"
    return None


def destination(operator: DeskOperator, settings: Any) -> str:
    """What the desk dials to ring this operator: their browser phone or their number."""
    if operator.ring_browser and enabled(settings):
        return f"client:{identity(operator)}"
    return str(operator.phone)


def access_token(operator: DeskOperator, settings: Any) -> str:
    """A JWT for Twilio.Device: this operator's identity, incoming calls only."""
    token = AccessToken(settings.twilio_account_sid, settings.twilio_api_key_sid, settings.twilio_api_key_secret,
                        identity=identity(operator), ttl=TOKEN_SECONDS)
    token.add_grant(VoiceGrant(incoming_allow=True))
    return str(token.to_jwt())
