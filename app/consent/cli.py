"""Commands: `cortese compliance export|packs`, `cortese contacts import|export|erase`,
`cortese registry import|status`, `cortese optout NUMBER`.

app/cli.py adds the commands this module lists in COMMANDS to the root group.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import click
from flask import Flask
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from app import phone
from app.clock import now
from app.commands import configured_flows_dir, with_app
from app.consent import export as exporter
from app.consent import gdpr, importer, offers, registries
from app.consent.optouts import OPT_OUT_SOURCES, lift_opt_out, record_opt_out
from app.consent.packs import RulePackError, load_packs
from app.db import is_lock_error, session_scope
from app.refusals import Refusal


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date_option(value: str | None, name: str) -> datetime | None:
    try:
        return _date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date such as 2026-03-01", param_hint=name) from None


# --- compliance ----------------------------------------------------------------------------


@click.group("compliance", help="Compliance records and rule packs.")
def cli() -> None:
    pass


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--since", help="ISO date/time (UTC unless given); decisions at or after it.")
@click.option("--until", help="ISO date/time; decisions before it.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="file (default stdout)")
@with_app
def export_command(app: Flask, fmt: str, since: str | None, until: str | None, output: IO[str]) -> None:
    """Write the record per decision/attempt (rule, reason, pack version, outcome)."""
    with session_scope(app) as session:
        count = exporter.write(exporter.records(session, since=_date(since), until=_date(until)), output, fmt)
    click.echo(f"{count} record(s) written", err=True)


@cli.command("packs")
def packs_command() -> None:
    """List the rule packs with their versions and the status of each section; exit 1 listing
    each problem with file and key when a pack or the offer catalogue (offers.yaml of FLOWS_DIR)
    cannot be read."""
    problems: list[str] = []
    try:
        packs = load_packs()
    except RulePackError as exc:
        packs, problems = {}, list(exc.problems)
    problems.extend(offers.CATALOGUE.problems(configured_flows_dir()))
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"{len(problems)} problem(s) in the rule packs", err=True)
        sys.exit(1)
    table = Table("country", "version", "effective", "windows", "registry", "opt-in/automated")
    for country, pack in sorted(packs.items()):
        registry = f"{pack.registry.name} ≤{pack.registry.max_age_days}d" if pack.registry else "-"
        extra = ", ".join(s for s in ("automated", "opt_in") if s in pack.statuses) or "-"
        table.add_row(country, pack.full_version, str(pack.effective_date),
                      pack.statuses.get("windows", "?"), f"{registry} ({pack.statuses.get('registry', '-')})", extra)
    Console().print(table)


# --- contacts ------------------------------------------------------------------------------


@click.group("contacts", help="Contacts: import, GDPR export and erasure.")
def contacts() -> None:
    pass


@contacts.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--default-region", help="ISO country for numbers written without +CC (a country column wins).")
@click.option("--by", default="cli", show_default=True, help="who is importing (recorded in the ledger)")
@with_app
def import_contacts(app: Flask, path: Path, default_region: str | None, by: str) -> None:
    """Import contacts from a CSV file (number and source columns required)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        total = max(sum(1 for _ in handle) - 1, 0)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done = count
        bar.update(task, completed=count)

    try:
        with session_scope(app) as session, path.open(encoding="utf-8-sig", newline="") as handle, _progress() as bar:
            task = bar.add_task(f"importing {path.name}", total=total)
            report = importer.import_contacts_csv(
                session, handle, at=now(), recorded_by=by, default_region=default_region,
                progress=advance, commit_every=importer.COMMIT_EVERY)
    except importer.ImportRefused as exc:
        click.echo(f"{path.name}: {exc}", err=True)
        sys.exit(2)
    except DBAPIError as exc:
        if not is_lock_error(exc):
            raise
        click.echo(f"{path.name}: the database stayed locked by another writer; the first {done} row(s) "
                   "are imported; run the same command again to import the rest (nothing is imported twice)",
                   err=True)
        sys.exit(3)
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.errors)} line(s) with errors")
    for line, message in report.errors:
        click.echo(f"  line {line}: {message}", err=True)
    if report.errors:
        sys.exit(1)


@contacts.command("export")
@click.argument("number")
@with_app
def export_contact(app: Flask, number: str) -> None:
    """Print everything held about a number as JSON (GDPR access request)."""
    with session_scope(app) as session:
        data = gdpr.export_contact(session, _number(number))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contacts.command("erase")
