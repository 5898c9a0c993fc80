"""Which flow answers which number: flows/hotlines.yaml.

```yaml
defaults: {flow: support_hotline, company: Cortese, time_zone: Europe/Rome, country: IT}
hotlines:
  "+390212345678":
    name: Assistenza Italia
    language: it            # optional: else the caller's country decides
    operator: {queue: support, number: "+390298765432", max_queue: 10,
               hours: {mon: "09:00-18:00", ..., sun: closed}}
```
Every hotline inherits `defaults`; a number not listed is answered with the defaults, so a
new Twilio number never meets silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict
from pydantic_core import PydanticCustomError

from app import phone
from app.flows.hours import HoursError, hotline_hours
from app.i18n import LANGUAGES
from app.refusals import split_field
from app.yamlfile import Shape, one_of, read_mapping, read_shape


@dataclass(frozen=True)
class Hotline:
    number: str | None
    name: str
    flow: str
    company: str
    time_zone: str = "UTC"
    country: str | None = None
    language: str | None = None
    operator: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass
class Hotlines:
    default: Hotline
    by_number: dict[str, Hotline]

    def for_number(self, number: str | None) -> Hotline:
        parsed = phone.parse_caller(number)
        if parsed is not None and parsed.e164 in self.by_number:
            return self.by_number[parsed.e164]
        return self.default

    def all(self) -> list[Hotline]:
        return [self.default, *self.by_number.values()]


class HotlineError(ValueError):
    """hotlines.yaml cannot be used: every problem, each naming the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- the file's shape ----------------------------------------------------------------------


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("time_zone", "{given} is not an IANA time zone", {"given": repr(name)}) from None
    return name


def _dialable(number: str) -> str:
    """A number an operator answers (kept as written): a phone number, not a drama one."""
    try:
        e164 = phone.parse(number).e164
    except phone.InvalidNumber as exc:
        raise PydanticCustomError("phone", "{given}: {reason}", {"given": repr(number), "reason": exc.reason}) from None
    if phone.is_drama(e164):
        raise PydanticCustomError("phone", "{given} is reserved for TV and radio drama: no line answers it",
                                  {"given": repr(number)})
    return number


class _Shape(Shape):
    # Names and queues are text; an unquoted number is read as the text it looks like.
    model_config = ConfigDict(coerce_numbers_to_str=True)


class _Hours(_Shape):
    """Opening hours per day (app/flows/hours.py reads the ranges); a day left out is closed."""

    mon: Any = None
    tue: Any = None
    wed: Any = None
    thu: Any = None
    fri: Any = None
    sat: Any = None
    sun: Any = None


class _Operator(_Shape):
    queue: str | None = None
    number: Annotated[str, AfterValidator(_dialable)] | None = None
    max_queue: int | None = None
    hours: _Hours | None = None


class _Hotline(_Shape):
    """A hotline, or the defaults every hotline starts from: each key it sets replaces them."""

    name: str | None = None
    flow: str | None = None
    language: Annotated[str, AfterValidator(one_of(LANGUAGES))] | None = None
    time_zone: Annotated[str, AfterValidator(_zone)] | None = None
    country: str | None = None
    company: str | None = None
    operator: _Operator | None = None


class _HotlinesFile(_Shape):
    # Each hotline is read on its own (_Hotline): a mistake in one leaves the others checked.
    defaults: Any = None
    hotlines: dict[str, Any] | None = None


# --- loading -------------------------------------------------------------------------------


def load_hotlines(path: Path, *, company: str, flows: set[str] | None = None) -> Hotlines:
    """Read and check hotlines.yaml (a missing file means one default hotline); raise one
    HotlineError naming every problem."""
    file, found = _read(path)
    given, said = read_shape(_Hotline, file.defaults or {}, "defaults")
    found.extend(said)
    defaults = {"flow": "support_hotline", "company": company, "name": "default", **_given(given)}
    default = _build(None, defaults, _origin("defaults", given), flows, found)
    by_number: dict[str, Hotline] = {}
    for number, raw in (file.hotlines or {}).items():
        where = f"hotlines.{number}"
        try:
            e164 = phone.parse(number).e164
        except phone.InvalidNumber as exc:
            found.append(f"{where}: {exc}")
            continue
        spec, said = read_shape(_Hotline, raw or {}, where)
        found.extend(said)
        if said or spec is None:
            continue  # its own mistakes first: the checks across keys need it whole
        by_number[e164] = _build(e164, {**defaults, **_given(spec)},
                                 {**_origin("defaults", given), **_origin(where, spec)}, flows, found)
    if found:
        raise HotlineError([f"{path.name}: {p}" for p in dict.fromkeys(found)])  # an inherited one once
    return Hotlines(default=default, by_number=by_number)


def _read(path: Path) -> tuple[_HotlinesFile, list[str]]:
    """The file's top level and its problems (HotlineError when it cannot be read at all)."""
    if not path.exists():
        return _HotlinesFile(), []
    try:
        data = read_mapping(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise HotlineError([f"{path.name}: {exc}"]) from None
    file, said = read_shape(_HotlinesFile, data)
    return file or _HotlinesFile(), said


def _given(spec: _Hotline | None) -> dict[str, Any]:
    """The keys a hotline (or the defaults) sets, as plain data."""
    return spec.model_dump(exclude_unset=True) if spec is not None else {}


def _origin(where: str, spec: _Hotline | None) -> dict[str, str]:
    """Key -> the path it was written at, so a problem is named where it can be fixed."""
    return {key: f"{where}.{key}" for key in _given(spec)}


def _build(number: str | None, spec: Mapping[str, Any], origin: Mapping[str, str],
           flows: set[str] | None, found: list[str]) -> Hotline:
    """The hotline, after the checks the file's shape cannot make: its flow exists, its
    operator hours can be read in its zone and country."""
    flow = str(spec["flow"])
    if flows is not None and flow not in flows:
        found.append(f"{origin.get('flow', 'defaults.flow')}: {flow!r} does not exist")
    hotline = Hotline(
        number=number, name=str(spec.get("name") or number or "default"), flow=flow,
        company=str(spec["company"]), time_zone=str(spec.get("time_zone") or "UTC"),
        country=(str(spec["country"]).upper() if spec.get("country") else None),
        language=spec.get("language"), operator=spec.get("operator"),
    )
    try:
        hotline_hours(hotline)
    except HoursError as exc:
        key, message = split_field(str(exc))
        # hours.py names "hours.<day>" (inside operator) or the hotline's time_zone or country.
        at = f"{origin.get('operator', 'operator')}.{key}" if key.startswith("hours") else origin.get(key, key)
        found.append(f"{at}: {message}")
    return hotline
