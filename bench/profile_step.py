"""Where a webhook's time goes: cProfile over N signed menu steps or first steps.

    .venv/bin/python bench/profile_step.py [--step menu|first] [--calls 500] [--db sqlite|postgres]
        [--top 30] [--speech "il modem non funziona"]

In-process (no gunicorn, no sockets) so the profile shows the app's own costs: the measured
requests go straight to the app's WSGI callable with their environ built beforehand, so neither
Flask's test client nor the request's building is in the figures (the test client alone would
add about a third). `menu` (the default): N calls are started first (/voice/inbound, not profiled), then
each call's answer to the support menu (/voice/flow/input?v=N, Digits=1) is profiled: signature
check, call load, engine turn, state save, TwiML, commit. `first`: N new calls' /voice/inbound
(call created, caller recognised, flow started). `--speech TEXT`: the menu is answered in words
(SpeechResult, Confidence 0.9) instead of the key 1, so the profile includes understanding them.

Prints the mean wall and CPU time per step (noisy on a shared machine), the Python function
calls per step (deterministic: the same code and data make the same count, so it compares two
commits on a busy machine), a per-stage breakdown and the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask import Flask
from twilio.request_validator import RequestValidator
from webhook_throughput import TOKEN, bench_database, call_params, cortese_env
from werkzeug.test import EnvironBuilder

from app import create_app

BASE = "http://127.0.0.1:5000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", choices=["menu", "first"], default="menu")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--speech", default=None, help="answer the menu with these words instead of 1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, bench_database(args.db, Path(tmpdir)) as url:
        env = cortese_env(url, BASE)
        settings = {k: v for k, v in env.items() if k.isupper() and not k.startswith(("PATH", "HOME", "PYTHON"))}

        app = create_app({k: settings[k] for k in (
            "CORTESE_ENV", "SECRET_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID",
            "PUBLIC_BASE_URL", "ADMIN_API_TOKEN", "DATABASE_URL", "SCHEDULER_ENABLED", "LOG_LEVEL",
            "SUPPRESSION_HASH_KEY")})
        # The floor (imported when first needed) reads these at import.
        os.environ.update(FLOOR_DATABASE_URL=url, FLOOR_TOKEN=TOKEN, FLOOR_BASE=BASE)
        profile(app, args)


def first_steps(validator: RequestValidator, calls: int) -> list[tuple[str, dict[str, str], str]]:
    """2N new calls' first webhook, signed: half measured plain, half under the profiler."""
    return [("/voice/inbound", params, validator.compute_signature(BASE + "/voice/inbound", params))
            for params in map(call_params, range(2 * calls))]


def menu_steps(client, validator: RequestValidator, calls: int,
               speech: str | None = None) -> list[tuple[str, dict[str, str], str]]:
    """2N calls started (not measured), and each one's signed answer to the menu."""
    answers = []
    for i in range(2 * calls):
        params = call_params(i)
        first = _post(client, validator, "/voice/inbound", params)
        action = urlsplit(ET.fromstring(first.data).find(".//Gather").get("action"))
        path = action.path + "?" + action.query
        said = {"SpeechResult": speech, "Confidence": "0.9"} if speech else {"Digits": "1"}
        answer = {**params, "CallStatus": "in-progress", **said}
        # Signed here, so Twilio's side of the signature is not in the profile.
        answers.append((path, answer, validator.compute_signature(BASE + path, answer)))
    return answers


def _post(client, validator: RequestValidator, path: str, params: dict[str, str], signature: str | None = None):
    signature = signature or validator.compute_signature(BASE + path, params)
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": signature})


def environ(path: str, params: dict[str, str], signature: str) -> dict[str, Any]:
    """The WSGI environ of one signed webhook, as a server would hand it to the app."""
    return EnvironBuilder(path, base_url=BASE, method="POST", data=urlencode(params),
                          content_type="application/x-www-form-urlencoded",
                          headers={"X-Twilio-Signature": signature}).get_environ()


def serve(app: Flask, environ: dict[str, Any]) -> bytes:
    """One request through the app's WSGI callable: its body, or AssertionError unless 200."""
    status: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda s, _headers, _exc=None: status.append(s)))
    assert status[0].startswith("200"), body[:300]
    return body


