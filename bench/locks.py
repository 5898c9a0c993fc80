"""Callers never wait on a lock: webhook latency while bulk imports run against a served app.

For each database, serves cortese with `cortese serve`, then:
1. idle: signed webhooks (a new call on /voice/inbound, then its answer to the menu) and API
   writes (POST /api/orders) for --idle-seconds, as a baseline;
2. load: the same drivers while `cortese registry import IT` of --registry-lines numbers and
   `cortese contacts import` of --contacts lines run as separate processes, until both end.

Prints, per phase, the webhooks' count, p50/p99/max and errors (non-200, the spoken apology,
no answer within Twilio's 15 s), the API writes' p99 and errors, and each import's duration and
exit status. Goal (issue 19): webhook p99 < 1 s, zero errors, zero failed imports.

    .venv/bin/python bench/locks.py [--db sqlite postgres] [--registry-lines 2600000]
        [--contacts 20000] [--webhook-threads 4] [--api-threads 2] [--max-seconds 1200]

PostgreSQL: a database of its own is created on 127.0.0.1:5432 (user postgres) and dropped.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
import requests
from webhook_throughput import (
    CORTESE,
    VENV_BIN,
    bench_database,
    call_params,
    cortese_env,
    free_port,
    signed,
    start_gunicorn,
    stop,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import i18n
from app.cli import default_threads

ROOT = Path(__file__).resolve().parent.parent
TWILIO_TIMEOUT = 15.0
APOLOGIES = tuple(i18n.prompt("apology", lang) for lang in i18n.LANGUAGES)
ADMIN = "bench-admin-token-0123456789"


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1


@dataclass
class ImportRun:
    name: str
    seconds: float = 0.0
    exit_code: int | None = None
    tail: str = ""


# --- input files ----------------------------------------------------------------------------

def valid_prefixes() -> list[str]:
    """Italian mobile prefixes (3xx) that phonenumbers accepts: the registry import refuses
    invalid numbers, and a bench file should be a plausible copy."""
    return [f"3{d:02d}" for d in range(100) if phonenumbers.is_valid_number(
        phonenumbers.parse(f"+393{d:02d}1234567"))]


def write_registry(path: Path, lines: int, seed: int = 7) -> None:
    rng, prefixes = random.Random(seed), valid_prefixes()
    # The formats a registry publishes, mostly national.
    forms = ("{p}{n}", "{p}{n}", "{p}{n}", "+39 {p} {n}", "0039{p}{n}", "39{p}{n}")
    with path.open("w", encoding="ascii") as out:
        for _ in range(lines):
            form = forms[rng.randrange(len(forms))]
            out.write(form.format(p=rng.choice(prefixes), n=f"{rng.randrange(10_000_000):07d}") + "\n")


def write_contacts(path: Path, count: int, seed: int = 11) -> None:
    rng, prefixes = random.Random(seed), valid_prefixes()
    with path.open("w", encoding="utf-8") as out:
        out.write("number,source,name,language\n")
        for i in range(count):
            out.write(f"+39{rng.choice(prefixes)}{rng.randrange(10_000_000):07d},crm export 2026,Cliente {i},it\n")


# --- drivers --------------------------------------------------------------------------------

def webhook_driver(base: str, samples: Samples, stop_at: threading.Event, pause: float) -> None:
    """One caller after another: the call's first webhook, then its answer to the menu."""
    session = requests.Session()
    i = 0
    while not stop_at.is_set():
        i += 1
        params = call_params(i)
        gather = _post_webhook(session, base, "/voice/inbound", params, samples)
        if gather is not None:
            action = urlsplit(gather.get("action") or "/voice/inbound")
            target = action.path + (f"?{action.query}" if action.query else "")
            _post_webhook(session, base, target, {**params, "CallStatus": "in-progress", "Digits": "1"}, samples)
        stop_at.wait(pause)


