"""`cortese sim ...`: a phone in the terminal, scripted calls, scenarios, and the fake Twilio."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.markup import escape
from werkzeug.serving import make_server

from app import create_app
from app.clock import FakeClock
from app.config import INSTANCE_DIR, Settings, follow_local_port, load_settings
from app.sim.call import Entry, SimCall
from app.sim.explore import explore
from app.sim.fake_twilio import Callee, FakeTwilio, _drive_silently
from app.sim.line import serve_app
from app.sim.scenario import SIMULATED_START, ScenarioError, play
from app.sim.scenario import load as load_scenario
from app.sim.script import apply_step, parse_steps
from app.sim.simulator import DEFAULT_CALLER, Simulator
from app.sim.web import CallStore, store_folder

_KEYS = re.compile(r"[0-9#*]+")
HELP_LINE = ("keys (1, 123#) press them · any other text is said · empty line = silence · "
             "'q' hangs up")


@click.group("sim")
def cli() -> None:
    """The Twilio simulator: place signed, simulated calls against cortese."""


def _settings() -> Settings:
    return load_settings()


def _local_url(settings: Settings) -> str:
    """The app on this machine, on the one PORT setting `cortese up` listens on."""
    return f"http://127.0.0.1:{settings.port}"


def _simulator(settings: Settings, url: str | None, public_url: str | None) -> Simulator:
    """Over HTTP to `url` (a running server), signing over the public URL the app checks: by
    default PUBLIC_BASE_URL, which, when it is local, follows the server's port as `cortese up
    --port` makes it (else a server on another port refuses every signature)."""
    if public_url is None:
        port = urlsplit(url).port if url else None
        public_url = follow_local_port(settings.public_base_url, port or settings.port)
    public = public_url.rstrip("/")
    return Simulator.over_http(public_base_url=public, send_to=url,
                               account_sid=settings.twilio_account_sid,
                               auth_token=settings.twilio_auth_token,
                               our_number=settings.twilio_caller_id)


def _in_process(settings: Settings, *, simulated_clock: bool = False) -> Simulator:
    """The app in this process; with `simulated_clock`, under the clock scenarios marked
    `live: false` are written for (app.sim.scenario.SIMULATED_START), not the wall clock."""
    clock = FakeClock(SIMULATED_START) if simulated_clock else None
    app = create_app(settings.model_copy(update={"scheduler_enabled": False}), clock=clock)
    return Simulator.for_app(app)


class Printer:
    """Prints transcript entries as they happen (only the new ones each time)."""

    STYLES: ClassVar[dict[str, str]] = {"say": "bold cyan", "play": "cyan", "pause": "dim", "press": "green",
              "speak": "green", "silence": "green", "record": "green", "error": "bold red",
              "hangup": "yellow", "queue": "magenta", "dial": "magenta"}

    def __init__(self, console: Console, verbose: bool) -> None:
        self.console, self.verbose, self.seen = console, verbose, 0

    def show(self, call: SimCall) -> None:
        for entry in call.transcript[self.seen:]:
            self._entry(entry)
        self.seen = len(call.transcript)

    def _entry(self, entry: Entry) -> None:
        if entry.kind in ("fetch", "status", "note") and not self.verbose:
            return
        style = self.STYLES.get(entry.kind, "dim")
        text = escape(entry.text)
        if entry.kind == "say":
            text += f" [dim]({escape(str(entry.data.get('language') or ''))})[/dim]"
        if entry.kind == "fetch":
            text += f" -> {entry.data.get('status')}"
        self.console.print(f"[dim]{entry.at:6.1f}s[/dim] [{style}]{entry.kind:<8}[/{style}] {text}")

    def summary(self, call: SimCall) -> None:
        self.show(call)
        self.console.print(f"call {call.sid}: {call.status} ({call.end_reason or 'still up'})")
        for problem in call.problems:
            self.console.print(f"[bold red]problem[/bold red] {escape(problem.describe())}")


def _interactive(call: SimCall, printer: Printer, console: Console) -> None:
    console.print(f"[dim]{HELP_LINE}[/dim]")
    while not call.ended:
        printer.show(call)
        try:
            line = console.input(f"[green]{call.waiting_for or 'caller'}>[/green] ")
        except EOFError:
            line = "q"
        line = line.strip()
        if line in ("q", "quit", "hangup"):
            call.hangup()
        elif not line or line == "silence":
            call.silence()
        elif _KEYS.fullmatch(line):
            call.press(line)
        else:  # anything else is speech ("say:" optional), e.g. "2 pizze" or "sì"
            call.speak(line.removeprefix("say:").strip() or line)


@cli.command("call")
@click.option("--to", "to", help="The number dialled (default: TWILIO_CALLER_ID, our number).")
@click.option("--from", "from_", default=DEFAULT_CALLER, show_default=True,
              help="The caller's number (anonymous, client:alice... work too).")
@click.option("--url", help="Where the app listens [default: http://127.0.0.1:PORT, PORT from .env, 5000].")
@click.option("--public-url", help="The URL Twilio would use (default PUBLIC_BASE_URL): "
              "signatures are computed over it.")
@click.option("--path", default="/voice/inbound", show_default=True, help="The Voice URL path.")
@click.option("--script", help='Non-interactive steps, e.g. "1,say:il modem,silence,hangup"; quote a step '
              'holding a comma: \'1,"say:no, grazie",hangup\'.')
@click.option("-v", "--verbose", is_flag=True, help="Also show requests and status callbacks.")
def call_command(to: str | None, from_: str, url: str, public_url: str | None, path: str,
                 script: str | None, verbose: bool) -> None:
    """Call a running cortese like a phone: hear prompts, press keys, speak."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        steps = parse_steps(script) if script else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--script") from None
    settings = _settings()
    simulator = _simulator(settings, url or _local_url(settings), public_url)
    call = simulator.inbound(from_=from_, to=to, path=path)
    printer = Printer(console, verbose)
    if steps is None:
        _interactive(call, printer, console)
        printer.summary(call)
        return
    try:
        for step in steps:
            apply_step(call, step)
            printer.show(call)
    except AssertionError as exc:
        printer.summary(call)
        console.print(f"[bold red]FAILED[/bold red] {escape(str(exc).splitlines()[0])}")
        sys.exit(1)
    printer.summary(call)
    if call.problems:
        sys.exit(1)


@cli.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--url", help="A running server (e.g. http://127.0.0.1:5000); default: the app "
              "in-process, with the database of the current settings.")
@click.option("--public-url", help="The URL Twilio would use (default PUBLIC_BASE_URL).")
@click.option("--keep-callers", is_flag=True, help="Call from the numbers the files give "
              "(default: a never-seen number of the same country, since the database keeps "
              "tickets and language choices from earlier runs).")
def run_command(files: tuple[Path, ...], url: str | None, public_url: str | None,
                keep_callers: bool) -> None:
    """Play scenario files (YAML); exit 1 with the transcript when one fails.

    In process, `live: false` scenarios run under the simulated clock (Monday 2 March 2026,
    10:00 in Rome) they are written for; against --url they are skipped.

    The calls are real to the app (they store calls, tickets, bookings): use a scratch
    database or server."""
    settings = _settings()
    paths = [p for f in files for p in (sorted(f.glob("*.yaml")) if f.is_dir() else [f])]
    simulators: dict[bool, Simulator] = {}  # in process: live scenarios, then simulated-clock ones
    failed = skipped = 0
    for path in paths:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            click.echo(f"ERROR {exc}")
            failed += 1
            continue
        if url and not scenario.live:
            click.echo(f"SKIP {scenario.name} ({path}): needs the simulated clock")
            skipped += 1
            continue
        if url:
            simulator = _simulator(settings, url, public_url)
        else:
            simulated = not scenario.live
            if simulated not in simulators:
                simulators[simulated] = _in_process(settings, simulated_clock=simulated)
            simulator = simulators[simulated]
        outcome = play(scenario, simulator, fresh_caller=not keep_callers)
        click.echo(outcome.report())
        failed += not outcome.ok
    click.echo(f"{len(paths) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    if failed:
        sys.exit(1)


@cli.command("explore")
@click.option("--to", "to", help="The number dialled (default: TWILIO_CALLER_ID).")
@click.option("--from", "from_", default=DEFAULT_CALLER, show_default=True)
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 6),
              help="Caller turns per path.")
@click.option("--max-calls", default=300, show_default=True, type=click.IntRange(1, 100000))
@click.option("--url", help="A running server; default: the app in-process (database of the "
              "current settings).")
@click.option("--public-url", help="The URL Twilio would use (default PUBLIC_BASE_URL).")
def explore_command(to: str | None, from_: str, depth: int, max_calls: int, url: str | None,
                    public_url: str | None) -> None:
    """Try every key the prompts mention, an unlisted key and silence, turn after turn, and
    list the paths where a caller would suffer; exit 1 when there is one.

    Every path is a real call to the app: it stores what callers' calls store (calls,
    draft tickets, bookings), so point it at a scratch database or server."""
    settings = _settings()
    simulator = _simulator(settings, url, public_url) if url else _in_process(settings)
    result = explore(lambda: simulator.inbound(from_=from_, to=to), depth=depth,
                     max_calls=max_calls)
    for finding in result.findings:
        click.echo(finding.report())
    click.echo(f"{result.calls} calls, {result.paths} paths explored to depth {depth}"
               f"{' (stopped at --max-calls)' if result.truncated else ''}: "
               f"{len(result.findings)} with problems")
    if result.findings:
        sys.exit(1)


@cli.command("serve")
@click.option("--port", type=int, help="Where the app listens [default: PORT from .env, 5000].")
def serve_command(port: int | None) -> None:
    """The app and a fake Twilio in one process, for the browser softphone: calls it places wait
    in the real queues, and calls the app places (an operator's phone rung by the desk, a
    callback) ring on it, conferences included. Development and test only; one process."""

    settings = _settings()
    if settings.cortese_env == "production":
        raise click.UsageError("cortese sim serve is a development tool: CORTESE_ENV is production")
    app, fake, _line = serve_app(settings)
    server = make_server("127.0.0.1", port or settings.port, app, threaded=True)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"cortese with a fake Twilio ({fake.base_url}) on http://127.0.0.1:{server.server_port}")
    console.print(f"softphone: http://127.0.0.1:{server.server_port}/sim/softphone · desk: /console/desk")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


@cli.command("twilio")
@click.option("--port", default=8089, show_default=True, type=int)
@click.option("--app-url", help="Where the app listens: rung calls fetch their Url there "
              "[default: http://127.0.0.1:PORT].")
@click.option("--public-url", help="The URL the app signs for (default PUBLIC_BASE_URL).")
@click.option("--answer", default="human", show_default=True,
              help="How every callee answers: human, machine_start, busy, no-answer...")
@click.option("--inputs", default="", help='Steps each answered callee plays, e.g. "1,say:sì".')
@click.option("--softphone", is_flag=True, help="Hand answered calls to the browser softphone "
              "(/sim/softphone lists them) instead of playing them silently here.")
@click.option("--store", type=click.Path(path_type=Path), help="The softphone's call folder "
              "(default: instance/sim-calls, where the app looks).")
def twilio_command(port: int, app_url: str | None, public_url: str | None, answer: str,
                   inputs: str, softphone: bool, store: Path | None) -> None:
    """Run a fake Twilio REST API; point the app at it with TWILIO_API_BASE_URL."""
    settings = _settings()
    app_url = app_url or _local_url(settings)
    console = Console(highlight=False, soft_wrap=True)
    try:
        default = Callee(answer, None, [s for s in inputs.split(",") if s.strip()])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    fake = FakeTwilio(account_sid=settings.twilio_account_sid,
                      auth_token=settings.twilio_auth_token,
                      api_key_sid=settings.twilio_api_key_sid,
                      api_key_secret=settings.twilio_api_key_secret)
    fake.default_callee = default
    fake.attach(_simulator(settings, app_url, public_url).requester)
    base = fake.start(port=port)
    console.print(f"fake Twilio REST API on {base}")
    console.print(f"set TWILIO_API_BASE_URL={base} in the app's .env and restart it")

    def drive(sim: SimCall) -> None:
        if softphone and not sim.ended:
            calls = CallStore(store or store_folder(INSTANCE_DIR), settings.secret_key)
            calls.save(calls.new_id(), sim)
            console.print(f"call {sim.sid} to {sim.to} is ringing on the softphone")
            return
        _drive_silently(sim)
        Printer(console, verbose=False).summary(sim)

    fake.start_ringing(drive=drive)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        fake.stop()
