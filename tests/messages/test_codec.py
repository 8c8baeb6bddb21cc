"""The codec round-trips every registered message and refuses bad bytes with typed errors."""

import datetime as dt
import importlib
import pkgutil

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import sagaline
from sagaline.messages import codec
from sagaline.messages.base import Headers, Message, message_types
from sagaline.messages.ids import uuid7
from tests.messages.strategies import instances


def _import_all():
    for info in pkgutil.walk_packages(sagaline.__path__, "sagaline."):
        if ".testing" in info.name or info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:
            pass  # an optional extra that is not installed


_import_all()
ALL = sorted(message_types().items())


@pytest.mark.parametrize("tag, cls", ALL, ids=[t for t, _ in ALL])
def test_every_message_class_round_trips_through_the_codec(tag, cls):
    @settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None)
    @given(instances(cls))
    def check(message):
        assert codec.decode(codec.encode(message)) == message

    check()


@pytest.mark.parametrize("tag, cls", ALL, ids=[t for t, _ in ALL])
def test_every_message_field_is_documented(tag, cls):
    undocumented = [n for n, f in cls.model_fields.items() if not f.description]
    assert undocumented == [], f"{tag}: add an attribute docstring under {undocumented}"
    assert cls.__doc__, f"{tag} needs a class docstring"


@pytest.mark.parametrize("tag, cls", ALL, ids=[t for t, _ in ALL])
def test_every_message_is_frozen_and_forbids_unknown_fields(tag, cls):
    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "forbid"


def test_datetimes_bytes_and_nested_data_survive_the_trip():
    from sagaline.messages.common import CommandFailed

    when = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    assert codec.unpack_value(codec.pack_value({"at": when, "b": b"\x00", "l": [1, (2, 3)]})) == {
        "at": when,
        "b": b"\x00",
        "l": [1, [2, 3]],
    }
    msg = CommandFailed(headers=Headers(correlation_id=uuid7()), code="x")
    assert codec.decode(codec.encode(msg)) == msg


HEADERS = {"correlation_id": uuid7()}


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", codec.MalformedMessage),
        (b"\xc1", codec.MalformedMessage),
        (msgpack.packb(["Headers", 1, HEADERS])[:-3], codec.MalformedMessage),
        (msgpack.packb(["Headers", 1, HEADERS]) + b"\x00", codec.MalformedMessage),
        (msgpack.packb({"not": "a frame"}), codec.MalformedMessage),
        (msgpack.packb([1, 1, {}]), codec.MalformedMessage),
        (msgpack.packb(["Headers", 1, [1, 2]]), codec.MalformedMessage),
        (msgpack.packb(["NoSuchThing", 1, {}]), codec.UnknownMessageType),
        (msgpack.packb(["Headers", 99, HEADERS]), codec.UnsupportedVersion),
        (msgpack.packb(["Headers", "1", HEADERS]), codec.UnsupportedVersion),
        (msgpack.packb(["Headers", 1, {"correlation_id": "not-a-uuid"}]), codec.InvalidMessage),
        (msgpack.packb(["Headers", 1, {**HEADERS, "surprise": 1}]), codec.InvalidMessage),
        (msgpack.packb(["Headers", 1, {"correlation_id": {"deep": [1] * 3}}]), codec.InvalidMessage),
        (b"\x91" * 100_000 + b"\x90", codec.MalformedMessage),
        (msgpack.packb(["Headers", 1, msgpack.ExtType(99, b"?")]), codec.MalformedMessage),
    ],
)
def test_bad_bytes_get_a_typed_error_never_a_crash(data, error):
    with pytest.raises(error):
        codec.decode(data)


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(codec.MessageTooLarge):
        codec.decode(b"\x00" * 100, max_bytes=10)


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [460, 1000])
def test_inputs_nested_hundreds_of_levels_deep_are_refused_when_a_depth_limit_is_given(levels):
    data = codec.pack_value(["AdminStartSaga", 1, {"saga": "s", "inputs": {"x": _nested(levels)}}])
    assert len(data) < 2000  # a tiny request: size limits alone do not catch it
    with pytest.raises(codec.MessageTooDeep, match="more than 32 levels"):
        codec.decode(data, max_depth=32)
    with pytest.raises(codec.MessageTooLarge):  # a MessageTooDeep is a MessageTooLarge
        codec.unpack_value(data, max_depth=32)


def test_nesting_up_to_the_depth_limit_is_accepted_and_maps_count_as_levels():
    assert codec.unpack_value(codec.pack_value(_nested(5)), max_depth=5) == _nested(5)
    with pytest.raises(codec.MessageTooDeep):
        codec.unpack_value(codec.pack_value({"a": {"b": [{}]}}), max_depth=3)
    assert codec.nesting_depth({"a": {"b": [{}]}}) == 4 and codec.nesting_depth(7) == 0


def test_the_depth_walk_survives_values_far_deeper_than_the_recursion_limit():
    assert codec.nesting_depth(_nested(50_000), stop_after=10) == 11
    assert codec.nesting_depth(_nested(5_000)) == 5_000


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_anything_but_a_codec_error(data):
    try:
        codec.decode(data)
    except codec.CodecError:
        pass


def test_encoding_an_unregistered_object_is_a_typed_error():
    class Loose(BaseModel):
        x: int = 1

    with pytest.raises(codec.UnencodableMessage):
        codec.encode(Loose())
    with pytest.raises(codec.UnencodableMessage):
        codec.pack_value({"f": object()})


def test_a_second_class_with_a_taken_tag_is_refused():
    with pytest.raises(TypeError, match="already used"):

        class Headers(Message):
            """Clashes with the real Headers."""

            x: int = 0
            """Anything."""


def test_registered_extensions_carry_opaque_handles():
    class Handle:
        def __init__(self, n):
            self.n = n

        def __eq__(self, other):
            return isinstance(other, Handle) and other.n == self.n

    codec.register_extension(42, Handle, lambda h: str(h.n).encode(), lambda b: Handle(int(b)))
    assert codec.unpack_value(codec.pack_value([Handle(7)])) == [Handle(7)]
    with pytest.raises(codec.MalformedMessage):
        codec.unpack_value(msgpack.packb(msgpack.ExtType(42, b"not-int")))
