"""National do-not-call registries: staged, chunked import of full copies, and screening.

A registry file is a plain list of numbers or a CSV (a header naming the number column, or
US/CA "area code,number" pairs). Every line is parsed with phonenumbers in the registry's
country, so the formats registries publish all land on the same number: international
(`+44 20 7946 0000`, `+44 (0)20 7946 0000`), `00`/`011` then the country code, the country code
without `+` (what an `msisdn` or `e164` column holds), and national format (`020 7946 0000`),
with spaces, dots, dashes or brackets. A line that is not a valid number of the registry's
country code is refused and counted; the report says how many numbers each format gave, with
an example, so a misread format shows before anyone relies on the copy.

Numbers are stored as the integer of their E.164 digits under the import's id: the primary key
(import_id, number) is the screening index. Each import is a full snapshot, staged beside the
copy in use:
1. the file is read in windows of up to `WINDOW` numbers. A window's numbers are sorted, then
   inserted in transactions sized by time (`app.db.write_in_slices`: a commit after about 50 ms
   of work), so a caller's webhook waiting for the write lock waits about that long; the
   window's last transaction also records the import's progress (lines and bytes read,
   counts). Running the same file again resumes after the last complete window; numbers are
   inserted with ON CONFLICT DO NOTHING, so a window read twice stores nothing twice.
   Why sorted windows: numbers in file order land on random pages of an index of millions,
   so every insert dirties a page of its own (on SQLite each commit then writes thousands of
   pages to the WAL, and a 5,000-number chunk of a 2.6M-number copy took 0.3-2 s); in key
   order a window's inserts walk the index's pages once, many numbers per page.
2. when the file is read, the copy replaces the previous one only if it is plausible: not
   empty, and refused lines at most `max_refused_percent` of the lines (the operator sees the
   threshold and may raise it for one import). The switch is one transaction, so screening
   uses either the old copy or the new one, never a mix. An implausible copy is refused and the
   previous copy stays in use.
3. the numbers of replaced, refused or abandoned copies are then deleted in chunks.

Why not a keyed hash: registry copies are licensed lists, not data about our contacts, and an
8-byte integer keeps the index small and the lookup a single B-tree probe.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import phonenumbers
from phonenumbers import CountryCodeSource, NumberParseException
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from app.consent.models import PURPOSES, RegistryEntry, RegistryImport
from app.consent.packs import load_packs, pack_for
from app.db import affected, insert_skipping_duplicates, write_in_slices, write_transaction
from app.refusals import Reason, Refusal

# Registries this code knows how to read (NL has none: the Bel-me-niet register is abolished).
REGISTRY_NAMES = {
    "US": "National Do Not Call Registry",
    "CA": "National Do Not Call List (DNCL)",
    "GB": "Telephone Preference Service (TPS/CTPS)",
    "IT": "Registro Pubblico delle Opposizioni",
}
_NUMBER_HEADERS = ("number", "phone", "phone_number", "telephone", "numero", "telefono", "e164", "msisdn")
# Columns that hold numbers in international format, with or without the "+".
_INTERNATIONAL_HEADERS = frozenset({"e164", "msisdn"})
_SPLIT = re.compile(r"[,;\t|]")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
# Numbers read, then sorted, per pass over the index: the larger, the more numbers share each
# index page written (memory: about 40 bytes a number). Transactions are sized by time, not by this.
WINDOW = 500_000
# Rows per INSERT statement inside a transaction; the transaction ends by time after any of them.
ROWS_PER_STATEMENT = 1_000
# While a window is read (seconds to minutes), progress is reported every this many lines.
PROGRESS_LINES = 10_000
MAX_SAMPLE_ERRORS = 20
# A regulator's copy should parse completely: refused lines mean a format we misread (numbers
# that would silently go unprotected) or a damaged file. The operator may raise it per import.
DEFAULT_MAX_REFUSED_PERCENT = 1.0

# How a line wrote its number (the report counts numbers per format).
FORMATS = {
    "international": "international, +CC",
    "international_trunk_zero": "international with (0), +CC (0)",
    "idd": "international, 00 or 011 then CC",
    "country_code_without_plus": "country code without + (msisdn)",
    "national": "national",
}


class RegistryError(Refusal):
    """A registry import cannot proceed (unknown country, unreadable file, implausible copy)."""


@dataclass
class FormatCount:
    count: int = 0
    example: str = ""


@dataclass
class RegistryImportReport:
    import_id: int
    country: str
    status: str = "running"
    numbers: int = 0
    rejected: int = 0
    duplicates: int = 0
    resumed: bool = False
    max_refused_percent: float = DEFAULT_MAX_REFUSED_PERCENT
    note: str | None = None
    # (line number, reason) for the first rejected lines, so a bad file is easy to diagnose.
    errors: list[tuple[int, str]] = field(default_factory=list)
    formats: dict[str, FormatCount] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return self.numbers + self.rejected


def parse_line(raw: str, country: str, *, international: bool = False) -> tuple[int, str]:
    """A registry line's number as (the integer of its E.164 digits, the format it was written
    in); Refusal when it is not a valid number of the registry's country code."""
    text = raw.strip()
    if not text:
        raise Refusal("line_empty_number", "no number on this line")
    if len(text) > 40:
        raise Refusal("line_not_country_number", f"not a {country} phone number: {text[:40]!r}",
                      country=country, value=text[:40])
    if international and text[0].isdigit() and not text.startswith("00"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, country, keep_raw_input=True)
    except NumberParseException:
        raise Refusal("line_not_country_number", f"not a {country} phone number: {text!r}",
                      country=country, value=text) from None
    code = phonenumbers.country_code_for_region(country)
    if number.country_code != code:
        raise Refusal("line_other_country", f"{text!r} is a +{number.country_code} number, not a {country} one",
                      country=country, value=text, calling_code=str(number.country_code))
    # Another region can share the country code (+1: Puerto Rico is on the US registry).
    if not (phonenumbers.is_valid_number_for_region(number, country) or phonenumbers.is_valid_number(number)):
        raise Refusal("line_not_country_number", f"not a {country} phone number: {text!r}",
                      country=country, value=text)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164_key(e164), _format_of(number, raw)


