"""Contacts import from CSV: per-line errors, never a silent drop, idempotent re-import.

Columns (header row, case-insensitive): `number` and `source` are required; optional are
name, language, time_zone (wins over the number's candidate zones), country (default region
for numbers written without +CC), customer_ref, is_business, legal_person (a company, not a
sole trader or partnership), is_customer, customer_until,
last_purchase, last_inquiry, products (";"-separated offer ids the person already has),
consent_purposes (";"-separated), consent_at, consent_proof, consent_written, consent_channel,
consent_offers (";"-separated). An unknown header refuses the whole file (its data would be
lost on every row); a bad row is reported with its line number and reason, the others import.

Large files commit as they go, in transactions sized by time (`app.db.write_in_slices`: a
commit after about 50 ms of work, at most `commit_every` rows), so other writers — callers'
webhooks above all — wait at most about that long, however slow the machine; a transaction
that finds the database locked is rolled back and run again. Re-importing a file is idempotent, so an interrupted import is
finished by importing the same file again.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any, TypeVar

import dateparser
from sqlalchemy.orm import Session

from app import inputs, phone
from app.consent import ledger
from app.consent.contacts import find_by_number, get_or_create, update_contact
from app.consent.models import CHANNELS, PURPOSES
from app.consent.offers import OfferCodeError
from app.consent.packs import line_type_refusal, valid_zone
from app.db import bulk_pause, write_in_slices
from app.refusals import Reason, Refusal, reason_of

_LANGUAGES = ("it", "nl", "en")
REQUIRED = ("number", "source")
OPTIONAL = (
    "name", "language", "time_zone", "country", "customer_ref", "is_business", "legal_person", "is_customer",
    "customer_until", "last_purchase", "last_inquiry", "products", "consent_purposes", "consent_at",
    "consent_proof", "consent_written", "consent_channel", "consent_offers",
)
COLUMNS = REQUIRED + OPTIONAL
# The Garante has sanctioned lists from public directories and web scraping: refuse them.
_REFUSED_SOURCES = re.compile(
    r"scrap|crawl|spider|harvest|public director|phone ?book|telephone director|white ?pages|"
    r"yellow ?pages|pagine ?(bianche|gialle)|elenco telefonic|elenchi telefonic|telefoonboek|"
    r"telefoongids|gouden gids|web ?page|website list|found online",
    re.IGNORECASE,
)
_TRUE = {"1", "true", "yes", "y", "si", "sì", "ja", "x"}
_FALSE = {"0", "false", "no", "n", "nee", ""}
T = TypeVar("T")


class ImportRefused(Refusal):
    """The whole file cannot be imported (missing or unknown columns, not CSV)."""


class RowError(Refusal):
    """One row cannot be imported; the others still are."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, other: ImportReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors.extend(other.errors)


# At most this many rows per transaction when an import commits as it goes; time ends most
# transactions sooner (a row takes a few milliseconds).
COMMIT_EVERY = 500


def refused_source(source: str) -> Reason | None:
    """Why a source is refused, or None when it is acceptable."""
    if not source.strip():
        return Reason("line_source_missing", "missing source: say where the number came from")
    if _REFUSED_SOURCES.search(source):
        return Reason("line_source_refused", f"source {source.strip()!r} refused: numbers from public "
                      "directories or scraped web pages may not be used", value=source.strip()[:100])
    return None


