"""One Settings object, read from the environment and `.env`, validated at start-up.

Names follow Twilio's own conventions (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN...).
A missing or malformed setting stops start-up with one line per problem naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app import phone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'cortese.db'}"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class ConfigError(Exception):
    """Raised when settings are missing or malformed; str() is one line per setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", case_sensitive=False, extra="ignore"
    )

    cortese_env: Literal["development", "test", "production"] = "development"
    secret_key: str = Field(min_length=16)

    twilio_account_sid: str
    twilio_auth_token: str = Field(min_length=8)
    twilio_api_key_sid: str | None = None
    twilio_api_key_secret: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_caller_id: str
    twilio_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    twilio_max_attempts: int = Field(default=4, ge=1, le=10)
    twilio_retry_base_seconds: float = Field(default=0.5, ge=0)
    twilio_retry_max_seconds: float = Field(default=8.0, ge=0)

    public_base_url: str
    # The port `cortese up`/`serve` listen on, the default of `cortese sim call --url`, and the
    # port of a local PUBLIC_BASE_URL written by `cortese init`: one setting for all of them.
    port: int = Field(default=5000, ge=1, le=65535)
    # Other host names (comma-separated, optionally with :port) Twilio may use to reach us, e.g.
    # a second domain. With TRUST_PROXY_HEADERS a webhook whose X-Forwarded-Host names anything
    # else is refused, even when it is signed for that host.
    public_hosts: str = ""
    trust_proxy_headers: bool = False
    proxy_hops: int = Field(default=1, ge=1, le=5)
    # Only honoured with CORTESE_ENV=development; every unsigned request is logged.
    dev_skip_signature_check: bool = False

    database_url: str = DEFAULT_DATABASE_URL
    # Longest a voice webhook waits for another writer's lock before the caller hears the
    # apology: well under Twilio's 15 s webhook timeout, after which the caller hears nothing.
    webhook_lock_wait_seconds: float = Field(default=3.0, gt=0, le=10)
    admin_api_token: str = Field(min_length=16)

    # Where a caller goes when something breaks mid-call; without it they hear a goodbye.
    operator_number: str | None = None
    scheduler_enabled: bool = True
    company_name: str = "Cortese"
    default_language: Literal["it", "nl", "en"] = "en"
    # Call flows (flows/*.yaml and hotlines.yaml); the app refuses to start if one is invalid.
    flows_dir: Path = PROJECT_ROOT / "flows"
    # A caller waiting for an operator longer than this is taken out of the queue and offered
    # a callback instead.
    queue_max_wait_seconds: int = Field(default=600, ge=30, le=3600)
    hold_music_url: str = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"
    # Callbacks (app/callbacks): how often the dispatcher looks for due callbacks, how long a
    # claim lasts before another worker may recover it (longer than Twilio's retries), how
    # many callbacks one 15-minute slot may hold, and the retry policy for missed calls.
    callback_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    callback_lease_seconds: int = Field(default=180, ge=30, le=3600)
    callback_slot_capacity: int = Field(default=20, ge=1, le=10000)
    callback_max_attempts: int = Field(default=3, ge=1, le=10)
    callback_retry_minutes: int = Field(default=30, ge=1, le=1440)
    # Calls per second one dispatcher process places (Twilio's default account limit is 1).
    callback_calls_per_second: float = Field(default=1.0, gt=0, le=100)
    # A dial whose outcome is unknown (timeout, crash mid-request) waits this long for Twilio's
    # status callbacks before an operator is asked to check; it is never redialled blindly.
    callback_reconcile_minutes: int = Field(default=15, ge=1, le=1440)
    # A callback that the calling window or a holiday blocks at dispatch time moves to the next
    # lawful moment when that is at most this many hours late; otherwise it is refused.
    callback_max_reschedule_hours: int = Field(default=72, ge=0, le=336)
    # Zone used when neither the contact, the number nor the hotline gives one.
    callback_default_time_zone: str = "Europe/Rome"
    # Where the operators are: the console shows times on this clock and its "today" is this
    # zone's day. Empty: CALLBACK_DEFAULT_TIME_ZONE (see console_zone).
    console_time_zone: str = ""
    # Local wall times of the quick options "this evening", "tomorrow morning/evening".
    callback_morning_time: str = "10:00"
    callback_evening_time: str = "18:00"
    # Calls per second across every campaign, callback and process (the Twilio account's limit,
    # 1 by default), and how long the campaign dialer backs off after Twilio answered 429 or 5xx.
    campaign_account_cps: float = Field(default=1.0, gt=0, le=100)
    campaign_backoff_seconds: int = Field(default=60, ge=1, le=3600)
    # Operator desk (app/desk): how long the desk rings an operator before trying the next,
    # how long wrap-up lasts when the operator does not end it, how often routing runs anyway.
    desk_ring_seconds: int = Field(default=20, ge=5, le=120)
    desk_wrapup_seconds: int = Field(default=60, ge=0, le=3600)
    desk_poll_seconds: float = Field(default=3.0, gt=0, le=300)
    # An operator-first callback waits this long for a free operator, then is rescheduled.
    desk_callback_wait_seconds: int = Field(default=300, ge=30, le=3600)
    # A caller who waited this long with no operator of the needed skill (technician,
    # complaints) free may be taken by a general support operator who speaks their language.
    desk_skill_fallback_seconds: int = Field(default=60, ge=0, le=3600)
    # Operators may take desk calls in the browser (Twilio Voice JavaScript SDK) instead of
    # their phone; access tokens are signed with TWILIO_API_KEY_SID / TWILIO_API_KEY_SECRET.
    desk_browser_phone: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    # Serve the browser softphone (/sim/softphone) outside development/test; in production it
    # then also needs a console login.
    sim_enabled: bool = False
    # HMAC key for the suppression list (erased numbers that must never be called again).
    # Required in production; in development/test a key derived from SECRET_KEY is used.
    # Changing it makes existing suppression hashes unmatchable: keep it for good.
    suppression_hash_key: str | None = Field(default=None, min_length=32)

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if not _ACCOUNT_SID.match(value):
            raise ValueError("must be 'AC' followed by 32 hexadecimal characters")
        return value

    @field_validator("twilio_caller_id", "operator_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _E164.match(value):
            raise ValueError("must be an E.164 number such as +390212345678")
        # The right shape is not enough: +3902123 has no Italian number behind it, and Twilio
        # would refuse every call placed from it.
        if not phonenumbers.is_valid_number(phonenumbers.parse(value)):
            raise ValueError(f"{value} is not a valid phone number for its country")
        # phonenumbers calls most of Ofcom's drama ranges valid lines (app/phone.py).
        if phone.is_drama(value):
            raise ValueError(f"{value} is reserved for TV and radio drama: no line answers it")
        return value

    @field_validator("operator_number", "suppression_hash_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("flows_dir", mode="before")
    @classmethod
    def _flows_dir(cls, value: object) -> object:
        return PROJECT_ROOT / "flows" if value in ("", None) else value

    @field_validator("callback_default_time_zone", "console_time_zone")
    @classmethod
    def _time_zone(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name == "console_time_zone":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Rome") from None
        return value

    @field_validator("callback_morning_time", "callback_evening_time")
    @classmethod
    def _wall_time(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError("must be a 24-hour time such as 18:00")
        return value

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError("must be an absolute http(s) URL such as https://example.ngrok.app")
        return value.rstrip("/")

    @field_validator("public_hosts")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for host in filter(None, (h.strip() for h in value.split(","))):
            if not re.match(r"^[A-Za-z0-9.-]+(:\d{1,5})?$", host):
                raise ValueError(f"{host!r} is not a host name such as cortese.example.com or host:8443")
        return value

    @property
    def console_zone(self) -> str:
        """The operators' zone (IANA name): CONSOLE_TIME_ZONE, else the callbacks' default."""
        return self.console_time_zone or self.callback_default_time_zone

    @property
    def simulator_served(self) -> bool:
        """The browser softphone is served (and app.sim imported at all): development, test,
        or SIM_ENABLED."""
        return self.cortese_env in ("development", "test") or self.sim_enabled

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host names (with port when not the default) Twilio's requests may be signed for."""
        extra = (h.strip().lower() for h in self.public_hosts.split(","))
        return frozenset({urlsplit(self.public_base_url).netloc.lower(), *filter(None, extra)})

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Heroku, Render, Fly and libpq write postgres:// or postgresql://; SQLAlchemy reads
        # those as the psycopg2 driver (or not at all), and cortese ships psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                value = "postgresql+psycopg://" + value.removeprefix(prefix)
        try:
            make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"is not a database URL ({exc})") from None
        return value

    @model_validator(mode="after")
    def _consistency(self) -> Settings:
        if self.dev_skip_signature_check and self.cortese_env != "development":
            raise ValueError(
                "DEV_SKIP_SIGNATURE_CHECK may only be set with CORTESE_ENV=development"
            )
        if bool(self.twilio_api_key_sid) != bool(self.twilio_api_key_secret):
            raise ValueError("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together")
        if self.desk_browser_phone and not self.twilio_api_key_sid:
            raise ValueError("DESK_BROWSER_PHONE needs TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET "
                             "(browser phones' access tokens are signed with an API key)")
        if self.cortese_env == "production" and not self.suppression_hash_key:
            raise ValueError(
                "SUPPRESSION_HASH_KEY is required in production (32+ random characters)"
            )
        return self


def follow_local_port(public_base_url: str, port: int) -> str:
    """A local PUBLIC_BASE_URL (127.0.0.1, localhost) on `port`: where the app listens is what
    it signs for when nothing but this machine reaches it (`cortese up --port`, `sim call`).
    Any other public URL (an ngrok address) is left as it is."""
    parts = urlsplit(public_base_url)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.port != port:
        return f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
    return public_base_url


def _describe(error: Mapping[str, Any]) -> str:
    name = "_".join(str(part) for part in error.get("loc", ())).upper() or "SETTINGS"
    if error.get("type") == "missing":
        return f"{name}: missing (set it in the environment or in .env; see .env.example)"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{name}: {message}"


def load_settings(overrides: Mapping[str, Any] | None = None, env_file: str | None = ".env") -> Settings:
    """Build Settings from env/.env plus explicit overrides; raise ConfigError listing every problem."""
    values = {key.lower(): value for key, value in (overrides or {}).items()}
    try:
        return Settings(_env_file=env_file, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(err) for err in exc.errors())) from None
