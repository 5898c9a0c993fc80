"""Offer and appeal codes: one normal form everywhere, the offer a campaign belongs to, and
which offers are similar (the Dutch customer exception).

`normalise` is applied at every entry (API, CLI, console, CSV imports: through the models'
validators) and again wherever codes are compared, so `FIBRA-1G`, ` fibra-1g ` and `fibra_1g`
are one offer. `campaign_offer` gives every campaign an offer or appeal: the one it names, or
one derived from its purpose and reason, so the courtesy rule "not the same offer again within
N days" holds for surveys and charity appeals too. `category` reads offers.yaml of the app's
flows directory (company data: which offers are of one kind), used for "the company's own
similar products" (Telecommunicatiewet art. 11.7 and sector self-regulation).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import ConfigDict, ValidationError
from sqlalchemy.orm import validates

from app.datafiles import DataFile, DataFileError
from app.refusals import Refusal
from app.yamlfile import Shape, problems, read_mapping

MAX_LENGTH = 64
_SEPARATORS = re.compile(r"[\s_/]+")
_VALID = re.compile(r"^[a-z0-9][a-z0-9.:+-]*$")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


class OfferCodeError(Refusal):
    """An offer code that cannot be normalised (empty, too long, odd characters)."""

    def __init__(self, message: str) -> None:
        super().__init__("offer_code", message)


def normalise(code: str | None) -> str | None:
    """The one form of an offer code: lower case, trimmed, spaces/underscores as hyphens.

    None or blank gives None; anything else that is not a plain code raises OfferCodeError.
    """
    if code is None:
        return None
    text = unicodedata.normalize("NFKC", str(code)).strip().casefold()
    if not text:
        return None
    text = _SEPARATORS.sub("-", text)
    if len(text) > MAX_LENGTH:
        raise OfferCodeError(f"offer code {code!r}: longer than {MAX_LENGTH} characters")
    if not _VALID.match(text):
        raise OfferCodeError(f"offer code {code!r}: use letters, digits and - . : + only")
    return text


def normalise_all(codes: Iterable[str] | None) -> list[str]:
    """Normalised, de-duplicated, in their first order (blank ones dropped)."""
    out: list[str] = []
    for code in codes or ():
        value = normalise(code)
        if value is not None and value not in out:
            out.append(value)
    return out


def lenient(code: str | None) -> str | None:
    """Normalise for comparison; a code that cannot be normalised is only trimmed and lowered
    (data recorded before the rule must still compare, never crash a decision)."""
    try:
        return normalise(code)
    except OfferCodeError:
        return str(code).strip().casefold() or None


def derived_offer(purpose: str, reason: Mapping[str, str] | None, languages: Iterable[str] = ()) -> str:
    """The appeal a campaign without an offer belongs to: its purpose and why it calls.

    Two campaigns with the same purpose and the same reason (in their first language) are the
    same appeal, so a second run is not put to the same people again the next day.
    """
    texts = reason or {}
    order = [lang for lang in languages if lang in texts] + sorted(texts)
    text = texts[order[0]] if order else ""
    flat = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    slug = _SLUG_DROP.sub("-", flat).strip("-")[:32].strip("-") or "general"
    digest = hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()[:8]
    return f"{purpose}:{slug}-{digest}"


def campaign_offer(purpose: str, offer_id: str | None, reason: Mapping[str, str] | None,
                   languages: Iterable[str] = ()) -> str:
    """The offer a campaign belongs to: the one it names (normalised) or the derived appeal."""
    return normalise(offer_id) or derived_offer(purpose, reason, languages)


class _Catalogue(Shape):
    # Built when a catalogue is first read, not at import (commands that never read one).
    model_config = ConfigDict(coerce_numbers_to_str=True, defer_build=True)

    version: str = "offers-0"  # the file's own edition, for whoever edits it
    categories: dict[str, list[str] | None] | None = None


def read_catalogue(path: Path) -> tuple[tuple[str, str], ...]:
    """The catalogue's (normal-form pattern, category) pairs; raises DataFileError naming every
    problem in the file. No file: no categories (the customer exception then never applies)."""
    try:
        data = read_mapping(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError as exc:
        raise DataFileError([f"{path}: {exc}"]) from None
    try:
        catalogue = _Catalogue.model_validate(data)
    except ValidationError as error:
        found = problems(error, _Catalogue, data)
        raise DataFileError([f"{path}: {where}: {what}" for where, what in found]) from None
    return tuple((_SEPARATORS.sub("-", member.strip().casefold()), name)
                 for name, members in (catalogue.categories or {}).items() for member in members or ())


# The app's catalogue: offers.yaml of its flows directory, read at start (app.consent.init_app).
CATALOGUE = DataFile("offers.yaml", read_catalogue)


def category(code: str | None) -> str | None:
    """The category of an offer (offers.yaml; `*` patterns allowed), None when not listed."""
    value = lenient(code)
    if value is None:
        return None
    for pattern, name in CATALOGUE.current():
        if fnmatchcase(value, pattern):
            return name
    return None


class NormalOfferId:
    """Model mixin: `offer_id` is stored in its normal form whoever sets it (a code that has
    none is refused with OfferCodeError)."""

    @validates("offer_id")
    def _normal_offer_id(self, _key: str, value: str | None) -> str | None:
        return normalise(value)


class ComparableOfferId:
    """Model mixin for records of what happened (decisions, attempts): the normal form when
    there is one, never an error (a record must not be lost over an odd legacy code)."""

    @validates("offer_id")
    def _comparable_offer_id(self, _key: str, value: str | None) -> str | None:
        return lenient(value)
