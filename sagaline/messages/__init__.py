"""PURE. Message models (one class per intent), ids, and the msgpack codec.

Importing this package imports every message module, so every concrete
message class is registered with the codec.
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
