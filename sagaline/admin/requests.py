"""PURE. The admin door's trust boundary: what arrived -> a validated request, or the error that answers it.

A request arrives as codec bytes (every client sends bytes) or as a model
(the daemon's own calls and tests). Bytes are decoded with a size limit
(:data:`~sagaline.messages.admin.ADMIN_MAX_BYTES`) and a nesting limit
(:data:`~sagaline.messages.admin.ADMIN_MAX_DEPTH`) before anything is built
from them; a model (it may have been built without validation, then
pickled) is measured and validated again the same way. What comes out is an
:class:`~sagaline.messages.admin.AdminRequest`, an
:class:`~sagaline.messages.admin.AdminConnect`, or the
:class:`~sagaline.messages.admin.AdminError` to answer with (``malformed``,
``too_large``, ``unknown_request``, ``unsupported_version``, ``invalid``).
Bytes are answered with bytes, models with models (:func:`reply_form`).
"""

from __future__ import annotations

from typing import Any

from sagaline.messages import codec
from sagaline.messages.admin import (
    ADMIN_MAX_BYTES,
    ADMIN_MAX_DEPTH,
    AdminConnect,
    AdminError,
    AdminRequest,
    AdminResult,
)
from sagaline.messages.base import Message
from sagaline.messages.supervision import Unrecognized

__all__ = ["read_request", "reply_form", "is_reply"]

_CODEC_ERRORS = (
    (codec.MessageTooLarge, "too_large"),
    (codec.UnknownMessageType, "unknown_request"),
    (codec.UnsupportedVersion, "unsupported_version"),
    (codec.InvalidMessage, "invalid"),
    (codec.CodecError, "malformed"),
)


def read_request(payload: Any) -> AdminRequest | AdminConnect | AdminError:
    """Turn what arrived into a validated admin request (or connect), or the error that answers it."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            message = codec.decode(bytes(payload), max_bytes=ADMIN_MAX_BYTES, max_depth=ADMIN_MAX_DEPTH)
        except codec.CodecError as exc:
            code = next(c for kind, c in _CODEC_ERRORS if isinstance(exc, kind))
            return AdminError(code=code, message=str(exc)[:1000])
    elif isinstance(payload, Message):
        message = payload
    else:
        return AdminError(
            code="malformed", message=f"an admin request is codec bytes or a message, not {type(payload).__name__}"
        )
    if not isinstance(message, (AdminRequest, AdminConnect)):
        return AdminError(
            code="unknown_request",
            message=f"{type(message).__name__} is not an admin request",
            request=type(message).__name__,
        )
    return message if isinstance(payload, (bytes, bytearray, memoryview)) else _revalidated(message)


def _revalidated(message: AdminRequest | AdminConnect) -> AdminRequest | AdminConnect | AdminError:
    """A model may have been built without validation (``model_construct``) before it
    was pickled; bound it as bytes would be, then validate its fields again."""
    name = type(message).__name__
    try:
        dumped = message.model_dump()
        codec.check_depth(dumped, ADMIN_MAX_DEPTH - 1)  # as bytes, the frame adds one level
        size = len(codec.encode(message))
        checked = type(message).model_validate(dumped)
    except codec.MessageTooLarge as exc:
        return AdminError(code="too_large", message=str(exc)[:1000], request=name)
    except codec.CodecError as exc:
        return AdminError(code="malformed", message=str(exc)[:1000], request=name)
    except ValueError as exc:
        return AdminError(code="invalid", message=f"{name}: {str(exc)[:1000]}", request=name)
    if size > ADMIN_MAX_BYTES:
        return AdminError(
            code="too_large", message=f"{size} bytes exceeds the limit of {ADMIN_MAX_BYTES}", request=name
        )
    return checked


def reply_form(answer: Message, as_bytes: bool) -> Any:
    """``answer`` as it goes back: codec bytes for a request that came as bytes.

    Raises:
        CodecError: the answer cannot be encoded (a value msgpack cannot carry, or nested too deep).
    """
    return codec.encode(answer) if as_bytes else answer


def is_reply(message: Any) -> bool:
    """True for an admin answer (never answered in turn: two actors answering each
    other's answers would never stop)."""
    return isinstance(message, (AdminResult, AdminError, Unrecognized))
