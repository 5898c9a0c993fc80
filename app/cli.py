"""`cortese ...` commands. Packages add their own groups in `app/<package>/cli.py` (a click
object named `cli`, or several listed in COMMANDS); they are found here so this file stays
small."""

from __future__ import annotations

import importlib
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import create_app, migrate, serving
from app.config import ConfigError, follow_local_port, load_settings
from app.db import APP_DIR
from app.startup import StartupError, preflight

ENV_FILE = Path(".env")


# Development tools whose commands are imported only when one of them runs: they use the
# simulator, which serving the app (`cortese serve`, `cortese up`) must never import.
TOOLS = {"sim": "app.sim.cli", "demo": "app.demo.cli"}


class RootGroup(click.Group):
    """The root command: every package's commands, and the tools' on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *TOOLS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in TOOLS and cmd_name not in self.commands:
            self.add_command(importlib.import_module(TOOLS[cmd_name]).cli, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=RootGroup, help="cortese: a courteous telephony IVR for Twilio.")
def cli() -> None:
    pass


@cli.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing .env.")
@click.option("--port", type=click.IntRange(1, 65535), help="PORT to write [default: 5000].")
def init_env(force: bool, port: int | None = None) -> None:
    """Write a development .env with fresh secrets (kept if it already exists)."""
    if ENV_FILE.exists() and not force:
        click.echo(f"{ENV_FILE} exists; keeping it (`cortese init --force` would replace it).")
        return
    ENV_FILE.write_text(development_env(port or DEFAULT_PORT), encoding="utf-8")
    ENV_FILE.chmod(0o600)
    click.echo(f"Wrote {ENV_FILE} for local development. Put your real Twilio values in it.")


DEFAULT_PORT = 5000


def development_env(port: int = DEFAULT_PORT) -> str:
    return "\n".join(
        [
            "# Written by `cortese init` for local development; see .env.example for every setting.",
            "CORTESE_ENV=development",
            f"SECRET_KEY={secrets.token_hex(32)}",
            "# Replace with your Twilio account's values to take real calls.",
            "TWILIO_ACCOUNT_SID=AC" + secrets.token_hex(16),
            f"TWILIO_AUTH_TOKEN={secrets.token_hex(16)}",
            "TWILIO_CALLER_ID=+15005550006",
            f"PORT={port}",
            f"PUBLIC_BASE_URL=http://127.0.0.1:{port}",
            f"ADMIN_API_TOKEN={secrets.token_urlsafe(32)}",
            "",
        ]
    )


@cli.group("db")
def db_group() -> None:
    """Database migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    url = load_settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"Database at {_safe_url(url)} is at {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    migrate.downgrade(load_settings().database_url, revision)


@db_group.command("current")
def db_current() -> None:
    migrate.current(load_settings().database_url)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    migrate.revision(load_settings().database_url, message)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), help="[default: PORT, 5000]")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", type=click.IntRange(min=1),
              help="Threads per worker [default: 2 on SQLite, 4 on PostgreSQL].")
def serve(host: str, port: int | None, workers: int, threads: int | None) -> None:
    """Serve webhooks, API and scheduler with gunicorn (after checking flows and database)."""
    settings = _serving_settings(port)
    _preflight(settings)
    _port_free(host, settings.port)
    _print_urls(settings.public_base_url, host, settings.port, settings.trust_proxy_headers)
    _run_gunicorn(host, settings.port, workers, threads or default_threads(settings.database_url),
                  settings=settings)


def _serving_settings(port: int | None) -> Any:
    """Settings with --port applied everywhere: a local PUBLIC_BASE_URL follows it, and
    gunicorn's workers are built from these settings."""
    settings = load_settings()
    port = port or settings.port
    return settings.model_copy(update={"port": port,
                                       "public_base_url": follow_local_port(settings.public_base_url, port)})


def _preflight(settings: Any) -> None:
    try:
        preflight(settings)
    except StartupError as exc:
        click.echo(f"start-up error: {exc}", err=True)
        sys.exit(2)


