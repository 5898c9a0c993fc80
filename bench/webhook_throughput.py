"""Webhook throughput: cortese under `cortese serve` (2 workers) against a bare-Flask ceiling.

Drives signed Twilio webhooks with wrk (installed from Debian's packages if missing) and prints
requests/s, p50 and p99 for each, and cortese's ratio to the ceiling measured in the same run.

    .venv/bin/python bench/webhook_throughput.py [--db sqlite postgres] [--duration 10]
        [--connections 16] [--calls N] [--rounds 3]

Workloads: `first step` = a new call hitting /voice/inbound (call created, flow started, TwiML);
`menu step` = a signed answer to that call's first Gather (signature check, state load/save,
TwiML render). Each request to cortese is a distinct call so nothing is served from a warm
duplicate: enough calls are prepared for the run (--calls), and a run that had to send one again
says so. The floor serves the same calls and may go past them: a replay is the same work to it.

`CPU ms/req` is the gunicorn processes' CPU time per request; on PostgreSQL `DB CPU ms` adds the
database server's (every postgres process on the machine), which shares the same cores: a
statement cortese makes the server work harder for slows it as much as its own Python does.
`switches` is the workers' context switches per request (every thread, from /proc): a run whose
threads keep handing the GIL to each other shows it there, a run that is merely slower does not.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import psycopg

from app.cli import default_threads

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "be" * 16
HOTLINE = "+390212345678"
CALLERS = ["+393471234567", "+31612345678", "+447700900123"]


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    cpu_ms: float  # gunicorn CPU time (master + workers) per request: robust on a busy machine
    db_cpu_ms: float | None  # the PostgreSQL server's CPU time per request (None: SQLite, in the workers)
    threads: int
    switches: float = 0.0  # the workers' threads' context switches per request (voluntary + forced)
    replayed: int = 0  # requests sent again after every prepared call had had its turn
    ceiling: Result | None = None  # the bare-Flask run with the same gunicorn configuration
    floor: Result | None = None  # the raw-driver floor on the same database, same round


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install it with `apt-get install wrk`")
    print("installing wrk from Debian's packages ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk did not install")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CORTESE = "app:create_app()"


def start_gunicorn(target: str, port: int, env: dict[str, str], workers: int = 2,
                   threads: int = 4, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`log`: where the server's stderr goes (a pipe nobody reads would fill and stall it)."""
    proc = subprocess.Popen(
        server_command(target, port, workers, threads),
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log is not None else subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            error = log.read_text()[-2000:] if log is not None else proc.stderr.read().decode()[-2000:]
            sys.exit(f"gunicorn {target} exited: {error}")
        if _all_workers_answer(port):
            return proc
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"gunicorn {target} did not start")


def server_command(target: str, port: int, workers: int, threads: int) -> list[str]:
    """What production runs: cortese under `cortese serve` itself; the reference apps (bare
    Flask, the floor) under `python -m app.serving`, the same gunicorn and worker (app/serving.py)."""
    sizes = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    if target == CORTESE:
        return [str(VENV_BIN / "cortese"), "serve", *sizes]
    return [str(VENV_BIN / "python"), "-m", "app.serving", target, *sizes]


def _all_workers_answer(port: int, probes: int = 16) -> bool:
    """gunicorn accepts connections before its workers have booted (create_app takes seconds):
    ready means a burst of concurrent requests is answered at once, by every worker."""
    def probe(_: int) -> bool:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
            return True
        except requests.RequestException:
            return False

    with ThreadPoolExecutor(probes) as pool:
        return all(pool.map(probe, range(probes)))


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def worker_rss_mb(master_pid: int) -> float:
    """The largest resident set of the gunicorn master's workers."""
    total = 0
    for proc, _fields in _processes(lambda _pid, _name, parent: parent == master_pid):
        try:
            total = max(total, int(re.search(r"VmRSS:\s+(\d+)", (proc / "status").read_text()).group(1)))
        except (OSError, AttributeError, ValueError):
            continue
    return total / 1024


def signed(base: str, path: str, params: dict[str, str]) -> tuple[str, str, str]:
    body = urlencode(params)
    return path, body, RequestValidator(TOKEN).compute_signature(base + path, params)


def call_params(i: int) -> dict[str, str]:
    caller = CALLERS[i % len(CALLERS)]
    return {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01",
            "From": caller, "Caller": caller, "To": HOTLINE, "Called": HOTLINE,
            "Direction": "inbound", "CallStatus": "ringing"}


def first_steps(base: str, n: int) -> list[tuple[str, str, str]]:
    return [signed(base, "/voice/inbound", call_params(i)) for i in range(n)]


