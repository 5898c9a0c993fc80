"""Callback punctuality: N callbacks due within a window, the real dispatcher on scheduler ticks.

    .venv/bin/python bench/callback_punctuality.py                      # 2,000 due within 60 s, 10 CPS
    .venv/bin/python bench/callback_punctuality.py --n 10000 --cps 10   # the issue's figure
    .venv/bin/python bench/callback_punctuality.py --workers 3 --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

Time is simulated (a FakeClock): each scheduler tick runs `Dispatcher.run_once()` (claim,
consent re-check, dial, record) exactly as APScheduler would every CALLBACK_POLL_SECONDS, the
pacing between dials advances the clock by 1/CPS instead of sleeping, and the next tick starts
`poll` seconds after the previous one started (or when it ended, if it ran longer). Dials go
through the real TwilioGateway over HTTP to the simulator's FakeTwilio (`--transport http`,
default) or to an in-process recorder (`--transport memory`, faster).

Printed: lateness of each dial against its due time (p50/p99/max), lateness *beyond pacing*
(against the earliest moment a CPS-limited dialer could have placed it), duplicates (must be
0), losses (due but never dialled, must be 0), and the wall-clock cost per dial.
With --workers > 1 several dispatchers (threads, each its own worker id) share the database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from app import create_app
from app.callbacks.dispatch import Dispatcher
from app.callbacks.models import Callback
from app.clock import FakeClock
from app.consent.models import Contact
from app.db import Base, get_engine, session_scope
from app.outbound.pipeline import PACING_MARGIN
from app.sim.fake_twilio import FakeTwilio
from app.telephony import CallInfo

ACCOUNT = "AC" + "ab" * 16
TOKEN = "bench-auth-token-0123456789abcdef"
# Wednesday 25 November 2026, 10:00 in Rome: inside Italy's calling window.
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def settings(database: str, cps: float, poll: float, base_url: str) -> dict[str, object]:
    return {
        "CORTESE_ENV": "test", "SECRET_KEY": "bench-secret-key-0123456789",
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_CALLER_ID": "+390212345678",
        "TWILIO_API_BASE_URL": base_url, "TWILIO_RETRY_BASE_SECONDS": 0, "TWILIO_RETRY_MAX_SECONDS": 0,
        "PUBLIC_BASE_URL": "https://cortese.example.test", "ADMIN_API_TOKEN": "bench-admin-token-0123456789",
        "DATABASE_URL": database, "SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING",
        "CALLBACK_CALLS_PER_SECOND": cps, "CALLBACK_POLL_SECONDS": poll, "CALLBACK_SLOT_CAPACITY": 10000,
        # The account allows what the dispatchers are asked to do: its pacing keeps 2 % below
        # the account's limit (PACING_MARGIN), so the limit is set that much above.
        "CAMPAIGN_ACCOUNT_CPS": cps * PACING_MARGIN,
    }


class MemoryGateway:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.dials: list[tuple[int, datetime]] = []
        self._lock = threading.Lock()
        self._n = 0

    def place_call(self, to: str, url: str, **_: object):
        with self._lock:
            self._n += 1
            self.dials.append((int(url.rsplit("cb=", 1)[1]), self.clock.now()))
            sid = f"CA{self._n:032x}"
        return CallInfo(sid=sid, status="queued", to=to, from_="+390212345678", direction="outbound-api")


def seed(app, n: int, window: float) -> dict[int, datetime]:
    """n contacts and callbacks, due evenly within `window` seconds after START."""
    rows, contacts = [], []
    for i in range(n):
        e164 = f"+39347{1000000 + i}"
        due = START + timedelta(seconds=window * i / max(n - 1, 1))
        contacts.append(dict(id=i + 1, e164=e164, region="IT", line_type="mobile", time_zone="Europe/Rome",
                             time_zones=["Europe/Rome"], source="bench", is_business=False, is_customer=False,
                             created_at=START, updated_at=START))
        rows.append(dict(id=i + 1, e164=e164, contact_id=i + 1, time_zone="Europe/Rome", language="it",
                         due_at=due, local_due=due.strftime("%Y-%m-%dT%H:%M"), reason="support", origin="api",
                         booked_by="bench", status="scheduled", attempts=0, errors=0,
                         created_at=START, updated_at=START))
    with session_scope(app) as session:
        for chunk in range(0, n, 1000):
            session.execute(insert(Contact), contacts[chunk:chunk + 1000])
            session.execute(insert(Callback), rows[chunk:chunk + 1000])
    return {r["id"]: r["due_at"] for r in rows}


def run(args: argparse.Namespace) -> None:
    clock = FakeClock(START - timedelta(seconds=1))
    fake = None
    base_url = "https://api.twilio.com"
    if args.transport == "http":
        fake = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN, clock=clock)
        base_url = fake.start()
    database = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(settings(database, args.cps, args.poll, base_url), clock=clock)
    Base.metadata.drop_all(get_engine(app))
    Base.metadata.create_all(get_engine(app))
    due = seed(app, args.n, args.window)
    memory = MemoryGateway(clock) if fake is None else None
    lock = threading.Lock()

    def pace(seconds: float) -> None:
        clock.advance(seconds=seconds / args.workers)  # workers share the account's CPS

    wall = time.perf_counter()
    deadline = START + timedelta(seconds=args.window + args.n / args.cps * 2 + 600)
    while clock.now() < deadline:
        tick = clock.now()
        threads = [threading.Thread(target=lambda w=w: Dispatcher(
            app, gateway=memory, worker=f"bench-{w}", pace=pace).run_once()) for w in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with lock:
            clock.set(max(tick + timedelta(seconds=args.poll), clock.now()))
        dialled = len(memory.dials) if memory else len(fake.calls)
        if dialled >= args.n and clock.now() > START + timedelta(seconds=args.window):
            break
    wall = time.perf_counter() - wall

    if memory is not None:
        dials = memory.dials
    else:
        dials = [(int((c.url or "").rsplit("cb=", 1)[1]), c.date_created) for c in fake.calls]
        fake.stop()
    report(args, due, dials, wall)
    get_engine(app).dispose()


def report(args: argparse.Namespace, due: dict[int, datetime], dials: list[tuple[int, datetime]],
           wall: float) -> None:
    counts = Counter(cb for cb, _ in dials)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    lost = [cb for cb in due if cb not in counts]
    first = {}
    for cb, at in sorted(dials, key=lambda d: d[1]):
        first.setdefault(cb, at)
    late = sorted((first[cb] - due[cb]).total_seconds() for cb in first)
    # The earliest a dialer limited to `cps` could have placed each call, in due order.
    ideal: dict[int, datetime] = {}
    previous = None
    for cb in sorted(due, key=lambda c: (due[c], c)):
        moment = due[cb] if previous is None else max(due[cb], previous + timedelta(seconds=1 / args.cps))
        ideal[cb] = previous = moment
    beyond = sorted((first[cb] - ideal[cb]).total_seconds() for cb in first)

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

    print(f"callbacks: {args.n} due within {args.window:.0f} s; {args.cps:g} CPS; tick every {args.poll:g} s; "
          f"{args.workers} dispatcher(s); transport {args.transport}")
    print(f"dialled: {len(first)}  duplicates: {duplicates}  lost: {len(lost)}")
    print(f"lateness vs due time   p50 {pct(late, .5):8.2f} s  p99 {pct(late, .99):8.2f} s  max {late[-1] if late else 0:8.2f} s")
    print(f"lateness beyond pacing p50 {pct(beyond, .5):8.2f} s  p99 {pct(beyond, .99):8.2f} s  max {beyond[-1] if beyond else 0:8.2f} s")
    print(f"(a {args.cps:g} CPS dialer needs {args.n / args.cps:.0f} s for {args.n} calls: lateness vs due is "
          f"mostly pacing; 'beyond pacing' is what the dispatcher adds, bounded by one tick)")
    if dials:
        print(f"wall clock: {wall:.1f} s, {1000 * wall / len(dials):.2f} ms per dial (claim + consent + dial + record), "
              f"mean {statistics.mean(late):.2f} s late")
    if duplicates or lost:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="callbacks (default 2000)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they fall due")
    parser.add_argument("--cps", type=float, default=10.0, help="calls per second (CALLBACK_CALLS_PER_SECOND)")
    parser.add_argument("--poll", type=float, default=5.0, help="scheduler tick (CALLBACK_POLL_SECONDS)")
    parser.add_argument("--workers", type=int, default=1, help="dispatchers sharing the database")
    parser.add_argument("--transport", choices=("http", "memory"), default="http")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
