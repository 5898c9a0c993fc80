"""Campaign dialer pacing: achieved calls per second against the target, several dialers.

    .venv/bin/python bench/dialer_pacing.py                                  # 100 contacts, 5 CPS, 3 dialers
    .venv/bin/python bench/dialer_pacing.py --n 300 --cps 10 --workers 4
    .venv/bin/python bench/dialer_pacing.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

Real time, not simulated: each dialer (a thread with its own worker token, as separate
processes would be) runs `Dialer.tick()` once a second like the APScheduler job does and
really sleeps until its pacing slot. The clock starts on a Wednesday at 10:00 in Rome (inside
Italy's calling window) and moves with the wall clock. Calls go to an in-memory gateway that
records when each was placed. Printed: achieved CPS, the most calls in any one-second window,
the smallest gap between two calls (target 1/CPS), duplicates and losses (both must be 0).
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.campaigns import service
from app.campaigns.dialer import Dialer
from app.clock import Clock
from app.consent import registries
from app.consent.contacts import get_or_create
from app.consent.ledger import record_consent
from app.db import Base, get_engine, session_scope
from app.telephony import CallInfo

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class RunningClock(Clock):
    """START plus the wall-clock time elapsed since the bench began."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return START + timedelta(seconds=time.monotonic() - self._t0)


class RecordingGateway:
    def __init__(self) -> None:
        self.placed: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def place_call(self, to: str, url: str, **_: Any) -> CallInfo:
        with self.lock:
            self.placed.append((to, time.monotonic()))
            sid = f"CA{len(self.placed):032x}"
        return CallInfo(sid=sid, status="queued", to=to, from_="+390212345678", direction="outbound-api")

    def fetch_call(self, sid: str) -> CallInfo:
        return CallInfo(sid=sid, status="in-progress", to="", from_="", direction="outbound-api")


def build(database: str, args: argparse.Namespace) -> tuple[Any, RunningClock]:
    clock = RunningClock()
    app = create_app({
        "CORTESE_ENV": "test", "SECRET_KEY": "bench-secret-key-0123456789",
        "TWILIO_ACCOUNT_SID": "AC" + "ab" * 16, "TWILIO_AUTH_TOKEN": "bench-auth-token-0123456789",
        "TWILIO_CALLER_ID": "+390212345678", "PUBLIC_BASE_URL": "https://cortese.example.test",
        "ADMIN_API_TOKEN": "bench-admin-token-0123456789", "DATABASE_URL": database,
        "SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING", "CAMPAIGN_ACCOUNT_CPS": args.account_cps,
    }, clock=clock)
    Base.metadata.create_all(get_engine(app))
    with app.app_context(), session_scope(app) as session:
        contacts = [get_or_create(session, f"+39347{1000000 + i}", source="bench", at=clock.now())
                    for i in range(args.n)]
        for contact in contacts:  # the survey flow speaks with a synthetic voice: consent needed
            record_consent(session, contact, action="given", purpose="any", channel="automated_voice",
                           written=True, at=clock.now() - timedelta(days=1), source="signed web form",
                           recorded_by="bench", proof="bench")
        # The Registro delle opposizioni covers market research (art. 130(3-bis)): a screened list.
        registries.import_registry(session, "IT", io.BytesIO(b"+390612345699"), at=clock.now(), file_name="rpo.txt")
        ids = [contact.id for contact in contacts]
        campaign = service.create_campaign(
            session, name="bench", purpose="survey", flow="campaign_survey", languages=["it"],
            reason={"it": "un sondaggio"}, created_by="bench", at=clock.now(), calling_days="mon-sun",
            calling_hours="00:00-23:59", cps=args.cps, max_concurrent=1000)
        service.add_contacts(session, campaign, ids, at=clock.now())
        service.start(session, campaign, at=clock.now())
    return app, clock


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/bench.db"
        app, _ = build(database, args)
        gateway = RecordingGateway()
        deadline = time.monotonic() + args.n / args.cps * 2 + 10
        done = threading.Event()

        def worker(index: int) -> None:
            dialer = Dialer(app, gateway=gateway, worker=f"bench-{index}")
            while not done.is_set() and time.monotonic() < deadline:
                began = time.monotonic()
                dialer.tick()
                if len(gateway.placed) >= args.n:
                    done.set()
                time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        get_engine(app).dispose()
    report(args, gateway.placed)
    return 0


def report(args: argparse.Namespace, placed: list[tuple[str, float]]) -> None:
    times = sorted(t for _, t in placed)
    counts = Counter(number for number, _ in placed)
    duplicates = sum(c - 1 for c in counts.values())
    losses = args.n - len(counts)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span else 0.0
    window = max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    print(f"contacts {args.n}, dialers {args.workers}, target {args.cps:g} CPS "
          f"(account limit {args.account_cps:g}), database {args.database or 'sqlite (temp file)'}")
    print(f"achieved     {achieved:.2f} CPS over {span:.1f} s ({len(times)} calls)")
    print(f"busiest 1 s  {window} calls (limit {math.ceil(min(args.cps, args.account_cps))})")
    if gaps:
        print(f"gap          min {min(gaps) * 1000:.0f} ms, median {sorted(gaps)[len(gaps) // 2] * 1000:.0f} ms "
              f"(target {1000 / min(args.cps, args.account_cps):.0f} ms)")
    print(f"duplicates   {duplicates}")
    print(f"losses       {losses}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="contacts to call")
    parser.add_argument("--cps", type=float, default=5.0, help="the campaign's calls per second")
    parser.add_argument("--account-cps", type=float, default=100.0, help="CAMPAIGN_ACCOUNT_CPS")
    parser.add_argument("--workers", type=int, default=3, help="dialers sharing the database")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
