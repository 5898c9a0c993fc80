"""Every word file comes from the flows directory the app runs (FLOWS_DIR), like its prompts:
spoken times (times/), the FAQ (faq/), anger (anger/) and the vocabulary (vocab/). A deployment
with its own copy of flows/ (a translator's, a customer's) hears callers with its own words,
two apps in one process never hear each other's, and a broken or missing word file stops the
app (and `cortese flows lint`) with the file named."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app, word_files
from app.callbacks.models import Callback
from app.callbacks.timeparse import parse_when
from app.flows import anger, app_words
from app.flows.cli import cli as flows_cli
from app.flows.loader import FlowError
from app.flows.matching import spoken_key
from app.support import faq
from tests.conftest import base_settings
from tests.test_support_scenarios import LINES, MONDAY, rows

FLOWS = Path(__file__).resolve().parent.parent / "flows"
# A Monday at 08:00 on the caller's wall clock: "at 10" alone is today, "tomorrow at 10" is not.
EARLY = datetime(2026, 3, 2, 8, 0)
OWN_OPENING_HOURS = "Our lines are open around the clock, every day of the year."
SORRY_NL = "Het spijt me echt"


def _copy_of_flows(directory: Path) -> Path:
    shutil.copytree(FLOWS, directory)
    return directory


def _edit(flows: Path, file: str, old: str, new: str) -> None:
    path = flows / file
    body = path.read_text(encoding="utf-8")
    assert old in body, f"{old!r} not in {file}"
    path.write_text(body.replace(old, new, 1), encoding="utf-8")


def _own_words(flows: Path) -> Path:
    """A customer's copy of flows/ with one word changed in each kind of word file."""
    # "pannenkoek" (pancake) is a common mild Dutch insult.
    _edit(flows, "anger/nl.yaml", "angry:\n", "angry:\n  - pannenkoek*\n")
    _edit(flows, "faq/en.yaml", "Our operators are available Monday to Friday from nine in the morning to six in the\n"
          "      evening, and on Saturday from nine to one, except on public holidays. Outside those\n"
          "      hours this automated line is open day and night, and you can book a callback at a time\n"
          "      that suits you.", OWN_OPENING_HOURS)
    # "tomoz": British slang for tomorrow.
    _edit(flows, "times/en.yaml", "tomorrow: [tomorrow]", "tomorrow: [tomorrow, tomoz]")
    # "tja": a Dutch hesitation, said before an answer as "ehm" is.
    _edit(flows, "vocab/nl.yaml", 'fillers: ["eh", ', 'fillers: ["tja", "eh", ')
    return flows


@pytest.fixture
def own_flows(tmp_path, settings) -> Path:
    flows = _own_words(_copy_of_flows(tmp_path / "own-flows"))
    settings["FLOWS_DIR"] = str(flows)
    return flows


# --- a deployment's own words, on a call and through the public functions -----------------------


def test_a_dutch_anger_word_of_the_copy_makes_a_caller_angry_on_a_call(own_flows, sim, clock):
    clock.set(MONDAY)
    call = sim.inbound(from_=LINES["nl"][0], to=LINES["nl"][1])
    call.speak("u bent een stelletje pannenkoeken, waar blijft mijn pakket")
    assert call.heard(SORRY_NL)


def test_an_faq_answer_of_the_copy_is_read_out(own_flows, sim, clock):
    clock.set(MONDAY)
    call = sim.inbound(from_=LINES["en"][0], to=LINES["en"][1])
    call.press("1")  # information
    call.press("1")  # opening hours
    assert call.heard(OWN_OPENING_HOURS)


def test_a_callback_time_said_in_the_copy_s_words_is_booked(own_flows, sim, app, clock):
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # a Wednesday, 09:00 in London
    call = sim.inbound(from_=LINES["en"][0], to=LINES["en"][1])
    call.press("5")  # support menu: book a callback
    call.speak("tomoz at 10")
    call.speak("yes")
    [callback] = rows(app, Callback)
    assert callback.local_due == "2026-11-26T10:00"  # Thursday, not this morning at 10


def test_each_word_of_the_copy_is_heard_within_its_app(own_flows, app):
    with app.app_context():
        assert anger.assess("wat een pannenkoek", "nl").escalate
        assert faq.load("en").by_id("opening_hours").answer == OWN_OPENING_HOURS
        assert parse_when("tomoz at 10", "en", EARLY).local == datetime(2026, 3, 3, 10, 0)
        assert spoken_key("tja twee", "nl") == "2"


