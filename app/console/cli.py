"""`cortese users ...`: operator accounts for the console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy import select

from app.clock import now
from app.commands import with_app
from app.db import session_scope
from app.operators.models import OperatorUser
from app.operators.users import (
    UserError,
    create_user,
    find_user,
    set_active,
    set_password,
    set_time_zone,
)


@click.group("users")
def cli() -> None:
    """Console operators (people who log in to /console)."""


@cli.command("add")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="Name shown in the console.")
@click.option("--language", type=click.Choice(["it", "nl", "en"]), default=None)
@click.option("--time-zone", default=None,
              help="Where the operator works (IANA name, e.g. Europe/London) [default: CONSOLE_TIME_ZONE].")
@click.password_option(help="At least 10 characters; asked twice when not given.")
@with_app
def add(app: Flask, username: str, password: str, display_name: str | None, language: str | None,
        time_zone: str | None) -> None:
    """Create operator USERNAME (the password is stored hashed)."""
    try:
        with session_scope(app) as session:
            create_user(session, username, password, at=now(), display_name=display_name,
                        language=language, time_zone=time_zone)
    except UserError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Operator {username.strip().lower()} created; log in at /console/login.")


@cli.command("passwd")
@click.argument("username")
@click.password_option()
@with_app
def passwd(app: Flask, username: str, password: str) -> None:
    """Set a new password for USERNAME."""
    with _operator(app, username) as user:
        set_password(user, password)
    click.echo(f"Password of {username} changed; every session of {username} has ended.")


@cli.command("zone")
@click.argument("username")
@click.argument("zone", required=False)
@with_app
def zone(app: Flask, username: str, zone: str | None) -> None:
    """Set where USERNAME works (IANA ZONE, e.g. Europe/London); without ZONE, the console's."""
    with _operator(app, username) as user:
        set_time_zone(user, zone)
        shown = user.time_zone or f"the console's zone ({app.extensions['cortese.settings'].console_zone})"
    click.echo(f"{username} sees the console's times in {shown}.")


@cli.command("disable")
@click.argument("username")
@with_app
def disable(app: Flask, username: str) -> None:
    """Disable USERNAME: every session ends at once and logins are refused."""
    _set_active(app, username, False)
    click.echo(f"Operator {username} disabled; every session has ended.")


@cli.command("enable")
@click.argument("username")
@with_app
def enable(app: Flask, username: str) -> None:
    """Let a disabled USERNAME log in again."""
    _set_active(app, username, True)
    click.echo(f"Operator {username} enabled.")


def _set_active(app: Flask, username: str, active: bool) -> None:
    with _operator(app, username) as user:
        set_active(user, active)


@contextmanager
def _operator(app: Flask, username: str) -> Iterator[OperatorUser]:
    """USERNAME's account, changed in the block and saved after it; a usage error for a name
    nobody has or a change the account refuses (UserError)."""
    with session_scope(app) as session:
        user = find_user(session, username)
        if user is None:
            raise click.UsageError(f"username: no operator {username!r}")
        try:
            yield user
        except UserError as exc:
            raise click.UsageError(str(exc)) from None


@cli.command("list")
@with_app
def list_users(app: Flask) -> None:
    """List operators (never their passwords)."""
    with session_scope(app) as session:
        for user in session.scalars(select(OperatorUser).order_by(OperatorUser.username)):
            state = "active" if user.active else "disabled"
            click.echo(f"{user.username}\t{user.display_name or ''}\t{user.language or ''}\t{state}\t"
                       f"{user.time_zone or ''}")
