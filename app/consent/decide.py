"""The decision: may this number be called for this purpose and offer at this moment?

`decide(facts, rules, at)` is pure (no database, no clock): everything it needs is in
`Facts` (gathered by compliance.gather_facts) and the `RulePack`. It runs the rules in a fixed
order, cheapest and most final first, and returns the first refusal with the rule's id, a
plain-language reason and, when waiting helps, the first moment the call would be lawful.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from app.consent.offers import lenient
from app.consent.packs import Interval, OptInRule, RulePack, intersect, zone_info

PURPOSES = ("sales", "survey", "charity", "political", "service", "callback")
# Attempt outcomes (see attempts.py): these mean nobody was reached.
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
# An answering machine or a call we dropped/left silent: the 72-hour (pack) rule.
ABANDONED = frozenset({"machine", "abandoned"})
# How far ahead to look for the next lawful moment.
HORIZON_DAYS = 14


@dataclass(frozen=True)
class ConsentFact:
    action: str  # given | withdrawn
    channel: str  # voice | automated_voice | any
    purpose: str  # a purpose or "any"
    at: datetime
    written: bool = False
    offer_ids: tuple[str, ...] = ()
    valid_until: datetime | None = None


@dataclass(frozen=True)
class AttemptFact:
    at: datetime
    purpose: str
    offer_id: str | None
    outcome: str | None  # None: under way


@dataclass(frozen=True)
class Facts:
    e164: str
    country: str | None
    time_zones: tuple[str, ...]
    purpose: str
    offer_id: str | None = None
    automated: bool = False
    # A callback booked from a campaign goes on with that campaign's script: its purpose.
    resumes_purpose: str | None = None
    erased: bool = False
    suppressed: bool = False
    opted_out_at: datetime | None = None
    is_business: bool = False
    # A legal person (company): sole traders and partnerships are natural persons (NL).
    legal_person: bool = False
    # phonenumbers' type of the number (app.phone): premium-rate and service numbers are refused.
    line_type: str | None = None
    is_customer: bool = False
    customer_until: datetime | None = None
    last_purchase_at: datetime | None = None
    last_inquiry_at: datetime | None = None
    consents: tuple[ConsentFact, ...] = ()
    owned_offers: frozenset[str] = frozenset()
    # offers.yaml categories: of the offer put, and of what the person has or had.
    offer_category: str | None = None
    owned_categories: frozenset[str] = frozenset()
    # None: the number was not screened (no registry applies or none imported).
    registry_listed: bool | None = None
    registry_obtained_at: datetime | None = None
    attempts: tuple[AttemptFact, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The inputs as stored with a decision (JSON-friendly)."""
        data = asdict(self)
        data["owned_offers"] = sorted(self.owned_offers)
        data["owned_categories"] = sorted(self.owned_categories)
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule_id: str
    reason: str
    next_allowed_at: datetime | None = None
    decision_id: int | None = None


