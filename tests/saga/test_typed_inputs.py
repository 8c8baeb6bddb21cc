"""Typed saga inputs: declared with a type, a default and a description; checked strictly at start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import pytest
from pydantic import Field

from sagaline.saga import DefinitionError, Driver, InputError, Ok, Saga, input_, local
from sagaline.saga.inputs import describe_input, prepare_inputs, schema_label

NOOP = local(lambda args, ctx: Ok(dict(args)))


def typed() -> Saga:
    s = Saga("typed")
    s.input("name", str, description="who")
    s.input("count", Annotated[int, Field(ge=1)], default=3, description="how many")
    s.input("ratio", float, default=0.5)
    s.input("mode", Literal["fast", "safe"], default="safe")
    s.input("tags", list[str], default=[])
    s.input("at", datetime, required=False)
    s.input("anything")
    s.step("use", NOOP, args={"count": input_("count"), "ratio": input_("ratio")})
    return s


def test_an_input_with_a_default_is_optional_and_one_without_is_required_unless_said_otherwise():
    inputs = {i.name: i for i in typed().build().inputs}
    assert (inputs["name"].required, inputs["count"].required, inputs["at"].required) == (True, False, False)
    assert (inputs["count"].default, inputs["at"].default, inputs["count"].description) == (3, None, "how many")


def test_typed_values_pass_and_an_int_is_a_fine_float():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    prepared = prepare_inputs(
        typed().build(),
        {"name": "ada", "count": 2, "ratio": 1, "mode": "fast", "tags": ["a"], "at": at, "anything": {"x": [1]}},
    )
    assert prepared == {
        "name": "ada",
        "count": 2,
        "ratio": 1.0,
        "mode": "fast",
        "tags": ["a"],
        "at": at,
        "anything": {"x": [1]},
    }


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"count": "3"}, "count: expected integer >= 1, got '3'"),
        ({"count": 0}, "count: expected integer >= 1, got 0"),
        ({"count": True}, "count: expected integer >= 1, got True"),
        ({"ratio": "0.2"}, "ratio: expected number, got '0.2'"),
        ({"mode": "quick"}, "mode: expected one of: fast, safe, got 'quick'"),
        ({"tags": "a,b"}, "tags: expected array of string, got 'a,b'"),
        ({"at": "2026-01-01"}, "at: expected string (date-time), got '2026-01-01'"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field_and_the_expected_type(given, problem):
    with pytest.raises(InputError) as caught:
        prepare_inputs(typed().build(), {"name": "ada", "anything": 1, **given})
    assert str(caught.value) == f"saga 'typed': invalid input: {problem}"


def test_every_bad_input_is_named_in_one_refusal_before_any_step_runs():
    ran = []
    s = Saga("two")
    s.input("a", int)
    s.input("b", int)
    s.step("x", local(lambda args, ctx: ran.append(1) or Ok()))
    with pytest.raises(InputError) as caught:
        Driver(s.build()).run({"a": "1", "b": 2.5})
    assert [name for name, _ in caught.value.problems] == ["a", "b"]
    assert ran == []


def test_the_type_is_checked_before_the_transform_which_sees_the_checked_value():
    s = Saga("t")
    s.input("n", int, transform=lambda n: n * 10)
    s.step("x", NOOP)
    assert prepare_inputs(s.build(), {"n": 4}) == {"n": 40}


@pytest.mark.parametrize(
    ("declare", "words"),
    [
        (lambda s: s.input("n", int, default="three"), "input 'n' default: expected integer, got 'three'"),
        (lambda s: s.input("n", Annotated[int, Field(ge=1)], default=0), "input 'n' default: expected integer >= 1"),
        (lambda s: s.input("n", object()), "input 'n' type"),
    ],
)
def test_a_bad_type_or_default_is_a_definition_error_naming_the_input(declare, words):
    s = Saga("bad")
    declare(s)
    s.step("x", NOOP)
    with pytest.raises(DefinitionError, match="saga 'bad'") as caught:
        s.build()
    assert words in str(caught.value)


def test_the_catalog_row_of_an_input_gives_its_type_schema_default_and_description():
    rows = {i.name: describe_input(i) for i in typed().build().inputs}
    assert rows["count"] == {
        "name": "count",
        "type": "integer >= 1",
        "required": False,
        "default": 3,
        "description": "how many",
        "schema": {"type": "integer", "minimum": 1},
    }
    assert (rows["anything"]["type"], rows["anything"]["schema"]) == ("any", {})
    assert rows["at"]["type"] == "string (date-time)"


@pytest.mark.parametrize(
    ("schema", "label"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 9}, "integer >= 1 <= 9"),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "integer or null"),
        ({"type": "array", "items": {"type": "string"}}, "array of string"),
        ({"enum": ["a", "b"]}, "one of: a, b"),
        ({"$ref": "#/$defs/Thing"}, "object"),
        ({"type": "string", "maxLength": 8}, "string length <= 8"),
        ({}, "any"),
    ],
)
def test_schema_labels_are_short_phrases(schema, label):
    assert schema_label(schema) == label