def menu_steps(base: str, n: int) -> list[tuple[str, str, str]]:
    """Start n calls for real (POST /voice/inbound, 8 at a time), then sign each call's answer
    to the Gather the engine rendered at the support menu: /voice/flow/input?v=N with Digits."""
    local = threading.local()

    def start(i: int) -> tuple[str, str, str] | None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        params = call_params(i)
        path, body, sig = signed(base, "/voice/inbound", params)
        resp = session.post(base + path, data=body, timeout=60, headers={
            "X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"})
        gather = ET.fromstring(resp.content).find(".//Gather")
        if gather is None:
            return None
        action = urlsplit(gather.get("action") or "/voice/inbound")
        target = action.path + (f"?{action.query}" if action.query else "")
        answer = {**params, "CallStatus": "in-progress", "Digits": "1"}
        return signed(base, target, answer)

    with ThreadPoolExecutor(8) as pool:
        steps = list(pool.map(start, range(n)))
    return [] if any(step is None for step in steps) else steps  # type: ignore[misc]


def lua_script(reqs: list[tuple[str, str, str]], path: Path) -> None:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = ",\n".join(f"{{{q(p)},{q(b)},{q(s)}}}" for p, b, s in reqs)
    path.write_text(f"""
local reqs = {{
{rows}
}}
local counter = 0
local stride = 1
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  i = tonumber(offset) + 1
  stride = 2
end
function request()
  local r = reqs[i]
  i = i + stride
  if i > #reqs then i = (i % stride) + 1 end
  return wrk.format("POST", r[1], {{["Content-Type"]="application/x-www-form-urlencoded",
                                    ["X-Twilio-Signature"]=r[3]}}, r[2])
end
""")


def cpu_seconds(master_pid: int) -> float:
    """utime + stime of the gunicorn master and its workers, from /proc."""
    return _cpu_seconds(lambda pid, _name, parent: master_pid in (pid, parent))


def context_switches(master_pid: int) -> int:
    """Context switches of every thread of the gunicorn master and its workers, from /proc.

    A thread that waits for the GIL, a lock or the database sleeps and is woken: each such
    hand-off is two switches and the cache misses after them, which CPU time per request shows
    but cannot name."""
    total = 0
    for proc, _fields in _processes(lambda pid, _name, parent: master_pid in (pid, parent)):
        for status in proc.glob("task/*/status"):
            try:
                total += sum(int(n) for n in re.findall(r"ctxt_switches:\s+(\d+)", status.read_text()))
            except OSError:  # the thread ended meanwhile
                continue
    return total


def postgres_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL server process on this machine (the bench's sessions
    and its background writers): the database's share of what a request costs the two cores."""
    return _cpu_seconds(lambda _pid, name, _parent: name == "postgres")


def _cpu_seconds(chosen: Callable[[int, str, int], bool]) -> float:
    """The CPU seconds of the processes `chosen(pid, name, parent pid)` picks."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _proc, fields in _processes(chosen))
    return ticks / os.sysconf("SC_CLK_TCK")


def _processes(chosen: Callable[[int, str, int], bool]) -> Iterator[tuple[Path, list[str]]]:
    """The /proc directory and the stat fields after the name (state, parent pid, ...) of each
    process `chosen(pid, name, parent pid)` picks; one that ends while being read is skipped."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            name, _, rest = text[text.index("(") + 1:].rpartition(") ")
            fields = rest.split()
            picked = chosen(int(stat.parent.name), name, int(fields[1]))
        except (OSError, ValueError, IndexError):
            continue
        if picked:
            yield stat.parent, fields


