"""Where a menu step's time goes: cProfile over N signed answers to the support menu's Gather.

    .venv/bin/python bench/profile_menu_step.py [--calls 500] [--db sqlite|postgres] [--top 30]

In-process (Flask's WSGI test client, no gunicorn, no sockets) so the profile shows the app's
own costs: signature check, call load, engine turn (matching, walk, actions, rendering), state
save, TwiML serialisation, commit. N calls are started first (/voice/inbound, not profiled),
then each call's answer (/voice/flow/input?v=N, Digits=1) is profiled. Prints the mean time per
step, and the top functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from twilio.request_validator import RequestValidator  # noqa: E402

from webhook_throughput import TOKEN, call_params, cortese_env, prepare_db  # noqa: E402

BASE = "http://127.0.0.1:5000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        url = prepare_db(args.db, Path(tmpdir))
        env = cortese_env(url, BASE)
        settings = {k: v for k, v in env.items() if k.isupper() and not k.startswith(("PATH", "HOME", "PYTHON"))}
        from app import create_app

        app = create_app({k: settings[k] for k in (
            "CORTESE_ENV", "SECRET_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID",
            "PUBLIC_BASE_URL", "ADMIN_API_TOKEN", "DATABASE_URL", "SCHEDULER_ENABLED", "LOG_LEVEL",
            "SUPPRESSION_HASH_KEY")})
        profile(app.test_client(), args)


def _post(client, validator: RequestValidator, path: str, params: dict[str, str]):
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": validator.compute_signature(BASE + path, params)})


def profile(client, args: argparse.Namespace) -> None:
    validator = RequestValidator(TOKEN)
    answers = []
    for i in range(args.calls):
        params = call_params(i)
        first = _post(client, validator, "/voice/inbound", params)
        action = urlsplit(ET.fromstring(first.data).find(".//Gather").get("action"))
        answers.append((action.path + "?" + action.query, {**params, "CallStatus": "in-progress", "Digits": "1"}))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for path, params in answers:
        response = _post(client, validator, path, params)
        assert response.status_code == 200, response.data[:300]
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"menu step ({args.db}, in-process, under cProfile): {elapsed / len(answers) * 1000:.2f} ms per step "
          f"over {len(answers)} steps")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n--- top {args.top} by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


if __name__ == "__main__":
    main()
