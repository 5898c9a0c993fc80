"""APScheduler in the app: it only *triggers* work; the database decides who does it.

Packages add their periodic jobs with `add_job(app, JobSpec(...))` from their `init_app`;
`init_app`, called after them, starts one BackgroundScheduler per process with the app's jobs
when SCHEDULER_ENABLED is on. Several processes may each run one: the jobs must
claim their rows atomically (see app/callbacks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[Flask], None]
    seconds: float
    setting: str | None = None  # a Settings field that sets the interval instead of `seconds`

    def interval(self, settings: Any) -> float:
        return float(getattr(settings, self.setting)) if self.setting else self.seconds


JOBS_KEY = "cortese.jobs"


def add_job(app: Flask, job: JobSpec) -> None:
    """A package's periodic job, run by this app's scheduler (if it runs one)."""
    app.extensions.setdefault(JOBS_KEY, {})[job.id] = job


def registered_jobs(app: Flask) -> list[JobSpec]:
    return list(app.extensions.get(JOBS_KEY, {}).values())


def init_app(app: Flask) -> BackgroundScheduler | None:
    settings = app.extensions["cortese.settings"]
    if not settings.scheduler_enabled:
        return None
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    jobs = registered_jobs(app)
    for job in jobs:
        scheduler.add_job(_in_context(app, job), "interval", seconds=job.interval(settings),
                          id=job.id, name=job.id)  # the name is what APScheduler's log lines show
    scheduler.start()
    app.extensions["cortese.scheduler"] = scheduler
    log.info("scheduler started with jobs: %s", ", ".join(job.id for job in jobs) or "none")
    return scheduler


def _in_context(app: Flask, job: JobSpec) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                job.func(app)
            except Exception:
                log.exception("scheduled job %s failed", job.id)

    return run
