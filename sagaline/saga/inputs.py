"""Preparing a run's inputs: presence, types, defaults and transforms, checked at start.

An input may declare a ``type`` (any annotation pydantic can check; see
:class:`~sagaline.saga.definition.InputDef`). Its value is checked in
pydantic's strict mode: inputs travel typed (msgpack carries ints, floats,
booleans, lists, maps and datetimes), so ``"3"`` is not an ``int`` and
``True`` is not a number here; an ``int`` is a fine ``float``. Text is the
CLI's to convert, by the schema, before it sends (:mod:`sagaline.client.inputs`).
The refusal names the input, the expected type and what was given::

    saga 'cerebros_nas': invalid input: max_trials: expected integer >= 1, got '3'

:func:`input_schema` gives the type as a JSON schema and :func:`schema_label`
as a short phrase (``integer >= 1``, ``array of string``, ``one of: a, b``):
the catalog shows both, and the CLI turns ``key=value`` text into the type
the schema names before anything is sent (:mod:`sagaline.client.inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sagaline.saga.definition import InputDef, SagaDefinition
from sagaline.saga.errors import InputError

__all__ = ["prepare_inputs", "input_problem", "input_schema", "schema_label", "describe_input"]

#: Longest rendering of a refused value in an error message.
_SHOWN = 60


def prepare_inputs(definition: SagaDefinition, given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the run's inputs after defaults, type checks and transforms.

    Every problem is collected, so one refusal names them all.

    Raises:
        InputError: a required input is missing (None counts as missing),
            an input the saga does not declare was given, a value is not of
            the input's type (the message names the expected type), or a
            transform raised (its message is quoted).
    """
    problems: list[tuple[str, str]] = []
    declared = {i.name for i in definition.inputs}
    for name in given:
        if name not in declared:
            problems.append((str(name), "not an input of this saga"))
    prepared: dict[str, Any] = {}
    for spec in definition.inputs:
        raw = given.get(spec.name)
        if raw is None:
            if spec.required:
                problems.append((spec.name, "required"))
                continue
            raw = spec.default
        try:
            prepared[spec.name] = _prepared(spec, raw)
        except _Refused as refused:
            problems.append((spec.name, str(refused)))
    if problems:
        raise InputError(definition.name, problems)
    return prepared


class _Refused(Exception):
    """One input's value was refused; the message says why."""


def _prepared(spec: InputDef, raw: Any) -> Any:
    if raw is None:
        return None
    if spec.type is not None:
        try:
            raw = _adapter(spec.type).validate_python(raw, strict=True)
        except ValidationError:
            raise _Refused(_expected(spec, raw)) from None
    if spec.transform is not None:
        try:
            raw = spec.transform(raw)
        except Exception as exc:
            raise _Refused(f"{type(exc).__name__}: {exc}") from None
    return raw


def input_problem(spec: InputDef, value: Any) -> str | None:
    """Why ``value`` is not a valid value of ``spec`` (type, then transform), or None."""
    try:
        _prepared(spec, value)
    except _Refused as refused:
        return str(refused)
    return None


def _expected(spec: InputDef, value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 3] + "..."
    return f"expected {schema_label(input_schema(spec))}, got {shown}"


def input_schema(spec: InputDef) -> dict[str, Any]:
    """The JSON schema of the input's type (``{}``: anything).

    Raises:
        pydantic.errors.PydanticSchemaGenerationError (or another error):
            the type is nothing pydantic can check (the DSL refuses such a
            definition when it is built).
    """
    if spec.type is None:
        return {}
    return _schema(spec.type)


def describe_input(spec: InputDef) -> dict[str, Any]:
    """JSON-ready facts of one input for catalogs: name, type label, schema, required, default, description."""
    schema = input_schema(spec)
    return {
        "name": spec.name,
        "type": schema_label(schema),
        "required": spec.required,
        "default": _plain(spec.default),
        "description": spec.description,
        "schema": schema,
    }


def schema_label(schema: Mapping[str, Any]) -> str:
    """A short phrase for a JSON schema: ``integer >= 1``, ``number``, ``array of string``,
    ``one of: a, b``, ``integer or null``, ``any``."""
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return f"exactly {schema['const']!r}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(dict.fromkeys(schema_label(s) for s in schema[key]))
    if "$ref" in schema:
        return "object"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = schema.get("items")
        return f"array of {schema_label(items)}" if items else "array"
    if kind is None:
        return "any"
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    return " ".join([kind, *_bounds(schema)])


_BOUNDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
    ("minLength", "length >="),
    ("maxLength", "length <="),
    ("pattern", "matching"),
)


def _bounds(schema: Mapping[str, Any]) -> list[str]:
    return [f"{op} {schema[key]}" for key, op in _BOUNDS if key in schema]


@lru_cache(maxsize=512)
def _cached_adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(annotation)
    except TypeError:  # an unhashable annotation: build it each time
        return TypeAdapter(annotation)


def _schema(annotation: Any) -> dict[str, Any]:
    return _adapter(annotation).json_schema()


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data (a default that is not plain data becomes its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)