def import_contacts_csv(
    session: Session,
    stream: IO[str],
    *,
    at: datetime,
    recorded_by: str,
    default_region: str | None = None,
    progress: Callable[[int], None] | None = None,
    commit_every: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ImportReport:
    """Import contacts from a CSV text stream. Raises ImportRefused. With `commit_every` the
    rows commit as they go (see `import_rows`); without, the caller commits."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("import_empty", "the file is empty (expected a header row)") from None
    except csv.Error as exc:
        raise ImportRefused("import_not_csv", f"line 1: not CSV ({exc})", detail=str(exc)) from None
    columns = [h.strip().lstrip("\ufeff").lower() for h in header]
    _check_header(columns)
    return import_rows(session, _rows(reader, columns), at=at, recorded_by=recorded_by,
                       default_region=default_region, progress=progress, commit_every=commit_every,
                       clock=clock)


def _check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ImportRefused("import_unknown_columns",
                            f"line 1: unknown column(s) {', '.join(unknown)}; known columns: {', '.join(COLUMNS)}",
                            unknown=", ".join(unknown), known=", ".join(COLUMNS))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportRefused("import_missing_columns", f"line 1: missing required column(s) {', '.join(missing)}",
                            missing=", ".join(missing))
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ImportRefused("import_duplicated_columns", f"line 1: duplicated column(s) {', '.join(duplicated)}",
                            duplicated=", ".join(duplicated))


def _rows(reader: Any, columns: list[str]) -> Iterable[tuple[int, dict[str, str] | str]]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, Reason("line_not_csv", f"not valid CSV ({exc})", detail=str(exc))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            yield reader.line_num, Reason(
                "line_too_many_values", f"unknown column: {len(cells)} values but the header names {len(columns)}",
                values=str(len(cells)), columns=str(len(columns)))
            continue
        yield reader.line_num, dict(zip(columns, (c.strip() for c in cells)))


def import_rows(
    session: Session,
    rows: Iterable[tuple[int, dict[str, str] | str]],
    *,
    at: datetime,
    recorded_by: str,
    default_region: str | None = None,
    progress: Callable[[int], None] | None = None,
    commit_every: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ImportReport:
    """Import (line number, row dict) pairs; a string instead of a dict is that line's error.

    Used by the CSV import and by the API (which passes JSON rows). Each row runs in a
    savepoint, so a row that fails halfway leaves nothing behind. With `commit_every`, rows
    commit as they go, in transactions of about 50 ms by `clock` and at most that many rows
    (see the module's doc); without, the caller commits.
    """
    work = partial(_import_chunk, session, at=at, recorded_by=recorded_by, default_region=default_region)
    if commit_every is None:
        every = list(rows)
        report = work(every, progress=progress)
        if progress is not None:
            progress(len(every))
        return report
    report, done = ImportReport(), 0
    for block in _blocks(rows, commit_every):
        def step(start: int, end: int, block: list[Any] = block) -> ImportReport:
            return work(block[start:end])

        def committed(count: int, before: int = done) -> None:
            if progress is not None:
                progress(before + count)

        for part in write_in_slices(session, len(block), step, per_step=1, clock=clock, committed=committed):
            report.add(part)
        done += len(block)
        time.sleep(bulk_pause(session))
    return report


def _blocks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """The rows in lists of `size` (the last one shorter, none empty)."""
    block: list[T] = []
    for row in rows:
        block.append(row)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def _import_chunk(session: Session, rows: list[tuple[int, dict[str, str] | str]], *, at: datetime,
                  recorded_by: str, default_region: str | None,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    report = ImportReport()
    for count, (line, row) in enumerate(rows, start=1):
        if progress is not None:
            progress(count)
        if isinstance(row, str):
            report.errors.append((line, row))
            continue
        try:
            with session.begin_nested():
                outcome = _import_row(session, row, at=at, recorded_by=recorded_by, default_region=default_region)
        except (RowError, phone.InvalidNumber, ledger.LedgerError, OfferCodeError) as exc:
            report.errors.append((line, reason_of(exc, _message(exc))))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _message(exc: Exception) -> str:
    if isinstance(exc, phone.InvalidNumber):
        return f"invalid number {exc.raw!r}: {exc.reason}"
    return str(exc)


def _import_row(session: Session, row: dict[str, str], *, at: datetime, recorded_by: str,
                default_region: str | None) -> str:
    try:
        inputs.check_record(row)
    except inputs.BadText as exc:
        raise RowError("line_control_character", str(exc), column=exc.field) from None
    unknown = [k for k in row if k not in COLUMNS]
    if unknown:
        raise RowError("line_unknown_columns", f"unknown column(s) {', '.join(unknown)}",
                       unknown=", ".join(unknown), known=", ".join(COLUMNS))
    source = row.get("source", "")
    refusal = refused_source(source)
    if refusal:
        raise RowError(refusal.code, str(refusal), **refusal.values)
    region = (row.get("country") or default_region or "").upper() or None
    parsed = phone.parse(row.get("number", ""), region)
    special = line_type_refusal(parsed.region, parsed.line_type)
    if special is not None:
        raise RowError("line_special_number", f"{parsed.e164}: never called by policy: {special}",
                       number=parsed.e164, reason=special)
    fields = _contact_fields(row)
    contact = find_by_number(session, parsed.e164)
    if contact is None:
        contact = get_or_create(session, parsed.e164, source=source, at=at, **fields)
        outcome = "created"
    else:
        outcome = "updated" if update_contact(contact, at=at, **fields) else "unchanged"
    if _ledger_rows(session, contact, row, source=source, at=at, recorded_by=recorded_by):
        outcome = "updated" if outcome == "unchanged" else outcome
    return outcome


def _contact_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if row.get("name"):
        fields["name"] = row["name"][:200]
    if row.get("language"):
        language = row["language"].lower()
        if language not in _LANGUAGES:
            raise RowError("line_language", f"language {row['language']!r}: expected one of {', '.join(_LANGUAGES)}",
                           value=row["language"], known=", ".join(_LANGUAGES))
        fields["language"] = language
    if row.get("time_zone"):
        if not valid_zone(row["time_zone"]):
            raise RowError("line_time_zone", f"time_zone {row['time_zone']!r}: not an IANA zone such as Europe/Rome",
                           value=row["time_zone"])
        fields["time_zone"] = row["time_zone"]
    if row.get("customer_ref"):
        fields["customer_ref"] = row["customer_ref"][:64]
    for name in ("is_business", "legal_person", "is_customer"):
        if row.get(name, "") != "":
            fields[name] = _bool(row[name], name)
    for column, attr in (("customer_until", "customer_until"), ("last_purchase", "last_purchase_at"),
                         ("last_inquiry", "last_inquiry_at")):
        if row.get(column):
            fields[attr] = parse_date(row[column], column)
    return fields


def _ledger_rows(session: Session, contact: Any, row: dict[str, str], *, source: str, at: datetime,
                 recorded_by: str) -> bool:
    """Owned products and consent lines from the row; True when anything new was added."""
    added = False
    for offer in _split(row.get("products", "")):
        owned = ledger.has_product(session, contact, offer)
        ledger.add_owned_product(session, contact, offer, source=source)
        added = added or not owned
    purposes = _split(row.get("consent_purposes", ""))
    if not purposes:
        return added
    if not row.get("consent_at"):
        raise RowError("line_consent_at_missing",
                       "consent_at: required when consent_purposes is given (when was consent given?)")
    given_at = parse_date(row["consent_at"], "consent_at")
    channel = row.get("consent_channel") or "voice"
    if channel not in CHANNELS:
        raise RowError("line_consent_channel", f"consent_channel {channel!r}: expected one of {', '.join(CHANNELS)}",
                       value=channel, known=", ".join(CHANNELS))
    for purpose in purposes:
        if purpose not in (*PURPOSES, "any"):
            raise RowError("line_consent_purpose",
                           f"consent_purposes: {purpose!r} is not one of {', '.join(PURPOSES)} or any",
                           value=purpose, known=", ".join((*PURPOSES, "any")))
        before = len(ledger.consent_history(session, contact.id))
        ledger.record_consent(
            session, contact, action="given", purpose=purpose, channel=channel, at=given_at, source=source,
            proof=row.get("consent_proof") or None, recorded_by=recorded_by,
            written=_bool(row.get("consent_written", ""), "consent_written"),
            offer_ids=_split(row.get("consent_offers", "")), recorded_at=at,
        )
        added = added or len(ledger.consent_history(session, contact.id)) > before
    return added


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _bool(value: str, column: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError("line_yes_no", f"{column} {value!r}: expected yes or no", column=column, value=value)


def parse_date(value: str, column: str) -> datetime:
    """An ISO date/datetime (or an unambiguous written date) as aware UTC; RowError otherwise."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        found = dateparser.parse(text, settings={"STRICT_PARSING": True, "DATE_ORDER": "DMY",
                                                  "RETURN_AS_TIMEZONE_AWARE": False})
        if found is None:
            raise RowError("line_bad_date", f"bad date in {column}: {value!r} (use YYYY-MM-DD)",
                           column=column, value=value) from None
        moment = found
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def import_contacts_text(session: Session, text: str, **kwargs: Any) -> ImportReport:
    """The API's entry point: CSV content as a string."""
    return import_contacts_csv(session, io.StringIO(text), **kwargs)
