"""Orders: imported from the shop (CSV now, API later through `upsert_order`), looked up on calls.

CSV import is per line: a bad line is reported with its line number and reason and the good
lines are still imported; an order number seen again updates the existing order (the shop
exports the whole list each night).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import inputs, phone
from app.refusals import Refusal
from app.support.models import ORDER_STATUSES, Order

REQUIRED_COLUMNS = ("number", "status")
OPTIONAL_COLUMNS = (
    "customer_number", "customer_name", "description", "carrier", "tracking",
    "ordered_on", "expected_on", "delivered_on", "country",
)
CLOSED_STATUSES = frozenset({"delivered", "cancelled", "returned"})
# Common synonyms shops export, mapped to our statuses.
STATUS_ALIASES = {
    "new": "received", "open": "received", "pending": "received", "paid": "processing",
    "packed": "processing", "dispatched": "shipped", "in_transit": "shipped", "sent": "shipped",
    "out for delivery": "out_for_delivery", "canceled": "cancelled", "refunded": "returned",
}


class OrderDataError(Refusal):
    """One order record that cannot be stored; the message says which field and why."""

    def __init__(self, message: str) -> None:
        super().__init__("order_data", message)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def normalise_number(raw: str) -> str:
    """Order numbers as callers type them: digits and letters only, upper case."""
    return re.sub(r"[^0-9A-Za-z]", "", raw or "").upper()


def _date(value: str | None, column: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise OrderDataError(f"{column}: {text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _status(value: str | None) -> str:
    text = (value or "").strip().lower()
    text = STATUS_ALIASES.get(text, STATUS_ALIASES.get(text.replace("-", " "), text)).replace(" ", "_")
    if text not in ORDER_STATUSES:
        raise OrderDataError(f"status: {value!r} is not one of {', '.join(ORDER_STATUSES)}")
    return text


def _customer_number(value: str | None, country: str | None, column: str = "customer_number") -> str | None:
    """A customer's phone number in E.164; a bad one is refused naming the `column` it came from."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return phone.parse(text, (country or "").upper() or None).e164
    except phone.InvalidNumber as exc:
        raise OrderDataError(f"{column}: {exc.reason}") from None


def upsert_order(session: Session, record: Mapping[str, Any], at: datetime, *,
                 partial: bool = False) -> tuple[Order, bool]:
    """Create or update one order from a record of strings; return (order, created).

    A CSV line is the whole order (an empty cell clears the field); with `partial` (the API)
    only the fields present in `record` change on an existing order."""
    try:
        inputs.check_record(record)
    except inputs.BadText as exc:
        raise OrderDataError(str(exc)) from None
    number = normalise_number(str(record.get("number") or ""))
    if not number:
        raise OrderDataError("number: missing")
    if len(number) > 32:
        raise OrderDataError("number: longer than 32 characters")
    values = {
        "status": _status(record.get("status")),
        "customer_number": _customer_number(record.get("customer_number"), record.get("country")),
        "customer_name": (record.get("customer_name") or "").strip()[:200] or None,
        "description": (record.get("description") or "").strip()[:300] or None,
        "carrier": (record.get("carrier") or "").strip()[:64] or None,
        "tracking": (record.get("tracking") or "").strip()[:64] or None,
        "ordered_on": _date(record.get("ordered_on"), "ordered_on"),
        "expected_on": _date(record.get("expected_on"), "expected_on"),
        "delivered_on": _date(record.get("delivered_on"), "delivered_on"),
    }
    order = session.scalar(select(Order).where(Order.number == number))
    created = order is None
    if order is None:
        order = Order(number=number, updated_at=at, **values)
        session.add(order)
    else:
        present = set(record) | ({"customer_number"} if "country" in record else set())
        for key, value in values.items():
            if not partial or key in present:
                setattr(order, key, value)
        order.updated_at = at
    return order, created


def import_records(session: Session, records: Iterable[Mapping[str, Any]], at: datetime,
                   *, first_line: int = 1, partial: bool = True) -> ImportReport:
    """Upsert orders one by one (the shop's API push); a bad record is reported by its position
    (from `first_line`) and reason, the others are still imported. `partial`: fields absent
    from a record keep their value on an existing order."""
    return _upsert_each(session, enumerate(records, start=first_line), at, partial=partial, batch="batch")


def _upsert_each(session: Session, numbered: Iterable[tuple[int, Mapping[str, Any]]], at: datetime,
                 *, partial: bool, batch: str) -> ImportReport:
    """Each record in its own savepoint: a bad one is reported by line and skipped."""
    report = ImportReport()
    seen: set[str] = set()
    for line, record in numbered:
        try:
            with session.begin_nested():
                number = normalise_number(str(record.get("number") or ""))
                if number in seen:
                    raise OrderDataError(f"number: {number} appears twice in this {batch}")
                order, created = upsert_order(session, record, at, partial=partial)
                session.flush()
                seen.add(order.number)
        except OrderDataError as exc:
            report.errors.append((line, str(exc)))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


def import_csv(session: Session, stream: IO[str], at: datetime) -> ImportReport:
    """Import orders from CSV text (header row required); never stops at a bad line."""
    report = ImportReport()
    reader = csv.DictReader(stream)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        report.errors.append((1, f"header: missing column(s) {', '.join(missing)}"))
        return report
    reader.fieldnames = header
    rows = ((reader.line_num, row) for row in reader)  # line_num counts quoted newlines too
    return _upsert_each(session, rows, at, partial=False, batch="file")


def find_order(session: Session, number: str) -> Order | None:
    """The order by its number; digits typed on a keypad also find an order whose number has
    letters too (A-4711 from 4711), when exactly one order has those digits."""
    text = normalise_number(number)
    if not text:
        return None
    exact = session.scalar(select(Order).where(Order.number == text))
    if exact is not None or not text.isdigit():
        return exact
    candidates = session.scalars(
        select(Order).where(Order.number.like(f"%{text}"), Order.number != text).limit(20)
    ).all()
    matching = [o for o in candidates if re.sub(r"\D", "", o.number) == text]
    return matching[0] if len(matching) == 1 else None


# Built once: caller recognition runs it on every inbound call.
_OPEN_ORDERS = (
    select(Order)
    .where(Order.customer_number == bindparam("number"), Order.status.not_in(CLOSED_STATUSES))
    .order_by(Order.ordered_on.desc().nulls_last(), Order.id.desc())
)


def open_orders_for(session: Session, e164: str | None) -> list[Order]:
    if not e164:
        return []
    return list(session.scalars(_OPEN_ORDERS, {"number": e164}))


@dataclass(frozen=True)
class DeliveryState:
    status: str
    expected_on: date | None
    late: bool
    days_late: int


def delivery_state(order: Order, today: date) -> DeliveryState:
    """Late means still not delivered after the promised date (the day itself is not late)."""
    late = (
        order.status not in CLOSED_STATUSES
        and order.expected_on is not None
        and today > order.expected_on
    )
    days = (today - order.expected_on).days if late and order.expected_on else 0
    return DeliveryState(order.status, order.expected_on, late, days)
