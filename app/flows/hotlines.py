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
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from app import phone
from app.flows.hours import HoursError, hotline_hours
from app.i18n import LANGUAGES
from app.yamlfile import load_yaml

FIELDS = {"name", "flow", "language", "time_zone", "country", "company", "operator"}


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
    pass


def load_hotlines(path: Path, *, company: str, flows: set[str] | None = None) -> Hotlines:
    """Read and check hotlines.yaml; a missing file means one default hotline."""
    raw: Mapping[str, Any] = {}
    if path.exists():
        try:
            raw = load_yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise HotlineError(f"{path.name}: not valid YAML: {exc}") from None
    defaults = {"flow": "support_hotline", "company": company, "name": "default", **(raw.get("defaults") or {})}
    default = _build(None, defaults, path.name + ": defaults", flows)
    by_number: dict[str, Hotline] = {}
    for number, spec in (raw.get("hotlines") or {}).items():
        where = f"{path.name}: hotline {number}"
        try:
            e164 = phone.parse(str(number)).e164
        except phone.InvalidNumber as exc:
            raise HotlineError(f"{where}: {exc}") from None
        by_number[e164] = _build(e164, {**defaults, **(spec or {})}, where, flows)
    return Hotlines(default=default, by_number=by_number)


def _build(number: str | None, spec: Mapping[str, Any], where: str, flows: set[str] | None) -> Hotline:
    unknown = set(spec) - FIELDS
    if unknown:
        raise HotlineError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(FIELDS)}")
    zone = str(spec.get("time_zone") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HotlineError(f"{where}: time_zone {zone!r} is not an IANA zone") from None
    language = spec.get("language")
    if language is not None and language not in LANGUAGES:
        raise HotlineError(f"{where}: language {language!r} must be one of {', '.join(LANGUAGES)}")
    flow = str(spec["flow"])
    if flows is not None and flow not in flows:
        raise HotlineError(f"{where}: flow {flow!r} does not exist")
    hotline = Hotline(
        number=number, name=str(spec.get("name") or number or "default"), flow=flow,
        company=str(spec["company"]), time_zone=zone,
        country=(str(spec["country"]).upper() if spec.get("country") else None),
        language=language, operator=spec.get("operator"),
    )
    try:
        hotline_hours(hotline)
    except HoursError as exc:
        raise HotlineError(f"{where}: operator {exc}") from None
    return hotline