def _format_of(number: phonenumbers.PhoneNumber, raw: str) -> str:
    written_plus = raw.strip().startswith("+")
    source = number.country_code_source
    if source == CountryCodeSource.FROM_NUMBER_WITH_IDD:
        return "idd"
    if source == CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN or (
            source == CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN and not written_plus):
        return "country_code_without_plus"
    if source == CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN:
        return "international_trunk_zero" if _TRUNK_ZERO.search(raw) else "international"
    return "national"


def e164_key(e164: str) -> int:
    """The stored form of an E.164 number ("+12125550123" -> 12125550123)."""
    return int(e164.lstrip("+"))


def key_e164(key: int) -> str:
    return f"+{key}"


# --- reading the file ------------------------------------------------------------------------

@dataclass
class _Layout:
    column: int | None = None  # the number column named by a header, None without one
    international: bool = False  # the column holds international numbers (msisdn, e164)
    header_bytes: int = 0  # where the numbers start


@dataclass
class _Chunk:
    numbers: list[int]
    lines_end: int
    bytes_end: int
    accepted: int = 0
    refused: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    formats: dict[str, FormatCount] = field(default_factory=dict)


def _layout(first_line: bytes) -> _Layout:
    text = first_line.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    if not text or text.startswith("#"):
        return _Layout()
    fields = [f.strip().strip('"') for f in _SPLIT.split(text)]
    names = [f.lower() for f in fields]
    for name in _NUMBER_HEADERS:
        if name in names:
            return _Layout(names.index(name), name in _INTERNATIONAL_HEADERS, len(first_line))
    if any(c.isdigit() for c in text):
        return _Layout()
    raise RegistryError("registry_no_number_column",
                        f"line 1: header {fields!r} names no number column ({', '.join(_NUMBER_HEADERS)})",
                        line="1", known=", ".join(_NUMBER_HEADERS))


def _pick(fields: list[str], layout: _Layout, country: str) -> str:
    if layout.column is not None:
        return fields[layout.column] if layout.column < len(fields) else ""
    # The FTC/CRTC downloads: "area code,number" (3 + 7 digits).
    if country in ("US", "CA") and len(fields) >= 2 and len(fields[0]) == 3 and len(fields[1]) == 7:
        return fields[0] + fields[1]
    return fields[0]


