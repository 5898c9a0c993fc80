"""One way to read YAML and check its shape.

`load_yaml`: the C (libyaml) loader when PyYAML was built with it, else the pure-Python one.
Both are the safe loader (plain data only); the C one parses the flows, vocabularies and rule
packs about ten times faster, which is most of what start-up spends.

`Shape` and `problems`: the shape of a data file (its keys, their types, the values allowed)
as a pydantic model, and every mistake pydantic finds as (key path, message) in words a person
editing the file understands: "registry.max_age_dayz: unknown key (did you mean
'max_age_days'?)". The loaders add their file name and keep the checks pydantic cannot make
(references between nodes, flows and files) in their own code.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


def load_yaml(source: str | bytes | IO[str] | IO[bytes]) -> Any:
    """Parse one YAML document as plain data (raises yaml.YAMLError on bad YAML)."""
    return yaml.load(source, Loader=SafeLoader)


class Shape(BaseModel):
    """A mapping in a data file: an unknown key is a mistake (a misspelt key would otherwise
    be ignored and its default silently used)."""

    model_config = ConfigDict(extra="forbid")


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A check that a text is one of `choices`, naming them when it is not."""

    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError("one_of", "{given} is not one of {choices}",
                                      {"given": repr(value), "choices": ", ".join(choices)})
        return value

    return check


ShapeT = TypeVar("ShapeT", bound=BaseModel)


def read_shape(shape: type[ShapeT], value: Any, where: str = "") -> tuple[ShapeT | None, list[str]]:
    """`value` read as `shape`, and its problems as "key.path: message" (the path after `where`).
    With problems it keeps what it can, so the checks that come after still run: the keys with
    a problem are left out (their defaults used); None only when what is left does not fit."""
    try:
        return shape.model_validate(value), []
    except ValidationError as error:
        said = [f"{where}.{path}: {message}" if where and path else f"{where or path}: {message}"
                for path, message in problems(error, shape, value)]
        if not isinstance(value, Mapping):
            return None, said
        bad = {detail["loc"][0] for detail in error.errors() if detail["loc"]}
        try:
            return shape.model_validate({k: v for k, v in value.items() if k not in bad}), said
        except ValidationError:
            return None, said


def problems(error: ValidationError, shape: type[BaseModel], data: Any = None) -> list[tuple[str, str]]:
    """Every mistake in `error` as (key path, message); given the `data` checked, in the order
    of its keys (pydantic lists unknown keys last), a missing key after those present."""
    details = error.errors(include_url=False)
    if data is not None:
        details.sort(key=lambda detail: _position(data, detail["loc"]))
    return [(_path(detail["loc"]), _message(detail, shape)) for detail in details]


def _position(data: Any, loc: tuple[int | str, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for part in loc:
        if isinstance(data, Mapping):
            keys = list(data)
            index = keys.index(part) if part in keys else len(keys)
            out.append(index)
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int):
            out.append(part)
            data = data[part] if part < len(data) else None
        else:
            break
    return tuple(out)


def _path(loc: tuple[int | str, ...]) -> str:
    """("registry", "applies_to", 0) as "registry.applies_to[0]"; a dict key's own marker
    ("[key]": the key itself is wrong) is dropped, the key is the path's last part."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        index = isinstance(part, int) and not isinstance(part, bool)  # a YAML key no: is False
        out += f"[{part}]" if index else f".{part}" if out else str(part)
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# pydantic's error types, said the way a person editing the file reads them.
_SAID = {
    "int_parsing": "{given} is not a whole number",
    "int_from_float": "{given} is not a whole number",
    "int_type": "{given} is not a whole number",
    "float_parsing": "{given} is not a number",
    "float_type": "{given} is not a number",
    "bool_parsing": "{given} is not true or false",
    "bool_type": "{given} is not true or false",
    "string_type": "{given} is not text (quote it)",
    "dict_type": "expected a mapping (key: value), got {given}",
    "model_type": "expected a mapping (key: value), got {given}",
    "model_attributes_type": "expected a mapping (key: value), got {given}",
    "list_type": "expected a list, got {given}",
    "tuple_type": "expected a list, got {given}",
    "set_type": "expected a list, got {given}",
    "frozen_set_type": "expected a list, got {given}",
}


def _message(detail: ErrorDetails, shape: type[BaseModel]) -> str:
    kind = detail["type"]
    given = _shown(detail.get("input"))
    if kind == "extra_forbidden":
        return unknown_key(str(detail["loc"][-1]), _keys_at(shape, detail["loc"][:-1]))
    if kind == "missing":
        # A field's description says what the missing value is for.
        field = _model(_inner_path(shape, detail["loc"][:-1]))
        info = field.model_fields.get(str(detail["loc"][-1])) if field is not None else None
        return f"missing: {info.description}" if info is not None and info.description else "missing"
    if kind in ("greater_than_equal", "less_than_equal"):
        ctx = detail.get("ctx") or {}
        limit = f"at least {ctx.get('ge')}" if kind == "greater_than_equal" else f"at most {ctx.get('le')}"
        return f"{given} is not allowed: {limit}"
    if kind in _SAID:
        return _SAID[kind].format(given=given)
    if kind.startswith("date"):
        return f"{given} is not a date like 2025-04-11"
    if kind == "literal_error":
        return f"{given} is not one of {(detail.get('ctx') or {}).get('expected', '')}"
    message = detail["msg"]
    return message.removeprefix("Value error, ")


def unknown_key(key: str, known: list[str]) -> str:
    """The message for an unknown key: the known key it was probably meant to be, and all of them."""
    if not known:
        return "unknown key"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    meant = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key{meant}; known: {', '.join(known)}"


def _keys_at(shape: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the mapping at `loc` may have (its model's fields), [] when unknown."""
    model = _model(_inner_path(shape, loc))
    return list(model.model_fields) if model is not None else []


def _inner_path(shape: type[BaseModel], loc: Sequence[int | str]) -> Any:
    """The type of the value at `loc` inside `shape` (None when it cannot be told)."""
    annotation: Any = shape
    for part in loc:
        annotation = _inner(annotation, part)
        if annotation is None:
            return None
    return annotation


def _inner(annotation: Any, part: int | str) -> Any:
    """The type of the value at `part` inside a value of type `annotation`."""
    model = _model(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field is not None else None
    annotation = _bare(annotation)
    args = get_args(annotation)
    if get_origin(annotation) in (dict, Mapping) and len(args) == 2:
        return args[1]
    if get_origin(annotation) in (list, tuple, set, frozenset) and args:
        return args[0]
    return None


def _bare(annotation: Any) -> Any:
    """Without Annotated's extras and without `| None`."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kept) == 1:
            return _bare(kept[0])
    return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    bare = _bare(annotation)
    return bare if isinstance(bare, type) and issubclass(bare, BaseModel) else None


def read_mapping(text: str) -> Mapping[str, Any]:
    """A data file's top-level mapping; raises ValueError saying what it is instead."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError("expected a mapping (key: value) at the top")
    return data
