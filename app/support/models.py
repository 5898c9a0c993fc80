"""Support desk records: products and what customers own, orders, tickets and warranty claims.

Callers are linked by their E.164 number (the one thing a phone call gives us for sure); the
contact id is stored too when the caller is a known contact, so the console can join them.
Every ticket and claim carries a short numeric `reference` that is read back digit by digit
on the call and typed on a keypad later, so it ends with a check digit (see services.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, one_of
from app.support.subjects import english

TICKET_KINDS = ("fault", "warranty", "delivery_chase", "complaint", "unanswered_question")
# draft: the caller hung up before the ticket was complete; kept so nothing is lost.
TICKET_STATUSES = ("draft", "open", "in_progress", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
ORDER_STATUSES = (
    "received", "processing", "shipped", "out_for_delivery", "delivered", "cancelled", "returned",
)
CLAIM_OUTCOMES = ("accepted", "refused", "needs_review")


class Product(Base):
    """A product we support; `warranty_months` is the commercial (manufacturer) warranty."""

    __tablename__ = "support_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Spoken names per language ({"it": "il router", ...}); falls back to `name`.
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    category: Mapped[str | None] = mapped_column(String(64))
    warranty_months: Mapped[int | None] = mapped_column(Integer)

    def spoken_name(self, language: str) -> str:
        return (self.names or {}).get(language) or self.name


class CustomerProduct(Base):
    """One unit a customer owns, identified by its serial number."""

    __tablename__ = "support_customer_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("support_products.id"), index=True)
    owner_number: Mapped[str | None] = mapped_column(String(32), index=True)
    owner_name: Mapped[str | None] = mapped_column(String(200))
    purchased_on: Mapped[date | None] = mapped_column(Date)
    country: Mapped[str | None] = mapped_column(String(2))

    product: Mapped[Product] = relationship(lazy="joined")


class Order(Base):
    """An order as imported from the shop (CSV or API); `expected_on` is the promised date."""

    __tablename__ = "support_orders"
    __table_args__ = (one_of("status", ORDER_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_number: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking: Mapped[str | None] = mapped_column(String(64))
    ordered_on: Mapped[date | None] = mapped_column(Date)
    expected_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Ticket(Base):
    __tablename__ = "support_tickets"
    __table_args__ = (one_of("status", TICKET_STATUSES), one_of("kind", TICKET_KINDS), one_of("priority", PRIORITIES))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # Flagged tickets need a person to review them (complaints, abusive calls).
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    caller_number: Mapped[str | None] = mapped_column(String(128), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    hotline: Mapped[str | None] = mapped_column(String(32))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("support_products.id"))
    customer_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_customer_products.id")
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("support_orders.id"))
    # The caller's own words or a product's name; a subject we word ourselves is a code with
    # values instead (app.support.subjects), so each reader sees it in their own language.
    subject: Mapped[str | None] = mapped_column(String(200))
    subject_code: Mapped[str | None] = mapped_column(String(40))
    subject_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    # Made on a simulated call (app.calls.SIMULATED_HEADER), not by a real caller.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    product: Mapped[Product | None] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def subject_english(self) -> str | None:
        """The subject as the API and the CLI show it (English for a coded subject)."""
        return english(self.subject_code, self.subject_values, self.subject)



class WarrantyClaim(Base):
    """A warranty claim made on a call; stored whatever the outcome, with the reason."""

    __tablename__ = "support_warranty_claims"
    __table_args__ = (one_of("outcome", CLAIM_OUTCOMES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    customer_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_customer_products.id")
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("support_products.id"))
    purchased_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    covered_until: Mapped[date | None] = mapped_column(Date)
    caller_number: Mapped[str | None] = mapped_column(String(128), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("support_tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    product: Mapped[Product | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