class _Refusal(Exception):
    def __init__(self, rule_id: str, reason: str, wait_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.rule_id, self.reason, self.wait_until = rule_id, reason, wait_until


def decide(facts: Facts, rules: RulePack | None, at: datetime) -> Decision:
    """Yes or no for one call at `at`, with the rule that decided and why."""
    if at.tzinfo is None:
        raise ValueError("decide() needs a timezone-aware `at`")
    if rules is not None:
        rules = rules.for_call(facts.e164, facts.purpose, facts.automated)  # a region's stricter law (US states)
    try:
        _check_identity(facts, rules, at)
        assert rules is not None  # _check_identity refuses a missing pack
        _check_consent_withdrawn(facts, at)
        _check_owned_product(facts)
        _check_registry(facts, rules, at)
        _check_automated(facts, rules, at)
        _check_after_silent_call(facts, rules, at)
        _check_opt_in(facts, rules, at)
    except _Refusal as refusal:
        return Decision(False, refusal.rule_id, refusal.reason)
    courtesy = courtesy_wait(facts, rules, at)
    if courtesy is not None:
        rule_id, reason, until = courtesy
        return Decision(False, rule_id, reason, first_lawful(rules, facts.time_zones, until))
    # Today's windows answer most questions; the 14-day horizon only when we must look ahead.
    if any(lo <= at < hi for lo, hi in lawful_intervals(rules, facts.time_zones, at, days=1)):
        return Decision(True, "allowed", _allowed_reason(facts, rules, at))
    intervals = lawful_intervals(rules, facts.time_zones, at)
    rule_id, reason = _closed_reason(facts, rules, at)
    following = next((max(lo, at) for lo, hi in intervals if hi > at), None)
    return Decision(False, rule_id, reason, following)


# --- final refusals ------------------------------------------------------------------------


def _check_identity(facts: Facts, rules: RulePack | None, at: datetime) -> None:
    if facts.purpose not in PURPOSES:
        raise _Refusal("input.purpose", f"unknown purpose {facts.purpose!r} (one of {', '.join(PURPOSES)})")
    if facts.erased or facts.suppressed:
        raise _Refusal("suppression", "the number is on the suppression list (erased on request): never call it")
    if facts.opted_out_at is not None and facts.opted_out_at <= at:
        raise _Refusal(
            "optout.internal_dnc",
            f"the person asked not to be called (internal do-not-call list since {facts.opted_out_at:%Y-%m-%d %H:%M} UTC)",
        )
    if rules is None:
        raise _Refusal("pack.missing", f"no rule pack for country {facts.country or 'unknown'}: we do not call there")
    # None: the type was never looked up (facts built by hand); "unknown" is phonenumbers' word.
    special = rules.courtesy.refused_line_types.get(facts.line_type) if facts.line_type else None
    if special is not None:
        raise _Refusal("number.special_service", f"never called by policy: {special}")
    if not facts.time_zones:
        raise _Refusal("zone.unknown", "the callee's time zone is unknown, so calling hours cannot be checked")


def _check_consent_withdrawn(facts: Facts, at: datetime) -> None:
    latest = _latest_consent(facts, at, channels=None)
    if latest is not None and latest.action == "withdrawn":
        raise _Refusal(
            "consent.withdrawn",
            f"consent for {facts.purpose} calls was withdrawn on {latest.at:%Y-%m-%d}",
        )


def _check_owned_product(facts: Facts) -> None:
    if facts.purpose == "sales" and facts.offer_id and _offer_in(facts.offer_id, facts.owned_offers):
        raise _Refusal(
            "courtesy.owned_product",
            f"the person already has {facts.offer_id}: never pitch it to them",
        )


def _check_registry(facts: Facts, rules: RulePack, at: datetime) -> None:
    registry = rules.registry
    if registry is None or facts.purpose not in registry.applies_to:
        return
    if registry.business_exempt and facts.is_business:
        return
    label = f"{registry.name} ({rules.country})"
    if facts.registry_obtained_at is None:
        raise _Refusal("registry.missing", f"no copy of the {label} has been imported: import one before calling")
    age = at - facts.registry_obtained_at
    if age > timedelta(days=registry.max_age_days):
        raise _Refusal(
            "registry.stale",
            f"the {label} copy is {age.days} days old (obtained {facts.registry_obtained_at:%Y-%m-%d}); "
            f"the rule pack allows {registry.max_age_days}: import a fresh copy",
        )
    if not facts.registry_listed:
        return
    exemption = _registry_exemption(facts, rules, at)
    if exemption is None:
        considered = ", ".join(sorted(registry.exemptions)) or "none"
        raise _Refusal(
            "registry.listed",
            f"the number is on the {label} and no exemption applies (considered: {considered})",
        )


def _registry_exemption(facts: Facts, rules: RulePack, at: datetime) -> str | None:
    registry = rules.registry
    assert registry is not None
    for name in sorted(registry.exemptions):
        if name == "ebr" and _has_ebr(facts, registry.ebr_purchase_months, registry.ebr_inquiry_months, at):
            return name
        if name == "consent" and _has_consent(facts, at, written=False):
            return name
        if name == "written_consent" and _has_consent(facts, at, written=True):
            return name
        if name == "active_contract" and _contract_active(facts, registry.contract_grace_days, at):
            return name
    return None


def _check_after_silent_call(facts: Facts, rules: RulePack, at: datetime) -> None:
    """Where the pack says so, a number that got an abandoned (silent) call is called next only
    with a person on the line: no automated call until an attempt has reached the person."""
    if not facts.automated or not rules.courtesy.abandoned_then_operator or facts.purpose == "callback":
        return
    # The silent calls, and the attempts that reached the person (not a machine, not nobody).
    telling = [a for a in facts.attempts if a.at <= at and a.outcome is not None
               and (a.outcome == "abandoned" or a.outcome not in UNANSWERED | ABANDONED)]
    last = max(telling, key=lambda a: a.at, default=None)
    if last is not None and last.outcome == "abandoned":
        raise _Refusal(
            "courtesy.abandoned_operator",
            f"an abandoned call on {last.at:%Y-%m-%d %H:%M} UTC: the next call must have an operator on the line",
        )


def _check_automated(facts: Facts, rules: RulePack, at: datetime) -> None:
    rule = rules.automated
    if not facts.automated or rule is None:
        return
    if facts.purpose == "callback" and facts.resumes_purpose:
        # The person asked for this call (that is consent to it), but a callback that goes on
        # with a campaign's script is that campaign's call: where its purpose needs *written*
        # consent (US telemarketing), a spoken "call me later" is not enough.
        if rule.requires.get(facts.resumes_purpose) != "written_consent":
            return
        facts = replace(facts, purpose=facts.resumes_purpose)
    if facts.purpose not in rule.requires:
        return
    written = rule.requires[facts.purpose] == "written_consent"
    if not _has_consent(facts, at, written=written, automated=True):
        kind = "prior express written consent" if written else "express consent"
        raise _Refusal(
            "automated.consent_required",
            f"automated/artificial-voice {facts.purpose} calls in {rules.country} need {kind}; "
            "none is on record (an existing relationship is not enough)",
        )


def _check_opt_in(facts: Facts, rules: RulePack, at: datetime) -> None:
    rule = rules.opt_in
    if rule is None or facts.purpose not in rule.purposes:
        return
    if rule.legal_persons_exempt:
        if facts.legal_person:
            return
    elif rule.consumers_only and facts.is_business:
        return
    if _has_consent(facts, at, written=False):
        return
    if _customer_exception(facts, rule, at):
        return
    who = "natural persons (sole traders and partnerships included)" if rule.legal_persons_exempt else "consumers"
    similar = " about a similar product" if rule.similar_only else ""
    raise _Refusal(
        "optin.required",
        f"{facts.purpose} calls to {who} in {rules.country} need prior opt-in for this offer; "
        f"none is on record and the person is not a customer of the last {rule.customer_months} months"
        f"{similar}",
    )


def _customer_exception(facts: Facts, rule: OptInRule, at: datetime) -> bool:
    """Existing/former customers, for the purposes the exception covers and, where the pack
    says so, only for offers in a category the person has or had."""
    if not rule.customer_months or not _customer_within(facts, rule.customer_months, at):
        return False
    if rule.customer_purposes is not None and facts.purpose not in rule.customer_purposes:
        return False
    return not rule.similar_only or (facts.offer_category is not None
                                     and facts.offer_category in facts.owned_categories)


# --- consent and relationship helpers ------------------------------------------------------


def _latest_consent(facts: Facts, at: datetime, channels: Iterable[str] | None) -> ConsentFact | None:
    latest: ConsentFact | None = None
    for record in facts.consents:
        if record.at > at or record.purpose not in (facts.purpose, "any"):
            continue
        if channels is not None and record.channel not in channels:
            continue
        if record.action == "given" and record.offer_ids and not _offer_in(facts.offer_id, record.offer_ids):
            continue
        if latest is None or record.at >= latest.at:
            latest = record
    return latest


def _offer_in(offer_id: str | None, offers: Iterable[str]) -> bool:
    """Whether an offer is among `offers`, codes compared in their one normal form."""
    wanted = lenient(offer_id)
    return wanted is not None and any(lenient(o) == wanted for o in offers)


def _has_consent(facts: Facts, at: datetime, *, written: bool, automated: bool = False) -> bool:
    channels = ("automated_voice", "any") if automated else None
    latest = _latest_consent(facts, at, channels)
    if latest is None or latest.action != "given":
        return False
    if latest.valid_until is not None and latest.valid_until <= at:
        return False
    return latest.written or not written


def _has_ebr(facts: Facts, purchase_months: int, inquiry_months: int, at: datetime) -> bool:
    purchase = max((d for d in (facts.last_purchase_at, facts.customer_until) if d), default=None)
    if facts.is_customer and facts.customer_until is None:
        return True  # a contract still running
    if purchase is not None and purchase <= at < purchase + relativedelta(months=purchase_months):
        return True
    inquiry = facts.last_inquiry_at
    return inquiry is not None and inquiry <= at < inquiry + relativedelta(months=inquiry_months)


def _contract_active(facts: Facts, grace_days: int, at: datetime) -> bool:
    """A contract in force, or ended at most `grace_days` ago: its end date decides, whether or
    not the person is still marked a customer (a former customer is not)."""
    if facts.customer_until is None:
        return facts.is_customer
    return at <= facts.customer_until + timedelta(days=grace_days)


def _customer_within(facts: Facts, months: int, at: datetime) -> bool:
    if facts.is_customer and facts.customer_until is None:
        return True
    last = max((d for d in (facts.customer_until, facts.last_purchase_at) if d), default=None)
    return last is not None and at < last + relativedelta(months=months)


# --- courtesy ------------------------------------------------------------------------------


def courtesy_wait(facts: Facts, rules: RulePack, at: datetime) -> tuple[str, str, datetime] | None:
    """The courtesy rule that makes us wait the longest, as (rule_id, reason, until), or None."""
    if facts.purpose == "callback":
        return None  # the person asked for this call and chose its time
    c = rules.courtesy
    waits: list[tuple[str, str, datetime]] = []
    past = sorted((a for a in facts.attempts if a.at <= at), key=lambda a: a.at)
    for attempt in past:
        if attempt.outcome in ABANDONED:
            until = attempt.at + timedelta(hours=c.abandoned_no_retry_hours)
            waits.append(("courtesy.abandoned", f"an {attempt.outcome} call on {attempt.at:%Y-%m-%d %H:%M} UTC: "
                          f"no new call for {c.abandoned_no_retry_hours} hours", until))
        spacing = c.retry_spacing_minutes.get(attempt.outcome or "in_progress")
        if spacing and (attempt.outcome in UNANSWERED or attempt.outcome is None):
            until = attempt.at + timedelta(minutes=spacing)
            waits.append(("courtesy.retry_spacing", f"last attempt ({attempt.outcome or 'under way'}) at "
                          f"{attempt.at:%Y-%m-%d %H:%M} UTC: wait {spacing} minutes", until))
        reached = attempt.outcome not in UNANSWERED | ABANDONED and attempt.outcome is not None
        if reached and facts.offer_id and _offer_in(attempt.offer_id, (facts.offer_id,)):
            until = attempt.at + timedelta(days=c.same_offer_cooldown_days)
            waits.append(("courtesy.same_offer", f"offer {facts.offer_id} was already put to this person on "
                          f"{attempt.at:%Y-%m-%d}: not again within {c.same_offer_cooldown_days} days", until))
    counted = [a for a in past if a.purpose != "callback"]
    for rule_id, limit, span in (
        ("courtesy.max_per_day", c.max_attempts_per_day, timedelta(days=1)),
        ("courtesy.max_per_week", c.max_attempts_per_week, timedelta(days=7)),
    ):
        recent = [a for a in counted if a.at > at - span]
        if limit and len(recent) >= limit:
            until = recent[len(recent) - limit].at + span
            waits.append((rule_id, f"{len(recent)} attempts in the last {span.days} day(s); at most {limit}", until))
    waits = [w for w in waits if w[2] > at]
    return max(waits, key=lambda w: w[2]) if waits else None


# --- calling windows -----------------------------------------------------------------------


def lawful_intervals(rules: RulePack, zones: tuple[str, ...], start: datetime,
                     days: int = HORIZON_DAYS) -> list[Interval]:
    """UTC intervals when calling is lawful in *every* candidate zone."""
    result: list[Interval] | None = None
    for zone in zones:
        intervals = rules.open_intervals(zone, start, days)
        result = intervals if result is None else intersect(result, intervals)
    return result or []


def first_lawful(rules: RulePack, zones: tuple[str, ...], after: datetime) -> datetime | None:
    for lo, hi in lawful_intervals(rules, zones, after):
        if hi > after:
            return max(lo, after)
    return None


def _closed_reason(facts: Facts, rules: RulePack, at: datetime) -> tuple[str, str]:
    for zone in facts.time_zones:
        local = at.astimezone(zone_info(zone))
        if rules.is_holiday(local.date()):
            return "holiday", f"{local:%Y-%m-%d} is a public holiday ({rules.label}, {zone}): no calls"
    for zone in facts.time_zones:
        local = at.astimezone(zone_info(zone))
        ranges = rules.local_ranges(local.date())
        if not any(begin <= local.time() < end for begin, end in ranges):
            shown = ", ".join(f"{b:%H:%M}-{e:%H:%M}" for b, e in ranges) or "no calls that day"
            status = rules.statuses.get("windows", "unverified")
            return "window", (f"{local:%a %H:%M} in {zone} is outside the calling window "
                              f"({shown}; {rules.label}, {status})")
    return "window", "outside the calling window"


def _allowed_reason(facts: Facts, rules: RulePack, at: datetime) -> str:
    times = ", ".join(f"{at.astimezone(zone_info(z)):%a %H:%M} {z}" for z in facts.time_zones)
    parts = [f"within calling hours ({times})"]
    if facts.registry_listed and rules.registry and facts.purpose in rules.registry.applies_to:
        parts.append(f"registry exemption: {_registry_exemption(facts, rules, at)}")
    return f"{rules.country} {rules.full_version}: " + "; ".join(parts)
