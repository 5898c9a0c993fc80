"""Do-not-call registry copies: every published number format lands on the right number, a bad
file never replaces a good copy, the import commits in resumable chunks, and a copy cannot be
"obtained" in the future (CLI, API, console).

Numbers: Ofcom reserves 020 7946 0000-0999 for drama (never a real line); the Italian and US
numbers are the project's usual fictional ones.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import sessionmaker

from app.consent import registries
from app.consent.models import RegistryEntry, RegistryImport
from app.db import get_engine, session_scope
from tests.console_support import BEARER, add_operator, login, page_csrf

AT = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
LONDON = "+442079460000"


def _import(session, country: str, text: str, at: datetime = AT, **kw):
    return registries.import_registry(session, country, io.BytesIO(text.encode()), at=at, file_name="r.txt", **kw)


def _listed(app, country: str, numbers: list[str]) -> set[str]:
    with session_scope(app) as session:
        return registries.screen(session, country, numbers)


def _imports(app) -> dict[int, str]:
    with session_scope(app) as session:
        return dict(session.execute(select(RegistryImport.id, RegistryImport.status)).all())


# --- gap 2: every line parsed in the registry's country ---------------------------------------

@pytest.mark.parametrize(("country", "text", "e164"), [
    # The forms the issue found stored under a wrong number.
    ("GB", "+44 (0)20 7946 0000", LONDON),
    ("GB", "msisdn\n442079460000", LONDON),
    ("IT", "msisdn\n393471234567", "+393471234567"),
    # Published and hand-typed forms of one number: +, 00, national, with spaces, dots, dashes.
    ("GB", "+44 20 7946 0000", LONDON),
    ("GB", "0044 20 7946 0000", LONDON),
    ("GB", "0044 (0)20 7946 0000", LONDON),
    ("GB", "020 7946 0000", LONDON),
    ("GB", "020-7946-0000", LONDON),
    ("GB", "020.7946.0000", LONDON),
    ("GB", "(020) 7946 0000", LONDON),
    ("GB", "442079460000", LONDON),
    ("GB", "e164\n+442079460000", LONDON),
    ("IT", "+39 347 123 4567", "+393471234567"),
    ("IT", "0039 347 1234567", "+393471234567"),
    ("IT", "347.123.4567", "+393471234567"),
    ("IT", "393471234567", "+393471234567"),
    # Italian fixed lines keep their 0 after +39, written or not in brackets.
    ("IT", "02 1234 5678", "+390212345678"),
    ("IT", "+39 (0)2 1234 5678", "+390212345678"),
    ("US", "(212) 555-0123", "+12125550123"),
    ("US", "1-212-555-0123", "+12125550123"),
    ("US", "212.555.0123", "+12125550123"),
    ("US", "212,5550123", "+12125550123"),
    ("CA", "416,5550123", "+14165550123"),
    # Puerto Rico shares +1 and is on the US registry.
    ("US", "787-555-0123", "+17875550123"),
])
def test_every_published_format_is_stored_as_the_same_number(app, country, text, e164):
    with session_scope(app) as session:
        report = _import(session, country, text + "\n")
    assert (report.status, report.numbers, report.rejected) == ("complete", 1, 0), report.errors
    assert _listed(app, country, [e164]) == {e164}
    with session_scope(app) as session:
        assert session.scalars(select(RegistryEntry.number)).all() == [int(e164[1:])]


@pytest.mark.parametrize(("country", "text", "code"), [
    ("IT", "+33 1 23 45 67 89", "line_other_country"),  # a French number on the Italian list
    ("GB", "+39 347 123 4567", "line_other_country"),
    ("IT", "msisdn\n3471234567", "line_other_country"),  # a national number under msisdn reads +34...
    ("IT", "12", "line_not_country_number"),
    ("GB", "020 7946", "line_not_country_number"),
    ("US", "555-0123", "line_not_country_number"),
    ("IT", "chiamare dopo le 18", "line_not_country_number"),
])
def test_a_line_that_is_not_a_number_of_the_country_is_refused_with_why(app, country, text, code):
    good = {"IT": "+393471111111", "GB": "+442079460001", "US": "+12125550199"}[country]
    header, _, line = text.rpartition("\n")
    body = (header + "\n" if header else "") + line + "\n" + good + "\n"
    with session_scope(app) as session:
        report = _import(session, country, body, max_refused_percent=100)
    assert (report.numbers, report.rejected) == (1, 1)
    (line_no, reason), = report.errors
    assert line_no == (2 if header else 1) and reason.code == code


def test_the_report_says_per_format_how_many_numbers_were_stored_with_an_example(app):
    text = "+44 20 7946 0000\n+44 (0)20 7946 0001\n0044 20 7946 0002\n020 7946 0003\n020 7946 0004\n442079460005\n"
    with session_scope(app) as session:
        report = _import(session, "GB", text)
    counts = {name: seen.count for name, seen in report.formats.items()}
    assert counts == {"international": 1, "international_trunk_zero": 1, "idd": 1, "national": 2,
                      "country_code_without_plus": 1}
    assert report.formats["international_trunk_zero"].example == "+44 (0)20 7946 0001 -> +442079460001"
    assert report.formats["national"].example == "020 7946 0003 -> +442079460003"
    with session_scope(app) as session:
        stored = session.get(RegistryImport, report.import_id)
        assert stored.formats["national"] == {"count": 2, "example": "020 7946 0003 -> +442079460003"}


# --- gap 3: a bad upload never replaces the good copy -----------------------------------------

def _good_copy(app) -> int:
    with session_scope(app) as session:
        report = _import(session, "GB", "020 7946 0000\n020 7946 0001\n", at=AT - timedelta(days=2))
    assert report.status == "complete"
    return report.import_id


@pytest.mark.parametrize("text", [
    "",  # an empty download
    "msisdn\n",  # a header and nothing else
    "1 Service unavailable\n<html><body>503</body></html>\n",  # an error page saved as the file
    "01/03/2026\n" * 50,  # a column of dates
])
def test_a_file_without_numbers_is_refused_and_the_copy_in_use_stays(app, text):
    good = _good_copy(app)
    with session_scope(app) as session:
        report = _import(session, "GB", text)
    assert report.status == "refused" and "no number" in (report.note or "")
    assert _imports(app) == {good: "complete", report.import_id: "refused"}
    assert _listed(app, "GB", [LONDON]) == {LONDON}


def test_a_file_whose_header_names_no_number_column_is_refused_before_anything_changes(app):
    good = _good_copy(app)
    with session_scope(app) as session, pytest.raises(registries.RegistryError) as refused:
        _import(session, "GB", "Service unavailable\n<html><body>503</body></html>\n")
    assert refused.value.code == "registry_no_number_column"
    assert _imports(app) == {good: "complete"} and _listed(app, "GB", [LONDON]) == {LONDON}


def test_more_refused_lines_than_the_threshold_refuses_the_copy_unless_the_operator_raises_it(app):
    good = _good_copy(app)
    # 2 refused lines in 100: above the default 1%, a misread format rather than a typo.
    lines = [f"020 7946 {n:04d}" for n in range(2, 100)] + ["020 7946", "+33 1 23 45 67 89"]
    text = "\n".join(lines) + "\n"
    with session_scope(app) as session:
        refused = _import(session, "GB", text)
    assert refused.status == "refused" and "2 of 100 lines refused (2.00%)" in (refused.note or "")
    assert _listed(app, "GB", [LONDON, "+442079460050"]) == {LONDON}
    with session_scope(app) as session:  # the refused copy's numbers are gone; the good one's stay
        assert session.scalar(select(func.count()).select_from(RegistryEntry)) == 2
    with session_scope(app) as session:
        accepted = _import(session, "GB", text, max_refused_percent=2.5)
    assert accepted.status == "complete"
    assert _imports(app) == {good: "superseded", refused.import_id: "refused", accepted.import_id: "complete"}
    assert _listed(app, "GB", [LONDON, "+442079460050"]) == {"+442079460050"}
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(RegistryEntry)) == 98
        assert session.get(RegistryImport, accepted.import_id).max_refused_percent == 2.5


def test_screening_uses_the_old_copy_until_the_new_one_is_complete(app):
    _good_copy(app)
    seen: list[set[str]] = []
    other = sessionmaker(get_engine(app))  # another connection, as a dialer in another process

    def look(_bytes: int) -> None:
        with other() as session:
            seen.append(registries.screen(session, "GB", [LONDON, "+442079460500"]))

    text = "".join(f"020 7946 {n:04d}\n" for n in range(500, 530))
    with session_scope(app) as session:
        report = _import(session, "GB", text, window=10, progress=look)
    assert report.status == "complete" and len(seen) == 3
    assert all(s == {LONDON} for s in seen)
    assert _listed(app, "GB", [LONDON, "+442079460500"]) == {"+442079460500"}


# --- chunks: short transactions, progress kept, resumable, idempotent -------------------------

def test_each_chunk_commits_with_its_progress(app):
    progress: list[tuple[str, int, int]] = []
    other = sessionmaker(get_engine(app))

    def look(_bytes: int) -> None:
        with other() as session:
            row = session.scalars(select(RegistryImport)).one()
            stored = session.scalar(select(func.count()).select_from(RegistryEntry))
            progress.append((row.status, row.lines_read, stored))

    text = "".join(f"+39 347 {n:07d}\n" for n in range(25))
    with session_scope(app) as session:
        _import(session, "IT", text, window=10, progress=look)
    # Another connection saw each chunk committed while the import was still running.
    assert progress == [("running", 10, 10), ("running", 20, 20), ("running", 25, 25)]


class _Timed:
    """Counts the numbers each transaction inserts, and stands in for the clock: every INSERT of
    registry numbers "takes" `cost` seconds, so transaction sizes do not depend on this machine."""

    def __init__(self, engine, cost: float, statement: str = "INSERT INTO consent_registry_entries") -> None:
        self.now, self.cost, self.statement = 0.0, cost, statement
        self.rows = self.statements = 0
        self.per_transaction: list[int] = []
        self.statements_per_transaction: list[int] = []
        self.inserted: list[int] = []
        event.listen(engine, "before_cursor_execute", self._execute)
        event.listen(engine, "commit", self._commit)

    def clock(self) -> float:
        return self.now

    def _execute(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.startswith(self.statement):
            self.now += self.cost
            self.statements += 1
            numbers = [v for v in _flat(parameters) if isinstance(v, int) and v > 10**9]
            self.rows += len(numbers)
            self.inserted += numbers

    def _commit(self, _conn) -> None:
        if self.rows:
            self.per_transaction.append(self.rows)
        if self.statements:
            self.statements_per_transaction.append(self.statements)
        self.rows = self.statements = 0


def _flat(parameters) -> list:
    if isinstance(parameters, dict):
        return list(parameters.values())
    if isinstance(parameters, (list, tuple)):
        return [v for p in parameters for v in (_flat(p) if isinstance(p, (list, tuple, dict)) else [p])]
    return [parameters]


@pytest.mark.parametrize(("cost", "expected"), [
    # A statement of 30 ms: two make the 50 ms a transaction may take, so 10 numbers each.
    (0.03, [10] * 10),
    # 1 ms: the whole window fits in 50 ms, one transaction.
    (0.001, [100]),
])
def test_transactions_are_sized_by_time_not_by_count(app, monkeypatch, cost, expected):
    monkeypatch.setattr(registries, "ROWS_PER_STATEMENT", 5)
    timed = _Timed(get_engine(app), cost)
    text = "".join(f"+39 347 {n:07d}\n" for n in range(100))
    with session_scope(app) as session:
        report = _import(session, "IT", text, window=100, clock=timed.clock)
    assert report.status == "complete" and report.numbers == 100
    assert timed.per_transaction == expected


def test_numbers_go_in_in_key_order_across_the_whole_window(app, monkeypatch):
    # A file in descending order: inserting in file order would hop across the index.
    monkeypatch.setattr(registries, "ROWS_PER_STATEMENT", 5)
    timed = _Timed(get_engine(app), 0.0)
    text = "".join(f"+39 347 {n:07d}\n" for n in reversed(range(40)))
    with session_scope(app) as session:
        _import(session, "IT", text, window=40, clock=timed.clock)
    assert timed.inserted == sorted(timed.inserted) and len(timed.inserted) == 40


def test_replaced_copies_are_deleted_in_transactions_sized_by_time(app):
    with session_scope(app) as session:
        first = _import(session, "IT", "".join(f"+39 347 {n:07d}\n" for n in range(30)))
        _import(session, "IT", "+39 347 9999999\n", at=AT + timedelta(days=1))
        # Put the replaced copy's numbers back, as if its purge had been interrupted.
        session.execute(RegistryEntry.__table__.insert(),
                        [{"import_id": first.import_id, "number": 393470000000 + n} for n in range(30)])
        session.commit()
    timed = _Timed(get_engine(app), 0.03, statement="DELETE FROM consent_registry_entries")
    with session_scope(app) as session:
        registries._purge_unused(session, "IT", timed.clock, per_statement=10)
    # Three deletes of 10 numbers, 30 ms each: two fill a transaction's 50 ms, then one.
    assert timed.statements_per_transaction == [2, 1]
    with session_scope(app) as session:
        assert session.scalars(select(RegistryEntry.number)).all() == [393479999999]


def test_progress_moves_while_a_window_is_read_not_only_when_it_is_stored(app, monkeypatch):
    # A window of a real copy takes seconds to minutes to read: the bar must not look stuck.
    monkeypatch.setattr(registries, "PROGRESS_LINES", 10)
    lines = [f"+39 347 {n:07d}\n" for n in range(25)]
    text = "".join(lines)
    seen: list[int] = []
    with session_scope(app) as session:
        _import(session, "IT", text, window=100, progress=seen.append)
    size = len(lines[0])
    assert seen == [10 * size, 20 * size, 25 * size]  # read 10, read 20, the window stored


class Interrupted(Exception):
    pass


def test_an_interrupted_import_resumes_where_it_stopped_and_counts_each_number_once(app):
    text = "numero\n" + "".join(f"+39 347 {n:07d}\n" for n in range(30)) + "+39 347 0000000\n"
    calls = {"n": 0}

    def crash_after_two_chunks(_bytes: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupted

    with pytest.raises(Interrupted), session_scope(app) as session:
        _import(session, "IT", text, window=10, progress=crash_after_two_chunks)
    with session_scope(app) as session:
        row = session.scalars(select(RegistryImport)).one()
        assert (row.status, row.lines_read, row.numbers) == ("running", 21, 20)  # header + 20 lines
    read: list[int] = []
    with session_scope(app) as session:
        report = _import(session, "IT", text, window=10, progress=read.append)
    assert report.resumed and report.status == "complete"
    assert (report.numbers, report.duplicates, report.rejected) == (30, 1, 0)
    assert len(read) == 2  # the last 11 lines only
    assert _listed(app, "IT", ["+393470000000", "+393470000029"]) == {"+393470000000", "+393470000029"}


def test_a_different_file_abandons_an_interrupted_import_and_drops_its_numbers(app):
    def crash(_bytes: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted), session_scope(app) as session:
        _import(session, "IT", "".join(f"+39 347 {n:07d}\n" for n in range(20)), window=10, progress=crash)
    with session_scope(app) as session:
        report = _import(session, "IT", "+39 347 9999999\n")
    statuses = _imports(app)
    assert sorted(statuses.values()) == ["abandoned", "complete"] and statuses[report.import_id] == "complete"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(RegistryEntry)) == 1


def test_importing_the_same_complete_file_again_is_a_new_copy_with_the_same_numbers(app):
    text = "+39 347 1234567\n+39 347 1111111\n"
    with session_scope(app) as session:
        first = _import(session, "IT", text)
    with session_scope(app) as session:
        second = _import(session, "IT", text, at=AT + timedelta(days=1))
    assert not second.resumed and second.numbers == 2
    assert _imports(app) == {first.import_id: "superseded", second.import_id: "complete"}


# --- gap 4: an "obtained" date in the future ---------------------------------------------------

def test_a_copy_obtained_in_the_future_is_refused_by_the_service(app):
    with session_scope(app) as session, pytest.raises(registries.RegistryError) as refused:
        _import(session, "IT", "+393471234567\n", obtained_at=AT + timedelta(days=1))
    assert refused.value.code == "registry_obtained_future"
    assert _imports(app) == {}
    with session_scope(app) as session:  # the moment of the import itself is fine
        assert _import(session, "IT", "+393471234567\n", obtained_at=AT).status == "complete"


def test_the_cli_refuses_a_future_obtained_date_and_a_refused_copy_exits_non_zero(cli, tmp_path, app):
    path = tmp_path / "tps.txt"
    path.write_text("020 7946 0000\n+44 (0)20 7946 0001\n", encoding="utf-8")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    result = cli("registry", "import", "GB", str(path), "--obtained", tomorrow)
    assert result.exit_code == 2 and "after the import" in result.output
    assert cli("registry", "import", "GB", str(path), "--obtained", "yesterday").exit_code == 2
    result = cli("registry", "import", "GB", str(path))
    assert result.exit_code == 0, result.output
    assert "national: 1 (e.g. 020 7946 0000 -> +442079460000)" in result.output
    assert "international with (0), +CC (0): 1" in result.output
    path.write_text("020 7946\n12\n", encoding="utf-8")
    result = cli("registry", "import", "GB", str(path))
    assert result.exit_code == 1 and "the copy in use stays" in result.output
    assert _listed(app, "GB", [LONDON]) == {LONDON}


def test_the_api_refuses_a_future_obtained_date_and_an_implausible_copy(client, clock):
    future = (clock.now() + timedelta(hours=1)).isoformat()
    resp = client.post("/api/registries/imports", headers=BEARER, json={
        "country": "GB", "content": "020 7946 0000\n", "obtained_at": future})
    assert resp.status_code == 422 and resp.get_json()["field"] == "body.obtained_at"
    ok = client.post("/api/registries/imports", headers=BEARER, json={"country": "GB", "content": "020 7946 0000\n"})
    assert ok.status_code == 201 and ok.get_json()["formats"]["national"]["count"] == 1
    bad = client.post("/api/registries/imports", headers=BEARER, json={"country": "GB", "content": "020 7946\n12\n"})
    assert bad.status_code == 422 and "the copy in use stays" in bad.get_json()["detail"]
    items = client.get("/api/registries/imports?country=GB", headers=BEARER).get_json()["items"]
    assert [i["status"] for i in items] == ["refused", "complete"]
    assert items[0]["refused_sample"][0][0] == 1 and items[0]["max_refused_percent"] == 1.0


def test_the_console_refuses_a_future_obtained_date_and_says_a_refused_copy_stays(app, clock):
    client = app.test_client()
    add_operator(app)
    login(client)
    token = page_csrf(client, "/console/registries")

    def upload(content: bytes, **form: str) -> str:
        return client.post("/console/registries/import", data={
            "csrf_token": token, "country": "GB", "file": (io.BytesIO(content), "tps.txt"), **form},
            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    page = upload(b"020 7946 0000\n", obtained=tomorrow)
    assert "is after today" in page
    assert "Registry imported: 1 numbers" in upload(b"020 7946 0000\n", obtained=clock.now().date().isoformat())
    page = upload(b"020 7946 0001\nnonsense\n")
    assert "Copy refused: 1 of 2 lines are not valid numbers, more than the 1% allowed" in page
    assert "Registry imported: 1 numbers" in upload(b"020 7946 0001\nnonsense\n", max_refused_percent="50")


def _row(html: str, country: str) -> str:
    start = html.index(f'id="copy-{country}"')
    return html[start:html.index("</tr>", start)]


def test_the_console_shows_each_copys_validity_and_which_countries_are_blocked(app, clock):
    """Operators see, per country whose law requires screening, until when the copy in use may
    be used (TPS: screened within 28 days; US TSR: a copy at most 31 days old) and that a
    country without a usable copy gets no calls of the purposes the registry covers."""
    client = app.test_client()
    add_operator(app)
    login(client)
    today = clock.now()
    with session_scope(app) as session:
        _import(session, "GB", "020 7946 0000\n", at=today, obtained_at=today - timedelta(days=10))
        _import(session, "US", "202 555 0143\n", at=today, obtained_at=today - timedelta(days=40))
    html = client.get("/console/registries").get_data(as_text=True)
    gb = _row(html, "GB")
    assert f"{today - timedelta(days=10):%Y-%m-%d}" in gb and f"{today + timedelta(days=18):%Y-%m-%d}" in gb
    assert "valid: calls allowed" in gb and "28 days" in gb
    us = _row(html, "US")
    assert "expired: blocks calls" in us and f"{today - timedelta(days=9):%Y-%m-%d}" in us
    assert "Import a copy downloaded in the last 31 days." in us
    italy = _row(html, "IT")
    assert "missing: blocks calls" in italy and "sales, survey, charity" in italy
    assert 'id="copy-NL"' not in html  # the Netherlands has no registry to screen any more
    client.post("/console/language", data={"lang": "it", "csrf_token": page_csrf(client, "/console/registries")})
    italian = client.get("/console/registries").get_data(as_text=True)
    assert "mancante: blocca le chiamate" in _row(italian, "IT") and "scaduta: blocca le chiamate" in _row(italian, "US")
    assert "valida: si può chiamare" in _row(italian, "GB") and "vendita, sondaggio" in _row(italian, "IT")
    client.post("/console/language", data={"lang": "nl", "csrf_token": page_csrf(client, "/console/registries")})
    dutch = client.get("/console/registries").get_data(as_text=True)
    assert "ontbreekt: blokkeert gesprekken" in _row(dutch, "CA") and "geldig: bellen mag" in _row(dutch, "GB")


def test_a_copy_stops_being_valid_when_the_consent_check_starts_refusing(app, clock):
    """The console's "valid until" is the consent check's own limit, not an approximation."""
    obtained = datetime(2026, 11, 1, tzinfo=UTC)
    with session_scope(app) as session:
        _import(session, "US", "202 555 0143\n", at=obtained, obtained_at=obtained)
        (state,) = [s for s in registries.copy_states(session, obtained) if s.country == "US"]
        assert state.valid_until == obtained + timedelta(days=31)
        assert [s.state for s in registries.copy_states(session, state.valid_until) if s.country == "US"] == ["current"]
        later = state.valid_until + timedelta(seconds=1)
        assert [s.state for s in registries.copy_states(session, later) if s.country == "US"] == ["stale"]
