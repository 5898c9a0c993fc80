"""The floor: the least work a signed menu step can do, with nothing of cortese's around it.

Flask, the X-Twilio-Signature check over the parsed form, then through the raw DB-API driver
(no SQLAlchemy, one connection per thread, no pool): read the call's state by CallSid, decode
its JSON, write the new state and one step row, commit, and answer a constant TwiML document.
The write is one autocommitted statement that updates the call and inserts the step, as
cortese's is: on PostgreSQL the fewest round trips there are (`WITH ... UPDATE ... RETURNING`
feeding the INSERT); on SQLite an INSERT into a TEMP view whose trigger does both, so the
write lock is taken and let go within one call into SQLite, never held while the thread waits
for the GIL between statements (SQLite has no writable CTE).

It is not a product (no flow, no language, no error handling, no state check). It shows what
the machine, gunicorn, Flask and the database cost for the work a menu step cannot avoid, so
cortese's figure can be read against a floor as well as against the bare-Flask ceiling.

Environment: FLOOR_DATABASE_URL (sqlite:///path or postgresql+psycopg://...), FLOOR_TOKEN,
FLOOR_BASE (the public base URL the signatures were computed over).
"""

from __future__ import annotations

import hmac
import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

app = Flask(__name__)
URL = os.environ.get("FLOOR_DATABASE_URL", "")
SQLITE = URL.startswith("sqlite")
VALIDATOR = RequestValidator(os.environ.get("FLOOR_TOKEN", ""))
BASE = os.environ.get("FLOOR_BASE", "")
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/next" input="dtmf speech">'
    '<Say language="en-GB">Press 1 for information, 2 to report a fault.</Say></Gather>'
    "<Redirect>/voice/next</Redirect></Response>"
)
SELECT = "SELECT id, slots, counters, state_version FROM calls WHERE call_sid = ?"
UPDATE = ("UPDATE calls SET slots = ?, counters = ?, state_version = ?, updated_at = ? "
          "WHERE id = ? AND state_version = ?")
SQLITE_SETUP = (
    "CREATE TEMP VIEW floor_save AS SELECT NULL AS slots, NULL AS counters, NULL AS version, NULL AS at, "
    "NULL AS id, NULL AS expected, NULL AS flow, NULL AS node, NULL AS kind, NULL AS input, NULL AS outcome",
    "CREATE TEMP TRIGGER floor_save INSTEAD OF INSERT ON floor_save BEGIN "
    "UPDATE calls SET slots = NEW.slots, counters = NEW.counters, state_version = NEW.version, updated_at = NEW.at "
    "WHERE id = NEW.id AND state_version = NEW.expected; "
    "INSERT INTO call_steps (call_id, at, flow, node, kind, input, outcome) "
    "SELECT NEW.id, NEW.at, NEW.flow, NEW.node, NEW.kind, NEW.input, NEW.outcome WHERE changes() = 1; END",
)
SQLITE_WRITE = "INSERT INTO floor_save VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
PG_SELECT = SELECT.replace("?", "%s")
PG_WRITE = ("WITH moved AS (" + UPDATE.replace("?", "%s") + " RETURNING id) "
            "INSERT INTO call_steps (call_id, at, flow, node, kind, input, outcome) "
            "SELECT id, %s, %s, %s, %s, %s, %s FROM moved")
_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if SQLITE:
            conn = sqlite3.connect(URL.split(":///", 1)[1], timeout=30, check_same_thread=False,
                                   isolation_level=None)  # autocommit: each statement commits itself
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for ddl in SQLITE_SETUP:
                conn.execute(ddl)
        else:
            conn = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        _local.conn = conn
    return conn


@app.post("/voice/flow/<step>")
def menu_step(step: str) -> Response:
    url = BASE + request.full_path.rstrip("?")
    if not hmac.compare_digest(VALIDATOR.compute_signature(url, request.form),
                               request.headers.get("X-Twilio-Signature", "")):
        return Response("forbidden", status=403)
    conn = _connection()
    cur = conn.cursor()
    cur.execute(SELECT if SQLITE else PG_SELECT, (request.form["CallSid"],))
    call_id, slots, counters, version = cur.fetchone()
    slots = json.loads(slots) if isinstance(slots, str) else slots
    counters = json.loads(counters) if isinstance(counters, str) else counters
    counters["seen"] = counters.get("seen", 0) + 1
    at = datetime.now(UTC)
    state = (json.dumps(slots), json.dumps(counters), version + 1, at, call_id, version)
    step_row = ("support_menu", "menu", "input", request.form.get("Digits"), "info")
    if SQLITE:
        cur.execute(SQLITE_WRITE, (*state, *step_row))
    else:
        cur.execute(PG_WRITE, (*state, at, *step_row))
    return Response(TWIML, mimetype="text/xml")


@app.get("/health")
def health() -> Response:
    return Response("ok")
