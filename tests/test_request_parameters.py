"""A request's form and query string: werkzeug's MultiDict, with a `get` that answers an absent
key without raising and catching an exception (webhooks ask for many parameters Twilio sends
only sometimes: Digits, SpeechResult, QueueResult...). It must answer exactly as werkzeug's."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict

from app.inputs import Parameters, Request

PAIRS = [("CallSid", "CA" + "0" * 32), ("Digits", ""), ("Digits", "2"), ("v", "7"), ("Confidence", "0.9"),
         ("SpeechResult", "sì, grazie")]


@pytest.mark.parametrize("key", ["CallSid", "Digits", "v", "Confidence", "SpeechResult", "QueueResult", ""])
@pytest.mark.parametrize("default", [None, "", "x", -1])
@pytest.mark.parametrize("convert", [None, int, float, str, bool])
def test_get_answers_as_werkzeugs_multidict(key: str, default: Any, convert: Any) -> None:
    ours, theirs = Parameters(PAIRS), ImmutableMultiDict(PAIRS)
    assert ours.get(key, default, convert) == theirs.get(key, default, convert)
    assert ours.get(key, default=default, type=convert) == theirs.get(key, default=default, type=convert)


def test_get_gives_the_first_value_even_when_it_is_empty() -> None:
    form = Parameters(PAIRS)
    assert form.get("Digits") == ""  # sent but empty is not absent
    assert form.get("QueueResult") is None and form.get("QueueResult", "none") == "none"
    assert form.get("v", type=int) == 7 and form.get("SpeechResult", -1, int) == -1
    assert form.get("CallSid", type=lambda _: len(None)) is None  # type: ignore[arg-type]  # a TypeError: the default


def test_everything_else_is_werkzeugs() -> None:
    form = Parameters(PAIRS)
    assert isinstance(form, ImmutableMultiDict)
    assert form.getlist("Digits") == ["", "2"] and form["v"] == "7" and "Digits" in form
    with pytest.raises(KeyError):
        form["QueueResult"]
    with pytest.raises(TypeError):
        form.setdefault("x", "y")  # still immutable


def test_the_apps_requests_parse_into_it() -> None:
    app = Flask(__name__)
    app.request_class = Request
    with app.test_request_context("/voice/flow/input?v=3&l=it", method="POST", data={"Digits": "1"}):
        assert isinstance(request.form, Parameters) and isinstance(request.args, Parameters)
        assert request.form.get("Digits") == "1" and request.args.get("v", type=int) == 3


QUERY_PIECES = ["v=3", "l=it", "v=", "v", "=x", "", "v=1=2", "a+b=c+d", "%76=4", "v=%33", "bad=%zz", "è=à",
                "caf%C3%A9=1", "x=%", "v=3;l=it", " v = 3 "]


@pytest.mark.parametrize("first", QUERY_PIECES)
@pytest.mark.parametrize("second", QUERY_PIECES)
def test_query_strings_parse_as_werkzeug_parses_them(first: str, second: str) -> None:
    """The app's own URLs (?v=3&l=it) take a short way through the parsing; every query,
    those and any other, must come out as werkzeug's own Request reads it."""
    app = Flask(__name__)
    query = f"{first}&{second}"
    with app.test_request_context(query_string=query):
        theirs = list(request.args.items(multi=True))
    app.request_class = Request
    with app.test_request_context(query_string=query):
        assert list(request.args.items(multi=True)) == theirs
        assert isinstance(request.args, Parameters)
