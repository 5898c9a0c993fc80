"""`cortese demo`: load demo customers, products and orders, dated from today.

Dates are relative to the day it runs, so an order "on its way" is due in two days and a late
one was due three days ago whenever a newcomer tries it. Loading again updates the same rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click
from flask import Flask
from sqlalchemy.orm import Session

from app.clock import now
from app.commands import with_app
from app.consent.contacts import get_or_create
from app.db import session_scope
from app.sim.simulator import DEFAULT_CALLER
from app.support.cli import upsert_unit
from app.support.orders import upsert_order

LINE = "+390212345678"  # the Italian hotline in flows/hotlines.yaml
# The simulator's default caller owns products (fault report, warranty); another has an order.
GIULIA = DEFAULT_CALLER
MARCO = "+393471234567"


def _units(today: date) -> list[dict[str, str]]:
    def bought(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    owner = {"owner_number": GIULIA, "owner_name": "Giulia Rossi", "country": "IT"}
    return [
        # Three months old, 24 months from the maker: covered by the manufacturer's warranty.
        {"sku": "FIBRA-BOX-X2", "serial": "100001", "name": "Router Fibra X2", "category": "router",
         "warranty_months": "24", "purchased_on": bought(90), **owner},
        # 20 months old with a 12-month warranty: only the legal guarantee (24 months in Italy).
        {"sku": "TV-55", "serial": "100002", "name": "Smart TV 55", "category": "tv", "warranty_months": "12",
         "purchased_on": bought(610), **owner},
        # Four years old: everything has ended (refused, an operator offered).
        {"sku": "PHONE-S", "serial": "100003", "name": "Smartphone S", "category": "smartphone",
         "warranty_months": "12", "purchased_on": bought(4 * 365), "country": "IT"},
    ]


def _orders(today: date) -> list[dict[str, str]]:
    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    return [
        {"number": "4711", "status": "shipped", "carrier": "BRT", "ordered_on": day(-2), "expected_on": day(2),
         "customer_number": MARCO, "customer_name": "Marco Bianchi", "country": "IT"},
        {"number": "4712", "status": "shipped", "ordered_on": day(-10), "expected_on": day(-3)},  # late
        {"number": "4713", "status": "delivered", "ordered_on": day(-9), "expected_on": day(-5),
         "delivered_on": day(-5)},
        {"number": "4714", "status": "cancelled", "ordered_on": day(-4)},
    ]


def load(session: Session, at: datetime) -> None:
    """Customers, their products and orders, dated from `at`; loading again updates them."""
    get_or_create(session, GIULIA, source="demo", at=at, name="Giulia Rossi", language="it")
    get_or_create(session, MARCO, source="demo", at=at, name="Marco Bianchi", language="it")
    for row in _units(at.date()):
        upsert_unit(session, row)
    for record in _orders(at.date()):
        upsert_order(session, record, at)


@click.command("demo")
@with_app
def cli(app: Flask) -> None:
    """Load demo customers, products and orders (dated from today) to try every menu branch."""
    with session_scope(app) as session:
        load(session, now())
    click.echo("Demo data loaded (loading it again updates the same rows). With `cortese up` running, try:")
    for line in (
        f"cortese sim call --to {LINE} --from {GIULIA}   # Giulia: recognised by her products",
        "  1 information (a question by key or in words), 2 fault (\"Il guasto riguarda il router?\"),",
        "  3 warranty: serial 100001# (manufacturer), 100002# (legal guarantee), 100003# (ended),",
        "  4 delivery: order 4711# (on its way), 4713# (delivered), 4714# (cancelled), 4712# (late),",
        "  5 callback, 0 operator, * language",
        "  (a fault, a late order or a claim opens a ticket: the caller's next calls ask about it",
        "  first; press 2 there for the menu)",
        f"cortese sim call --to {LINE} --from {MARCO}   # Marco: asked about his open order 4711 first",
    ):
        click.echo(f"  {line}")
