"""Browser tests: Debian's Chromium driven by Playwright against the app served on 127.0.0.1.

Chromium comes from Debian (`apt-get install chromium chromium-driver`, done here when missing
and we are root); Playwright's own browser download is never used (the network is closed).
Screenshots go to test-artifacts/ (gitignored) so CI can keep them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.clock import FakeClock
from app.db import Base, get_engine
from tests.conftest import base_settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _install_chromium() -> str | None:
    """Install Debian's chromium when missing; return why not when we cannot."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and we are not root with apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    return None if CHROMIUM.exists() else f"{CHROMIUM} still missing after apt-get install"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = _install_chromium()
    if reason:
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: skip, saying so, when missing
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        pytest.skip(f"playwright is not installed: {exc}")
    profile = tempfile.mkdtemp(prefix="cortese-chromium-")
    with sync_playwright() as pw:
        # A persistent context is how Playwright takes a fresh --user-data-dir of our own.
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path, headless=True, args=LAUNCH_ARGS,
            viewport={"width": 1280, "height": 900}, locale="en-GB",
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    tab.set_default_timeout(15_000)
    browser.clear_cookies()
    try:
        yield tab
    finally:
        tab.close()


class LiveServer:
    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_settings(tmp_path: Path) -> dict[str, Any]:
    settings = base_settings(tmp_path)
    settings["PUBLIC_BASE_URL"] = "http://127.0.0.1"  # replaced with the real port below
    return settings


@pytest.fixture
def live_app(live_settings: dict[str, Any]) -> Iterator[LiveServer]:
    """The app on a real socket. PUBLIC_BASE_URL points at it so signed webhooks verify."""
    probe = make_server("127.0.0.1", 0, Flask("probe"))
    port = probe.server_port
    probe.server_close()
    live_settings["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    app = create_app(live_settings, clock=FakeClock())
    Base.metadata.create_all(get_engine(app))
    with LiveServer(app, port) as server:
        yield server
    get_engine(app).dispose()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
