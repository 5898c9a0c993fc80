"""`cortese support ...`: import orders and customer products, list and show tickets and claims."""

from __future__ import annotations

import csv
import sys
from typing import IO, Any

import click
from flask import Flask
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import inputs
from app.callbacks.models import Callback
from app.calls import get_call
from app.clock import now
from app.commands import with_app
from app.db import session_scope
from app.phone import mask
from app.support import orders, services
from app.support.models import (
    TICKET_KINDS,
    TICKET_STATUSES,
    CustomerProduct,
    Product,
    Ticket,
    WarrantyClaim,
)
from app.support.orders import OrderDataError, _date

LANGUAGES = ("it", "nl", "en")


@click.group("support", help="Support desk: orders, products, tickets and warranty claims.")
def cli() -> None:
    pass


def _console() -> Console:
    return Console(width=160, soft_wrap=True)


def _report(created: int, updated: int, errors: list[tuple[int, str]]) -> None:
    click.echo(f"{created} created, {updated} updated, {len(errors)} line(s) with errors")
    for line, message in errors:
        click.echo(f"  line {line}: {message}", err=True)


@cli.command("import-orders")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@with_app
def import_orders(app: Flask, path: IO[str]) -> None:
    """Import orders from a CSV file (columns: number,status[,customer_number,customer_name,
    description,carrier,tracking,ordered_on,expected_on,delivered_on,country])."""
    with session_scope(app) as session:
        report = orders.import_csv(session, path, now())
    _report(report.created, report.updated, report.errors)
    if report.errors:
        sys.exit(1)


def upsert_unit(session: Session, row: dict[str, str]) -> bool:
    """Create or update one customer product from a CSV row of strings; True when created."""
    try:
        inputs.check_record(row)
    except inputs.BadText as exc:
        raise OrderDataError(str(exc)) from None
    sku = (row.get("sku") or "").strip().upper()
    serial = "".join(ch for ch in row.get("serial") or "" if ch.isalnum()).upper()
    if not sku or not serial:
        raise OrderDataError("sku and serial are required")
    months_text = (row.get("warranty_months") or "").strip()
    if months_text and not months_text.isdigit():
        raise OrderDataError(f"warranty_months: {months_text!r} is not a whole number")
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        product = Product(sku=sku, name=(row.get("name") or sku).strip(), names={},
                          category=(row.get("category") or "").strip() or None)
        session.add(product)
    if months_text:
        product.warranty_months = int(months_text)
    session.flush()
    owner = orders._customer_number(row.get("owner_number"), row.get("country"), "owner_number")
    unit = session.scalar(select(CustomerProduct).where(CustomerProduct.serial == serial))
    created = unit is None
    if unit is None:
        unit = CustomerProduct(serial=serial, product_id=product.id)
        session.add(unit)
    unit.product_id = product.id
    unit.owner_number = owner
    unit.owner_name = (row.get("owner_name") or "").strip() or None
    unit.purchased_on = _date(row.get("purchased_on"), "purchased_on")
    unit.country = (row.get("country") or "").strip().upper()[:2] or None
    session.flush()
    return created


@cli.command("import-units")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@with_app
def import_units(app: Flask, path: IO[str]) -> None:
    """Import customer products (columns: sku,serial[,name,category,warranty_months,owner_number,
    owner_name,purchased_on,country]); products are created by SKU on first sight."""
    created = updated = 0
    errors: list[tuple[int, str]] = []
    with session_scope(app) as session:
        reader = csv.DictReader(path)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or []]
        for row in reader:
            try:
                with session.begin_nested():
                    if upsert_unit(session, row):
                        created += 1
                    else:
                        updated += 1
            except OrderDataError as exc:
                errors.append((reader.line_num, str(exc)))
    _report(created, updated, errors)
    if errors:
        sys.exit(1)


def _ticket_rows(session: Session, kind: str | None, status: str | None, caller: str | None,
                 flagged: bool, limit: int, language: str | None = None) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    if language:
        query = query.where(Ticket.language == language)
    if kind:
        query = query.where(Ticket.kind == kind)
    if status:
        query = query.where(Ticket.status == status)
    if caller:
        query = query.where(Ticket.caller_number == caller)
    if flagged:
        query = query.where(Ticket.flagged.is_(True))
    return list(session.scalars(query))


@cli.command("tickets")
@click.option("--kind", type=click.Choice(TICKET_KINDS))
@click.option("--status", type=click.Choice(TICKET_STATUSES))
@click.option("--caller", help="E.164 number of the caller")
@click.option("--flagged", is_flag=True, help="Only tickets flagged for review")
@click.option("--language", type=click.Choice(LANGUAGES), help="Language of the call")
@click.option("--limit", default=50, show_default=True)
@click.option("--full-numbers", is_flag=True, help="Show callers' numbers unmasked")
@with_app
def list_tickets(app: Flask, kind: str | None, status: str | None, caller: str | None,
                 flagged: bool, language: str | None, limit: int, full_numbers: bool) -> None:
    """List tickets, newest first."""
    table = Table("reference", "created (UTC)", "kind", "status", "priority", "flag", "caller",
                  "lang", "subject")
    with session_scope(app) as session:
        for t in _ticket_rows(session, kind, status, caller, flagged, limit, language):
            table.add_row(t.reference, f"{t.created_at:%Y-%m-%d %H:%M}", t.kind, t.status, t.priority,
                          "!" if t.flagged else "", _number(t.caller_number, full_numbers),
                          t.language or "", (t.subject_english or t.description or "")[:60])
    _console().print(table)


