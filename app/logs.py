"""Structured logging: stdlib loggers rendered by structlog as JSON or console lines.

The CallSid of the webhook being served is bound in a contextvar and added to every line.
Phone numbers are masked by the code that logs them (app.phone.mask); what slips through
anyway (a database driver's message quoting a key, an exception's text) is masked by
`mask_numbers` on every line, and the engine never puts bound values in its errors.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from app.config import Settings
from app.phone import mask

# A number in international form (+ and 7-15 digits) or a bare run of 9-15 digits (a national
# number), digits optionally grouped by spaces or dashes, not part of a longer word or number
# (a CallSid's hex, a timestamp's fields).
_NUMBER = re.compile(r"(?<![\w+])(?:\+\d(?:[ -]?\d){6,14}|\d(?:[ -]?\d){8,14})(?![\w])")
_LEFT_ALONE = frozenset({"timestamp", "level", "logger", "call_sid"})


def _masked(match: re.Match[str]) -> str:
    text = match.group()
    if text.startswith("+"):
        return mask(text.replace(" ", "").replace("-", ""))
    digits = [c for c in text if c.isdigit()]
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def mask_numbers(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every phone number left in a line's text is masked."""
    for key, value in event_dict.items():
        if isinstance(value, str) and key not in _LEFT_ALONE:
            event_dict[key] = _NUMBER.sub(_masked, value)
    return event_dict


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
            mask_numbers,
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
