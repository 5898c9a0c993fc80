"""Warranty decisions: is this unit still covered, and why (or why not)?

Pure functions over configurable terms (warranty.yaml of the app's flows directory, company
data read at start like offers.yaml: app.datafiles): the commercial
warranty of the product (SKU override, product row, category, default) and the consumer legal
guarantee of the country of sale (none where the law sets no fixed period, as in the UK). The
unit is covered while either runs, and each cover is said with its own end date. Purchase dates come from the keypad
(DDMMYYYY) or from speech (dateparser, in the caller's language).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dateparser
from dateparser.search import search_dates
from dateutil.relativedelta import relativedelta

from app.datafiles import DataFile, DataFileError
from app.flows import vocab
from app.yamlfile import read_mapping

# Outcome reasons (stored on the claim and spoken back through the flow's prompts).
REASON_COMMERCIAL = "commercial_warranty"
REASON_LEGAL = "legal_guarantee"
REASON_EXPIRED = "expired"
REASON_FUTURE_DATE = "purchase_in_future"
REASON_UNKNOWN_SERIAL = "unknown_serial"
REASON_NO_DATE = "purchase_date_unknown"


@dataclass(frozen=True)
class WarrantyTerms:
    default_country: str = "IT"
    default_commercial_months: int = 12
    # None: the country's law sets no fixed guarantee period (no legal end date can be said).
    legal_guarantee_months: dict[str, int | None] = field(default_factory=lambda: {"default": 24})
    categories: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)

    def legal_months(self, country: str | None) -> int | None:
        table = self.legal_guarantee_months
        key = (country or self.default_country).upper()
        return table[key] if key in table else table.get("default", 24)

    def commercial_months(self, sku: str | None, product_months: int | None, category: str | None) -> int:
        if sku and sku in self.products:
            return int(self.products[sku])
        if product_months is not None:
            return int(product_months)
        if category and category in self.categories:
            return int(self.categories[category])
        return self.default_commercial_months


def _months_table(raw: Any, what: str, *, none_allowed: bool = False) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"warranty terms: {what} must be a mapping")
    table: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None and none_allowed:
            table[str(key)] = None
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"warranty terms: {what}.{key} must be a whole number of months")
        else:
            table[str(key)] = value
    return table


def parse_terms(data: dict[str, Any]) -> WarrantyTerms:
    """Validate terms read from YAML; raise ValueError naming the bad entry."""
    legal = _months_table(data.get("legal_guarantee_months"), "legal_guarantee_months", none_allowed=True)
    legal = {k.upper() if k != "default" else k: v for k, v in legal.items()}
    default_months = data.get("default_commercial_months", 12)
    if not isinstance(default_months, int) or default_months < 0:
        raise ValueError("warranty terms: default_commercial_months must be a whole number of months")
    return WarrantyTerms(
        default_country=str(data.get("default_country", "IT")).upper(),
        default_commercial_months=default_months,
        legal_guarantee_months=legal or {"default": 24},
        categories=_months_table(data.get("categories"), "categories"),
        products=_months_table(data.get("products"), "products"),
    )


def read_terms(path: Path) -> WarrantyTerms:
    """The terms in `path`; raises DataFileError naming the file and the problem. Required: no
    default could say the legal guarantee of the countries a company sells in."""
    try:
        return parse_terms(dict(read_mapping(path.read_text(encoding="utf-8"))))
    except FileNotFoundError:
        raise DataFileError([f"{path}: missing (the warranty terms a warranty claim is decided by; "
                             "start from the repository's flows/warranty.yaml)"]) from None
    except ValueError as exc:  # read_mapping's, parse_terms' and a file that is not UTF-8
        raise DataFileError([f"{path}: {exc}"]) from None


# The app's terms: warranty.yaml of its flows directory, read at start (app.support.init_app).
TERMS = DataFile("warranty.yaml", read_terms)


@dataclass(frozen=True)
class WarrantyDecision:
    covered: bool
    reason: str
    covered_until: date | None  # the last day any cover runs
    warranty_until: date | None = None  # the manufacturer's (commercial) warranty's last day
    legal_until: date | None = None  # the legal guarantee's; None where the law sets no period

    @property
    def outcome(self) -> str:
        return "accepted" if self.covered else "refused"


def decide(
    *,
    purchased_on: date,
    today: date,
    country: str | None,
    sku: str | None = None,
    product_months: int | None = None,
    category: str | None = None,
    terms: WarrantyTerms | None = None,
) -> WarrantyDecision:
    """Covered while the longer of commercial warranty and legal guarantee still runs (inclusive)."""
    terms = terms or TERMS.current()
    if purchased_on > today:
        return WarrantyDecision(False, REASON_FUTURE_DATE, None)
    commercial_end = purchased_on + relativedelta(months=terms.commercial_months(sku, product_months, category))
    legal_months = terms.legal_months(country)
    legal_end = None if legal_months is None else purchased_on + relativedelta(months=legal_months)
    until = max(commercial_end, legal_end or commercial_end)
    ends = {"warranty_until": commercial_end, "legal_until": legal_end}
    if today > until:
        return WarrantyDecision(False, REASON_EXPIRED, until, **ends)
    # Name the manufacturer's warranty while it runs: the caller's claim goes to the maker.
    reason = REASON_COMMERCIAL if today <= commercial_end else REASON_LEGAL
    return WarrantyDecision(True, reason, until, **ends)


# --------------------------------------------------------------------------------------------
# Purchase dates

# "Il primo marzo": the words for the first day of a month are the concept first_of_month of
# vocab/<lang>.yaml of the flows directory; dateparser reads the "1" they become.


def parse_keypad_date(digits: str) -> date | None:
    """DDMMYYYY (or DDMMYY, read as 20YY) typed on the keypad; None when it is not a date."""
    text = re.sub(r"\D", "", digits or "")
    if len(text) == 6:
        text = text[:4] + "20" + text[4:]
    if len(text) != 8:
        return None
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        return None


def parse_spoken_date(text: str, language: str, today: date) -> date | None:
    """A date said in words ("il 3 marzo 2024", "vorige maand", "last May"), or None."""
    first = set(vocab.for_language(language).concepts.get("first_of_month", ()))
    cleaned = " ".join("1" if word in first else word for word in (text or "").lower().split())
    if not cleaned.strip():
        return None
    settings = {
        "PREFER_DATES_FROM": "past",
        "DATE_ORDER": "MDY" if language == "en-US" else "DMY",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day),
        "PREFER_DAY_OF_MONTH": "first",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateparser warns about pytz/regex internals
        found = dateparser.parse(cleaned, languages=[language], settings=settings)
        if found is None:
            matches = search_dates(cleaned, languages=[language], settings=settings) or []
            found = matches[-1][1] if matches else None
    return found.date() if found else None


def parse_purchase_date(value: str, language: str, today: date) -> date | None:
    """Keypad digits first (they are unambiguous), then words."""
    text = (value or "").strip()
    if re.fullmatch(r"[\d\s#*]+", text):
        return parse_keypad_date(text)
    return parse_spoken_date(text, language, today)
