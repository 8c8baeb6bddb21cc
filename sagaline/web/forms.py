"""PURE. The "start a run" form, from a saga's typed input schema (``AdminCatalog``'s ``inputs``).

:func:`form_fields` turns each input into a field: a choice list for an
enum or a boolean, a JSON text area for an object or an array, a text box
otherwise (numbers too: the browser's number box would refuse ``1e3``), with
the default as a placeholder, so an untouched optional field is left out
and the saga's own default applies. :func:`parse_form` converts the posted
text by the same schema as ``sagaline sagas start`` does
(:func:`sagaline.client.inputs.coerce_text`) and names every field that does
not fit; the daemon checks everything again, strictly, when the run is
admitted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagaline.client.inputs import coerce_text

__all__ = ["FormField", "form_fields", "parse_form"]


@dataclass(frozen=True)
class FormField:
    """One input of the start form."""

    name: str
    type_label: str
    widget: str
    """text | textarea | select."""
    required: bool
    value: str
    """What the field holds (the posted text when the form is shown again)."""
    placeholder: str
    description: str
    choices: tuple[str, ...] = ()


def _schema(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return row.get("schema") or {}


def _widget(schema: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    if "enum" in schema:
        return "select", tuple(str(c) for c in schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return "select", ("true", "false")
    if kind in ("object", "array") or "$ref" in schema:
        return "textarea", ()
    return "text", ()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def form_fields(inputs: list[Mapping[str, Any]], posted: Mapping[str, str] | None = None) -> list[FormField]:
    """The form's fields for a saga's ``inputs`` (``posted``: the values to show again)."""
    fields = []
    for row in inputs:
        widget, choices = _widget(_schema(row))
        default = "" if row.get("required") else _text(row.get("default"))
        fields.append(
            FormField(
                str(row["name"]),
                str(row.get("type") or "text"),
                widget,
                bool(row.get("required")),
                str((posted or {}).get(row["name"], "")),
                default,
                str(row.get("description") or ""),
                choices,
            )
        )
    return fields


def parse_form(inputs: list[Mapping[str, Any]], form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed inputs from the posted ``form``, and the problems by field name (empty: all fit).

    An empty optional field is left out (the saga's default applies); other
    form keys (the session token) are ignored.
    """
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for row in inputs:
        name, text = str(row["name"]), str(form.get(row["name"], ""))
        if not text.strip():
            if row.get("required"):
                problems[name] = "required"
            continue
        try:
            values[name] = coerce_text(text if _widget(_schema(row))[0] == "textarea" else text.strip(), _schema(row))
        except (ValueError, TypeError):
            problems[name] = f"expected {row.get('type') or 'text'}, got {text.strip()[:60]!r}"
    return values, problems
