"""The `cortese` command: first-run .env, migrations, and clear configuration errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli as cli_module
from app.cli import cli, development_env
from app.config import follow_local_port, load_settings
from app.flows.cli import cli as flows_cli
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
    started = []
    monkeypatch.setattr(cli_module, "_run_gunicorn", lambda *a, **k: started.append(a))
    monkeypatch.setattr(cli_module, "_port_free", lambda *_: None)  # nothing listens in this test
    monkeypatch.setattr(cli_module, "load_settings", lambda: load_settings(base_settings(tmp_path), env_file=None))
    runner = CliRunner()
    assert runner.invoke(cli, ["serve", "--port", "5055"]).exit_code == 0
    assert runner.invoke(cli, ["serve", "--threads", "8", "--workers", "3"]).exit_code == 0
    assert started == [("127.0.0.1", 5055, 2, 2), ("127.0.0.1", 5000, 3, 8)]
    assert cli_module.default_threads("postgresql+psycopg://postgres@127.0.0.1/test") == 4
    refused = runner.invoke(cli, ["serve", "--threads", "0"])
    assert refused.exit_code == 2 and "--threads" in refused.output


# --- start-up mistakes: one line naming them, exit 2, nothing listening ------------------------


def _cortese(tmp_path: Path, dotenv: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / ".env").write_text(dotenv)
    return subprocess.run(CORTESE + list(args), cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True,
                          text=True, timeout=120)


def _up(tmp_path: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    return _cortese(tmp_path, development_env() + f"DATABASE_URL=sqlite:///{tmp_path / 'c.db'}\n" + extra, "up")


def test_a_broken_flows_directory_stops_up_before_it_listens(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "menu.yaml").write_text("flow: menu\nkind: inbound\nstart: nowhere\nnodes: {}\n")
    result = _up(tmp_path, f"FLOWS_DIR={flows}\n")
    assert result.returncode == 2 and "listening" not in result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"start-up error: FLOWS_DIR {flows}: flows/menu.yaml: start node 'nowhere' does "
                           "not exist"), line
    missing = _up(tmp_path, f"FLOWS_DIR={tmp_path / 'nope'}\n")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "flows directory not found" in missing.stderr


def test_an_unreachable_postgres_stops_up_in_one_line_and_postgres_urls_are_accepted(tmp_path):
    # postgres:// (as hosting providers write it) is read as psycopg 3, not NoSuchModuleError;
    # port 1 refuses connections at once.
    result = _up(tmp_path, "DATABASE_URL=postgres://postgres@127.0.0.1:1/cortese\n")
    assert result.returncode == 2 and "listening" not in result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("start-up error: DATABASE_URL postgresql+psycopg://postgres@127.0.0.1:1/cortese: "
                           "cannot connect ("), line
    assert load_settings({**base_settings(tmp_path), "DATABASE_URL": "postgresql://u@h/db"},
                         env_file=None).database_url == "postgresql+psycopg://u@h/db"


def test_db_upgrade_with_postgres_down_is_one_line(tmp_path):
    result = _cortese(tmp_path, development_env() + "DATABASE_URL=postgresql://postgres@127.0.0.1:1/x\n",
                      "db", "upgrade")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("database error: ") and "DATABASE_URL" in result.stderr


def test_a_caller_id_that_is_no_real_number_is_refused(tmp_path):
    # +39 02 123 has the E.164 shape but no Italian number is that short (libphonenumber).
    result = _cortese(tmp_path, development_env().replace("+15005550006", "+3902123"), "db", "upgrade")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: TWILIO_CALLER_ID: +3902123 is not a valid phone number for its country"]


def test_one_port_setting_flows_to_env_urls_and_gunicorn(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("TWILIO_", "PUBLIC_", "ADMIN_", "SECRET_", "DATABASE_", "CORTESE_", "PORT", "FLOWS_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    started = []
    monkeypatch.setattr(cli_module, "_run_gunicorn", lambda *a, **k: started.append((a, k["settings"])))
    monkeypatch.setattr(cli_module, "_port_free", lambda *_: None)  # nothing listens in this test
    result = CliRunner().invoke(cli, ["up", "--port", "5055"])
    assert result.exit_code == 0, result.output
    env = (tmp_path / ".env").read_text()
    assert "PORT=5055" in env and "PUBLIC_BASE_URL=http://127.0.0.1:5055" in env
    assert "http://127.0.0.1:5055/voice/inbound" in result.output and ":5000" not in result.output
    assert "ngrok http 5055" in result.output
    (args, settings) = started[0]
    assert args[:2] == ("127.0.0.1", 5055) and settings.public_base_url == "http://127.0.0.1:5055"
    # An existing .env on 5055, served on another port: the local public URL follows --port.
    again = CliRunner().invoke(cli, ["up", "--port", "5066"])
    assert "`cortese init --force` would replace it" in again.output and "--force to" not in again.output
    assert "http://127.0.0.1:5066/voice/status" in again.output and started[1][1].port == 5066


def test_a_port_another_server_holds_stops_serve_in_one_line(monkeypatch, tmp_path):
    """Else the URLs are printed, gunicorn gives up seconds later, and /health answers from
    whatever holds the port."""
    monkeypatch.setattr(cli_module, "_run_gunicorn", lambda *a, **k: pytest.fail("must not start"))
    monkeypatch.setattr(cli_module, "load_settings", lambda: load_settings(base_settings(tmp_path), env_file=None))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"start-up error: cannot listen on 127.0.0.1:{port}" in result.output
    assert "listening" not in result.output


def test_sim_call_signs_for_the_port_a_local_server_moved_to():
    """`cortese up --port 5077` moves a local PUBLIC_BASE_URL; `sim call --url` follows it, and
    an ngrok address stays what it is."""
    assert follow_local_port("http://127.0.0.1:5000", 5077) == "http://127.0.0.1:5077"
    assert follow_local_port("http://localhost:5000/", 5000) == "http://localhost:5000/"
    assert follow_local_port("https://abc.ngrok.app", 5077) == "https://abc.ngrok.app"


def test_flows_lint_reads_flows_dir(monkeypatch, tmp_path):
    (tmp_path / "bad.yaml").write_text("flow: bad\nkind: inbound\nstart: nowhere\nnodes: {}\n")
    monkeypatch.setenv("FLOWS_DIR", str(tmp_path))
    result = CliRunner().invoke(flows_cli, ["lint"])
    assert result.exit_code == 1 and "flows/bad.yaml: start node 'nowhere' does not exist" in result.output