def test_two_apps_in_one_process_keep_their_own_words(tmp_path):
    own = _own_words(_copy_of_flows(tmp_path / "own"))
    theirs = create_app({**base_settings(tmp_path), "FLOWS_DIR": str(own)})
    ours = create_app(base_settings(tmp_path))
    for app, customised in ((theirs, True), (ours, False), (theirs, True), (ours, False)):
        with app.app_context():
            assert anger.assess("wat een pannenkoek", "nl").escalate is customised
            assert (faq.load("en").by_id("opening_hours").answer == OWN_OPENING_HOURS) is customised
            assert (parse_when("tomoz at 10", "en", EARLY).local.day == 3) is customised
            assert (spoken_key("tja twee", "nl") == "2") is customised
    # Outside an app (a script, a unit test): the repository's words.
    assert not anger.assess("wat een pannenkoek", "nl").escalate
    assert faq.load("en").by_id("opening_hours").answer != OWN_OPENING_HOURS
    assert parse_when("tomoz at 10", "en", EARLY).local == datetime(2026, 3, 2, 10, 0)
    assert spoken_key("tja twee", "nl") is None


# --- broken or missing word files stop the app and fail lint ------------------------------------


@pytest.mark.parametrize("folder", ["times", "faq", "anger", "vocab"])
def test_a_flows_directory_without_a_language_s_word_file_does_not_start(tmp_path, folder):
    flows = _copy_of_flows(tmp_path / "flows")
    (flows / folder / "nl.yaml").unlink()
    with pytest.raises(FlowError) as failed:
        create_app({**base_settings(tmp_path), "FLOWS_DIR": str(flows)})
    assert f"{flows / folder / 'nl.yaml'}: missing" in str(failed.value)


def test_a_broken_times_pattern_stops_the_app_naming_its_file(tmp_path):
    flows = _copy_of_flows(tmp_path / "flows")
    # An unclosed group: the part of the day could never be read.
    _edit(flows, "times/en.yaml", '{say: "(?:in the )?afternoon"', '{say: "(?:in the afternoon"')
    with pytest.raises(FlowError) as failed:
        create_app({**base_settings(tmp_path), "FLOWS_DIR": str(flows)})
    assert f"{flows / 'times' / 'en.yaml'}: parts_of_day" in str(failed.value)
    assert "(?:in the afternoon" in str(failed.value)


def test_a_clock_pattern_with_an_unknown_meaning_stops_the_app_naming_its_file(tmp_path):
    flows = _copy_of_flows(tmp_path / "flows")
    _edit(flows, "times/nl.yaml", "means: to,", "means: voor,")
    with pytest.raises(FlowError) as failed:
        create_app({**base_settings(tmp_path), "FLOWS_DIR": str(flows)})
    assert f"{flows / 'times' / 'nl.yaml'}: clock:" in str(failed.value)


@pytest.mark.parametrize(("file", "old", "new", "named"), [
    ("anger/it.yaml", "patterns:\n  angry:\n", "patterns:\n  angry:\n    - '(?:tre volte'\n", "patterns"),
    ("faq/nl.yaml", "title: openingstijden en contact", "title: ''", "title"),
    ("vocab/en.yaml", 'negators: ["not",', 'negators: "not"\nold_negators: [', "negators"),
])
def test_lint_names_the_broken_word_file_of_the_directory_it_lints(tmp_path, file, old, new, named):
    flows = _copy_of_flows(tmp_path / "flows")
    _edit(flows, file, old, new)
    result = CliRunner().invoke(flows_cli, ["lint", "--dir", str(flows)])
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if str(flows / file) in line]
    assert named in line
    assert CliRunner().invoke(flows_cli, ["lint"]).exit_code == 0  # the repository's are untouched


def test_lint_checks_the_word_files_the_app_reads(app):
    """What `cortese flows lint` checks is what the app reads at start: every package's kinds
    (vocab/ besides, which the loader always reads for the flows' "@concepts")."""
    assert sorted(w.folder for w in app_words(app)) == sorted(w.folder for w in word_files())
    assert {"times", "faq", "anger"} <= {w.folder for w in word_files()}