def _chunks(stream: IO[bytes], layout: _Layout, country: str, *, line_no: int, offset: int,
            size: int, errors_room: Callable[[], int],
            reading: Callable[[int], None] | None = None) -> Iterator[_Chunk]:
    chunk = _Chunk([], line_no, offset)
    begun = line_no  # the line the current chunk starts after
    for raw_line in stream:
        line_no += 1
        offset += len(raw_line)
        chunk.lines_end, chunk.bytes_end = line_no, offset
        if reading is not None and (line_no - begun) % PROGRESS_LINES == 0:
            reading(offset)
        text = raw_line.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
        if not text or text.startswith("#"):
            continue
        fields = [f.strip().strip('"') for f in _SPLIT.split(text)] if _SPLIT.search(text) else [text]
        raw = _pick(fields, layout, country)
        try:
            number, written = parse_line(raw, country, international=layout.international)
        except Refusal as exc:
            chunk.refused += 1
            if len(chunk.errors) < errors_room():
                chunk.errors.append((line_no, Reason(exc.code, str(exc), **exc.values)))
            continue
        chunk.accepted += 1
        chunk.numbers.append(number)
        seen = chunk.formats.setdefault(written, FormatCount())
        seen.count += 1
        if not seen.example:
            seen.example = f"{raw[:40]} -> {key_e164(number)}"
        if len(chunk.numbers) >= size:
            yield chunk
            chunk, begun = _Chunk([], line_no, offset), line_no
    if chunk.lines_end > begun:
        yield chunk


def file_sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


# --- the import ------------------------------------------------------------------------------

def import_registry(
    session: Session,
    country: str,
    source: IO[bytes] | Path | str,
    *,
    at: datetime,
    obtained_at: datetime | None = None,
    file_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    window: int = WINDOW,
    max_refused_percent: float = DEFAULT_MAX_REFUSED_PERCENT,
    clock: Callable[[], float] = time.monotonic,
) -> RegistryImportReport:
    """Import a full registry copy for `country` from a file path or a seekable byte stream.

    Commits as it goes (see the module's doc); the report's `status` says whether the copy is
    now in use ("complete") or was refused ("refused", with `note` saying why; the previous
    copy stays). `progress` is called with the bytes read so far: every `PROGRESS_LINES`
    lines while a window is read, and once each window is stored.
    `clock` times the transactions (tests pass a fake one).
    """
    country = country.upper()
    if country not in REGISTRY_NAMES:
        raise RegistryError("registry_unknown_country",
                            f"no do-not-call registry for {country} (known: {', '.join(REGISTRY_NAMES)})",
                            country=country, known=", ".join(REGISTRY_NAMES))
    check_obtained(obtained_at, at)
    if not 0 <= max_refused_percent <= 100:
        raise RegistryError("registry_bad_threshold",
                            f"max_refused_percent: {max_refused_percent} is not between 0 and 100",
                            value=str(max_refused_percent))
    # A path is opened (and closed below) here; a stream the caller passed stays the caller's.
    stream, owned = (open(source, "rb"), True) if isinstance(source, (str, Path)) else (source, False)  # noqa: SIM115
    file_name = file_name or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    try:
        layout = _layout(stream.readline())
        sha256 = file_sha256(stream)
        record, resumed = _start(session, country, sha256, file_name=file_name, at=at,
                                 obtained_at=obtained_at or at, max_refused_percent=max_refused_percent)
        report = _report_of(record, resumed)
        _load(session, record, report, stream, layout, _Pace(window, clock), progress)
    finally:
        if owned:
            stream.close()
    _finish(session, record, report, at, clock)
    return report


def check_obtained(obtained_at: datetime | None, at: datetime) -> None:
    """A copy cannot be obtained after it is imported: a future date would keep it "fresh"
    (so never blocking calls as stale) long after the regulator's list changed."""
    if obtained_at is not None and obtained_at > at:
        raise RegistryError("registry_obtained_future",
                            f"obtained_at: {obtained_at:%Y-%m-%d %H:%M} UTC is after the import "
                            f"({at:%Y-%m-%d %H:%M} UTC); give the date the copy was downloaded",
                            obtained=f"{obtained_at:%Y-%m-%d}", now=f"{at:%Y-%m-%d}")


