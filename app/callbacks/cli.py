"""`cortese callbacks ...`: list, show, move, cancel, dispatch-now.

Times are shown in the callee's zone (what they were promised) with UTC beside them; numbers
are masked unless --full is given.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from flask import Flask
from rich.console import Console
from rich.table import Table

from app.callbacks import service
from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import STATUSES, Callback
from app.clock import now
from app.commands import with_app
from app.db import session_scope
from app.phone import mask
from app.refusals import Refusal


@click.group("callbacks", help="Callbacks booked by callers: list, show, move, cancel, dispatch.")
def cli() -> None:
    pass


def _console() -> Console:
    return Console(width=160, soft_wrap=True)


def _local(cb: Callback, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(service.zone_of(cb.time_zone)).strftime("%a %Y-%m-%d %H:%M")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@cli.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only these statuses (repeatable); default: every status.")
@click.option("--number", help="Only callbacks to this number.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--full", is_flag=True, help="Show whole numbers instead of masked ones.")
@with_app
def list_cmd(app: Flask, statuses: tuple[str, ...], number: str | None, limit: int, full: bool) -> None:
    """Callbacks, soonest first, with their local due time and status."""
    with session_scope(app) as session:
        try:
            rows, total = service.list_callbacks(session, status=list(statuses) or None, e164=number, limit=limit)
        except Refusal as exc:
            _fail(str(exc))
            return
        table = Table("id", "number", "due (callee's time)", "zone", "lang", "reason", "status", "tries",
                      "last error")
        for cb in rows:
            table.add_row(str(cb.id), cb.e164 if full else mask(cb.e164), _local(cb, cb.due_at), cb.time_zone,
                          cb.language, cb.reason, cb.status, str(cb.attempts), (cb.last_error or "")[:60])
        _console().print(table)
        click.echo(f"{len(rows)} of {total} callback(s)")


@cli.command("show")
@click.argument("callback_id", type=int)
@click.option("--full", is_flag=True, help="Show the whole number.")
@with_app
def show(app: Flask, callback_id: int, full: bool) -> None:
    """One callback with its history."""
    with session_scope(app) as session:
        try:
            cb = service.get(session, callback_id)
        except LookupError as exc:
            _fail(str(exc))
            return
        fields: list[tuple[str, Any]] = [
            ("number", cb.e164 if full else mask(cb.e164)), ("status", cb.status),
            ("due", f"{_local(cb, cb.due_at)} {cb.time_zone} ({cb.due_at:%Y-%m-%d %H:%M} UTC)"),
            ("booked for", f"{cb.local_due} {cb.time_zone}"), ("language", cb.language),
            ("reason", cb.reason), ("note", cb.note or "-"), ("origin", f"{cb.origin} {cb.origin_call_sid or ''}".strip()),
            ("campaign / offer", f"{cb.campaign_id or '-'} / {cb.offer_id or '-'}"),
            ("attempts", cb.attempts), ("call", cb.call_sid or "-"), ("answered by", cb.answered_by or "-"),
            ("consent decision", cb.decision_id or "-"), ("last error", cb.last_error or "-"),
            ("booked by", cb.booked_by),
        ]
        for name, value in fields:
            click.echo(f"{name:>18}: {value}")
        click.echo("history:")
        for event in service.history(session, cb.id):
            click.echo(f"  {event.at:%Y-%m-%d %H:%M:%S} UTC  {event.from_status or '-':>11} -> "
                       f"{event.to_status:<11} {event.actor}: {event.note or ''}")


def _parse_when(value: str, zone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO format, e.g. 2026-11-26T18:30 (the callee's local time)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=service.zone_of(zone))
    return moment


@cli.command("move")
@click.argument("callback_id", type=int)
@click.argument("when")
@click.option("--by", required=True, help="Who moves it (kept in the history).")
@click.option("--note", help="Why.")
@with_app
def move(app: Flask, callback_id: int, when: str, by: str, note: str | None) -> None:
    """Move a callback to WHEN (ISO; without an offset it is the callee's local time).
    Also puts a missed/failed/refused/unknown callback back on the schedule."""
    with session_scope(app) as session:
        try:
            cb = service.get(session, callback_id)
            cb = service.move(session, callback_id, _parse_when(when, cb.time_zone), at=now(), by=by, note=note)
        except (Refusal, LookupError) as exc:
            _fail(str(exc))
            return
        click.echo(f"callback {cb.id}: {cb.status}, due {_local(cb, cb.due_at)} {cb.time_zone}")


@cli.command("cancel")
@click.argument("callback_id", type=int)
@click.option("--by", required=True, help="Who cancels it.")
@click.option("--reason", required=True, help="Why (kept in the history).")
@with_app
def cancel(app: Flask, callback_id: int, by: str, reason: str) -> None:
    """Cancel a callback that has not rung yet."""
    with session_scope(app) as session:
        try:
            cb = service.cancel(session, callback_id, at=now(), by=by, reason=reason)
        except (Refusal, LookupError) as exc:
            _fail(str(exc))
            return
        click.echo(f"callback {cb.id}: cancelled")


@cli.command("dispatch-now")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="At most this many calls.")
@with_app
def dispatch_now(app: Flask, limit: int) -> None:
    """Run one dispatch pass now (what the scheduler does every CALLBACK_POLL_SECONDS);
    safe while the app's schedulers run too."""
    report = Dispatcher(app).run_once(limit=limit)
    for name in ("placed", "refused", "rescheduled", "released", "failed", "unknown", "recovered", "reconciled"):
        ids = getattr(report, name)
        if ids:
            click.echo(f"{name}: {', '.join(map(str, ids))}")
    if not any(getattr(report, n) for n in ("placed", "refused", "rescheduled", "released", "failed", "unknown")):
        click.echo("nothing due")
