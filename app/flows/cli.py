"""`cortese flows lint|list|diagram`: the loader the app starts with, from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from app.commands import composition_root, configured_flows_dir
from app.flows.diagram import mermaid
from app.flows.hotlines import HotlineError, load_hotlines
from app.flows.loader import load_flows
from app.i18n import LANGUAGES


def _flows_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """--dir, else FLOWS_DIR from the environment or .env (what the app would load), else
    the repository's flows/."""
    return value if value is not None else configured_flows_dir()


DIR_OPTION = click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
                          callback=_flows_dir, help="Flows directory [default: FLOWS_DIR, else flows/].")


@click.group("flows", help="Call flows: lint them, list them, draw them.")
def cli() -> None:
    pass


@cli.command("lint")
@DIR_OPTION
def lint(directory: Path) -> None:
    """Check every flow, hotlines.yaml, prompts/, the word files (vocab/, times/, faq/, anger/)
    and the company data (offers.yaml, warranty.yaml); exit 1 listing each problem with file
    and node."""
    root = composition_root()
    flowset = load_flows(directory, root.flow_actions(), root.word_files())
    problems = [str(e) for e in flowset.errors]
    try:
        load_hotlines(directory / "hotlines.yaml", company="-", flows=set(flowset.flows))
    except HotlineError as exc:
        problems.extend(exc.problems)
    for data in root.data_files():
        problems.extend(data.problems(directory))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {directory}", err=True)
        sys.exit(1)
    click.echo(f"{len(flowset.flows)} flows OK in {directory}")


@cli.command("list")
@DIR_OPTION
def list_flows(directory: Path) -> None:
    """Flows with their kind, start node and size."""
    flowset = load_flows(directory)
    table = Table("flow", "kind", "start", "nodes", "file")
    for flow in sorted(flowset.flows.values(), key=lambda f: f.name):
        table.add_row(flow.name, flow.kind, flow.start, str(len(flow.nodes)), flow.file)
    Console(width=140).print(table)


@cli.command("diagram")
@click.argument("name")
@DIR_OPTION
@click.option("--language", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file (.mmd).")
def diagram(name: str, directory: Path, language: str, out: Path | None) -> None:
    """A Mermaid flowchart of flow NAME (paste into mermaid.live or a Markdown file)."""
    flowset = load_flows(directory)
    flow = flowset.get(name)
    if flow is None:
        raise click.BadParameter(f"no flow {name!r}; known: {', '.join(sorted(flowset.flows))}",
                                 param_hint="NAME")
    text = mermaid(flow, language)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
