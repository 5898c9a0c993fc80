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
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from dateutil.easter import easter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainValidator,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.consent.models import PURPOSES
from app.phone import LINE_TYPES, nanp_area_code
from app.yamlfile import Shape, one_of, problems, read_mapping

RULES_DIR = Path(__file__).resolve().parent / "rules"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = ("checked", "unverified", "policy")
EXEMPTIONS = ("ebr", "consent", "written_consent", "active_contract")
Interval = tuple[datetime, datetime]


class RulePackError(ValueError):
    """Rule pack files that are malformed: every problem, each naming the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Courtesy:
    version: str = "courtesy-1"
    same_offer_cooldown_days: int = 30
    max_attempts_per_day: int = 2
    max_attempts_per_week: int = 5
    retry_spacing_minutes: Mapping[str, int] = field(default_factory=dict)
    abandoned_no_retry_hours: int = 72
    # After an abandoned (silent) call, the next call to the number only with a person on the
    # line: an automated call is refused until an attempt has reached the person.
    abandoned_then_operator: bool = False
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
class ExtraHoliday:
    """A legal holiday python-holidays does not have: a fixed day ("06-14", Pennsylvania's
    Flag Day), a day counted from Easter Sunday (-2, Good Friday), or a fixed day that moves
    to the Monday before when it falls on a Tuesday to a Friday (Utah's Juneteenth)."""

    name: str
    month: int | None = None
    day: int | None = None
    easter: int | None = None
    monday_before: bool = False

    def on(self, year: int) -> date:
        if self.easter is not None:
            return easter(year) + timedelta(days=self.easter)
        assert self.month is not None and self.day is not None
        fixed = date(year, self.month, self.day)
        if self.monday_before and 1 <= fixed.weekday() <= 4:
            return fixed - timedelta(days=fixed.weekday())
        return fixed


@dataclass(frozen=True)
class RegionRule:
    """A part of a country with stricter rules of its own (a US state's telemarketing law),
    told by the number's area code, as those laws presume ("a call to a Florida area code is
    made to a Florida resident")."""

    code: str
    name: str
    area_codes: frozenset[str]
    purposes: frozenset[str]
    # Per weekday (0 = Monday) the ranges the region allows; the call needs the country's too.
    days: tuple[tuple[tuple[time, time], ...], ...]
    max_calls_per_day: int | None = None
    source: str | None = None
    status: str = "unverified"
    # No calls on the region's own public holidays (python-holidays' subdivision), too, and on
    # the legal holidays that calendar lacks (`extra_holidays`).
    holidays: bool = False
    extra_holidays: tuple[ExtraHoliday, ...] = ()
    # The region's law covers automated (artificial or prerecorded voice) calls only.
    automated_only: bool = False


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
    regions: tuple[RegionRule, ...] = ()
    # Set on the pack `for_call` returns: the region whose rules it carries.
    region: RegionRule | None = None

    @property
    def full_version(self) -> str:
        """Pack and courtesy versions together: what a stored decision was judged by."""
        region = f"/{self.region.code}" if self.region is not None else ""
        return f"{self.version}{region}+{self.courtesy.version}"

    @property
    def label(self) -> str:
        """The country, and the region whose rules apply: "US pack, Florida (FL)"."""
        region = f", {self.region.name} ({self.region.code})" if self.region is not None else ""
        return f"{self.country} pack{region}"

    def for_call(self, e164: str, purpose: str, automated: bool = False) -> RulePack:
        """The rules for a call to this number for this purpose: the country's, narrowed by a
        region's where the number's area code lies in one whose law covers the call."""
        if self.region is not None or not e164.startswith("+1"):
            return self
        region = next((r for r in self.regions if e164[2:5] in r.area_codes and purpose in r.purposes
                       and (automated or not r.automated_only)), None)
        if region is None:
            return self
        courtesy = self.courtesy
        if region.max_calls_per_day is not None:
            limit = min(filter(None, (courtesy.max_attempts_per_day, region.max_calls_per_day)))
            courtesy = replace(courtesy, max_attempts_per_day=limit)
        return replace(
            self, region=region, courtesy=courtesy,
            # The window is as sure as the less sure of the two rules that make it.
            statuses={**self.statuses, "windows": self.statuses.get("windows", "unverified")
                      if region.status == "checked" else region.status},
        )

    def is_holiday(self, day: date) -> bool:
        """A public holiday on which no calls are made: the country's (when the pack blocks
        them) or the region's own (when its law does)."""
        if self.holidays_blocked and day in _holiday_calendar(self.country, day.year):
            return True
        region = self.region
        if region is None or not region.holidays:
            return False
        return (day in _holiday_calendar(self.country, day.year, region.code)
                or any(extra.on(day.year) == day for extra in region.extra_holidays))

    def local_ranges(self, day: date) -> tuple[tuple[time, time], ...]:
        """The calling ranges on a local calendar day (empty when no calls are allowed): the
        country's, inside the region's when the pack is for one."""
        if self.is_holiday(day):
            return ()
        ranges = self.days[day.weekday()]
        if self.pre_holiday is not None and self.is_holiday(day + timedelta(days=1)):
            # A pre-holiday window never opens a day that is closed anyway (e.g. Sunday).
            ranges = self.pre_holiday if ranges else ()
        return _within(ranges, self.region.days[day.weekday()]) if self.region is not None else ranges

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


def _within(ranges: tuple[tuple[time, time], ...],
            allowed: tuple[tuple[time, time], ...]) -> tuple[tuple[time, time], ...]:
    """The parts of `ranges` inside `allowed` (local times of one day)."""
    return tuple((max(b, ab), min(e, ae)) for b, e in ranges for ab, ae in allowed if max(b, ab) < min(e, ae))


@functools.lru_cache(maxsize=256)
def _holiday_calendar(country: str, year: int, subdivision: str | None = None) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays(country, subdiv=subdivision, years=[year, year + 1])


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
# A pack file's shape (its keys, their types, the values allowed) is a pydantic model; what a
# shape cannot say (a window that ends before it starts, a pack named after another country)
# is checked beside it. Every problem of every file is reported together.


def _ranges(value: Any) -> tuple[tuple[time, time], ...]:
    """`"08:00-21:00"`, a list of such ranges, or `closed`, as sorted (start, end) times."""
    if value in (None, "closed", False):
        return ()
    out = []
    for item in value if isinstance(value, list) else [value]:
        try:
            begin_text, end_text = str(item).split("-")
            begin, end = time.fromisoformat(begin_text.strip()), time.fromisoformat(end_text.strip())
        except ValueError:
            raise PydanticCustomError("time_range", "{given} is not a range like 08:00-21:00",
                                      {"given": repr(item)}) from None
        if end <= begin:
            raise PydanticCustomError("time_range_order", "{given} ends before it starts", {"given": repr(item)})
        out.append((begin, end))
    return tuple(sorted(out))


def _month_day(text: str) -> str:
    try:
        month, day = (int(part) for part in text.split("-"))
        date(2024, month, day)  # a leap year: 02-29 is a day
    except ValueError:
        raise PydanticCustomError("month_day", "{given} is not a day of the year like 06-14",
                                  {"given": repr(text)}) from None
    return text


Ranges = Annotated[tuple[tuple[time, time], ...], PlainValidator(_ranges)]
Status = Annotated[str, AfterValidator(one_of(STATUSES))]
Purpose = Annotated[str, AfterValidator(one_of(PURPOSES))]
Exemption = Annotated[str, AfterValidator(one_of(EXEMPTIONS))]
Requirement = Annotated[str, AfterValidator(one_of(REQUIREMENTS))]
LineType = Annotated[str, AfterValidator(one_of(LINE_TYPES))]


class _Shape(Shape):
    # Names and versions are text; an unquoted number is read as the text it looks like.
    # Built at the first load_packs, not at import: start-up does not read the packs.
    model_config = ConfigDict(coerce_numbers_to_str=True, defer_build=True)


class _Section(_Shape):
    source: str | None = None
    status: Status = "unverified"


class _Source(_Shape):
    title: str
    url: str | None = None
    status: Status = "unverified"


class _Week(_Shape):
    mon: Ranges
    tue: Ranges
    wed: Ranges
    thu: Ranges
    fri: Ranges
    sat: Ranges
    sun: Ranges


class _Windows(_Section):
    days: _Week
    pre_holiday: Ranges | None = None


class _Holidays(_Section):
    blocked: bool = True


class _Ebr(_Shape):
    purchase_months: int = 0
    inquiry_months: int = 0


class _Registry(_Section):
    name: str
    max_age_days: int
    applies_to: list[Purpose] | None = None
    exemptions: list[Exemption] | None = None
    ebr: _Ebr | None = None
    contract_grace_days: int = 0
    business_exempt: bool = False


class _ExtraHoliday(_Shape):
    name: str
    date: Annotated[str, AfterValidator(_month_day)] | None = None
    easter: int | None = None
    monday_before: bool = False

    @model_validator(mode="after")
    def _one_rule(self) -> _ExtraHoliday:
        if (self.date is None) == (self.easter is None):
            raise ValueError("give either date (MM-DD) or easter (days from Easter Sunday)")
        return self


class _Region(_Section):
    name: str
    area_codes: list[Annotated[str, AfterValidator(nanp_area_code)]]
    purposes: list[Purpose]
    days: _Week
    max_calls_per_day: int | None = None
    holidays: bool = False
    extra_holidays: list[_ExtraHoliday] | None = None
    automated_only: bool = False


class _Automated(_Section):
    # Per purpose; `requires: consent` with `purposes: [...]` is read as that requirement for each.
    requires: dict[Purpose, Requirement]

    @model_validator(mode="before")
    @classmethod
    def _one_for_all(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or isinstance(data.get("requires"), Mapping):
            return data
        purposes = data.get("purposes") or []
        if not isinstance(purposes, list):
            raise PydanticCustomError("purposes", "purposes must be a list of purposes")
        rest = {key: value for key, value in data.items() if key != "purposes"}
        return {**rest, "requires": {str(p): data.get("requires", "written_consent") for p in purposes}}


class _OptIn(_Section):
    purposes: list[Purpose] | None = None
    consumers_only: bool = True
    customer_months: int = 0
    legal_persons_exempt: bool = False
    customer_purposes: list[Purpose] | None = None
    similar_only: bool = False


class _Courtesy(_Shape):
    """courtesy.yaml, or a pack's `courtesy:` section: each value set replaces the base one."""

    version: str | None = None
    same_offer_cooldown_days: int | None = None
    max_attempts_per_day: int | None = None
    max_attempts_per_week: int | None = None
    retry_spacing_minutes: dict[str, int] | None = None
    abandoned_no_retry_hours: int | None = None
    abandoned_then_operator: bool | None = None
    refused_line_types: dict[LineType, str] | None = None


class _PackFile(_Shape):
    country: str
    name: str
    version: str
    # A YAML date (unquoted 2025-04-11), never a text that happens to parse.
    effective_date: Annotated[date, Strict()]
    sources: dict[str, _Source] | None
    windows: _Windows
    holidays: _Holidays | None = None
    registry: _Registry | None = None
    automated: _Automated | None = None
    opt_in: _OptIn | None = None
    courtesy: _Courtesy | None = None
    regions: dict[str, _Region] | None = None


def _extra(holiday: _ExtraHoliday) -> ExtraHoliday:
    month, day = (int(part) for part in holiday.date.split("-")) if holiday.date else (None, None)
    return ExtraHoliday(holiday.name, month, day, holiday.easter, holiday.monday_before)


def _courtesy(section: _Courtesy | None, base: Courtesy) -> Courtesy:
    if section is None:
        return base
    values: dict[str, Any] = section.model_dump(exclude_none=True)
    for merged in ("retry_spacing_minutes", "refused_line_types"):
        if merged in values:
            values[merged] = {**getattr(base, merged), **values[merged]}
    return replace(base, **values)


def _registry(section: _Registry | None) -> RegistryRule | None:
    if section is None:
        return None
    ebr = section.ebr or _Ebr()
    return RegistryRule(
        name=section.name,
        max_age_days=section.max_age_days,
        applies_to=frozenset(section.applies_to or ()),
        exemptions=frozenset(section.exemptions or ()),
        ebr_purchase_months=ebr.purchase_months,
        ebr_inquiry_months=ebr.inquiry_months,
        contract_grace_days=section.contract_grace_days,
        business_exempt=section.business_exempt,
        status=section.status,
    )


def _opt_in(section: _OptIn | None) -> OptInRule | None:
    if section is None:
        return None
    return OptInRule(
        purposes=frozenset(section.purposes or ()),
        consumers_only=section.consumers_only,
        customer_months=section.customer_months,
        status=section.status,
        legal_persons_exempt=section.legal_persons_exempt,
        customer_purposes=frozenset(section.customer_purposes) if section.customer_purposes is not None else None,
        similar_only=section.similar_only,
    )


def _pack(file: _PackFile, courtesy: Courtesy) -> RulePack:
    sections: dict[str, _Section | None] = {
        "windows": file.windows, "holidays": file.holidays, "registry": file.registry,
        "automated": file.automated, "opt_in": file.opt_in,
    }
    return RulePack(
        country=file.country.upper(),
        name=file.name,
        version=file.version,
        effective_date=file.effective_date,
        sources={key: source.model_dump(exclude_unset=True) for key, source in (file.sources or {}).items()},
        days=tuple(getattr(file.windows.days, day) for day in DAYS),
        pre_holiday=file.windows.pre_holiday or None,
        holidays_blocked=file.holidays.blocked if file.holidays is not None else True,
        registry=_registry(file.registry),
        automated=AutomatedRule(requires=file.automated.requires, status=file.automated.status)
        if file.automated is not None else None,
        opt_in=_opt_in(file.opt_in),
        courtesy=_courtesy(file.courtesy, courtesy),
        statuses={name: section.status for name, section in sections.items() if section is not None},
        regions=tuple(
            RegionRule(code=code, name=region.name, area_codes=frozenset(region.area_codes),
                       purposes=frozenset(region.purposes), days=tuple(getattr(region.days, d) for d in DAYS),
                       max_calls_per_day=region.max_calls_per_day, source=region.source, status=region.status,
                       holidays=region.holidays, automated_only=region.automated_only,
                       extra_holidays=tuple(_extra(h) for h in region.extra_holidays or ()))
            for code, region in (file.regions or {}).items()),
    )


ShapeT = TypeVar("ShapeT", bound=BaseModel)


def _read(path: Path, shape: type[ShapeT]) -> ShapeT:
    """The file checked against its shape; RulePackError naming every problem in it."""
    try:
        data = read_mapping(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RulePackError([f"{path.name}: {exc}"]) from None
    try:
        return shape.model_validate(data)
    except ValidationError as error:
        found = problems(error, shape, data)
        raise RulePackError([f"{path.name}: {where}: {what}" for where, what in found]) from None


def _read_pack(path: Path, base: Courtesy) -> RulePack:
    pack = _pack(_read(path, _PackFile), base)
    if pack.country != path.stem.upper():
        raise RulePackError([f"{path.name}: country: {pack.country} does not match the file name"])
    unknown = [r.code for r in pack.regions if r.holidays and not _knows_holidays(pack.country, r.code)]
    if unknown:
        raise RulePackError([f"{path.name}: regions.{code}.holidays: python-holidays has no calendar for "
                             f"{pack.country}-{code}" for code in unknown])
    return pack


def _knows_holidays(country: str, subdivision: str) -> bool:
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        return False
    return True


@functools.lru_cache(maxsize=8)
def load_packs(directory: Path = RULES_DIR) -> dict[str, RulePack]:
    """All packs in `directory`, by ISO country code (cached; files are read once). Raises one
    RulePackError naming every problem in every file."""
    found: list[str] = []
    try:
        base = base_courtesy(directory)
    except RulePackError as exc:
        found.extend(exc.problems)
        base = Courtesy()
    packs: dict[str, RulePack] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "courtesy.yaml":
            continue
        try:
            pack = _read_pack(path, base)
        except RulePackError as exc:
            found.extend(exc.problems)
            continue
        packs[pack.country] = pack
    if found:
        raise RulePackError(found)
    return packs


@functools.lru_cache(maxsize=8)
def base_courtesy(directory: Path = RULES_DIR) -> Courtesy:
    """The courtesy rules every pack starts from (courtesy.yaml)."""
    path = directory / "courtesy.yaml"
    return _courtesy(_read(path, _Courtesy), Courtesy()) if path.exists() else Courtesy()


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