def run_wrk(wrk: str, url: str, script: Path, duration: int,
            connections: int) -> tuple[float, float, float, int, int]:
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def pct(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    return rps, pct("50"), pct("99"), errors, total


def measure(name: str, wrk: str, target: str, env: dict[str, str], port: int, make_reqs,
            args: argparse.Namespace, tmp: Path, threads: int, postgres: bool = False) -> Result | None:
    proc = start_gunicorn(target, port, env, threads=threads)
    try:
        base = f"http://127.0.0.1:{port}"
        reqs = make_reqs(base)
        if not reqs:
            print(f"{name}: skipped (the app's first answer has no Gather to answer)")
            return None
        script = tmp / f"{name.replace(' ', '_')}.lua"
        lua_script(reqs, script)
        cpu_before, db_before = cpu_seconds(proc.pid), postgres_cpu_seconds() if postgres else 0.0
        switches_before = context_switches(proc.pid)
        rps, p50, p99, errors, total = run_wrk(wrk, base, script, args.duration, args.connections)
        cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(total, 1)
        switches = (context_switches(proc.pid) - switches_before) / max(total, 1)
        db_cpu_ms = (postgres_cpu_seconds() - db_before) * 1000 / max(total, 1) if postgres else None
        # wrk starts the list again when it runs out: a call answering the same question twice
        # is a retried webhook to cortese (a stale turn), not the workload named, so it is
        # counted. The floor reads whatever version the call is at and writes the next one:
        # a replay is the same work to it, and the bare app reads nothing.
        replayed = max(0, total - len(reqs)) if name.startswith("cortese ") else 0
        if replayed:
            print(f"  {name}: {replayed} of {total} requests replayed a call's step: raise --calls",
                  flush=True)
        return Result(name, rps, p50, p99, errors, worker_rss_mb(proc.pid), cpu_ms, db_cpu_ms, threads,
                      switches, replayed)
    finally:
        stop(proc)


def floor_env(db_url: str, base: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "bench"), "FLOOR_DATABASE_URL": db_url,
            "FLOOR_TOKEN": TOKEN, "FLOOR_BASE": base}


