"""What must hold before anything listens: the flows load and lint, and the database answers.

`cortese up` and `cortese serve` ask `preflight` first; a mistake is one line naming it and a
non-zero exit, never "listening" followed by worker tracebacks (gunicorn would boot workers
that each fail in create_app, again and again).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app import data_files, flow_actions, word_files
from app.config import Settings
from app.consent.packs import RULES_DIR, RulePackError, load_packs
from app.flows.hotlines import HotlineError, load_hotlines
from app.flows.loader import load_flows

# How long start-up waits for the database before saying it cannot be reached.
CONNECT_TIMEOUT_SECONDS = 3


class StartupError(RuntimeError):
    """One start-up mistake, said in one line."""


def check_flows(settings: Settings) -> None:
    """The flows directory loads and lints, hotlines.yaml, the word files and the company data
    (offers.yaml, warranty.yaml) included."""
    directory = settings.flows_dir
    flowset = load_flows(directory, flow_actions(), word_files())
    problems = [str(e) for e in flowset.errors]
    try:
        load_hotlines(directory / "hotlines.yaml", company=settings.company_name, flows=set(flowset.flows))
    except HotlineError as exc:
        problems.extend(exc.problems)
    for data in data_files():
        problems.extend(data.problems(directory))
    if not flowset.flows and not problems:
        problems.append("no flows (*.yaml) in it")
    if problems:
        more = f" (and {len(problems) - 1} more: run `cortese flows lint`)" if len(problems) > 1 else ""
        raise StartupError(f"FLOWS_DIR {directory}: {problems[0]}{more}")


def check_rules(rules: Path = RULES_DIR) -> None:
    """The rule packs load: read only when a call is decided, a mistake in them would otherwise
    surface at the first call instead of here."""
    problems: list[str] = []
    try:
        load_packs(rules)
    except RulePackError as exc:
        problems.extend(exc.problems)
    if problems:
        more = f" (and {len(problems) - 1} more: run `cortese compliance packs`)" if len(problems) > 1 else ""
        raise StartupError(f"rule packs: {problems[0]}{more}")


def check_database(settings: Settings) -> None:
    """The database answers a query within a few seconds."""
    url = make_url(settings.database_url)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.get_backend_name() == "postgresql" else {}
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StartupError(f"DATABASE_URL {url.render_as_string(hide_password=True)}: "
                           f"cannot connect ({reason})") from None
    finally:
        engine.dispose()


def preflight(settings: Settings) -> None:
    """Raise StartupError for the first thing that would stop the app from serving calls."""
    check_flows(settings)
    check_rules()
    check_database(settings)