def default_threads(database_url: str) -> int:
    """SQLite has one writer at a time: more threads only wait in its busy handler (sleeps of
    1-25 ms that make the p99), so two per worker; PostgreSQL threads overlap round trips.
    Measured with bench/webhook_throughput.py (bench/README.md)."""
    return 2 if database_url.startswith("sqlite") else 4


@cli.command("up")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), help="[default: PORT, 5000]")
@click.pass_context
def up(ctx: click.Context, host: str, port: int | None) -> None:
    """First run and every run: write .env if missing, check, migrate, then serve."""
    ctx.invoke(init_env, force=False, port=port)
    settings = _serving_settings(port)
    _preflight(settings)
    _port_free(host, settings.port)
    ctx.invoke(db_upgrade, revision="heads")
    _print_urls(settings.public_base_url, host, settings.port, settings.trust_proxy_headers)
    _run_gunicorn(host, settings.port, 2, default_threads(settings.database_url), settings=settings)


def _port_free(host: str, port: int) -> None:
    """Refuse to start, in one line, when something already listens on the port: otherwise the
    URLs are printed, gunicorn gives up seconds later, and /health answers from the other one."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            click.echo(f"start-up error: cannot listen on {host}:{port} ({exc.strerror}): another server "
                       "(an earlier `cortese up`?) has it; stop it or choose another --port", err=True)
            sys.exit(2)


def _print_urls(public: str, host: str, port: int, trust_proxy_headers: bool = False) -> None:
    click.echo(f"cortese listening on http://{host}:{port}  (health: http://{host}:{port}/health)")
    click.echo("Paste these into your Twilio number's Voice configuration:")
    click.echo(f"  A call comes in (Voice URL, HTTP POST): {public}/voice/inbound")
    click.echo(f"  Primary handler fails (Fallback URL):  {public}/voice/fallback")
    click.echo(f"  Call status changes (Status Callback): {public}/voice/status")
    if public.startswith("http://127.") or public.startswith("http://localhost"):
        tunnel = ("ngrok start --config ngrok.yml cortese" if port == DEFAULT_PORT
                  else f"ngrok http {port}")
        click.echo(f"  PUBLIC_BASE_URL is local: run `{tunnel}` and")
        click.echo("  set PUBLIC_BASE_URL in .env to the https URL ngrok prints, then restart.")
    elif not trust_proxy_headers:
        # Behind ngrok or a proxy every request comes from 127.0.0.1 unless its headers are
        # trusted: one stranger's wrong passwords would then lock the console for everyone.
        click.echo("  Behind ngrok or a reverse proxy? Set TRUST_PROXY_HEADERS=true in .env so each")
        click.echo("  client's own address is seen (console login throttling, logs).")


def _run_gunicorn(host: str, port: int, workers: int, threads: int, *, settings: Any = None) -> None:
    serving.run(lambda: create_app(settings), host=host, port=port, workers=workers, threads=threads)


def _add_package_commands() -> None:
    """Each package's cli.py: its `cli` group, or the commands it lists in COMMANDS. By file
    name, not pkgutil.walk_packages, which would import every package (the tools' too)."""
    for path in sorted(APP_DIR.glob("*/cli.py")):
        name = f"app.{path.parent.name}.cli"
        if name in TOOLS.values():
            continue
        module = importlib.import_module(name)
        for command in getattr(module, "COMMANDS", (getattr(module, "cli", None),)):
            if isinstance(command, click.Command):
                cli.add_command(command)


_add_package_commands()  # the root group is whole once this module is imported


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            click.echo(f"configuration error: {line}", err=True)
        sys.exit(2)
    except OperationalError as exc:  # e.g. `cortese db upgrade` with PostgreSQL down
        reason = str(exc.orig or exc).strip().splitlines()[0]
        click.echo(f"database error: {reason} (check DATABASE_URL)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
