"""PURE. Message models (one class per intent), ids, and the msgpack codec.

A concrete message class is registered with the codec when its module is
imported; this package imports only the roots, so a process that decodes a
message must have imported that message's module (each actor imports the
modules of the messages it handles).
"""

from sagaline.messages.base import Command, Headers, Message, Reply, message_type, message_types
from sagaline.messages.ids import CorrelationId, Uuid7, is_uuid7, uuid7

__all__ = [
    "Command",
    "CorrelationId",
    "Headers",
    "Message",
    "Reply",
    "Uuid7",
    "is_uuid7",
    "message_type",
    "message_types",
    "uuid7",
]
