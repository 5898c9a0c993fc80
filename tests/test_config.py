"""Settings: validated at start-up with one clear line per missing or malformed setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import create_app
from app.config import ConfigError, load_settings
from tests.conftest import base_settings


def test_valid_settings_load(tmp_path):
    settings = load_settings(base_settings(tmp_path), env_file=None)
    assert settings.public_base_url == "https://cortese.example.test"
    assert settings.twilio_api_base_url == "https://api.twilio.com"


@pytest.mark.parametrize("name", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID",
                                  "PUBLIC_BASE_URL", "ADMIN_API_TOKEN", "SECRET_KEY"])
def test_missing_setting_is_named(tmp_path, monkeypatch, name):
    monkeypatch.delenv(name, raising=False)
    values = base_settings(tmp_path)
    del values[name]
    with pytest.raises(ConfigError) as info:
        create_app(values)
    lines = str(info.value).splitlines()
    assert lines == [f"{name}: missing (set it in the environment or in .env; see .env.example)"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TWILIO_ACCOUNT_SID", "SK123", "TWILIO_ACCOUNT_SID: must be 'AC' followed by 32 hexadecimal"),
        ("TWILIO_CALLER_ID", "02 1234 5678", "TWILIO_CALLER_ID: must be an E.164 number"),
        ("OPERATOR_NUMBER", "operator", "OPERATOR_NUMBER: must be an E.164 number"),
        ("PUBLIC_BASE_URL", "ngrok.app", "PUBLIC_BASE_URL: must be an absolute http(s) URL"),
        ("TWILIO_API_BASE_URL", "ftp://x", "TWILIO_API_BASE_URL: must be an absolute http(s) URL"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a database URL"),
        ("TRUST_PROXY_HEADERS", "maybe", "TRUST_PROXY_HEADERS: Input should be a valid boolean"),
        ("ADMIN_API_TOKEN", "short", "ADMIN_API_TOKEN: String should have at least 16 characters"),
        ("CORTESE_ENV", "staging", "CORTESE_ENV: Input should be 'development', 'test' or 'production'"),
    ],
)
def test_malformed_setting_is_named(tmp_path, name, value, expected):
    with pytest.raises(ConfigError) as info:
        create_app({**base_settings(tmp_path), name: value})
    assert str(info.value).startswith(expected)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("name", ["TWILIO_CALLER_ID", "OPERATOR_NUMBER"])
def test_a_drama_number_is_no_number_to_call_from_or_to(tmp_path, name):
    """Ofcom keeps 020 7946 0000-0999 for TV and radio drama: phonenumbers calls it a valid
    London line, but nobody answers it and no carrier lets us present it."""
    with pytest.raises(ConfigError) as info:
        create_app({**base_settings(tmp_path), name: "+442079460123"})
    assert str(info.value) == f"{name}: +442079460123 is reserved for TV and radio drama: no line answers it"


def test_every_problem_is_listed_at_once(tmp_path, monkeypatch):
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID"):
        monkeypatch.delenv(name, raising=False)
    values = base_settings(tmp_path)
    del values["TWILIO_AUTH_TOKEN"], values["TWILIO_CALLER_ID"]
    with pytest.raises(ConfigError) as info:
        load_settings(values, env_file=None)
    assert {line.split(":")[0] for line in str(info.value).splitlines()} == {
        "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID"}


def test_signature_skip_refused_outside_development(tmp_path):
    with pytest.raises(ConfigError, match="DEV_SKIP_SIGNATURE_CHECK may only be set with CORTESE_ENV=development"):
        load_settings({**base_settings(tmp_path), "DEV_SKIP_SIGNATURE_CHECK": True}, env_file=None)


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    values = base_settings(tmp_path)
    env = tmp_path / ".env"
    env.write_text("\n".join(f"{k}={v}" for k, v in values.items()) + "\nCOMPANY_NAME=Acme Energia\n")
    for key in values:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().company_name == "Acme Energia"


def test_cli_reports_one_clear_line_and_exit_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "app.cli", "db", "current"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "configuration error: TWILIO_ACCOUNT_SID: missing" in result.stderr
    assert "Traceback" not in result.stderr
