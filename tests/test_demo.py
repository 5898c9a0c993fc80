"""`cortese demo`: the data set a newcomer tries every menu branch with."""

from __future__ import annotations

from app.db import session_scope
from app.demo.cli import GIULIA, LINE, MARCO, load
from app.support.models import CustomerProduct, Order


def _load(app, clock) -> None:
    with session_scope(app) as session:
        load(session, clock.now())


def test_the_demo_loads_once_and_again_without_duplicates(app, clock):
    _load(app, clock)
    _load(app, clock)
    with session_scope(app) as session:
        assert session.query(CustomerProduct).count() == 3 and session.query(Order).count() == 4


def test_every_branch_has_something_to_find(sim, app, clock):
    _load(app, clock)  # today: Monday 2 March 2026
    giulia = sim.inbound(from_=GIULIA, to=LINE)
    assert giulia.heard("Giulia"), giulia.format_transcript()
    giulia.press("3")
    giulia.press("100002#")  # the TV: 20 months old, 12 months from the maker
    giulia.press("02032026")
    assert giulia.heard("garanzia legale"), giulia.format_transcript()
    giulia.hangup()
    late = sim.inbound(from_="+393401112223", to=LINE)
    late.press("4")
    late.press("4712#")  # due three days ago, not delivered
    assert late.heard("ritardo"), late.format_transcript()
    late.hangup()
    marco = sim.inbound(from_=MARCO, to=LINE)
    assert marco.heard("4 7 1 1"), marco.format_transcript()  # his open order, offered first
