"""The root of sagaline's exceptions.

Every exception sagaline raises on purpose derives from :class:`SagalineError`,
so a caller can catch the whole family with one clause. Each layer adds its
own branch next to the code that raises it::

    SagalineError
    +-- messages.codec.CodecError          bytes that are not a valid message
    +-- saga.errors.SagaError              a saga definition or run cannot proceed
    +-- events.errors.EventError           an event breaks the taxonomy
    +-- (later layers add their branches here and in their own modules)

Retryability is an attribute of an error (``retryable``), not a subclass:
code that decides whether to try again reads the attribute.
"""

from __future__ import annotations

__all__ = ["SagalineError"]


class SagalineError(Exception):
    """Base of every error sagaline raises on purpose.

    Attributes:
        retryable: True when trying the same thing again may succeed.
    """

    retryable: bool = False
