"""A real worker process for the SIGKILL tests: the callback dispatcher or the campaign dialer,
run against the shared database and a FakeTwilio REST server until there is nothing left to do.

    python -m tests.crash_child dispatch|dial   (settings in CRASH_SETTINGS as JSON,
                                                 the fake clock's time in CRASH_NOW, ISO 8601)

It prints "ready" once its app is built, so the parent can tell start-up from work.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta

from app import create_app
from app.callbacks.dispatch import Dispatcher
from app.campaigns.dialer import Dialer
from app.clock import FakeClock


def main(role: str) -> None:
    settings = json.loads(os.environ["CRASH_SETTINGS"])
    clock = FakeClock(datetime.fromisoformat(os.environ["CRASH_NOW"]))
    app = create_app(settings, clock=clock)
    print("ready", flush=True)
    if role == "dispatch":
        dispatcher = Dispatcher(app, worker=f"child-{os.getpid()}", pace=lambda _s: None)
        while True:
            report = dispatcher.run_once(limit=100)
            if not (report.placed or report.recovered or report.released or report.reconciled):
                break
    else:
        # Pacing waits move the fake clock: the child never sleeps on a CPS slot.
        dialer = Dialer(app, sleep=lambda s: clock.advance(timedelta(seconds=s)), worker=f"child-{os.getpid()}")
        idle = 0
        while idle < 3:
            report = dialer.tick()
            idle = 0 if (report.claimed or report.dialled) else idle + 1
            clock.advance(timedelta(seconds=1))
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