def cortese_env(db_url: str, port_hint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_", "PUBLIC_"))}
    env.update(CORTESE_ENV="production", SECRET_KEY="bench-secret-key-0123456789",
               TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_CALLER_ID=HOTLINE,
               PUBLIC_BASE_URL=port_hint, ADMIN_API_TOKEN="bench-admin-token-0123456789",
               DATABASE_URL=db_url, SCHEDULER_ENABLED="false", LOG_LEVEL="WARNING",
               SUPPRESSION_HASH_KEY="bench-suppression-key-0123456789")
    return env


@contextmanager
def bench_database(kind: str, tmp: Path) -> Iterator[str]:
    """A migrated database for one bench run, as a SQLAlchemy URL: SQLite in `tmp`, or a new
    PostgreSQL database, dropped again however the run ends (a bench is run again and again)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        name = f"cortese_bench_{uuid.uuid4().hex[:8]}"
        with _postgres() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        subprocess.run([str(VENV_BIN / "python"), "-c", f"from app import migrate; migrate.upgrade({url!r})"],
                       cwd=ROOT, check=True)
        yield url
    finally:
        if kind != "sqlite":
            with _postgres() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres() -> psycopg.Connection:
    return psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--calls", type=int, help="distinct calls prepared per workload, at least as "
                        "many as requests sent [default: 4,000 a second of --duration]")
    parser.add_argument("--steps", nargs="+", default=["first", "menu"], choices=["first", "menu"],
                        help="cortese workloads to run (the floor runs with the menu step)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every workload this many times, interleaved; the summary gives medians")
    parser.add_argument("--variant", action="append", default=[], metavar="SETTING=VALUE",
                        help="also run cortese's workloads with this setting (repeatable), for A/B")
    parser.add_argument("--no-floor", action="store_true", help="skip the raw-driver floor")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker, for the ceiling and "
                        "cortese alike [default: what `cortese serve` picks for the database]")
    args = parser.parse_args()
    args.calls = args.calls or 4000 * args.duration
    wrk = ensure_wrk()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmpdir, ExitStack() as databases:
        tmp = Path(tmpdir)
        urls = {kind: databases.enter_context(bench_database(kind, tmp)) for kind in args.db}
        for round_no in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_no} of {args.rounds} ...", flush=True)
            for kind, url in urls.items():
                results.extend(run_round(kind, url, wrk, args, tmp))
    report(results, args)
    if args.rounds > 1:
        summary(results, args)


def run_round(kind: str, url: str, wrk: str, args: argparse.Namespace, tmp: Path) -> list[Result]:
    """One measurement of every workload on one database, the ceiling first."""
    threads = args.threads or default_threads(url)
    bare_env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    ceiling = measure("bare flask", wrk, "bare_app:app", bare_env, free_port(),
                      lambda base: first_steps(base, args.calls), args, tmp, threads)
    assert ceiling is not None
    out = [ceiling]
    # Signatures are checked against PUBLIC_BASE_URL; gunicorn's port is only known at start,
    # so a fixed port is reserved here and reused.
    port = free_port()
    env = cortese_env(url, f"http://127.0.0.1:{port}")
    menu: list[tuple[str, str, str]] = []  # the plain run's menu steps: the floor serves them again

    def prepare(base: str, maker, keep: bool) -> list[tuple[str, str, str]]:
        reqs = maker(base, args.calls)
        if keep:
            menu[:] = reqs
        return reqs

    for variant in [None, *args.variant]:
        label = f"cortese {kind}" + (f" [{variant}]" if variant else "")
        run_env = {**env, **dict([variant.split("=", 1)])} if variant else env
        for name, maker in (("first step", first_steps), ("menu step", menu_steps)):
            if name.split()[0] in args.steps:
                keep = variant is None and name == "menu step"
                out.append(measure(f"{label} {name}", wrk, CORTESE, run_env, port,
                                   lambda base, m=maker, k=keep: prepare(base, m, k), args, tmp, threads,
                                   postgres=kind == "postgres"))
    # The floor serves cortese's own menu-step requests (the calls exist in its table).
    if menu and not args.no_floor:
        out.append(measure(f"floor {kind} menu step", wrk, "floor_app:app",
                           floor_env(url, env["PUBLIC_BASE_URL"]), port, lambda base: menu, args, tmp, threads,
                           postgres=kind == "postgres"))
    results = [r for r in out if r is not None]
    floor = next((r for r in results if r.name.startswith("floor ")), None)
    for r in results[1:]:
        r.ceiling = ceiling
        r.floor = floor if r.name.startswith("cortese ") else None
    return results


HEADER = (f"{'workload':44} {'threads':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
          f"{'worker RSS MB':>14} {'vs ceiling':>10} {'CPU ms/req':>11} {'DB CPU ms':>10} {'CPU vs ceiling':>15} "
          f"{'vs floor':>9} {'switches':>9}")
# Issue 21's goal, in req/s against the raw-driver floor measured in the same round.
GOAL = {"menu step": 0.8, "first step": 0.6}


def vs_floor(r: Result) -> float | None:
    return r.rps / r.floor.rps if r.floor is not None and r.floor.rps else None


def _db(value: float | None) -> str:
    return f"{value:10.2f}" if value is not None else f"{'-':>10}"


def _median_db(runs: list[Result]) -> float | None:
    return _median_known(r.db_cpu_ms for r in runs)


def _median_known(values: Iterable[float | None]) -> float | None:
    """The median of the values that were measured (None: not measured in that run)."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _ratio(value: float | None) -> str:
    return f"{value:8.2f}x" if value is not None else f"{'-':>9}"


def goal_line() -> str:
    return "goal: cortese " + ", ".join(f"{step} >= {share:.2f}x" for step, share in GOAL.items()) + \
        " the floor's req/s (same round, same database)"


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\nwebhook throughput: cortese serve (gunicorn asgi worker, 2 workers), wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(HEADER)
    for r in results:
        ceiling = r.ceiling or r
        print(f"{r.name:44} {r.threads:7d} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:8d} "
              f"{r.rss_mb:14.1f} {r.rps / ceiling.rps:10.2f} {r.cpu_ms:11.2f} {_db(r.db_cpu_ms)} "
              f"{r.cpu_ms / ceiling.cpu_ms:14.1f}x "
              f"{_ratio(vs_floor(r))} {r.switches:9.1f}")
    print(goal_line())
    _replays(results)


def _replays(results: list[Result]) -> None:
    replayed = [r for r in results if r.replayed]
    if replayed:
        print("NOT VALID: " + ", ".join(f"{r.name} replayed {r.replayed}" for r in replayed) +
              " requests (each call's step is meant to be sent once): raise --calls")


def summary(results: list[Result], args: argparse.Namespace) -> None:
    """Medians over the rounds; each ratio is taken within its round, then the median of those."""
    by_name: dict[tuple[str, int], list[Result]] = {}
    for r in results:
        by_name.setdefault((r.name, r.threads), []).append(r)
    print(f"\nmedians over {args.rounds} rounds (each ratio taken within its round, against its ceiling and floor):")
    print(HEADER)
    for (name, threads), runs in by_name.items():
        def med(f, runs: list[Result] = runs) -> float:
            return statistics.median(f(r) for r in runs)

        print(f"{name:44} {threads:7d} {med(lambda r: r.rps):9.0f} {med(lambda r: r.p50_ms):8.2f} "
              f"{med(lambda r: r.p99_ms):8.2f} {sum(r.errors for r in runs):8d} {med(lambda r: r.rss_mb):14.1f} "
              f"{med(lambda r: r.rps / (r.ceiling or r).rps):10.2f} {med(lambda r: r.cpu_ms):11.2f} "
              f"{_db(_median_db(runs))} "
              f"{med(lambda r: r.cpu_ms / (r.ceiling or r).cpu_ms):14.1f}x {_ratio(_median_floor(runs))} "
              f"{med(lambda r: r.switches):9.1f}")
    print(goal_line())
    _replays(results)


def _median_floor(runs: list[Result]) -> float | None:
    return _median_known(map(vs_floor, runs))


if __name__ == "__main__":
    main()
