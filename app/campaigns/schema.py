"""What a campaign is made of, checked once for the API, the console and the CLI.

`CampaignInput` checks every field that needs nothing but the input itself and finds every
problem in one pass (pydantic). create_campaign adds the checks that need the database or
the flows (a name already taken, a flow that is not written for campaigns) and raises all of
them together. Each problem keeps the code the console translates (refusal_<code>).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app import phone
from app.campaigns import hours
from app.campaigns.models import MACHINE_POLICIES, PURPOSES
from app.consent import offers
from app.i18n import LANGUAGES
from app.refusals import Invalid, Refusal

MAX_CPS = 100.0
# Ofcom/FCC: let the phone ring at least 15 s before giving up.
MIN_RING_SECONDS = 15
MAX_RETRY_MINUTES = 60 * 24 * 14


def _no(code: str, message: str, **values: Any) -> PydanticCustomError:
    """This field's problem: `message` is said as it is (already formatted), `values` are kept
    for the console's translation of `code`."""
    return PydanticCustomError(code, message, {k: str(v) for k, v in values.items()})


def _refused(exc: Refusal) -> PydanticCustomError:
    """A parser's refusal (days, hours, numbers) as this field's problem, code kept."""
    return _no(exc.code, exc.message, **exc.values)


class CampaignInput(BaseModel):
    """A campaign as an operator describes it. Fields are in the order their checks need:
    offer_id after purpose, reason after languages."""

    # validate_default: a check across fields (a sales campaign needs an offer) runs when the
    # field was left out too.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=True)

    name: str
    purpose: str
    offer_id: str | None = None
    flow: str
    languages: list[str]
    reason: dict[str, str]
    details: dict[str, str] | None = None
    caller_id: str | None = None
    callback_number: str | None = None
    calling_days: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    calling_hours: str = "09:00-20:00"
    cps: float = 1.0
    max_concurrent: int = 5
    max_attempts: int = 3
    retry_busy_minutes: int = 30
    retry_no_answer_minutes: int = 120
    machine_policy: str = "message"
    amd_async: bool = True
    ring_timeout: int = 25

    @classmethod
    def read(cls, fields: Mapping[str, Any]) -> tuple[CampaignInput | None, list[Refusal]]:
        """The checked campaign, or None and every problem (each an Invalid naming its field)."""
        try:
            return cls.model_validate(dict(fields)), []
        except ValidationError as error:
            return None, [_invalid(problem) for problem in error.errors(include_url=False)]

    @property
    def calling_start(self) -> str:
        return self.calling_hours.partition("-")[0].strip()

    @property
    def calling_end(self) -> str:
        return self.calling_hours.partition("-")[2].strip()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or len(value) > 100:
            raise _no("campaign_name_length", "1 to 100 characters")
        return value

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        if value not in PURPOSES:
            raise _no("campaign_purpose", f"{value!r} is not one of {', '.join(PURPOSES)}", value=value)
        return value

    @field_validator("offer_id")
    @classmethod
    def _offer(cls, value: str | None, info: ValidationInfo) -> str | None:
        try:
            code = offers.normalise(value)
        except offers.OfferCodeError as exc:
            raise _no("campaign_offer_code", str(exc), value=str(value)) from None
        if info.data.get("purpose") == "sales" and not code:
            # Without it consent cannot tell whether the person already has the product.
            raise _no("campaign_offer_missing", "a sales campaign must say which offer it presents")
        return code

    @field_validator("flow")
    @classmethod
    def _flow(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value.startswith("."):
            raise _no("campaign_flow_name", f"{value!r} is not a flow name", flow=value)
        return value

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> list[str]:
        langs = [str(lang).strip() for lang in (value or []) if lang and str(lang).strip()]
        if not langs:
            raise _no("campaign_languages_missing", "at least one of it, nl, en")
        for lang in langs:
            if lang not in LANGUAGES:
                raise _no("campaign_language", f"{lang!r} is not one of {', '.join(LANGUAGES)}", value=lang)
        return langs

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        langs = info.data.get("languages") or []
        missing = [lang for lang in langs if not (value.get(lang) or "").strip()]
        if missing:
            raise _no("campaign_reason_missing",
                      f"say why we call in every campaign language (missing: {', '.join(missing)})",
                      missing=", ".join(missing))
        return {lang: value[lang].strip() for lang in langs}

    @field_validator("caller_id", "callback_number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parsed = phone.parse(value)
        except phone.InvalidNumber as exc:
            raise _no(exc.code, f"{exc.reason} ({value!r})", **exc.values) from None
        if parsed.line_type == "fictional":  # a number callees would dial in vain
            raise _no("number_fictional", f"{parsed.e164} is reserved for TV and radio drama: nobody answers it",
                      value=value)
        return parsed.e164

    @field_validator("calling_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> list[str]:
        try:
            return hours.parse_days(value if isinstance(value, list) else str(value or ""))
        except Refusal as exc:
            raise _refused(exc) from None

    @field_validator("calling_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        if not sep:
            raise _no("campaign_hours_not_range", f"{value!r} is not a range like 09:00-20:00", hours=value)
        try:
            first, last = hours.parse_hhmm(start, "calling_hours"), hours.parse_hhmm(end, "calling_hours")
        except Refusal as exc:
            raise _refused(exc) from None
        if first >= last:
            raise _no("campaign_hours_order", "the start must come before the end")
        return f"{start.strip()}-{end.strip()}"

    @field_validator("cps")
    @classmethod
    def _cps(cls, value: float) -> float:
        if not 0 < value <= MAX_CPS:
            raise _no("campaign_cps", f"calls per second must be above 0 and at most {MAX_CPS:g}",
                      most=f"{MAX_CPS:g}")
        return value

    @field_validator("max_concurrent")
    @classmethod
    def _concurrent(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise _no("campaign_concurrency", "between 1 and 1000")
        return value

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise _no("campaign_attempts", "between 1 and 10")
        return value

    @field_validator("retry_busy_minutes", "retry_no_answer_minutes")
    @classmethod
    def _retry(cls, value: int) -> int:
        if not 1 <= value <= MAX_RETRY_MINUTES:
            raise _no("campaign_retry", "between 1 minute and 14 days")
        return value

    @field_validator("machine_policy")
    @classmethod
    def _machine(cls, value: str) -> str:
        if value not in MACHINE_POLICIES:
            raise _no("campaign_machine_policy", f"{value!r} is not one of {', '.join(MACHINE_POLICIES)}",
                      value=value)
        return value

    @field_validator("ring_timeout")
    @classmethod
    def _ring(cls, value: int) -> int:
        if not MIN_RING_SECONDS <= value <= 60:
            raise _no("campaign_ring_timeout",
                      f"between {MIN_RING_SECONDS} and 60 seconds (let it ring at least 15 s)")
        return value


# pydantic's words for "that is not a number", said the way people say it (and translated).
NOT_A_NUMBER = frozenset({"int_parsing", "float_parsing", "int_from_float", "int_type", "float_type",
                          "finite_number"})


def _invalid(problem: Mapping[str, Any]) -> Invalid:
    """One pydantic problem as an Invalid: its field (the path, dotted), its message, its code
    (ours from the checks above, pydantic's own for a wrong type: missing, bool_parsing...)."""
    field = ".".join(str(part) for part in problem["loc"])
    if problem["type"] in NOT_A_NUMBER:
        given = str(problem.get("input"))
        return Invalid(field, f"{given!r} is not a number", code="not_a_number", value=given)
    values = {k: str(v) for k, v in (problem.get("ctx") or {}).items() if k != "error"}
    return Invalid(field, str(problem["msg"]), code=str(problem["type"]), **values)