def _start(session: Session, country: str, sha256: str, *, file_name: str, at: datetime,
           obtained_at: datetime, max_refused_percent: float) -> tuple[RegistryImport, bool]:
    """The running import of this very file (to resume), else a new one; any other running
    import of the country is abandoned (the newest file wins)."""
    def start() -> tuple[RegistryImport, bool]:
        running = session.scalars(select(RegistryImport).where(
            RegistryImport.country == country, RegistryImport.status == "running")).all()
        same = next((r for r in running if r.sha256 == sha256), None)
        for other in running:
            if other is not same:
                other.status, other.finished_at = "abandoned", at
                other.note = f"a newer file ({file_name[:100]}) was imported before this one finished"
        if same is not None:
            same.max_refused_percent = max_refused_percent
            return same, True
        record = RegistryImport(
            country=country, registry_name=_registry_name(country), file_name=file_name[:255],
            sha256=sha256, obtained_at=obtained_at, started_at=at, status="running",
            max_refused_percent=max_refused_percent, formats={}, refused_sample=[])
        session.add(record)
        session.flush()
        return record, False

    record, resumed = write_transaction(session, start)
    _purge_unused(session, country)
    return record, resumed


def _registry_name(country: str) -> str:
    pack = pack_for(country)
    return pack.registry.name if pack and pack.registry else REGISTRY_NAMES[country]


def _report_of(record: RegistryImport, resumed: bool) -> RegistryImportReport:
    return RegistryImportReport(
        import_id=record.id, country=record.country, resumed=resumed, numbers=record.numbers or 0,
        max_refused_percent=record.max_refused_percent,
        rejected=record.rejected_lines or 0,
        errors=[(int(line), str(message)) for line, message in record.refused_sample or []],
        formats={k: FormatCount(int(v["count"]), str(v["example"])) for k, v in (record.formats or {}).items()})


@dataclass
class _Pace:
    window: int  # numbers per sorted pass
    clock: Callable[[], float]  # times the transactions


def _load(session: Session, record: RegistryImport, report: RegistryImportReport, stream: IO[bytes],
          layout: _Layout, pace: _Pace, progress: Callable[[int], None] | None) -> None:
    offset = max(record.bytes_read or 0, layout.header_bytes)
    line_no = record.lines_read or (1 if layout.header_bytes else 0)
    stream.seek(offset)
    insert = insert_skipping_duplicates(session, cast(Table, RegistryEntry.__table__))
    for chunk in _chunks(stream, layout, record.country, line_no=line_no, offset=offset, size=pace.window,
                         errors_room=lambda: MAX_SAMPLE_ERRORS - len(report.errors), reading=progress):
        # Parsed before any transaction: the write lock is held only for the inserts.
        _merge(report, chunk)
        keys = sorted(set(chunk.numbers))
        values = {"lines_read": chunk.lines_end, "bytes_read": chunk.bytes_end, "numbers": report.numbers,
                  "rejected_lines": report.rejected, "formats": _formats_json(report),
                  "refused_sample": [[line, str(m)] for line, m in report.errors]}

        def store(start: int, end: int, keys: list[int] = keys) -> None:
            session.connection().execute(insert, [{"import_id": record.id, "number": n} for n in keys[start:end]])

        def done(values: dict[str, Any] = values) -> None:
            if not affected(session.execute(update(RegistryImport).where(
                    RegistryImport.id == record.id, RegistryImport.status == "running").values(**values))):
                raise _abandoned(record)

        write_in_slices(session, len(keys), store, per_step=ROWS_PER_STATEMENT, finish=done, clock=pace.clock)
        if progress is not None:
            progress(chunk.bytes_end)


def _abandoned(record: RegistryImport) -> RegistryError:
    return RegistryError("registry_import_abandoned",
                         f"import {record.id} was abandoned: a newer file of {record.country} "
                         "was imported meanwhile", country=record.country)


def _merge(report: RegistryImportReport, chunk: _Chunk) -> None:
    report.numbers += chunk.accepted
    report.rejected += chunk.refused
    report.errors.extend(chunk.errors)
    for name, seen in chunk.formats.items():
        total = report.formats.setdefault(name, FormatCount(0, seen.example))
        total.count += seen.count


def _formats_json(report: RegistryImportReport) -> dict[str, Any]:
    return {k: {"count": v.count, "example": v.example} for k, v in report.formats.items()}


