"""`cortese campaigns create|add-contacts|start|pause|resume|stop|stats|list`.

Every command goes through app.campaigns.service; a service's refusal is printed as
"Error: field: message" (one line per problem) with exit status 1.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from rich.console import Console
from rich.table import Table

from app.campaigns import service
from app.campaigns.models import MACHINE_POLICIES, PURPOSES, STATUSES
from app.clock import now
from app.commands import with_app
from app.db import session_scope
from app.refusals import Refusal, Refusals


def service_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A service's refusal is the command's error, one line per problem; anything else is a
    bug and keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Refusals as many:
            raise click.ClickException("\n".join(str(p) for p in many.problems)) from None
        except Refusal as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _per_language(values: tuple[str, ...], option: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for value in values:
        language, sep, text = value.partition("=")
        if not sep or not text.strip():
            raise click.BadParameter(f"{value!r}: expected LANG=TEXT, e.g. it='un breve sondaggio'", param_hint=option)
        texts[language.strip()] = text.strip()
    return texts


@click.group("campaigns", help="Outbound campaigns: create, target, start, pause, resume, stop, stats.")
def cli() -> None:
    pass


@cli.command("create")
@click.argument("name")
@click.option("--purpose", type=click.Choice(PURPOSES), required=True)
@click.option("--flow", default="campaign_survey", show_default=True,
              help="a flow written for campaigns (placed_by: campaign) in flows/")
@click.option("--languages", default="it,nl,en", show_default=True, help="comma-separated; the first is the fallback")
@click.option("--reason", "reasons", multiple=True, required=True,
              help="why we call, per language: --reason it='un breve sondaggio' (repeat per language)")
@click.option("--details", "details", multiple=True, help="text the script speaks as {details}: LANG=TEXT")
@click.option("--offer", "offer_id", help="offer id (required for sales: existing owners are not pitched)")
@click.option("--caller-id", help="E.164 number shown to the callee (default TWILIO_CALLER_ID)")
@click.option("--callback-number", help="E.164 number an answering machine is told to call back")
@click.option("--days", default="mon-fri", show_default=True, help="calling days, e.g. mon-fri or mon,wed,sat")
@click.option("--hours", default="09:00-20:00", show_default=True, help="calling hours in the callee's time")
@click.option("--cps", type=float, default=1.0, show_default=True, help="calls per second")
@click.option("--max-concurrent", type=int, default=5, show_default=True)
@click.option("--max-attempts", type=int, default=3, show_default=True, help="calls per contact at most")
@click.option("--retry-busy", type=int, default=30, show_default=True, help="minutes before retrying a busy line")
@click.option("--retry-no-answer", type=int, default=120, show_default=True, help="minutes before retrying no answer")
@click.option("--machine", "machine_policy", type=click.Choice(MACHINE_POLICIES), default="message", show_default=True,
              help="answering machines: leave a message with identity and callback number, or hang up")
@click.option("--sync-amd", is_flag=True, help="detect machines before the opener (adds silence; default async)")
@click.option("--ring-timeout", type=int, default=25, show_default=True, help="seconds to ring (at least 15)")
@click.option("--ids", help="target these contact ids at once (comma-separated)")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="target the numbers of this contacts CSV at once (imported through consent)")
@click.option("--source", help="where the CSV's numbers come from (if it has no source column)")
@click.option("--default-region", help="ISO country for CSV numbers written without +CC")
@click.option("--by", default="cli", show_default=True, help="who creates it")
@with_app
@service_errors
def create(app: Flask, name: str, purpose: str, flow: str, languages: str, reasons: tuple[str, ...],
           details: tuple[str, ...], offer_id: str | None, caller_id: str | None, callback_number: str | None,
           days: str, hours: str, cps: float, max_concurrent: int, max_attempts: int, retry_busy: int,
           retry_no_answer: int, machine_policy: str, sync_amd: bool, ring_timeout: int, ids: str | None,
           csv_path: Path | None, source: str | None, default_region: str | None, by: str) -> None:
    """Create a draft campaign (optionally with its contact list)."""
    if ids and csv_path:
        raise click.UsageError("give --ids or --csv, not both")
    with session_scope(app) as session:
        campaign = service.create_campaign(
            session, name=name, purpose=purpose, flow=flow, languages=languages.split(","),
            reason=_per_language(reasons, "--reason"), details=_per_language(details, "--details"),
            offer_id=offer_id, caller_id=caller_id, callback_number=callback_number, calling_days=days,
            calling_hours=hours, cps=cps, max_concurrent=max_concurrent, max_attempts=max_attempts,
            retry_busy_minutes=retry_busy, retry_no_answer_minutes=retry_no_answer,
            machine_policy=machine_policy, amd_async=not sync_amd, ring_timeout=ring_timeout,
            created_by=by, at=now(),
        )
        click.echo(f"campaign {campaign.id} {campaign.name!r} created (draft); add contacts, then start it")
        # Automated calls need prior consent in every country we call: say which kind this is.
        click.echo(f"offer: {campaign.offer_id}; call kind: {campaign.call_kind} ({campaign.call_kind_reason})")
        if ids or csv_path:
            _target(session, campaign, ids, csv_path, source, default_region, by)


def _target(session: Any, campaign: Any, ids: str | None, csv_path: Path | None, source: str | None,
            default_region: str | None, by: str) -> None:
    if ids:
        try:
            numbers = [int(part) for part in ids.split(",") if part.strip()]
        except ValueError:
            raise click.BadParameter("comma-separated whole numbers", param_hint="--ids") from None
        report = service.add_contacts(session, campaign, numbers, at=now())
    else:
        assert csv_path is not None
        report = service.add_numbers_csv(session, campaign, csv_path.read_text(encoding="utf-8-sig"), at=now(),
                                         recorded_by=by, source=source, default_region=default_region)
    click.echo(f"{report.added} added, {report.already} already targeted, {len(report.errors)} problem(s)")
    for where, why in report.errors:
        click.echo(f"  {where}: {why}", err=True)


@cli.command("add-contacts")
@click.argument("campaign")
@click.option("--ids", help="comma-separated contact ids")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="contacts CSV (see `cortese contacts import`); a bare `number` column needs --source")
@click.option("--source", help="where the numbers in the CSV come from (if it has no source column)")
@click.option("--default-region", help="ISO country for numbers written without +CC")
@click.option("--by", default="cli", show_default=True)
@with_app
@service_errors
def add_contacts(app: Flask, campaign: str, ids: str | None, csv_path: Path | None, source: str | None,
                 default_region: str | None, by: str) -> None:
    """Target contacts by id or from a CSV of numbers (imported through consent)."""
    if bool(ids) == bool(csv_path):
        raise click.UsageError("give either --ids or --csv")
    with session_scope(app) as session:
        _target(session, service.get_campaign(session, campaign), ids, csv_path, source, default_region, by)


def _status_command(name: str, action: Callable[..., Any], help_text: str) -> None:
    @cli.command(name, help=help_text)
    @click.argument("campaign")
    @click.option("--reason", help="why (kept with the campaign)")
    @with_app
    @service_errors
    def command(app: Flask, campaign: str, reason: str | None) -> None:
        with session_scope(app) as session:
            found = service.get_campaign(session, campaign)
            action(session, found, at=now(), reason=reason)
            click.echo(f"campaign {found.id} {found.name!r} is {found.status}")


_status_command("start", service.start, "Start dialling (the dialer runs inside `cortese serve`).")
_status_command("pause", service.pause, "Pause: nothing more is dialled, not even calls already claimed.")
_status_command("resume", service.resume, "Resume a paused campaign.")
_status_command("stop", service.stop, "Stop for good: contacts not in a call are cancelled.")


@cli.command("stats")
@click.argument("campaign")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@with_app
@service_errors
def stats(app: Flask, campaign: str, as_json: bool) -> None:
    """Contacts by state, attempts by disposition, and the abandonment rate."""
    with session_scope(app) as session:
        data = service.stats(session, service.get_campaign(session, campaign), at=now())
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console = Console()
    console.print(f"campaign {data['id']} {data['name']!r}: {data['status']}"
                  + (f" ({data['status_reason']})" if data["status_reason"] else ""))
    table = Table("what", "count")
    for state, count in sorted(data["contacts"].items()):
        table.add_row(f"contacts {state}", str(count))
    for disposition, count in sorted(data["attempts"].items()):
        table.add_row(f"attempts {disposition}", str(count))
    table.add_row("calls dialled", str(data["dialled"]))
    table.add_row("answered by a person", str(data["live_answered"]))
    table.add_row("abandoned", str(data["abandoned"]))
    table.add_row("abandonment rate (all / 24 h / 30 days)",
                  f"{data['abandonment_rate']:.1%} / {data['abandonment_rate_24h']:.1%} / "
                  f"{data['abandonment_rate_30d']:.1%}")
    console.print(table)


@cli.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@with_app
def list_command(app: Flask, status: str | None) -> None:
    """Every campaign with its status and progress."""
    table = Table("id", "name", "purpose", "offer", "call kind", "status", "flow", "cps", "contacts", "settled")
    with session_scope(app) as session:
        for campaign in service.list_campaigns(session, status):
            data = service.stats(session, campaign, at=now())
            total = sum(data["contacts"].values())
            settled = data["contacts"].get("done", 0) + data["contacts"].get("cancelled", 0)
            table.add_row(str(campaign.id), campaign.name, campaign.purpose, campaign.offer_id or "-",
                          campaign.call_kind, campaign.status, campaign.flow,
                          f"{campaign.cps:g}", str(total), str(settled))
    Console().print(table)