@cli.command("claims")
@click.option("--outcome", type=click.Choice(("accepted", "refused", "needs_review")))
@click.option("--caller", help="E.164 number of the caller")
@click.option("--language", type=click.Choice(LANGUAGES), help="Language of the call")
@click.option("--limit", default=50, show_default=True)
@click.option("--full-numbers", is_flag=True)
@with_app
def list_claims(app: Flask, outcome: str | None, caller: str | None, language: str | None, limit: int,
                full_numbers: bool) -> None:
    """List warranty claims, newest first."""
    query = select(WarrantyClaim).order_by(WarrantyClaim.created_at.desc(), WarrantyClaim.id.desc()).limit(limit)
    if language:
        query = query.where(WarrantyClaim.language == language)
    if outcome:
        query = query.where(WarrantyClaim.outcome == outcome)
    if caller:
        query = query.where(WarrantyClaim.caller_number == caller)
    table = Table("reference", "created (UTC)", "serial", "product", "bought", "outcome", "reason",
                  "covered until", "caller", "lang")
    with session_scope(app) as session:
        for c in session.scalars(query):
            table.add_row(c.reference, f"{c.created_at:%Y-%m-%d %H:%M}", c.serial,
                          c.product.sku if c.product else "", str(c.purchased_on or ""), c.outcome,
                          c.reason, str(c.covered_until or ""), _number(c.caller_number, full_numbers),
                          c.language or "")
    _console().print(table)


@cli.command("show")
@click.argument("reference")
@click.option("--full-numbers", is_flag=True)
@with_app
def show(app: Flask, reference: str, full_numbers: bool) -> None:
    """Show one ticket or claim by reference, with the steps of the call that made it."""
    with session_scope(app) as session:
        ticket = services.find_ticket(session, reference)
        claim = None if ticket else services.find_claim(session, reference)
        if ticket is None and claim is None:
            click.echo(f"No ticket or claim with reference {reference}.", err=True)
            sys.exit(1)
        record: Any = ticket or claim
        fields = _fields(record, full_numbers)
        for name, value in fields:
            click.echo(f"{name:>14}: {value}")
        _print_steps(session, record.call_sid)


@cli.command("call")
@click.argument("call_sid")
@click.option("--full-numbers", is_flag=True)
@with_app
def show_call(app: Flask, call_sid: str, full_numbers: bool) -> None:
    """Everything one call made (tickets, warranty claims, callbacks booked), then its steps."""
    with session_scope(app) as session:
        call = get_call(session, call_sid.strip())
        if call is None:
            click.echo(f"No call {call_sid}.", err=True)
            sys.exit(1)
        click.echo(f"call {call.call_sid}: {_number(call.from_number, full_numbers)} -> {call.to_number}, "
                   f"language {call.language or '?'}, {call.status}")
        table = Table("what", "reference", "status / outcome", "detail", "lang")
        for t in session.scalars(select(Ticket).where(Ticket.call_sid == call.call_sid).order_by(Ticket.id)):
            table.add_row(f"ticket {t.kind}", t.reference, f"{t.status} {t.priority}{' !' if t.flagged else ''}",
                          (t.subject_english or t.description or "")[:60], t.language or "")
        claims = select(WarrantyClaim).where(WarrantyClaim.call_sid == call.call_sid).order_by(WarrantyClaim.id)
        for c in session.scalars(claims):
            table.add_row("warranty claim", c.reference, f"{c.outcome} ({c.reason})",
                          f"serial {c.serial}, covered until {c.covered_until or '-'}", c.language or "")
        booked = select(Callback).where(Callback.origin_call_sid == call.call_sid).order_by(Callback.id)
        for cb in session.scalars(booked):
            table.add_row("callback", f"#{cb.id}", cb.status, f"{cb.local_due} {cb.time_zone} ({cb.reason})",
                          cb.language)
        _console().print(table)
        _print_steps(session, call.call_sid)


def _fields(record: Ticket | WarrantyClaim, full_numbers: bool) -> list[tuple[str, Any]]:
    common = [("reference", record.reference), ("created", f"{record.created_at:%Y-%m-%d %H:%M} UTC"),
              ("caller", _number(record.caller_number, full_numbers)), ("language", record.language),
              ("call", record.call_sid)]
    if isinstance(record, Ticket):
        return [("ticket", record.kind), ("status", record.status), ("priority", record.priority),
                ("flagged", "yes" if record.flagged else "no"),
                ("product", record.product.name if record.product else ""),
                ("order", record.order.number if record.order else ""),
                ("subject", record.subject_english or ""), ("description", record.description or ""),
                ("recording", record.recording_url or ""), ("details", record.details or {}), *common]
    return [("claim", record.outcome), ("reason", record.reason), ("serial", record.serial),
            ("product", record.product.name if record.product else ""),
            ("bought", record.purchased_on or ""), ("covered until", record.covered_until or ""), *common]


def _print_steps(session: Session, call_sid: str | None) -> None:
    call = get_call(session, call_sid) if call_sid else None
    if call is None:
        return
    table = Table("at (UTC)", "flow", "node", "kind", "input", "outcome")
    for step in call.steps:
        table.add_row(f"{step.at:%H:%M:%S}", step.flow or "", step.node or "", step.kind,
                      (step.input or "")[:50], step.outcome or "")
    _console().print(table)


def _number(value: str | None, full: bool) -> str:
    if not value:
        return ""
    return value if full else mask(value)
