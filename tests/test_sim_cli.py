"""`cortese sim call` (interactive and scripted), `cortese sim run`, the background ringer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from twilio.rest import Client
from werkzeug.serving import make_server

from app.sim import FakeTwilio, SimCall
from app.sim.cli import cli
from app.telephony import RebasedHttpClient
from tests.sim_support import ACCOUNT, BASE, TOKEN, TwimlApp, doc


@pytest.fixture
def live(app: Flask, settings: dict[str, Any], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on a real port, and the CLI configured (env) with the same settings."""
    monkeypatch.chdir(tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_scripted_call(live: str) -> None:
    result = run("call", "--url", live, "--to", "+390212345678", "--script",
                 "expect:buongiorno,1,expect:domanda,silence,hangup")
    assert result.exit_code == 0, result.output
    assert "Buongiorno" in result.output and "domanda" in result.output
    assert "completed (caller hung up)" in result.output


def test_scripted_call_fails_on_a_missing_prompt(live: str) -> None:
    result = run("call", "--url", live, "--script", "1,expect:zebra")
    assert result.exit_code == 1 and "FAILED" in result.output and "zebra" in result.output


def test_bad_script_is_a_usage_error(live: str) -> None:
    result = CliRunner().invoke(cli, ["call", "--url", live, "--script", "1,dance"])
    assert result.exit_code == 2 and "unknown step" in result.output
    unclosed = CliRunner().invoke(cli, ["call", "--url", live, "--script", '1,"say:no, grazie'])
    assert unclosed.exit_code == 2 and "quote a step that holds a comma whole" in unclosed.output


def test_a_quoted_step_says_words_with_their_commas(live: str) -> None:
    """Speech as the recogniser writes it, punctuation and all: the comma ends the clause the
    "non" belongs to, so the caller asked for a call back."""
    result = run("call", "--url", live, "--to", "+390212345678", "--script",
                 '"say:Adesso non posso, mi chiamate voi dopo?",expect:Quando preferisce essere richiamato,hangup')
    assert result.exit_code == 0, result.output
    assert "Adesso non posso, mi chiamate voi dopo?" in result.output


def test_interactive_call_reads_keys_speech_and_silence(live: str) -> None:
    result = run("call", "--url", live, "--to", "+390212345678", "-v",
                 input="1\nil modem non funziona\n\nq\n")
    assert result.exit_code == 0, result.output
    assert "press    1" in result.output and "speak    il modem non funziona" in result.output
    assert "fetch" in result.output and "caller hung up" in result.output


def test_interactive_end_of_input_hangs_up(live: str) -> None:
    result = run("call", "--url", live, input="")
    assert result.exit_code == 0 and "caller hung up" in result.output


SCENARIO = """
name: {name}
to: "+390212345678"
steps:
  - expect: servizio clienti   # not the greeting: `sim run` in-process uses the real clock
  - press: "1"
  - expect: {expect}
  - hangup
ended: true
"""


def test_run_scenarios_over_http(live: str, tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(SCENARIO.format(name="faq", expect="domanda"))
    (tmp_path / "bad.yaml").write_text(SCENARIO.format(name="wrong", expect="zebra"))
    result = run("run", str(tmp_path / "good.yaml"), str(tmp_path / "bad.yaml"), "--url", live)
    assert result.exit_code == 1
    assert "PASS faq" in result.output and "FAIL wrong" in result.output
    assert "expected to hear 'zebra'" in result.output and "transcript:" in result.output
    assert "1 passed, 1 failed, 0 skipped" in result.output


def test_run_scenarios_in_process_from_a_directory(live: str, tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a.yaml").write_text(SCENARIO.format(name="faq", expect="domanda"))
    (folder / "broken.yaml").write_text("steps: nope\n")
    result = run("run", str(folder))
    assert "PASS faq" in result.output and "ERROR" in result.output
    assert result.exit_code == 1


def test_run_plays_clock_bound_scenarios_under_the_simulated_clock(live: str, tmp_path: Path) -> None:
    # "buongiorno" is only true in the morning: the scenario says it needs the simulated clock
    # (Monday 2 March 2026, 10:00 in Rome), so in process it passes at any hour, and against a
    # live server it is skipped rather than failed by the time of day.
    (tmp_path / "morning.yaml").write_text(
        "name: morning\nlive: false\nto: '+390212345678'\nsteps:\n  - expect: Buongiorno\n  - hangup\n")
    in_process = run("run", str(tmp_path / "morning.yaml"))
    assert in_process.exit_code == 0 and "1 passed, 0 failed, 0 skipped" in in_process.output, in_process.output
    over_http = run("run", str(tmp_path / "morning.yaml"), "--url", live)
    assert over_http.exit_code == 0 and "0 passed, 0 failed, 1 skipped" in over_http.output


def test_run_the_shipped_scenarios_in_process(live: str) -> None:
    result = run("run", str(Path(__file__).parent / "scenarios"))
    assert result.exit_code == 0 and " 0 failed" in result.output, result.output


def test_background_ringer_drives_created_calls() -> None:
    twiml = TwimlApp().on("/out", doc("<Say>Promemoria, arrivederci</Say>"))
    fake = FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN)
    fake.start()
    done = threading.Event()
    rung: list[SimCall] = []

    def drive(sim: SimCall) -> None:
        rung.append(sim)
        done.set()

    try:
        fake.attach(twiml.simulator().requester)
        fake.start_ringing(interval=0.05, drive=drive)
        client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(fake.base_url, 5))
        client.calls.create(to="+393471234567", from_="+390212345678", url=BASE + "/out")
        assert done.wait(10)
        assert rung[0].heard("promemoria") and rung[0].ended
    finally:
        fake.stop()


def test_interactive_words_starting_with_a_digit_are_speech(live: str) -> None:
    result = run("call", "--url", live, "--to", "+390212345678", input="2 router\nhangup\n")
    assert result.exit_code == 0 and "speak    2 router" in result.output


def test_explore_command_in_process(live: str) -> None:
    result = run("explore", "--to", "+390212345678", "--depth", "1")
    assert result.exit_code == 0, result.output
    assert "paths explored to depth 1: 0 with problems" in result.output


def test_explore_command_reports_problems_and_fails(live: str) -> None:
    result = run("explore", "--url", "http://127.0.0.1:9", "--depth", "1")  # nobody listens
    assert result.exit_code == 1 and "application_error" in result.output
