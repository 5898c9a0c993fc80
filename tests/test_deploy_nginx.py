"""The reverse-proxy configuration we ship (deploy/nginx.conf) agrees with what the app relies
on and with the README, and nginx accepts it (`nginx -t`, when nginx is installed: Debian's
`nginx` package, or NGINX=/path/to/nginx)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app import create_app, serving
from app.config import load_settings
from app.flows.safety import VOICE_MAX_BYTES
from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "nginx.conf"


def _directives(text: str) -> list[tuple[str, str]]:
    """(name, value) of every directive, comments dropped, in order."""
    body = re.sub(r"#[^\n]*", "", text)
    return [(m[1], m[2].strip()) for m in re.finditer(r"([a-z_0-9]+)\s+([^;{}]*);", body)]


def _block(text: str, opener: str) -> str:
    """The text of the block that begins with `opener` (e.g. "location /voice/")."""
    body = re.sub(r"#[^\n]*", "", text)
    start = body.index(opener)
    depth, i = 0, body.index("{", start)
    for j in range(i, len(body)):
        depth += {"{": 1, "}": -1}.get(body[j], 0)
        if depth == 0:
            return body[i + 1:j]
    raise AssertionError(f"unclosed block {opener}")


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * (60 if unit == "m" else 1)


def _site() -> dict[str, list[str]]:
    """Directives of the TLS server for the public host (the last server block)."""
    text = CONF.read_text()
    site = text[text.rindex("server {"):]
    found: dict[str, list[str]] = {}
    for name, value in _directives(site):
        found.setdefault(name, []).append(value)
    return found


def test_slow_clients_get_no_longer_than_the_app_gives_them():
    site = _site()
    for name in ("client_header_timeout", "client_body_timeout"):
        assert _seconds(site[name][0]) <= serving.BODY_SECONDS
    assert site["proxy_request_buffering"] == ["on"] and site["proxy_buffering"] == ["on"]
    # nginx waits for cortese at least as long as gunicorn lets a worker run.
    assert _seconds(site["proxy_read_timeout"][0]) >= serving.gunicorn_settings("127.0.0.1", 5000, 1)["timeout"]


def test_nginx_lets_idle_connections_to_cortese_go_before_gunicorn_does():
    upstream = dict(_directives(_block(CONF.read_text(), "upstream cortese")))
    gunicorn = serving.gunicorn_settings("127.0.0.1", 5000, 1)
    assert _seconds(upstream["keepalive_timeout"]) < gunicorn["keepalive"]


def test_sizes_match_the_apps_limits():
    app = create_app(load_settings(base_settings(ROOT / "instance-unused"), env_file=None))
    site = _site()
    assert _size(site["client_max_body_size"][0]) == app.config["MAX_CONTENT_LENGTH"]
    voice = dict(_directives(_block(CONF.read_text(), "location /voice/")))
    assert _size(voice["client_max_body_size"]) == VOICE_MAX_BYTES


def test_forwarded_headers_are_the_ones_proxyfix_reads_and_come_from_nginx():
    headers = dict(value.split(None, 1) for value in _site()["proxy_set_header"])
    # ProxyFix(x_for, x_proto, x_host) with one hop: nginx sets each from the connection.
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$host"
    # A port or prefix from the client would change the URL Twilio signed: cleared.
    assert headers["X-Forwarded-Port"] == '""' and headers["X-Forwarded-Prefix"] == '""'


def test_only_the_public_host_reaches_cortese():
    text = CONF.read_text()
    default = _block(text, "server {")  # the first server: every other name
    assert "default_server" in default and "return 444" in default and "ssl_reject_handshake on" in default
    names = {value for name, value in _directives(text) if name == "server_name"} - {"_"}
    assert names == {"voice.example.com"}


def test_the_readme_and_the_config_name_the_same_settings():
    readme = ROOT.joinpath("README.md").read_text()
    text = CONF.read_text()
    assert "deploy/nginx.conf" in readme
    for setting in ("TRUST_PROXY_HEADERS=true", "PROXY_HOPS=1", "PUBLIC_BASE_URL=https://voice.example.com"):
        assert setting in text and setting in readme, setting
    upstream = dict(_directives(_block(text, "upstream cortese")))
    assert upstream["server"] == "127.0.0.1:5000"
    assert "cortese serve --host 127.0.0.1 --port 5000" in text and "--host 127.0.0.1" in readme


def _nginx() -> str | None:
    return os.environ.get("NGINX") or shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(_nginx() is None, reason="nginx is not installed (Debian: apt-get install nginx)")
def test_nginx_accepts_the_configuration(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=voice.example.com", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    conf = CONF.read_text().replace("/etc/letsencrypt/live/voice.example.com/fullchain.pem",
                                    str(tmp_path / "cert.pem"))
    conf = conf.replace("/etc/letsencrypt/live/voice.example.com/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "cortese.conf").write_text(conf)
    temp = " ".join(f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
    (tmp_path / "main.conf").write_text(
        f"events {{}}\nhttp {{\n access_log {tmp_path / 'access.log'};\n {temp}\n"
        f" include {tmp_path / 'cortese.conf'};\n}}\n")
    result = subprocess.run([str(_nginx()), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "main.conf"),
                             "-g", f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