def _finish(session: Session, record: RegistryImport, report: RegistryImportReport, at: datetime,
            clock: Callable[[], float]) -> None:
    stored = int(session.execute(select(func.count()).select_from(RegistryEntry)
                                 .where(RegistryEntry.import_id == record.id)).scalar_one())
    session.commit()
    # Lines accepted minus numbers stored: the same number listed twice in the file.
    report.duplicates = report.numbers - stored
    report.numbers = stored
    report.note = implausible(stored, report.rejected, report.lines, report.max_refused_percent)
    report.status = "refused" if report.note else "complete"

    def switch() -> None:
        done = affected(session.execute(update(RegistryImport).where(
            RegistryImport.id == record.id, RegistryImport.status == "running").values(
            status=report.status, finished_at=at, numbers=stored, duplicates=report.duplicates,
            note=report.note)))
        if not done:
            raise _abandoned(record)
        if report.status == "complete":
            session.execute(update(RegistryImport).where(
                RegistryImport.country == record.country, RegistryImport.id != record.id,
                RegistryImport.status == "complete").values(status="superseded"))

    write_transaction(session, switch)
    session.refresh(record)
    _purge_unused(session, record.country, clock)


def implausible(stored: int, refused: int, lines: int, max_refused_percent: float) -> str | None:
    """Why a finished copy must not replace the one in use, or None when it may."""
    if stored == 0:
        return (f"no number could be read from the file ({refused} line(s) refused): "
                "an empty copy would let every number be called")
    if refused * 100 > max_refused_percent * lines:
        return (f"{refused} of {lines} lines refused ({refused * 100 / lines:.2f}%), more than the "
                f"{max_refused_percent:g}% allowed; check the refused lines, then import again with a "
                "higher max_refused_percent if the copy is right")
    return None


def _purge_unused(session: Session, country: str, clock: Callable[[], float] = time.monotonic,
                  per_statement: int = 2_000) -> None:
    """Delete the numbers of copies no longer in use, in key order, in transactions sized by
    time like the inserts."""
    unused = session.scalars(select(RegistryImport.id).where(
        RegistryImport.country == country,
        RegistryImport.status.in_(("superseded", "refused", "abandoned", "failed")))).all()
    session.commit()
    for import_id in unused:
        def delete_some(_start: int, _end: int, import_id: int = import_id) -> None:
            # The first numbers left, whichever step this is: running a step again is harmless.
            last = session.scalars(select(RegistryEntry.number).where(RegistryEntry.import_id == import_id)
                                   .order_by(RegistryEntry.number).offset(per_statement - 1).limit(1)).first()
            where = [RegistryEntry.import_id == import_id]
            if last is not None:
                where.append(RegistryEntry.number <= last)
            session.execute(delete(RegistryEntry).where(*where))

        count = session.scalar(select(func.count()).select_from(RegistryEntry)
                               .where(RegistryEntry.import_id == import_id)) or 0
        session.commit()
        if count:
            write_in_slices(session, -(-count // per_statement), delete_some, per_step=1, clock=clock)


# --- which copies let us call ------------------------------------------------------------------

@dataclass(frozen=True)
class CopyState:
    """One country whose rule pack says its registry must be screened: the copy in use, the day
    it stops being usable, and whether calls there are blocked for want of a usable copy."""

    country: str
    registry: str
    max_age_days: int
    applies_to: tuple[str, ...]
    copy: RegistryImport | None
    valid_until: datetime | None
    state: str  # "current", "stale" or "missing"; the last two block the purposes it applies to


def valid_until(obtained_at: datetime, max_age_days: int) -> datetime:
    """The last moment a copy obtained at `obtained_at` may be used: the consent check refuses
    a call once the copy is more than max_age_days old."""
    return obtained_at + timedelta(days=max_age_days)


def copy_states(session: Session, at: datetime) -> list[CopyState]:
    """Every country whose pack names a registry, with its copy's state at `at` (by country)."""
    states = []
    for country, pack in sorted(load_packs().items()):
        rule = pack.registry
        if rule is None:
            continue
        copy = current_import(session, country)
        until = valid_until(copy.obtained_at, rule.max_age_days) if copy else None
        state = "missing" if until is None else ("current" if at <= until else "stale")
        states.append(CopyState(country, rule.name, rule.max_age_days, tuple(p for p in PURPOSES if p in rule.applies_to), copy,
                                until, state))
    return states


# --- screening -------------------------------------------------------------------------------

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
