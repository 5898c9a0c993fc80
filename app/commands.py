"""What the packages' `cortese ...` commands share: the app they run in.

The app factory (`app.create_app`) is the composition root, above every package. A package's
commands reach it by name when they run, as `flask --app` does, so that importing a package's
commands never imports the packages above it (the layers in pyproject.toml).
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from dotenv import dotenv_values

from app.config import PROJECT_ROOT, load_settings


def composition_root() -> ModuleType:
    """The `app` package itself: create_app and flow_actions."""
    return importlib.import_module("app")


def configured_flows_dir() -> Path:
    """FLOWS_DIR from the environment or .env (what the app would load), else the repository's
    flows/: for the commands that read a flows directory without building an app."""
    configured = os.environ.get("FLOWS_DIR") or dotenv_values(".env").get("FLOWS_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "flows"


def with_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside an app context (settings from env/.env), passing `app` first."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = load_settings().model_copy(update={"scheduler_enabled": False})
        app = composition_root().create_app(settings)
        with app.app_context():
            return func(app, *args, **kwargs)

    return wrapper
