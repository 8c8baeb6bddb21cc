"""The one msgpack codec: registered messages to bytes and back.

Wire format: a msgpack array ``[tag, version, payload]`` where ``tag`` is the
message class name, ``version`` its ``VERSION`` and ``payload`` the model's
fields (``model_dump(mode="python")``; datetimes travel as msgpack
timestamps). :func:`pack_value` / :func:`unpack_value` use the same settings
for plain data (journal rows, stored replies), so this module stays the only
place that knows msgpack.

Decoding never crashes and never guesses. The exception tree::

    CodecError (SagalineError, ValueError)
    +-- MessageTooLarge       more bytes than the limit allows
    |   +-- MessageTooDeep    lists/maps nested deeper than the depth limit
    +-- MalformedMessage      not msgpack, truncated, trailing bytes, wrong shape
    +-- UnknownMessageType    the tag names no registered message class
    +-- UnsupportedVersion    the tag is known, the schema version is not
    +-- InvalidMessage        the payload does not validate against the class
    +-- UnencodableMessage    (encode side) not a registered message, or a
                              value msgpack cannot carry

Raised by :func:`encode`, :func:`decode`, :func:`pack_value` and
:func:`unpack_value`; callers at a trust boundary (the admin endpoint, the
journal loader) catch ``CodecError`` and answer with an error, losing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
from pydantic import ValidationError

from sagaline.errors import SagalineError
from sagaline.messages.base import Message, message_type

__all__ = [
    "MAX_MESSAGE_BYTES",
    "CodecError",
    "MessageTooLarge",
    "MessageTooDeep",
    "MalformedMessage",
    "UnknownMessageType",
    "UnsupportedVersion",
    "InvalidMessage",
    "UnencodableMessage",
    "encode",
    "decode",
    "pack_value",
    "unpack_value",
    "nesting_depth",
    "check_depth",
    "register_extension",
]

#: Default ceiling for one encoded message (1 MiB): admin requests and journal
#: rows are far smaller; anything bigger is refused before msgpack parses it.
MAX_MESSAGE_BYTES = 1 << 20


class CodecError(SagalineError, ValueError):
    """Bytes could not be turned into a message (or a message into bytes).

    Raised by the functions of :mod:`sagaline.messages.codec`. The message
    says what was wrong; nothing was decoded, so nothing needs undoing.
    """


class MessageTooLarge(CodecError):
    """The input is longer than the allowed maximum; it was not parsed."""


class MessageTooDeep(MessageTooLarge):
    """The input nests containers deeper than the allowed maximum.

    Raised only when the caller gives ``max_depth`` (a trust boundary does):
    a value nested hundreds of levels deep is a few hundred bytes, but
    pickling it later (to pass it to another actor) overflows Python's
    recursion limit, so it is refused here, before anything else sees it.
    """


class MalformedMessage(CodecError):
    """The bytes are not a well-formed ``[tag, version, payload]`` msgpack array."""


class UnknownMessageType(CodecError):
    """The tag is not the name of any registered message class."""


class UnsupportedVersion(CodecError):
    """The message class exists, but not with the schema version given."""


class InvalidMessage(CodecError):
    """The payload does not validate against its message class."""


class UnencodableMessage(CodecError):
    """Encoding failed: not a registered message, or an unencodable value."""


# Opaque handles that the pure layer cannot know (a Thespian address, say)
# travel as msgpack ext types; the layer that owns the type registers how.
_EXT_BY_TYPE: dict[type, tuple[int, Callable[[Any], bytes]]] = {}
_EXT_BY_CODE: dict[int, Callable[[bytes], Any]] = {}


def register_extension(
    code: int, cls: type, to_bytes: Callable[[Any], bytes], from_bytes: Callable[[bytes], Any]
) -> None:
    """Teach the codec to carry instances of ``cls`` as msgpack ext ``code``.

    Used by the actor shell for Thespian addresses (an :data:`ActorRef`
    field), so the pure layer never imports Thespian. ``from_bytes`` may
    raise anything on hostile bytes; decoding turns that into
    :class:`MalformedMessage`.

    Raises:
        ValueError: ``code`` is outside 0..127 or already taken by another class.
    """
    if not 0 <= code <= 127:
        raise ValueError(f"ext code {code} outside 0..127")
    for other, (taken, _) in _EXT_BY_TYPE.items():
        if taken == code and other is not cls:
            raise ValueError(f"ext code {code} already carries {other.__name__}")
    _EXT_BY_TYPE[cls] = (code, to_bytes)
    _EXT_BY_CODE[code] = from_bytes


def _default(obj: Any) -> Any:
    if isinstance(obj, (tuple, frozenset, set)):
        return list(obj)
    ext = _EXT_BY_TYPE.get(type(obj))
    if ext is not None:
        return msgpack.ExtType(ext[0], ext[1](obj))
    raise TypeError(f"cannot encode value of type {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    decoder = _EXT_BY_CODE.get(code)
    if decoder is None:
        raise ValueError(f"unknown ext type {code}")
    return decoder(data)


def pack_value(value: Any) -> bytes:
    """Encode plain data (dict, list, str, int, float, bool, None, bytes,
    aware datetime) to msgpack bytes.

    Raises:
        UnencodableMessage: the value holds something msgpack cannot carry.
    """
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True, datetime=True, default=_default)
        return packed
    except (TypeError, ValueError, OverflowError) as exc:
        raise UnencodableMessage(str(exc)) from exc


def unpack_value(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, max_depth: int | None = None) -> Any:
    """Decode bytes made by :func:`pack_value`.

    Args:
        max_bytes: Longest input accepted.
        max_depth: Deepest nesting of lists and maps accepted (the value
            itself is level 1); None: no check beyond msgpack's own.

    Raises:
        MessageTooLarge: ``len(data) > max_bytes``.
        MessageTooDeep: nested deeper than ``max_depth``.
        MalformedMessage: not exactly one msgpack value.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedMessage(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise MessageTooLarge(f"{len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            timestamp=3,
            ext_hook=_ext_hook,
        )
    except Exception as exc:  # msgpack raises many types on hostile input
        raise MalformedMessage(f"not valid msgpack: {type(exc).__name__}: {exc}") from exc
    if max_depth is not None:
        check_depth(value, max_depth)
    return value


def nesting_depth(value: Any, stop_after: int | None = None) -> int:
    """How deeply ``value`` nests lists, tuples and maps (a scalar is 0, ``[]`` is 1).

    Iterative, so a hostile value cannot overflow the stack; with
    ``stop_after`` it returns as soon as the depth exceeds that.
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = list(item.keys()) + list(item.values())
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def check_depth(value: Any, max_depth: int) -> None:
    """Raise :class:`MessageTooDeep` when ``value`` nests deeper than ``max_depth``."""
    if nesting_depth(value, stop_after=max_depth) > max_depth:
        raise MessageTooDeep(f"nested more than {max_depth} levels deep (lists and maps within each other)")


def encode(message: Message) -> bytes:
    """Encode a registered message to bytes.

    Raises:
        UnencodableMessage: ``message`` is not an instance of a registered
            message class, or holds a value msgpack cannot carry.
    """
    cls = type(message)
    if not isinstance(message, Message) or message_type(cls.__name__) is not cls:
        raise UnencodableMessage(f"{cls.__name__} is not a registered message class")
    return pack_value([cls.__name__, cls.VERSION, message.model_dump(mode="python")])


def decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, max_depth: int | None = None) -> Message:
    """Decode bytes made by :func:`encode` back into their message.

    ``max_depth`` bounds the nesting of the whole frame (``[tag, version,
    payload]`` is level 1, the payload's fields level 2...); None: no check.

    Returns:
        A validated, frozen instance of the registered class named by the tag.

    Raises:
        MessageTooLarge, MessageTooDeep, MalformedMessage, UnknownMessageType,
        UnsupportedVersion, InvalidMessage: see the module docstring.
    """
    frame = unpack_value(data, max_bytes=max_bytes, max_depth=max_depth)
    if not (isinstance(frame, list) and len(frame) == 3):
        raise MalformedMessage("expected a [tag, version, payload] array")
    tag, version, payload = frame
    if not isinstance(tag, str):
        raise MalformedMessage("message tag must be a string")
    cls = message_type(tag)
    if cls is None:
        raise UnknownMessageType(f"unknown message type {tag[:80]!r}")
    if type(version) is not int or version != cls.VERSION:
        raise UnsupportedVersion(f"{tag} version {version!r} is not supported (expected {cls.VERSION})")
    if not isinstance(payload, dict):
        raise MalformedMessage(f"{tag} payload must be a map")
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        raise InvalidMessage(f"{tag}: {exc.error_count()} invalid field(s): {_summary(exc)}") from exc
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidMessage(f"{tag}: {exc}") from exc


def _summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
