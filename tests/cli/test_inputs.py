"""``key=value`` text becomes the value the daemon's schema names; what does not fit is refused here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagaline.client.inputs import InputProblem, coerce_pairs, coerce_text

FIELDS = {
    "n": {"type": "integer >= 1", "schema": {"type": "integer", "minimum": 1}},
    "x": {"type": "number", "schema": {"type": "number", "exclusiveMaximum": 1}},
    "on": {"type": "boolean", "schema": {"type": "boolean"}},
    "space": {"type": "object", "schema": {"type": "object"}},
    "tags": {"type": "array of string", "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
    "mode": {"type": "one of: a, b", "schema": {"enum": ["a", "b"], "type": "string"}},
    "maybe": {"type": "integer or null", "schema": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
    "label": {"type": "string or integer", "schema": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
    "at": {"type": "string (date-time)", "schema": {"type": "string", "format": "date-time"}},
    "name": {"type": "string", "schema": {"type": "string"}},
}


def test_text_becomes_the_type_the_schema_names():
    values = coerce_pairs(
        [
            "n=3",
            "x=0.5",
            "on=yes",
            'space={"layers": [1]}',
            'tags=["a"]',
            "mode=b",
            "maybe=null",
            "label=7",
            "at=2026-01-01T00:00:00Z",
            "name=007",
        ],
        FIELDS,
    )
    assert values == {
        "n": 3,
        "x": 0.5,
        "on": True,
        "space": {"layers": [1]},
        "tags": ["a"],
        "mode": "b",
        "maybe": None,
        "label": 7,
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "name": "007",
    }


def test_json_pairs_and_fields_without_a_schema_are_left_as_given():
    assert coerce_pairs(["n:=3", "other=3", 'name:="x"'], FIELDS) == {"n": 3, "other": "3", "name": "x"}
    assert coerce_pairs(["n=3"], None) == {"n": "3"}


@pytest.mark.parametrize(
    "pair, message",
    [
        ("n=0", "n: expected integer >= 1, got '0'"),
        ("n=2.5", "n: expected integer >= 1, got '2.5'"),
        ("x=1", "x: expected number, got '1'"),
        ("x=inf", "x: expected number, got 'inf'"),
        ("on=perhaps", "on: expected boolean, got 'perhaps'"),
        ("space=[1]", "space: expected object, got '[1]'"),
        ('tags=["a","b","c"]', 'tags: expected array of string, got \'["a","b","c"]\''),
        ("mode=c", "mode: expected one of: a, b, got 'c'"),
        ("maybe=some", "maybe: expected integer or null, got 'some'"),
        ("at=2026-01-01T00:00:00", "at: expected string (date-time), got '2026-01-01T00:00:00'"),
        ("n:=nope", "n: invalid JSON"),
        ("n", "'n' is not key=value or key:=json"),
    ],
)
def test_what_does_not_fit_is_one_problem_naming_the_field_and_the_expected_type(pair, message):
    with pytest.raises(InputProblem) as caught:
        coerce_pairs([pair], FIELDS)
    assert str(caught.value).startswith(message)


def test_an_empty_schema_takes_any_text():
    assert coerce_text("anything at all", {}) == "anything at all"
