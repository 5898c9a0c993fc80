"""National do-not-call registries: streamed import of full copies, and screening.

A registry file is a plain list of numbers or a CSV (a header naming the number column, or
US/CA "area code,number" pairs). It is read line by line and inserted in batches with Core
(no ORM objects), so a 10M-number file needs memory for one batch only. Numbers are stored as
the integer of their E.164 digits under the import's id: the primary key (import_id, number)
is the screening index. Each import is a full snapshot; when it completes, the previous copy
of that country is marked superseded and its numbers deleted, so screening switches from the
old copy to the new one in one commit and never sees a half-imported file.

Why not a keyed hash: registry copies are licensed lists, not data about our contacts, and an
8-byte integer keeps the index small and the lookup a single B-tree probe.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, cast

import phonenumbers
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from app.consent.models import RegistryEntry, RegistryImport
from app.consent.packs import pack_for
from app.db import insert_skipping_duplicates
from app.refusals import Reason, Refusal

# Registries this code knows how to read (NL has none: the Bel-me-niet register is abolished).
REGISTRY_NAMES = {
    "US": "National Do Not Call Registry",
    "CA": "National Do Not Call List (DNCL)",
    "GB": "Telephone Preference Service (TPS/CTPS)",
    "IT": "Registro Pubblico delle Opposizioni",
}
# National numbers written with a trunk 0 that E.164 drops.
_DROP_TRUNK_ZERO = frozenset({"GB", "NL", "DE", "FR", "BE", "ES", "AT", "CH", "IE"})
_NUMBER_HEADERS = ("number", "phone", "phone_number", "telephone", "numero", "telefono", "e164", "msisdn")
_SPLIT = re.compile(r"[,;\t|]")
BATCH_SIZE = 20_000
MAX_SAMPLE_ERRORS = 20


class RegistryError(Refusal):
    """A registry import cannot proceed (unknown country, unreadable file)."""


@dataclass
class RegistryImportReport:
    import_id: int
    country: str
    numbers: int = 0
    rejected: int = 0
    duplicates: int = 0
    # (line number, reason) for the first rejected lines, so a bad file is easy to diagnose.
    errors: list[tuple[int, str]] = field(default_factory=list)


def normalise(raw: str, country: str, calling_code: int) -> int | None:
    """A registry line's number as the integer of its E.164 digits, or None when it is not one."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if text.startswith("+"):
        e164 = digits
    elif digits.startswith("00"):
        e164 = digits[2:]
    elif country in ("US", "CA"):
        if len(digits) == 10:
            e164 = "1" + digits
        elif len(digits) == 11 and digits.startswith("1"):
            e164 = digits
        else:
            return None
    elif country in _DROP_TRUNK_ZERO and digits.startswith("0"):
        e164 = f"{calling_code}{digits[1:]}"
    else:
        # Italian numbers keep their leading 0 (fixed) or 3 (mobile) after +39.
        e164 = f"{calling_code}{digits}"
    if not 8 <= len(e164) <= 15 or e164.startswith("0"):
        return None
    return int(e164)


def e164_key(e164: str) -> int:
    """The stored form of an E.164 number ("+12125550123" -> 12125550123)."""
    return int(e164.lstrip("+"))


def _numbers(lines: Iterable[str], country: str, report: RegistryImportReport) -> Iterator[int]:
    calling_code = phonenumbers.country_code_for_region(country)
    column: int | None = None
    for line_no, line in enumerate(lines, start=1):
        text = line.strip().lstrip("\ufeff")
        if not text or text.startswith("#"):
            continue
        fields = [f.strip().strip('"') for f in _SPLIT.split(text)] if _SPLIT.search(text) else [text]
        if column is None and line_no == 1 and not any(c.isdigit() for c in text):
            column = _header_column(fields, line_no)
            continue
        raw = _pick(fields, column, country)
        number = normalise(raw, country, calling_code)
        if number is None:
            report.rejected += 1
            if len(report.errors) < MAX_SAMPLE_ERRORS:
                report.errors.append((line_no, Reason("line_not_country_number",
                                                      f"not a {country} phone number: {raw[:40]!r}",
                                                      country=country, value=raw[:40])))
            continue
        report.numbers += 1
        yield number


def _header_column(fields: list[str], line_no: int) -> int:
    names = [f.lower() for f in fields]
    for name in _NUMBER_HEADERS:
        if name in names:
            return names.index(name)
    raise RegistryError("registry_no_number_column",
                        f"line {line_no}: header {fields!r} names no number column ({', '.join(_NUMBER_HEADERS)})",
                        line=str(line_no), known=", ".join(_NUMBER_HEADERS))


def _pick(fields: list[str], column: int | None, country: str) -> str:
    if column is not None:
        return fields[column] if column < len(fields) else ""
    # The FTC/CRTC downloads: "area code,number" (3 + 7 digits).
    if country in ("US", "CA") and len(fields) >= 2 and len(fields[0]) == 3 and len(fields[1]) == 7:
        return fields[0] + fields[1]
    return fields[0]


