"""Rule packs: one YAML file per country in app/consent/rules/, plus courtesy.yaml.

A pack is data (windows, holidays, registry, automated-call and opt-in rules, courtesy
overrides) with its sources, effective date and a status per section: "checked" (read on a
public page), "unverified" (needs a source before it ships as a default) or "policy" (our own
courtesy choice). This module turns a pack into typed objects and answers one question about
time: in which UTC intervals may a number in these zones be called?
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import yaml

from app.yamlfile import load_yaml

RULES_DIR = Path(__file__).resolve().parent / "rules"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = ("checked", "unverified", "policy")
EXEMPTIONS = ("ebr", "consent", "written_consent", "active_contract")
Interval = tuple[datetime, datetime]


class RulePackError(ValueError):
    """A rule pack file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Courtesy:
    version: str = "courtesy-1"
    same_offer_cooldown_days: int = 30
    max_attempts_per_day: int = 2
    max_attempts_per_week: int = 5
    retry_spacing_minutes: Mapping[str, int] = field(default_factory=dict)
    abandoned_no_retry_hours: int = 72
    # Line types (app.phone) never called, with the reason: premium-rate, shared-cost and
    # service numbers are not a person's line (courtesy.yaml says why for each).
    refused_line_types: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryRule:
    name: str
    max_age_days: int
    applies_to: frozenset[str]
    exemptions: frozenset[str]
    ebr_purchase_months: int = 0
    ebr_inquiry_months: int = 0
    contract_grace_days: int = 0
    business_exempt: bool = False
    status: str = "unverified"


REQUIREMENTS = ("written_consent", "consent")


@dataclass(frozen=True)
class AutomatedRule:
    # Per purpose: "written_consent" or "consent" before an automated (artificial voice) call.
    requires: Mapping[str, str]
    status: str = "unverified"

    @property
    def purposes(self) -> frozenset[str]:
        return frozenset(self.requires)


@dataclass(frozen=True)
class OptInRule:
    purposes: frozenset[str]
    # Legacy switch: any business line is exempt.
    consumers_only: bool
    customer_months: int
    status: str = "unverified"
    # Only a legal person is exempt: sole traders and partnerships are natural persons (NL).
    legal_persons_exempt: bool = False
    # Purposes the customer exception covers (None: all); NL: the company's own products only.
    customer_purposes: frozenset[str] | None = None
    # The customer exception only for offers similar to what the person has or had (offers.yaml).
    similar_only: bool = False


@dataclass(frozen=True)
class RulePack:
    country: str
    name: str
    version: str
    effective_date: date
    sources: Mapping[str, Mapping[str, Any]]
    # Per weekday (0 = Monday) a tuple of (start, end) local times; end is exclusive.
    days: tuple[tuple[tuple[time, time], ...], ...]
    pre_holiday: tuple[tuple[time, time], ...] | None
    holidays_blocked: bool
    registry: RegistryRule | None
    automated: AutomatedRule | None
    opt_in: OptInRule | None
    courtesy: Courtesy
    statuses: Mapping[str, str]

    @property
    def full_version(self) -> str:
        """Pack and courtesy versions together: what a stored decision was judged by."""
        return f"{self.version}+{self.courtesy.version}"

    def is_holiday(self, day: date) -> bool:
        return day in _holiday_calendar(self.country, day.year)

    def local_ranges(self, day: date) -> tuple[tuple[time, time], ...]:
        """The calling ranges on a local calendar day (empty when no calls are allowed)."""
        if self.holidays_blocked and self.is_holiday(day):
            return ()
        if self.pre_holiday is not None and self.is_holiday(day + timedelta(days=1)):
            regular = self.days[day.weekday()]
            # A pre-holiday window never opens a day that is closed anyway (e.g. Sunday).
            return self.pre_holiday if regular else ()
        return self.days[day.weekday()]

    def open_intervals(self, zone: str, start: datetime, days: int) -> list[Interval]:
        """UTC intervals, from the local day of `start` for `days` days, when calls are lawful."""
        tz = zone_info(zone)
        first = start.astimezone(tz).date()
        out: list[Interval] = []
        for offset in range(days + 1):
            day = first + timedelta(days=offset)
            for begin, end in self.local_ranges(day):
                # fold=0 and zone arithmetic via astimezone make DST days come out right.
                lo = datetime.combine(day, begin, tzinfo=tz).astimezone(UTC)
                hi = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
                if hi > lo:
                    out.append((lo, hi))
        return out


