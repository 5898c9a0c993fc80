"""APScheduler in the app: it only *triggers* work; the database decides who does it.

Packages register periodic jobs with `register_job`; `init_app` starts one BackgroundScheduler
per process when SCHEDULER_ENABLED is on. Several processes may each run one: the jobs must
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


_JOBS: dict[str, JobSpec] = {}


def register_job(job_id: str, seconds: float, *, setting: str | None = None
                 ) -> Callable[[Callable[[Flask], None]], Callable[[Flask], None]]:
    def decorator(func: Callable[[Flask], None]) -> Callable[[Flask], None]:
        _JOBS[job_id] = JobSpec(job_id, func, seconds, setting)
        return func

    return decorator


def registered_jobs() -> list[JobSpec]:
    return list(_JOBS.values())


def init_app(app: Flask) -> BackgroundScheduler | None:
    settings = app.extensions["cortese.settings"]
    if not settings.scheduler_enabled:
        return None
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in registered_jobs():
        scheduler.add_job(_in_context(app, job), "interval", seconds=job.interval(settings),
                          id=job.id, name=job.id)  # the name is what APScheduler's log lines show
    scheduler.start()
    app.extensions["cortese.scheduler"] = scheduler
    log.info("scheduler started with jobs: %s", ", ".join(_JOBS) or "none")
    return scheduler


def _in_context(app: Flask, job: JobSpec) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                job.func(app)
            except Exception:
                log.exception("scheduled job %s failed", job.id)

    return run