def import_registry(
    session: Session,
    country: str,
    source: IO[bytes] | Path | str,
    *,
    at: datetime,
    obtained_at: datetime | None = None,
    file_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> RegistryImportReport:
    """Import a full registry copy for `country`; returns counts and the first bad lines.

    `progress` is called with the number of bytes read so far (for a progress bar).
    The caller commits; until then screening keeps using the previous copy.
    """
    country = country.upper()
    if country not in REGISTRY_NAMES:
        raise RegistryError("registry_unknown_country",
                            f"no do-not-call registry for {country} (known: {', '.join(REGISTRY_NAMES)})",
                            country=country, known=", ".join(REGISTRY_NAMES))
    pack = pack_for(country)
    name = pack.registry.name if pack and pack.registry else REGISTRY_NAMES[country]
    # A path is opened (and closed below) here; a stream the caller passed stays the caller's.
    stream, owned = (open(source, "rb"), True) if isinstance(source, (str, Path)) else (source, False)  # noqa: SIM115
    file_name = file_name or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    record = RegistryImport(country=country, registry_name=name, file_name=file_name[:255],
                            obtained_at=obtained_at or at, started_at=at, status="running")
    session.add(record)
    session.flush()
    report = RegistryImportReport(import_id=record.id, country=country)
    digest = hashlib.sha256()
    try:
        _load(session, record.id, _decoded(stream, digest, progress), country, report, batch_size)
    finally:
        if owned:
            stream.close()
    _complete(session, record, report, digest.hexdigest(), at)
    return report


def _decoded(stream: IO[bytes], digest: hashlib._Hash, progress: Callable[[int], None] | None) -> Iterator[str]:
    read = 0
    for raw in stream:
        digest.update(raw)
        read += len(raw)
        if progress is not None and read % (1 << 20) < len(raw):
            progress(read)
        yield raw.decode("utf-8", errors="replace")
    if progress is not None:
        progress(read)


def _load(session: Session, import_id: int, lines: Iterable[str], country: str,
          report: RegistryImportReport, batch_size: int) -> None:
    statement = insert_skipping_duplicates(session, cast(Table, RegistryEntry.__table__))
    connection = session.connection()
    batch: list[dict[str, int]] = []
    for number in _numbers(lines, country, report):
        batch.append({"import_id": import_id, "number": number})
        if len(batch) >= batch_size:
            connection.execute(statement, batch)
            batch = []
    if batch:
        connection.execute(statement, batch)


def _complete(session: Session, record: RegistryImport, report: RegistryImportReport,
              sha256: str, at: datetime) -> None:
    connection = session.connection()
    stored = connection.execute(
        select(func.count()).select_from(RegistryEntry).where(RegistryEntry.import_id == record.id)
    ).scalar_one()
    # Lines accepted minus numbers stored: the same number listed twice in the file.
    report.duplicates = report.numbers - int(stored)
    report.numbers = int(stored)
    older = [r for r in session.scalars(
        select(RegistryImport.id).where(RegistryImport.country == record.country,
                                        RegistryImport.id != record.id,
                                        RegistryImport.status == "complete"))]
    if older:
        connection.execute(delete(RegistryEntry).where(RegistryEntry.import_id.in_(older)))
        connection.execute(update(RegistryImport).where(RegistryImport.id.in_(older)).values(status="superseded"))
    record.status = "complete"
    record.finished_at = at
    record.sha256 = sha256
    record.numbers = report.numbers
    record.rejected_lines = report.rejected
    session.flush()


def current_import(session: Session, country: str | None) -> RegistryImport | None:
    """The latest complete copy for a country (None if none was ever imported)."""
    if not country:
        return None
    return session.scalars(
        select(RegistryImport)
        .where(RegistryImport.country == country.upper(), RegistryImport.status == "complete")
        .order_by(RegistryImport.id.desc()).limit(1)
    ).first()


def is_listed(session: Session, import_id: int, e164: str) -> bool:
    return session.execute(
        select(RegistryEntry.number).where(RegistryEntry.import_id == import_id,
                                           RegistryEntry.number == e164_key(e164))
    ).first() is not None


def screen(session: Session, country: str, e164s: Iterable[str], chunk: int = 500) -> set[str]:
    """The numbers among `e164s` that are on the current registry copy of `country`.

    Raises RegistryError when there is no copy: "not screened" must never look like "clean".
    """
    current = current_import(session, country)
    if current is None:
        raise RegistryError("registry_not_imported", f"no {country} registry copy imported", country=country)
    listed: set[str] = set()
    pending: list[str] = []
    for e164 in e164s:
        pending.append(e164)
        if len(pending) >= chunk:
            listed |= _screen_chunk(session, current.id, pending)
            pending = []
    if pending:
        listed |= _screen_chunk(session, current.id, pending)
    return listed


def _screen_chunk(session: Session, import_id: int, e164s: list[str]) -> set[str]:
    keys = {e164_key(n): n for n in e164s}
    found = session.scalars(
        select(RegistryEntry.number).where(RegistryEntry.import_id == import_id,
                                           RegistryEntry.number.in_(list(keys)))
    )
    return {keys[n] for n in found}