@functools.lru_cache(maxsize=256)
def _holiday_calendar(country: str, year: int) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays(country, years=[year, year + 1])


@functools.lru_cache(maxsize=512)
def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def valid_zone(name: str) -> bool:
    try:
        zone_info(name)
        return True
    except ValueError:
        return False


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two sorted lists of half-open intervals."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


# --- loading -------------------------------------------------------------------------------


def _ranges(value: Any, where: str) -> tuple[tuple[time, time], ...]:
    if value in (None, "closed", False):
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        try:
            begin_text, end_text = str(item).split("-")
            begin, end = time.fromisoformat(begin_text.strip()), time.fromisoformat(end_text.strip())
        except ValueError:
            raise RulePackError(f"{where}: {item!r} is not a range like 08:00-21:00") from None
        if end <= begin:
            raise RulePackError(f"{where}: {item!r} ends before it starts")
        out.append((begin, end))
    return tuple(sorted(out))


def _status(section: Mapping[str, Any] | None, where: str) -> str:
    status = (section or {}).get("status", "unverified")
    if status not in STATUSES:
        raise RulePackError(f"{where}.status: {status!r} is not one of {', '.join(STATUSES)}")
    return status


def _courtesy(data: Mapping[str, Any], base: Courtesy, where: str) -> Courtesy:
    known = set(Courtesy.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise RulePackError(f"{where}: unknown courtesy settings {', '.join(sorted(unknown))}")
    values = dict(data)
    if "retry_spacing_minutes" in values:
        values["retry_spacing_minutes"] = {**base.retry_spacing_minutes, **values["retry_spacing_minutes"]}
    if "refused_line_types" in values:
        values["refused_line_types"] = {**base.refused_line_types, **(values["refused_line_types"] or {})}
    return replace(base, **values)


def _registry(data: Mapping[str, Any] | None, where: str) -> RegistryRule | None:
    if not data:
        return None
    exemptions = frozenset(data.get("exemptions") or ())
    if exemptions - set(EXEMPTIONS):
        raise RulePackError(f"{where}.exemptions: unknown {sorted(exemptions - set(EXEMPTIONS))}")
    ebr = data.get("ebr") or {}
    try:
        return RegistryRule(
            name=str(data["name"]),
            max_age_days=int(data["max_age_days"]),
            applies_to=frozenset(data.get("applies_to") or ()),
            exemptions=exemptions,
            ebr_purchase_months=int(ebr.get("purchase_months", 0)),
            ebr_inquiry_months=int(ebr.get("inquiry_months", 0)),
            contract_grace_days=int(data.get("contract_grace_days", 0)),
            business_exempt=bool(data.get("business_exempt", False)),
            status=_status(data, where),
        )
    except KeyError as exc:
        raise RulePackError(f"{where}: missing {exc.args[0]}") from None


def _automated(data: Mapping[str, Any], where: str) -> AutomatedRule:
    """`requires` is one requirement for every listed purpose, or a purpose -> requirement map."""
    requires = data.get("requires", "written_consent")
    if isinstance(requires, Mapping):
        by_purpose = {str(k): str(v) for k, v in requires.items()}
    else:
        by_purpose = {str(p): str(requires) for p in data.get("purposes") or ()}
    wrong = sorted(v for v in by_purpose.values() if v not in REQUIREMENTS)
    if wrong:
        raise RulePackError(f"{where}.requires: {wrong[0]!r} is not one of {', '.join(REQUIREMENTS)}")
    return AutomatedRule(requires=by_purpose, status=_status(data, where))


def parse_pack(data: Mapping[str, Any], where: str, courtesy: Courtesy) -> RulePack:
    """Build a RulePack from parsed YAML; raise RulePackError naming what is wrong."""
    for key in ("country", "name", "version", "effective_date", "sources", "windows"):
        if key not in data:
            raise RulePackError(f"{where}: missing {key}")
    windows = data["windows"] or {}
    day_map = windows.get("days") or {}
    if set(day_map) != set(DAYS):
        raise RulePackError(f"{where}: windows.days must name each of {', '.join(DAYS)}")
    automated = data.get("automated")
    opt_in = data.get("opt_in")
    effective = data["effective_date"]
    if not isinstance(effective, date):
        raise RulePackError(f"{where}: effective_date must be a date like 2025-04-11")
    return RulePack(
        country=str(data["country"]).upper(),
        name=str(data["name"]),
        version=str(data["version"]),
        effective_date=effective,
        sources=dict(data["sources"] or {}),
        days=tuple(_ranges(day_map[d], f"{where}: windows.days.{d}") for d in DAYS),
        pre_holiday=(
            _ranges(windows["pre_holiday"], f"{where}: windows.pre_holiday")
            if windows.get("pre_holiday") else None
        ),
        holidays_blocked=bool((data.get("holidays") or {}).get("blocked", True)),
        registry=_registry(data.get("registry"), f"{where}: registry"),
        automated=_automated(automated, f"{where}: automated") if automated else None,
        opt_in=OptInRule(
            purposes=frozenset(opt_in.get("purposes") or ()),
            consumers_only=bool(opt_in.get("consumers_only", True)),
            customer_months=int(opt_in.get("customer_months", 0)),
            status=_status(opt_in, f"{where}: opt_in"),
            legal_persons_exempt=bool(opt_in.get("legal_persons_exempt", False)),
            customer_purposes=(frozenset(opt_in["customer_purposes"])
                               if opt_in.get("customer_purposes") is not None else None),
            similar_only=bool(opt_in.get("similar_only", False)),
        ) if opt_in else None,
        courtesy=_courtesy(data.get("courtesy") or {}, courtesy, f"{where}: courtesy"),
        statuses={
            section: _status(data.get(section), f"{where}: {section}")
            for section in ("windows", "holidays", "registry", "automated", "opt_in")
            if data.get(section)
        },
    )


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulePackError(f"{path.name}: not valid YAML ({exc})") from None
    if not isinstance(data, Mapping):
        raise RulePackError(f"{path.name}: expected a mapping at the top")
    return data


@functools.lru_cache(maxsize=8)
def load_packs(directory: Path = RULES_DIR) -> dict[str, RulePack]:
    """All packs in `directory`, by ISO country code (cached; files are read once)."""
    base = base_courtesy(directory)
    packs: dict[str, RulePack] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "courtesy.yaml":
            continue
        pack = parse_pack(_read_yaml(path), path.name, base)
        if pack.country != path.stem.upper():
            raise RulePackError(f"{path.name}: country {pack.country} does not match the file name")
        packs[pack.country] = pack
    return packs


@functools.lru_cache(maxsize=8)
def base_courtesy(directory: Path = RULES_DIR) -> Courtesy:
    """The courtesy rules every pack starts from (courtesy.yaml)."""
    path = directory / "courtesy.yaml"
    return _courtesy(_read_yaml(path), Courtesy(), path.name) if path.exists() else Courtesy()


def line_type_refusal(country: str | None, line_type: str | None, directory: Path = RULES_DIR) -> str | None:
    """Why a number of this line type is never called (None: it may be)."""
    pack = pack_for(country, directory)
    courtesy = pack.courtesy if pack is not None else base_courtesy(directory)
    return courtesy.refused_line_types.get(line_type or "unknown")


def pack_for(country: str | None, directory: Path = RULES_DIR) -> RulePack | None:
    """The pack for a country, or None when we have no rules there (and so must not call)."""
    if not country:
        return None
    return load_packs(directory).get(country.upper())
