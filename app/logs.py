"""Structured logging: stdlib loggers rendered by structlog as JSON or console lines.

The CallSid of the webhook being served is bound in a contextvar and added to every line.
Phone numbers are masked by the code that logs them (app.phone.mask).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from app.config import Settings


def configure(settings: Settings) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("cortese")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "cortese"]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for noisy in ("twilio.http_client", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
