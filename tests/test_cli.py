"""The `cortese` command: first-run .env, migrations, and clear configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli, development_env
from app.config import load_settings
from tests.conftest import base_settings

CORTESE = [sys.executable, "-m", "app.cli"]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(tmp_path)
    return env


def test_development_env_is_a_valid_configuration(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(development_env())
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("TWILIO_", "PUBLIC_", "ADMIN_", "SECRET_", "DATABASE_", "CORTESE_")):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.cortese_env == "development"
    assert settings.twilio_auth_token and settings.admin_api_token


def test_init_writes_env_once_with_fresh_secrets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    first = (tmp_path / ".env").read_text()
    result = runner.invoke(cli, ["init"])
    assert "keeping it" in result.output and (tmp_path / ".env").read_text() == first
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    runner.invoke(cli, ["init", "--force"])
    assert (tmp_path / ".env").read_text() != first


def test_db_upgrade_and_downgrade_from_the_command_line(tmp_path):
    env = _clean_env(tmp_path)
    (tmp_path / ".env").write_text(development_env() + f"DATABASE_URL=sqlite:///{tmp_path / 'c.db'}\n")
    up = subprocess.run(CORTESE + ["db", "upgrade"], cwd=tmp_path, env=env, capture_output=True,
                        text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert "is at heads" in up.stdout
    down = subprocess.run(CORTESE + ["db", "downgrade", "base"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr


def test_malformed_setting_stops_the_command_with_one_line(tmp_path):
    env = _clean_env(tmp_path)
    (tmp_path / ".env").write_text(development_env().replace("TWILIO_CALLER_ID=+15005550006",
                                                             "TWILIO_CALLER_ID=5550006"))
    result = subprocess.run(CORTESE + ["db", "upgrade"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: TWILIO_CALLER_ID: must be an E.164 number such as +390212345678"]


def test_serve_runs_two_threads_per_worker_on_sqlite_four_on_postgres(monkeypatch, tmp_path):
    from app import cli as cli_module

    started = []
    monkeypatch.setattr(cli_module, "_run_gunicorn", lambda *a: started.append(a))
    monkeypatch.setattr(cli_module, "load_settings", lambda: load_settings(base_settings(tmp_path), env_file=None))
    runner = CliRunner()
    assert runner.invoke(cli, ["serve", "--port", "5055"]).exit_code == 0
    assert runner.invoke(cli, ["serve", "--threads", "8", "--workers", "3"]).exit_code == 0
    assert started == [("127.0.0.1", 5055, 2, 2), ("127.0.0.1", 5000, 3, 8)]
    assert cli_module.default_threads("postgresql+psycopg://postgres@127.0.0.1/test") == 4
    refused = runner.invoke(cli, ["serve", "--threads", "0"])
    assert refused.exit_code == 2 and "--threads" in refused.output
