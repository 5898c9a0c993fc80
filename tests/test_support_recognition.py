"""Caller recognition (app.support.recognition) on both databases: which order, ticket and name
a number brings up when it has several, dates missing, dates equal, and rows that do not count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.db import session_scope
from app.support.models import CustomerProduct, Order, Product, Ticket
from app.support.recognition import Recognition, recognise
from tests.conftest import app_on_each_database

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NUMBER = "+393471234567"
OWNER = "+31612345678"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, tmp_path):
    yield from app_on_each_database(request, tmp_path, AT)


def _add_one_by_one(session: Any, rows: list[Any]) -> None:
    """Rows stored in this order, so their ids grow in it (ties on a date go by id)."""
    for row in rows:
        session.add(row)
        session.flush()


def _order(number: str, status: str, ordered_on: date | None, name: str | None, caller: str = NUMBER) -> Order:
    return Order(number=number, customer_number=caller, customer_name=name, status=status,
                 ordered_on=ordered_on, updated_at=AT)


def _ticket(reference: str, kind: str, status: str, created_at: datetime) -> Ticket:
    return Ticket(reference=reference, kind=kind, status=status, caller_number=NUMBER,
                  created_at=created_at, updated_at=created_at)


def _add_product(session: Any) -> None:
    """The product the `_owned` rows are of (its id kept in the session's info)."""
    product = Product(sku="X2", name="Router X2", names={})
    session.add(product)
    session.flush()
    session.info["product"] = product.id


def _owned(session: Any, serial: str, purchased_on: date | None, name: str | None) -> CustomerProduct:
    return CustomerProduct(serial=serial, product_id=session.info["product"], owner_number=OWNER,
                           owner_name=name, purchased_on=purchased_on)


def test_the_newest_open_order_and_ticket_and_the_first_order_name_there_is(db_app):
    with session_scope(db_app) as session:
        _add_one_by_one(session, [
            _order("100", "processing", date(2026, 1, 10), None),
            _order("101", "received", None, "Paola Neri"),  # undated: after every dated order
            _order("102", "delivered", date(2026, 2, 20), "Closed Name"),  # closed: never offered
            _order("103", "shipped", date(2026, 1, 10), ""),  # same day as 100, stored later
            _order("104", "processing", date(2026, 2, 25), "Someone Else", caller=OWNER),
            _ticket("5001", "fault", "open", AT - timedelta(hours=3)),
            _ticket("5002", "warranty", "resolved", AT - timedelta(hours=1)),  # not open
            _ticket("5003", "complaint", "in_progress", AT - timedelta(hours=4)),
            _ticket("5004", "delivery_chase", "open", AT - timedelta(hours=3)),  # same time as 5001
        ])
        found = recognise(session, NUMBER)
    # 103 and 100 share the newest date and 103 came later; neither has a name (an empty one is
    # none), so the name is the undated order's, which comes last.
    assert found == Recognition(open_order="103", open_ticket=("5004", "delivery_chase"), name="Paola Neri")


def test_a_number_with_products_only_is_named_by_its_latest_purchase(db_app):
    with session_scope(db_app) as session:
        _add_product(session)
        _add_one_by_one(session, [
            _owned(session, "S1", date(2024, 5, 1), "Dora"),
            _owned(session, "S2", None, "Bea"),
            _owned(session, "S3", date(2025, 5, 1), "Anna"),
            _owned(session, "S4", date(2025, 5, 1), "Carla"),  # same day as Anna, stored later
            _owned(session, "S5", date(2025, 9, 1), None),  # the newest has no name
        ])
        found = recognise(session, OWNER)
    # Products bought the same day go in the order they were stored.
    assert found == Recognition(open_order=None, open_ticket=None, name="Anna")


def test_an_order_name_comes_before_a_product_name(db_app):
    with session_scope(db_app) as session:
        _add_product(session)
        _add_one_by_one(session, [
            _owned(session, "S1", date(2026, 1, 1), "Anna"),
            _order("200", "processing", date(2025, 1, 1), "Giulia Rossi", caller=OWNER),
        ])
        assert recognise(session, OWNER) == Recognition(open_order="200", name="Giulia Rossi")


@pytest.mark.parametrize("number", [None, "", "+441632960000"])
def test_withheld_and_unknown_numbers_are_nobody(db_app, number):
    with session_scope(db_app) as session:
        assert recognise(session, number) == Recognition()
