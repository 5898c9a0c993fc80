"""`cortese users add/passwd/list`."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app.cli import cli, development_env
from app.console.cli import cli as users_cli
from app.db import Base, make_engine
from app.operators.models import OperatorUser


def _env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    (tmp_path / ".env").write_text(development_env() + f"DATABASE_URL={url}\n")
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    if users_cli.name not in cli.commands:
        cli.add_command(users_cli)


def test_users_add_then_login_works(tmp_path, monkeypatch):
    _env(tmp_path, monkeypatch)
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "Marco", "--name", "Marco R", "--language", "it"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert "Operator marco created" in result.output
    listed = runner.invoke(cli, ["users", "list"])
    assert "marco\tMarco R\tit\tactive" in listed.output and "a-long-password" not in listed.output


def test_users_add_refuses_short_password_and_duplicates(tmp_path, monkeypatch):
    _env(tmp_path, monkeypatch)
    runner = CliRunner()
    short = runner.invoke(cli, ["users", "add", "anna", "--password", "short"])
    assert short.exit_code == 2 and "password: at least 10 characters" in short.output
    assert runner.invoke(cli, ["users", "add", "anna", "--password", "long-enough-1"]).exit_code == 0
    again = runner.invoke(cli, ["users", "add", "ANNA", "--password", "long-enough-1"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(cli, ["users", "add", "a b<c>", "--password", "long-enough-1"])
    assert bad.exit_code == 2 and "username:" in bad.output


def test_users_passwd(tmp_path, monkeypatch):
    _env(tmp_path, monkeypatch)
    runner = CliRunner()
    runner.invoke(cli, ["users", "add", "anna", "--password", "long-enough-1"])
    assert runner.invoke(cli, ["users", "passwd", "anna", "--password", "another-long-2"]).exit_code == 0
    assert runner.invoke(cli, ["users", "passwd", "nobody", "--password", "another-long-2"]).exit_code == 2
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        with Session(engine) as session:
            user = session.scalar(select(OperatorUser).where(OperatorUser.username == "anna"))
            assert check_password_hash(user.password_hash, "another-long-2")
    finally:
        engine.dispose()
