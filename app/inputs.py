"""Text from outside (API bodies, query strings, forms, CSV cells, webhook parameters): what
cortese refuses or strips before it is stored, searched or spoken.

A character XML 1.0 forbids (C0 controls other than tab, LF and CR; lone surrogates; U+FFFE and
U+FFFF) copied into a <Say> makes the whole TwiML document invalid, and Twilio ends every call
that reads it with error 12100. PostgreSQL also refuses NUL in text. So such characters are
refused where text enters (a clear 4xx or a refused import line) and stripped where TwiML is
written (app.telephony), for what was stored before this check existed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import flask
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Bounds for a JSON body: no API body nests deeper than a handful of levels or carries more
# than a few thousand values; past these the body is refused before anything walks it.
MAX_JSON_DEPTH = 32
MAX_JSON_VALUES = 200_000


class BadText(ValueError):
    """Text we refuse; `field` names where it was (body.name, query.number, line 3 name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def xml_safe(text: str) -> str:
    """`text` without the characters an XML 1.0 document may not contain."""
    return XML_FORBIDDEN.sub("", text)


def forbidden_in(text: str) -> str | None:
    """Why `text` is refused (which character, where), or None when it is fine."""
    match = XML_FORBIDDEN.search(text)
    if match is None:
        return None
    return (f"contains the control character U+{ord(match.group()):04X} at position "
            f"{match.start() + 1}; remove it")


def check_text(field: str, text: str) -> None:
    reason = forbidden_in(text)
    if reason:
        raise BadText(field, reason)


def check_pairs(prefix: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Names and values of a query string or form (a MultiDict's items(multi=True))."""
    for name, value in pairs:
        check_text(f"{prefix}.{_printable(name)}", name)
        check_text(f"{prefix}.{_printable(name)}", value)


def check_record(record: Mapping[str, Any], prefix: str = "") -> None:
    """A CSV line or API record of strings: raise BadText naming the first bad column."""
    for name, value in record.items():
        if isinstance(value, str):
            check_text(f"{prefix}{name}", value)


def check_json(value: Any, prefix: str = "body") -> None:
    """Walk a parsed JSON body without recursion: bounded depth and size, no forbidden text."""
    stack: list[tuple[str, Any, int]] = [(prefix, value, 0)]
    seen = 0
    while stack:
        path, item, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_VALUES:
            raise BadText(prefix, f"more than {MAX_JSON_VALUES} values; send fewer at a time")
        if depth > MAX_JSON_DEPTH:
            raise BadText(prefix, f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            check_text(path, item)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(f"{path}.{_printable(key)}", key)
                stack.append((f"{path}.{key}", child, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child, depth + 1) for index, child in enumerate(item))


def _printable(name: str) -> str:
    return xml_safe(name)[:64]


class Parameters(ImmutableMultiDict[str, str]):
    """A request's form or query string: werkzeug's ImmutableMultiDict, whose `get` answers an
    absent key without raising and catching a BadRequestKeyError (werkzeug's `get` looks up
    with `self[key]`, which builds one). A voice webhook asks for several parameters Twilio
    sends only sometimes (SpeechResult, QueueResult, ...), and every webhook pays for each."""

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:  # type: ignore[override]
        values = dict.get(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (ValueError, TypeError):
            return default


class Request(flask.Request):
    """The app's requests: forms and query strings parse into `Parameters`."""

    parameter_storage_class = Parameters

    @cached_property
    def args(self) -> Parameters:  # type: ignore[override]
        """The query string's parameters, as werkzeug parses them. A query without '%' and
        '+' (the flows' own URLs: ?v=3&l=it) has nothing to decode, and then splitting on '&'
        and the first '=' is all urllib's parse_qsl does (empty pieces skipped, a name without
        '=' given ''); every voice step reads one, so that case skips parse_qsl's generality."""
        query = self.query_string
        if b"%" in query or b"+" in query:
            return _WERKZEUG_ARGS(self)
        return Parameters([piece.partition("=")[::2] for piece in query.decode().split("&") if piece])


# werkzeug's own parsing, for every other query (on the class, `args` is the cached property).
_WERKZEUG_ARGS: Callable[[flask.Request], Parameters] = cast(Any, flask.Request.args).fget
