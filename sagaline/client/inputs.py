"""PURE. ``key=value`` text turned into typed values by the JSON schema the daemon publishes.

``sagas start`` and ``app run`` first ask the daemon's catalog for the
schema of each input (or command argument), then convert::

    max_trials=3          {"type": "integer", "minimum": 1}   -> 3
    max_drift_score=0.2   {"type": "number"}                  -> 0.2
    pinned=true           {"type": "boolean"}                 -> True (true/false, yes/no, on/off, 1/0)
    search_space={"a":1}  {"type": "object"}                  -> {"a": 1}   (arrays and objects are JSON)
    at=2026-01-01T00:00Z  {"type": "string", "format": "date-time"} -> an aware datetime
    email=ada@example.com {"type": "string"} (or no schema)   -> "ada@example.com"

``key:=json`` is JSON, as before, for anything the text form cannot say.
A value that does not fit is refused here, before anything is sent, with
the field and the expected type named (the daemon checks again at
admission, strictly)::

    max_trials: expected integer >= 1, got 'abc'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["InputProblem", "split_pairs", "coerce_pairs", "coerce_text", "fits"]

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class InputProblem(ValueError):
    """A ``key=value`` pair is malformed or its value does not fit the schema; the message names the field."""


def split_pairs(pairs: list[str]) -> list[tuple[str, str, bool]]:
    """``["n=3", "tags:=[1]"]`` -> ``[("n", "3", False), ("tags", "[1]", True)]`` (True: JSON).

    Raises:
        InputProblem: a pair has no ``=`` or an empty key.
    """
    split = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or key == ":":
            raise InputProblem(f"{pair!r} is not key=value or key:=json")
        split.append((key[:-1], value, True) if key.endswith(":") else (key, value, False))
    return split


def coerce_pairs(pairs: list[str], fields: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The pairs as a dict of typed values.

    Args:
        pairs: ``key=value`` / ``key:=json`` strings.
        fields: field name -> its catalog row (``schema`` and ``type``, the
            label); None: no schema known (text stays text).

    Raises:
        InputProblem: malformed pair, invalid JSON, or a value that does not fit.
    """
    values: dict[str, Any] = {}
    for key, text, is_json in split_pairs(pairs):
        row = (fields or {}).get(key)
        if is_json:
            values[key] = parse_json(key, text)
            continue
        if row is None:
            values[key] = text
            continue
        try:
            values[key] = coerce_text(text, row.get("schema") or {})
        except ValueError:
            raise InputProblem(f"{key}: expected {row.get('type') or 'a valid value'}, got {text!r}") from None
    return values


#: Integers msgpack (the admin codec) carries: int64 and uint64.
INT_RANGE = (-(1 << 63), (1 << 64) - 1)


def parse_json(key: str, text: str) -> Any:
    """The JSON value of a ``key:=json`` pair, refused when the wire could not carry it.

    Raises:
        InputProblem: invalid JSON, JSON nested too deeply to parse, or an
            integer outside the 64-bit range msgpack carries.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(f"{key}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputProblem(f"{key}: JSON nested too deeply") from None
    pending = [value]
    while pending:  # iterative: a deep value must not blow the stack here either
        item = pending.pop()
        if isinstance(item, int) and not isinstance(item, bool) and not INT_RANGE[0] <= item <= INT_RANGE[1]:
            raise InputProblem(f"{key}: integer {item} is outside the 64-bit range [{INT_RANGE[0]}, {INT_RANGE[1]}]")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


def coerce_text(text: str, schema: Mapping[str, Any]) -> Any:
    """``text`` as the value ``schema`` describes.

    Raises:
        ValueError: it does not fit.
    """
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _first_fit(text, schema[key])
    if "enum" in schema:
        return _enum(text, schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _first_fit(text, [{"type": k} for k in kind])
    if "$ref" in schema or kind in ("array", "object"):
        value = json.loads(text)
        if not isinstance(value, list if kind == "array" else dict):
            raise ValueError(text)
    else:
        value = _SCALARS.get(kind, _string)(text, schema)
    if not fits(value, schema):
        raise ValueError(text)
    return value


def _first_fit(text: str, options: list[Mapping[str, Any]]) -> Any:
    ordered = sorted(options, key=lambda o: o.get("type") == "string")  # "3" is an int before a string
    for option in ordered:
        try:
            return coerce_text(text, option)
        except (ValueError, TypeError):
            continue
    raise ValueError(text)


def _enum(text: str, choices: list[Any]) -> Any:
    for choice in choices:
        if str(choice) == text or (isinstance(choice, bool) and text.lower() == str(choice).lower()):
            return choice
    raise ValueError(text)


def _integer(text: str, schema: Mapping[str, Any]) -> int:
    return int(text.strip())


def _number(text: str, schema: Mapping[str, Any]) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _boolean(text: str, schema: Mapping[str, Any]) -> bool:
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError(text)


def _null(text: str, schema: Mapping[str, Any]) -> None:
    if text.strip().lower() in ("", "null", "none"):
        return None
    raise ValueError(text)


def _string(text: str, schema: Mapping[str, Any]) -> Any:
    if schema.get("format") == "date-time":
        value = datetime.fromisoformat(text.strip())
        if value.tzinfo is None:
            raise ValueError(text)  # a time without a zone is ambiguous
        return value
    return text


_SCALARS: dict[Any, Callable[[str, Mapping[str, Any]], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "null": _null,
    "string": _string,
}


def fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """True when ``value`` meets the schema's bounds and lengths (the type is the converter's)."""
    checks: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
        ("minimum", lambda v, b: v >= b),
        ("maximum", lambda v, b: v <= b),
        ("exclusiveMinimum", lambda v, b: v > b),
        ("exclusiveMaximum", lambda v, b: v < b),
    )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return all(test(value, schema[key]) for key, test in checks if key in schema)
    if isinstance(value, (str, list)):
        low, high = ("minLength", "maxLength") if isinstance(value, str) else ("minItems", "maxItems")
        return bool(schema.get(low, 0) <= len(value) <= schema.get(high, len(value)))
    return True
