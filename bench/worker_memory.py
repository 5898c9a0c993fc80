"""Worker memory: the RSS of one gunicorn worker while it serves 100,000 signed webhooks.

    .venv/bin/python bench/worker_memory.py [--requests 100000] [--db sqlite|postgres] [--clients 8]

One worker (`cortese serve --workers 1`, with the threads it picks for the database) so every
request lands in the process we measure. Each simulated call is three real webhooks: the
hotline's first step (/voice/inbound: call created, flow started, Gather rendered), the
caller's answer to that Gather (/voice/flow/input?v=N with Digits: a menu step) and the final
status callback (/voice/status completed). RSS (VmRSS from /proc) is sampled every 10,000
requests; the growth after the first 20,000 (caches warm) is what a leak would show.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook_throughput import (
    ACCOUNT,
    CALLERS,
    CORTESE,
    HOTLINE,
    TOKEN,
    bench_database,
    cortese_env,
    free_port,
    start_gunicorn,
    stop,
)

from app.cli import default_threads

SAMPLE_EVERY = 10_000


def worker_pid(master: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ")[-1].split()
            if int(fields[1]) == master:
                return int(stat.parent.name)
        except (OSError, ValueError):
            continue
    raise SystemExit("no gunicorn worker found")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


class Driver:
    """Plays whole calls (first step, menu answer, status) from several client threads."""

    def __init__(self, base: str, total: int) -> None:
        self.base, self.total = base, total
        self.validator = RequestValidator(TOKEN)
        self.sent = 0
        self.errors = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def _post(self, url: str, params: dict[str, str]) -> requests.Response | None:
        with self.lock:
            if self.sent >= self.total:
                return None
            self.sent += 1
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        response = session.post(url, data=urlencode(params), timeout=30, headers={
            "X-Twilio-Signature": self.validator.compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code >= 400:
            with self.lock:
                self.errors += 1
        return response

    def call(self) -> bool:
        caller = random.choice(CALLERS)
        params = {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01",
                  "From": caller, "Caller": caller, "To": HOTLINE, "Called": HOTLINE,
                  "Direction": "inbound", "CallStatus": "ringing"}
        first = self._post(self.base + "/voice/inbound", params)
        if first is None:
            return False
        gather = ET.fromstring(first.content).find(".//Gather") if first.ok else None
        if gather is not None:
            action = urlsplit(gather.get("action") or "")
            url = self.base + action.path + (f"?{action.query}" if action.query else "")
            if self._post(url, {**params, "CallStatus": "in-progress", "Digits": random.choice("1234")}) is None:
                return False
        done = self._post(self.base + "/voice/status", {**params, "CallStatus": "completed",
                                                        "SequenceNumber": "3", "CallDuration": "42"})
        return done is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, bench_database(args.db, Path(tmpdir)) as url:
        port = free_port()
        env = cortese_env(url, f"http://127.0.0.1:{port}")
        proc = start_gunicorn(CORTESE, port, env, workers=1, threads=default_threads(url))
        try:
            run(proc.pid, f"http://127.0.0.1:{port}", args)
        finally:
            stop(proc)


def run(master: int, base: str, args: argparse.Namespace) -> None:
    pid = worker_pid(master)
    driver = Driver(base, args.requests)
    samples: list[tuple[int, float, float]] = [(0, rss_mb(pid), 0.0)]
    stop_sampling = threading.Event()
    started = time.monotonic()

    def sampler() -> None:
        next_mark = SAMPLE_EVERY
        while not stop_sampling.is_set():
            if driver.sent >= next_mark:
                samples.append((next_mark, rss_mb(pid), time.monotonic() - started))
                next_mark += SAMPLE_EVERY
            time.sleep(0.05)

    def client() -> None:
        while driver.call():
            pass

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(args.clients) as pool:
        for _ in range(args.clients):
            pool.submit(client)
    time.sleep(0.2)
    stop_sampling.set()
    elapsed = time.monotonic() - started
    if samples[-1][0] != driver.sent:
        samples.append((driver.sent, rss_mb(pid), elapsed))
    report(samples, driver, elapsed, args)


def report(samples: list[tuple[int, float, float]], driver: Driver, elapsed: float,
           args: argparse.Namespace) -> None:
    threads = default_threads(args.db)  # "sqlite" or "postgres", as a URL begins
    print(f"\nworker memory: cortese serve --workers 1 (asgi worker, {threads} app threads), "
          f"{args.db}, {args.clients} client threads")
    print(f"{'webhooks':>9} {'RSS MB':>8} {'elapsed s':>10}")
    for count, rss, at in samples:
        print(f"{count:9d} {rss:8.1f} {at:10.1f}")
    warm = next((s for s in samples if s[0] >= 20_000), samples[0])
    last = samples[-1]
    per_10k = (last[1] - warm[1]) / max(1, (last[0] - warm[0]) / 10_000)
    print(f"sent {driver.sent} webhooks ({driver.sent / elapsed:.0f}/s), HTTP errors {driver.errors}")
    print(f"RSS after {last[0]}: {last[1]:.1f} MB; growth after {warm[0]}: {last[1] - warm[1]:+.1f} MB "
          f"({per_10k:+.2f} MB per 10k webhooks)")


if __name__ == "__main__":
    main()
