"""The parameters Twilio sends with a voice webhook, and its X-Twilio-Signature.

Signatures come from the twilio library's own RequestValidator, so a simulated request
validates exactly where a real one would (and fails where a real one would).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import phonenumbers
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"


def new_sid(prefix: str) -> str:
    """A Twilio resource id: two letters and 32 hex digits (CA... calls, RE... recordings)."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: 'Wed, 25 Nov 2026 11:20:00 +0000'."""
    return format_datetime(moment, usegmt=False)


def _region(number: str) -> str:
    """Country code for a caller ID; '' when it is anonymous, a client or SIP address."""
    if not number.startswith("+"):
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_number(parsed) or ""


def geo_fields(prefix: str, number: str) -> dict[str, str]:
    """FromCountry/FromCity/FromState/FromZip... Twilio fills the country, the rest is often empty."""
    return {
        f"{prefix}Country": _region(number),
        f"{prefix}City": "",
        f"{prefix}State": "",
        f"{prefix}Zip": "",
    }


def call_params(
    *,
    call_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    direction: str,
    status: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The parameter set every voice request of a call carries (before verb-specific ones).

    Inbound: From is the caller, To our number. Outbound (outbound-api): From is our caller
    ID and To the callee; Caller/Called mirror From/To as Twilio does.
    """
    params: dict[str, str] = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": direction,
        "From": from_,
        "To": to,
        "Caller": from_,
        "Called": to,
    }
    for prefix, number in (("From", from_), ("To", to), ("Caller", from_), ("Called", to)):
        params.update(geo_fields(prefix, number))
    if direction == "inbound":
        params["CallToken"] = ""  # present on real inbound calls; opaque to apps
        params["StirVerstat"] = "TN-Validation-Passed-A" if from_.startswith("+") else ""
    params.update({k: str(v) for k, v in (extra or {}).items()})
    return params


def signature(token: str, url: str, params: Mapping[str, str] | None) -> str:
    """X-Twilio-Signature for a request to `url` (POST: with its form params; GET: params=None)."""
    return RequestValidator(token).compute_signature(url, dict(params or {}))


def with_query(url: str, params: Mapping[str, str]) -> str:
    """The URL Twilio requests for method=GET: parameters appended to the query string."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(list(params.items()))) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
