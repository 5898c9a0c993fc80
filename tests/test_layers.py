"""The house keeps its shape: packages in layers, the simulator apart, wiring explicit.

The layers are import-linter contracts in pyproject.toml (foundation < flows < domain
packages < delivery < entry points; inside the operator desk, its modules in layers of their
own); these tests run them in the suite, so CI refuses an import that reaches up a layer,
even one hidden inside a function.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import grimp

from app import flow_actions
from app.flows import app_actions

ROOT = Path(__file__).resolve().parent.parent


def test_imports_keep_the_layer_contracts() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_no_two_packages_import_each_other() -> None:
    """A cycle between two packages (A imports B, B imports A, however deep inside either)
    means neither can be read or changed alone. `app` itself, the composition root that
    builds the app from every package, is the one module allowed to know them all."""
    graph = grimp.build_graph("app")
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = _package(module), _package(imported)
            if a != b and "app" not in (a, b):
                edges[a].add(b)
    cycles = [f"{a} <-> {b}" for a, b in itertools.combinations(sorted(edges), 2)
              if b in edges[a] and a in edges[b]]
    assert cycles == []


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


PRODUCTION = {
    "CORTESE_ENV": "production",
    "SECRET_KEY": "production-secret-key-0123456789",
    "TWILIO_ACCOUNT_SID": "AC" + "ab" * 16,
    "TWILIO_AUTH_TOKEN": "production-auth-token-0123456789",
    "TWILIO_CALLER_ID": "+390212345678",
    "PUBLIC_BASE_URL": "https://cortese.example.test",
    "ADMIN_API_TOKEN": "production-admin-token-0123456789",
    "SUPPRESSION_HASH_KEY": "production-suppression-key-0123456789abcdef",
    "SCHEDULER_ENABLED": "false",
}
LOADED = """
import json, sys
from app import create_app
create_app({config!r})
print(json.dumps(sorted(m for m in sys.modules if m == "app.sim" or m.startswith("app.sim."))))
"""


def _simulator_modules_after_start_up(tmp_path: Path, **overrides: str) -> list[str]:
    config: dict[str, Any] = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}", **overrides}
    # A fresh interpreter: this one has the simulator loaded by the test suite's own plugin.
    result = subprocess.run([sys.executable, "-c", LOADED.format(config=config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_start_up_imports_no_simulator_module(tmp_path: Path) -> None:
    assert _simulator_modules_after_start_up(tmp_path) == []


def test_the_softphone_when_enabled_is_what_brings_the_simulator_in(tmp_path: Path) -> None:
    """The check above sees simulator modules when there are some to see."""
    assert "app.sim.web" in _simulator_modules_after_start_up(tmp_path, SIM_ENABLED="true")


UNCONFIGURED = """
import json
from app import create_app, db
{start}
print(json.dumps(sorted(m.class_.__name__ for m in db.Base.registry.mappers if not m.configured)))
"""


def _unconfigured_models(tmp_path: Path, start: str) -> list[str]:
    config: dict[str, Any] = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}"}
    result = subprocess.run([sys.executable, "-c", UNCONFIGURED.format(start=start.format(config=config))],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_a_started_app_has_its_models_configured_before_any_request(tmp_path: Path) -> None:
    """SQLAlchemy configures mappers on first use: a worker's first request would pay for it."""
    assert _unconfigured_models(tmp_path, "create_app({config!r})") == []


def test_imported_models_alone_are_not_configured(tmp_path: Path) -> None:
    """The check above sees unconfigured models when there are some to see."""
    assert "Contact" in _unconfigured_models(tmp_path, "db.import_models()")


def test_the_app_runs_the_actions_its_packages_register(app: Any) -> None:
    """What `cortese flows lint` checks flows against is what the app runs: the actions every
    domain package registers at init_app, each a function of a module that exists."""
    registered = app_actions(app)
    assert registered.names() == flow_actions().names()
    assert {"record_opt_out", "support_lookup_order", "book_callback", "campaign_completed"} <= set(registered.names())
    for name in registered.names():
        handler = registered.get(name).handler  # type: ignore[union-attr]
        assert handler.__module__ in sys.modules, name

