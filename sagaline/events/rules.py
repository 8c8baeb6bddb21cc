"""The closed set of rules an event can break, and the record of one breach.

Every rejection, warning and drop names exactly one :class:`Rule`: the
first one the event breaks (the envelope first, then the name, then who
sent it, then what it says; :mod:`sagaline.events.validator` lists the
order). The rule values are stable strings: they appear in logs, in
:class:`~sagaline.events.errors.EventRejected` and in the ``reason`` of
``audit.event_drop`` payloads, and dashboards count drops by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Rule", "Violation"]


class Rule(StrEnum):
    """One rule of the event taxonomy; the value is its stable name."""

    ENVELOPE = "envelope"
    """Not an event at all: a missing field, a value of the wrong type, a
    naive ``at``, a non-mapping payload or meta, or an unexpected field."""

    ID = "id"
    """``id``, ``correlation_id`` or a present ``causation_id`` is not a
    canonical lowercase UUID v7."""

    PRIORITY = "priority"
    """``priority`` is not one of low, normal, high, critical."""

    UNKNOWN_SOURCE = "unknown_source"
    """``source`` is not a registered domain (a module or class name, say,
    as the original's sagas sent, or a domain of an app not loaded)."""

    TAXONOMY_VERSION = "taxonomy_version"
    """``taxonomy_version`` is not an int >= 1, or not the version of the
    rules this validator applies."""

    EVENT_VERSION = "event_version"
    """``event_version`` is not an int >= 1, or the event is known but not
    at that version."""

    NAME_FORMAT = "name_format"
    """The name is not two or more ``[a-z][a-z0-9_]*`` segments joined by
    dots, or is too long."""

    UNKNOWN_FAMILY = "unknown_family"
    """The name's first segment is not a reserved family (the original's
    "reserved prefixes" plus ``user``)."""

    CATEGORY_NOT_ALLOWED = "category_not_allowed"
    """The source domain has no category that admits the name."""

    SOURCE_NOT_REGISTERED = "source_not_registered"
    """The event is known, and its registry entry does not list this source."""

    PAYLOAD_SCHEMA = "payload_schema"
    """The event is known, and its payload does not match the schema."""

    META = "meta"
    """A known ``meta`` key holds a bad value (unknown pipeline or
    reliability, non-boolean flags, a target that is not a domain), or
    ``meta.reliability`` contradicts the registry."""


@dataclass(frozen=True)
class Violation:
    """The first rule an event broke, and why, in words."""

    rule: Rule
    """Which rule was broken."""
    detail: str
    """A one-line explanation naming the offending value."""
    event_name: str | None = None
    """The event's name when it had a string one, else None."""

    def __str__(self) -> str:
        return f"{self.event_name or '<unnamed>'}: {self.rule.value}: {self.detail}"
