"""Hypothesis strategies that build valid instances of any registered message.

Type-directed: each field's annotation (and pydantic metadata) picks a
strategy; generated candidates that still fail validation (a pattern, a
bound) are discarded with ``assume``. A class for which nothing valid can be
generated gets a hand-written example in :data:`EXAMPLES`.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from pydantic import BaseModel, SkipValidation, ValidationError
from pydantic.functional_validators import AfterValidator

from sagaline.messages import codec
from sagaline.messages.base import Headers
from sagaline.messages.ids import _check_uuid7, uuid7


class FakeAddress:
    """Stands in for a Thespian address in pure tests (ActorRef fields)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FakeAddress) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)


codec.register_extension(120, FakeAddress, lambda a: str(a.n).encode(), lambda b: FakeAddress(int(b)))

#: Hand-written examples for classes whose constraints random data rarely meets.
EXAMPLES: dict[str, Callable[[], BaseModel]] = {}

_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.-@0123456789", min_size=1, max_size=12)
_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, width=32) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_uuid7 = st.builds(uuid7)
_headers = st.builds(lambda k: Headers(correlation_id=uuid7(), idempotency_key=k), _text)
_when = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))


def for_annotation(annotation: Any, metadata: list[Any] = ()) -> st.SearchStrategy:
    """A strategy for values of ``annotation`` (pydantic ``metadata`` included)."""
    if any(m is SkipValidation or isinstance(m, SkipValidation) for m in metadata):
        return st.builds(FakeAddress, st.integers(0, 1000))
    if any(isinstance(m, AfterValidator) and m.func is _check_uuid7 for m in metadata):
        return _uuid7
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return for_annotation(args[0], list(args[1:]))
    if annotation is Any:
        return _plain
    if annotation is Headers:
        return _headers
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return instances(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(a) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        item = for_annotation(args[0]) if args else _plain
        if origin is tuple and len(args) > 1 and args[1] is not Ellipsis:
            return st.tuples(*[for_annotation(a) for a in args])
        return st.lists(item, max_size=3).map(origin or list)
    if origin is dict or annotation is dict:
        key = for_annotation(args[0]) if args else _text
        return st.dictionaries(key, for_annotation(args[1]) if args else _plain, max_size=3)
    simple = {
        str: _text,
        int: st.integers(0, 10_000),
        float: st.floats(0, 1000, allow_nan=False),
        bool: st.booleans(),
        bytes: st.binary(max_size=16),
        dt.datetime: _when,
        type(None): st.none(),
    }
    if annotation in simple:
        return simple[annotation]
    return st.from_type(annotation)


@st.composite
def _build(draw, cls: type[BaseModel]) -> BaseModel:
    data = {}
    for name, info in cls.model_fields.items():
        if not info.is_required() and draw(st.booleans()):
            continue
        data[name] = draw(for_annotation(info.annotation, info.metadata))
    try:
        return cls.model_validate(data)
    except ValidationError:
        assume(False)


def instances(cls: type[BaseModel]) -> st.SearchStrategy:
    """Valid instances of ``cls`` (the hand-written example mixed in when there is one)."""
    generated = _build(cls)
    example = EXAMPLES.get(cls.__name__)
    return st.one_of(st.builds(example), generated) if example else generated