@click.argument("number")
@click.option("--by", required=True, help="who handled the request")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_app
def erase_contact(app: Flask, number: str, by: str, yes: bool) -> None:
    """Erase a number's personal data; it stays on the suppression list (never called again)."""
    e164 = _number(number)
    if not yes:
        click.confirm(f"Erase {phone.mask(e164)} for good?", abort=True)
    with session_scope(app) as session:
        report = gdpr.erase_contact(session, e164, at=now(), by=by)
    click.echo(f"erased {phone.mask(e164)}: {report.consent_records} consent line(s), "
               f"{report.owned_products} product(s), {report.opt_outs} opt-out(s) removed; "
               f"{report.attempts_masked} attempt(s) and {report.decisions_masked} decision(s) masked; suppressed")


def _number(raw: str) -> str:
    try:
        return phone.parse(raw).e164
    except phone.InvalidNumber as exc:
        raise click.BadParameter(f"{exc.raw!r}: {exc.reason}", param_hint="NUMBER") from None


# --- registries ----------------------------------------------------------------------------


@click.group("registry", help="National do-not-call registries.")
def registry() -> None:
    pass


@registry.command("import")
@click.argument("country", type=click.Choice(sorted(registries.REGISTRY_NAMES), case_sensitive=False))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--obtained", help="date the copy was obtained (ISO, not after today); default: now")
@click.option("--max-refused-percent", type=click.FloatRange(0, 100),
              default=registries.DEFAULT_MAX_REFUSED_PERCENT, show_default=True,
              help="refuse the copy (keeping the one in use) when more lines than this do not parse")
@with_app
def import_registry(app: Flask, country: str, path: Path, obtained: str | None, max_refused_percent: float) -> None:
    """Import a full registry copy (plain list or CSV); it replaces the copy in use only once
    it is complete and plausible. Running the same file again resumes an interrupted import."""
    obtained_at = _date_option(obtained, "--obtained")
    size = path.stat().st_size
    try:
        with session_scope(app) as session, _progress() as bar:
            task = bar.add_task(f"{country.upper()} {path.name} (bytes)", total=size)
            report = registries.import_registry(
                session, country, path, at=now(), obtained_at=obtained_at, max_refused_percent=max_refused_percent,
                progress=lambda done: bar.update(task, completed=done))
    except registries.RegistryError as exc:
        click.echo(f"{path.name}: {exc}", err=True)
        sys.exit(2)
    resumed = ", resumed" if report.resumed else ""
    click.echo(f"{country.upper()}: {report.numbers} number(s) stored, {report.duplicates} duplicate(s), "
               f"{report.rejected} line(s) rejected (import {report.import_id}{resumed})")
    for name, seen in sorted(report.formats.items(), key=lambda item: -item[1].count):
        click.echo(f"  {registries.FORMATS[name]}: {seen.count} (e.g. {seen.example})")
    for line, message in report.errors:
        click.echo(f"  line {line}: {message}", err=True)
    if report.status != "complete":
        click.echo(f"{country.upper()} copy refused: {report.note}; the copy in use stays", err=True)
        sys.exit(1)


@registry.command("status")
@with_app
def registry_status(app: Flask) -> None:
    """The current copy per country and whether it is still fresh enough to call."""
    at = now()
    table = Table("country", "registry", "obtained", "valid until", "max age", "numbers", "state")
    labels = {"current": "ok", "stale": "STALE: blocks calls", "missing": "MISSING: blocks calls"}
    with session_scope(app) as session:
        for row in registries.copy_states(session, at):
            copy = row.copy
            table.add_row(row.country, row.registry, f"{copy.obtained_at:%Y-%m-%d}" if copy else "-",
                          f"{row.valid_until:%Y-%m-%d}" if row.valid_until else "-", f"{row.max_age_days} days",
                          str(copy.numbers) if copy else "-", labels[row.state])
    Console().print(table)


# --- opt-out -------------------------------------------------------------------------------


@click.command("optout")
@click.argument("number")
@click.option("--by", required=True, help="who took the request (operator name)")
@click.option("--source", type=click.Choice(OPT_OUT_SOURCES), default="operator", show_default=True)
@click.option("--lift", is_flag=True, help="take the number off the list instead, at the person's own request")
@click.option("--proof", default="", help="with --lift: how the person asked to be called again")
@with_app
def optout(app: Flask, number: str, by: str, source: str, lift: bool, proof: str) -> None:
    """Put a number on the internal do-not-call list now (cancels pending callbacks/attempts),
    or with --lift take it off at the person's own request (--proof says how they asked)."""
    e164 = _number(number)
    with session_scope(app) as session:
        if lift:
            try:
                lift_opt_out(session, e164, at=now(), by=by, proof=proof)
            except Refusal as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"{phone.mask(e164)} is off the do-not-call list; the lift is kept with its proof")
            return
        record_opt_out(session, e164, at=now(), source=source, by=by)
    click.echo(f"{phone.mask(e164)} will not be called again")


COMMANDS = (cli, contacts, registry, optout)