def _post_webhook(session: requests.Session, base: str, path: str, params: dict[str, str],
                  samples: Samples) -> ET.Element | None:
    path, body, signature = signed(base, path, params)
    started = time.perf_counter()
    try:
        resp = session.post(base + path, data=body, timeout=TWILIO_TIMEOUT, headers={
            "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException as exc:
        samples.add(time.perf_counter() - started, failure_label(exc, f"no answer in {TWILIO_TIMEOUT:g}s"))
        return None
    elapsed = time.perf_counter() - started
    if resp.status_code != 200:
        samples.add(elapsed, f"HTTP {resp.status_code}")
        return None
    if any(apology in resp.text for apology in APOLOGIES):
        samples.add(elapsed, "spoken apology")
        return None
    samples.add(elapsed)
    return ET.fromstring(resp.content).find(".//Gather")


def failure_label(exc: requests.RequestException, prefix: str = "") -> str:
    """How a request failed. A connection the server closed as we reused it (gunicorn closes an
    idle keep-alive connection after 2 s; a client the CPU kept from sending for that long
    reuses it) is told apart: it is a race of keep-alive, not a request left waiting."""
    if isinstance(exc, requests.ConnectionError) and "RemoteDisconnected" in repr(exc):
        name = "idle keep-alive connection closed by the server"
    else:
        name = type(exc).__name__
    return f"{prefix} ({name})" if prefix else name


def api_driver(base: str, samples: Samples, stop_at: threading.Event, pause: float) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {ADMIN}"
    while not stop_at.is_set():
        order = {"number": uuid.uuid4().hex[:12], "status": "shipped", "customer_number": "+393471234567"}
        started = time.perf_counter()
        try:
            resp = session.post(base + "/api/orders", json={"orders": [order]}, timeout=60)
            samples.add(time.perf_counter() - started, None if resp.status_code == 200 else f"HTTP {resp.status_code}")
        except requests.RequestException as exc:
            samples.add(time.perf_counter() - started, failure_label(exc))
        stop_at.wait(pause)


def drive(base: str, args: argparse.Namespace, until: threading.Event) -> tuple[Samples, Samples, list[threading.Thread]]:
    hooks, api = Samples(), Samples()
    threads = [threading.Thread(target=webhook_driver, args=(base, hooks, until, args.pause), daemon=True)
               for _ in range(args.webhook_threads)]
    threads += [threading.Thread(target=api_driver, args=(base, api, until, args.pause), daemon=True)
                for _ in range(args.api_threads)]
    for thread in threads:
        thread.start()
    return hooks, api, threads


# --- imports --------------------------------------------------------------------------------

def run_import(name: str, argv: list[str], env: dict[str, str], run: ImportRun, limit: float) -> None:
    started = time.perf_counter()
    try:
        done = subprocess.run([str(VENV_BIN / "cortese"), *argv], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=limit)
        run.exit_code, run.tail = done.returncode, (done.stdout + done.stderr)[-600:]
    except subprocess.TimeoutExpired:
        run.exit_code, run.tail = -1, f"killed after {limit:.0f}s"
    run.seconds = time.perf_counter() - started


# --- one database ---------------------------------------------------------------------------

def measure(kind: str, args: argparse.Namespace, tmp: Path, registry: Path, contacts: Path) -> None:
    with bench_database(kind, tmp) as url:
        _measure(url, kind, args, tmp, registry, contacts)


def _measure(url: str, kind: str, args: argparse.Namespace, tmp: Path, registry: Path, contacts: Path) -> None:
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = cortese_env(url, base)
    log = tmp / f"server-{kind}.log"
    server = start_gunicorn(CORTESE, port, env, threads=default_threads(url), log=log)
    try:
        idle_stop = threading.Event()
        hooks, api, threads = drive(base, args, idle_stop)
        time.sleep(args.idle_seconds)
        idle_stop.set()
        for thread in threads:
            thread.join(TWILIO_TIMEOUT + 5)
        report(f"{kind} idle ({args.idle_seconds:.0f}s)", hooks, api, [])

        load_stop = threading.Event()
        hooks, api, threads = drive(base, args, load_stop)
        runs = [ImportRun(f"registry import IT ({args.registry_lines:,} lines)"),
                ImportRun(f"contacts import ({args.contacts:,} lines)")]
        argvs = [["registry", "import", "IT", str(registry)], ["contacts", "import", str(contacts)]]
        importers = [threading.Thread(target=run_import, args=(r.name, a, env, r, args.max_seconds))
                     for r, a in zip(runs, argvs, strict=True)]
        started = time.perf_counter()
        for thread in importers:
            thread.start()
        while any(thread.is_alive() for thread in importers):
            # Figures so far, so a run cut short still says something.
            for thread in importers:
                thread.join(args.report_every)
            print(f"  {time.perf_counter() - started:5.0f}s  webhooks n={len(hooks.latencies)} "
                  f"p99={percentile(list(hooks.latencies), 0.99) * 1000:.0f} ms errors={sum(hooks.errors.values())}"
                  f"  API n={len(api.latencies)} errors={sum(api.errors.values())}", flush=True)
        load_stop.set()
        for thread in threads:
            thread.join(TWILIO_TIMEOUT + 5)
        report(f"{kind} during imports ({time.perf_counter() - started:.0f}s)", hooks, api, runs)
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Error" in line]
        print(f"server log: {len(errors)} error line(s)" + "".join(f"\n    {e[:200]}" for e in errors[:5]))
    finally:
        stop(server)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def report(label: str, hooks: Samples, api: Samples, runs: list[ImportRun]) -> None:
    print(f"\n== {label}")
    for name, s in (("webhooks", hooks), ("API writes", api)):
        errors = sum(s.errors.values())
        print(f"{name:12} n={len(s.latencies):6}  p50={percentile(s.latencies, 0.5) * 1000:7.1f} ms  "
              f"p99={percentile(s.latencies, 0.99) * 1000:7.1f} ms  "
              f"max={max(s.latencies, default=float('nan')) * 1000:7.1f} ms  errors={errors}"
              + (f"  {s.errors}" if errors else ""))
    for run in runs:
        state = "ok" if run.exit_code == 0 else f"FAILED (exit {run.exit_code})"
        print(f"{run.name}: {run.seconds:.0f}s, {state}")
        last = [line for line in run.tail.splitlines() if line.strip() and "━" not in line]
        for line in last[-3:]:
            print(f"    {line[:160]}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--registry-lines", type=int, default=2_600_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--webhook-threads", type=int, default=4, help="callers at once")
    parser.add_argument("--api-threads", type=int, default=2, help="API clients writing at once")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between a driver's calls")
    parser.add_argument("--idle-seconds", type=float, default=15)
    parser.add_argument("--max-seconds", type=float, default=1200, help="an import still running then is killed")
    parser.add_argument("--port", type=int, help="serve on this port [default: a free one]")
    parser.add_argument("--report-every", type=float, default=60, help="seconds between interim figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        registry, contacts = tmp / "rpo.txt", tmp / "contacts.csv"
        started = time.perf_counter()
        write_registry(registry, args.registry_lines)
        write_contacts(contacts, args.contacts)
        print(f"files: {registry.stat().st_size / 1e6:.0f} MB registry, {contacts.stat().st_size / 1e6:.1f} MB "
              f"contacts, written in {time.perf_counter() - started:.0f}s", flush=True)
        for kind in args.db:
            measure(kind, args, tmp, registry, contacts)


if __name__ == "__main__":
    main()