def floor_cpu_ms(answers: list[tuple[str, dict[str, str], str]]) -> float:
    """CPU ms per step of the raw-driver floor answering the same menu steps in-process (the
    calls are in its table; a replayed step is the same work to it), after a warm-up."""
    floor = importlib.import_module("floor_app").app
    for request in [environ(*answer) for answer in answers[:50]]:
        serve(floor, request)
    requests = [environ(*answer) for answer in answers]
    cpu = time.process_time()
    for request in requests:
        serve(floor, request)
    return (time.process_time() - cpu) / len(requests) * 1000


def profile(app: Flask, args: argparse.Namespace) -> None:
    client, validator = app.test_client(), RequestValidator(TOKEN)
    answers = first_steps(validator, args.calls) if args.step == "first" else menu_steps(client, validator, args.calls, args.speech)
    plain = [environ(*answer) for answer in answers[:args.calls]]
    profiled = [environ(*answer) for answer in answers[args.calls:]]
    started, cpu = time.perf_counter(), time.process_time()
    for request in plain:  # the same work without the profiler's overhead
        serve(app, request)
    unprofiled = (time.perf_counter() - started) / len(plain) * 1000
    cpu_ms = (time.process_time() - cpu) / len(plain) * 1000
    floor_ms = floor_cpu_ms(answers[:args.calls]) if args.step == "menu" else None
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for request in profiled:
        serve(app, request)
    profiler.disable()
    elapsed = time.perf_counter() - started
    calls_per_step = pstats.Stats(profiler).total_calls / len(profiled)  # type: ignore[attr-defined]
    print(f"{args.step} step ({args.db}, in-process): {unprofiled:.2f} ms per step without the profiler "
          f"({cpu_ms:.2f} ms CPU), "
          f"{elapsed / len(profiled) * 1000:.2f} ms under cProfile, {len(profiled)} steps each; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if floor_ms is not None:
        print(f"the floor (bench/floor_app.py) on the same steps: {floor_ms:.2f} ms CPU; its CPU is "
              f"{floor_ms / cpu_ms:.2f}x cortese's (served, the serving's own cost, shared, makes the "
              "ratio of req/s higher: bench/README.md)")
    print(f"Python function calls per step: {calls_per_step:.0f}")
    breakdown(profiler, len(answers))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().print_callees("_run_action|_finish|load_record|webhook_record")
    print("\n--- what the engine's action, state save and call load call ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip() and "{" not in line[:40]))
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n--- top {args.top} by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


# (file, function, what it is): the stages of a first or menu step, cumulative (children included).
STAGES = [
    ("app.py", "wsgi_app", "whole request inside Flask"),
    ("safety.py", "wrapper", "voice_webhook (everything below)"),
    ("safety.py", "_refuse_what_twilio_never_sends", "  form, size and signature checks"),
    ("signature.py", "check", "    X-Twilio-Signature check"),
    ("db.py", "db_session", "  the request's connection and session"),
    ("routes.py", "inbound", "/voice/inbound (everything below)"),
    ("calls.py", "webhook_record", "  insert (or find) the new call (prepared)"),
    ("calls.py", "load_record", "  load the call by CallSid (prepared)"),
    ("engine.py", "start", "engine start (the flow's first nodes)"),
    ("recognition.py", "recognise", "  caller recognition (orders, tickets, products)"),
    ("engine.py", "_first_language", "  the caller's language (contact lookup)"),
    ("engine.py", "handle", "engine turn (all of it)"),
    ("engine.py", "_load", "  state -> Turn"),
    ("engine.py", "_on_input", "  match input, walk to the next waiting node"),
    ("engine.py", "_run_action", "    flow actions"),
    ("engine.py", "_text", "    prompt rendering"),
    ("engine.py", "_finish", "  save state + steps"),
    ("calls.py", "save_turn", "    the UPDATE and the steps (prepared)"),
    ("telephony.py", "response", "TwiML to XML"),
    ("db.py", "commit", "COMMIT"),
    ("ctx.py", "pop", "request teardown (connection back to the pool)"),
]


def breakdown(profiler: cProfile.Profile, steps: int) -> None:
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = {}
    for (path, _line, func), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        key = (Path(path).name, func)
        total[key] = total.get(key, 0.0) + cumulative
    whole = total.get(("app.py", "wsgi_app")) or 1.0
    print("\n--- stages of a step (cumulative, ms per step under cProfile; share of the request) ---")
    for file, func, label in STAGES:
        if (file, func) in total:
            seconds = total[(file, func)]
            print(f"{label:48} {seconds / steps * 1000:7.2f} ms {seconds / whole * 100:5.1f} %")


if __name__ == "__main__":
    main()
