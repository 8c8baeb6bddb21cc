"""The roots of every message: :class:`Message`, :class:`Headers`,
:class:`Command` and :class:`Reply`.

Every message is a frozen pydantic model that forbids unknown fields, with a
docstring under each field (``use_attribute_docstrings``; a test checks that
no field goes undocumented). Concrete message classes register themselves
for the codec when they are defined: the tag is the class name, and two
classes with one tag are refused at import time.

A class is *concrete* (registered) unless it sets ``ABSTRACT = True`` in its
own body: the roots here are abstract, and so are intermediate bases in
other modules.

Commands and replies carry :class:`Headers`: the correlation id of the saga
run, the causation id (what caused this message), the idempotency key that
makes a redelivered command harmless, and W3C trace context. Later layers
(tracing, exactly-once) read these; no message needs reshaping for them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, SkipValidation

from sagaline.messages.ids import CorrelationId

__all__ = ["ActorRef", "Message", "Headers", "Command", "Reply", "message_types", "message_type"]

#: An actor's address, opaque to the pure layers (a Thespian ``ActorAddress``
#: at run time). The actor shell registers a codec extension for it; pure
#: tests may put any hashable stand-in here.
ActorRef = Annotated[Any, SkipValidation]

_REGISTRY: dict[str, type[Message]] = {}


class Message(BaseModel):
    """Root of all messages: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    ABSTRACT: ClassVar[bool] = True
    #: Schema version of this message class; bump it on an incompatible change.
    VERSION: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("ABSTRACT", False):
            return
        tag = cls.__name__
        holder = _REGISTRY.get(tag)
        if (
            holder is not None
            and holder is not cls
            and (holder.__module__, holder.__qualname__) != (cls.__module__, cls.__qualname__)
        ):
            raise TypeError(f"message tag {tag!r} already used by {holder.__module__}.{holder.__qualname__}")
        _REGISTRY[tag] = cls


def message_types() -> dict[str, type[Message]]:
    """Return a copy of the tag -> class map of every concrete message."""
    return dict(_REGISTRY)


def message_type(tag: str) -> type[Message] | None:
    """Return the concrete message class registered under ``tag``, if any."""
    return _REGISTRY.get(tag)


class Headers(Message):
    """Routing and tracing facts that travel with every command and reply."""

    correlation_id: CorrelationId
    """The saga run this message belongs to (UUID v7); never re-based mid-flow."""
    causation_id: str | None = None
    """Id of the event or command that caused this one, when known."""
    idempotency_key: str | None = None
    """Key that makes a redelivered command a no-op returning the first answer."""
    traceparent: str | None = None
    """W3C trace context ``traceparent`` of the sender's span, when tracing."""
    tracestate: str | None = None
    """W3C trace context ``tracestate``, passed through unchanged."""


class Command(Message):
    """A request for an effect, sent to one actor that answers with a :class:`Reply`."""

    ABSTRACT: ClassVar[bool] = True

    headers: Headers
    """Correlation, causation, idempotency and trace context of this command."""


class Reply(Message):
    """The answer to a :class:`Command`; echoes the command's headers."""

    ABSTRACT: ClassVar[bool] = True

    headers: Headers
    """The headers of the command this answers."""
