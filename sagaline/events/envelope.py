"""The event envelope, and the two ways to make one: new and derived.

:class:`Event` is a concrete message, so the codec carries it as
``["Event", 1, {...}]``. The envelope enforces what an event *is*: ids are
UUID v7, ``at`` is an aware time kept in UTC, the versions are ints >= 1,
the priority and the source come from closed sets, payload and meta are
maps. What an event *may say* (its name, who may send it, the payload
schema of a known event, the meta values) is the validator's to judge, in
the mode the caller picks (:func:`sagaline.events.validator.validate`).

Making events::

    >>> from datetime import datetime, timedelta, timezone
    >>> from sagaline.messages.ids import uuid7
    >>> run = uuid7()
    >>> done = new_event(
    ...     "user.onboarding.complete", "gate",
    ...     {"user_id": "u1", "email": "ada@example.org", "vault_id": "v1"},
    ...     correlation_id=run, now=datetime(2025, 10, 27, tzinfo=timezone.utc))
    >>> done.meta
    {'reliability': 'persistent', 'pipeline': 'cross_domain'}
    >>> audit = derive(done, "system.audit.recorded", "block", {})
    >>> (audit.correlation_id == run, audit.causation_id == done.id)
    (True, True)

A correlation id is never re-based: :func:`derive` has no parameter for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sagaline.events.errors import EventRejected
from sagaline.events.known import KnownEvent, known_event
from sagaline.events.rules import Rule, Violation
from sagaline.events.taxonomy import TAXONOMY_VERSION, Domain, Priority
from sagaline.messages.base import Message
from sagaline.messages.ids import CorrelationId, Uuid7, uuid7

__all__ = ["Event", "parse_event", "new_event", "derive"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware_in_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware (a naive time is ambiguous)")
    return value.astimezone(UTC)


class Event(Message):
    """One domain event: something that happened, who says so, and in which run."""

    # Strict: a decoded "3" is not a version, 1.0 is not an int.
    model_config = ConfigDict(strict=True)
    VERSION: ClassVar[int] = 1

    id: Uuid7
    """This event's own id (UUID v7, so ids sort by creation time)."""
    at: Annotated[datetime, AfterValidator(_aware_in_utc)]
    """When it happened; must be timezone-aware, stored converted to UTC."""
    name: str
    """Dotted taxonomy name, ``<layer>.<domain>.<category>.<action>``."""
    source: Annotated[Domain, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    """The domain that emits it (``flow``, or a domain an app registered),
    never a module or class name. The envelope checks only its form; the
    validator checks that it is a registered domain."""
    correlation_id: CorrelationId
    """The saga run (or flow) this belongs to; copied unchanged into every
    event derived from this one."""
    causation_id: Uuid7 | None = None
    """Id of the event or command that caused this one; None for a root."""
    payload: dict[str, Any]
    """What happened, as plain data; known events have a schema for it."""
    taxonomy_version: Annotated[int, Field(ge=1)] = TAXONOMY_VERSION
    """Version of the taxonomy rules the name was chosen under."""
    event_version: Annotated[int, Field(ge=1)] = 1
    """Version of this event's payload schema."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Delivery facts: ``pipeline`` (realtime, cross_domain, general),
    ``reliability`` (persistent, transient), ``flags`` (name -> bool),
    ``target``/``targets`` (domains it is addressed to); other keys pass."""
    priority: Priority = "normal"
    """low, normal, high or critical; high and critical route to realtime."""


# pydantic reports the field that failed; these fields have rules of their own.
_RULE_BY_FIELD = {
    "id": Rule.ID,
    "correlation_id": Rule.ID,
    "causation_id": Rule.ID,
    "priority": Rule.PRIORITY,
    "source": Rule.UNKNOWN_SOURCE,
    "taxonomy_version": Rule.TAXONOMY_VERSION,
    "event_version": Rule.EVENT_VERSION,
}


def parse_event(data: Mapping[str, Any]) -> Event:
    """Build an :class:`Event` from a map of its fields.

    Args:
        data: Field name -> value, as from a decoded map or an ingest API.

    Returns:
        The validated, frozen event.

    Raises:
        EventRejected: ``data`` is not a map, or a field is missing, of the
            wrong type or unexpected. The rule is the first failing field's
            (``id`` for the three ids, ``priority``, ``unknown_source``,
            ``taxonomy_version``, ``event_version``), else ``envelope``.
    """
    if not isinstance(data, Mapping):
        raise EventRejected(Violation(Rule.ENVELOPE, f"expected a map, got {type(data).__name__}"))
    name = data.get("name") if isinstance(data.get("name"), str) else None
    try:
        return Event.model_validate(dict(data))
    except ValidationError as exc:
        raise EventRejected(_violation(exc, name)) from exc


def _violation(exc: ValidationError, name: str | None) -> Violation:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    where = ".".join(str(part) for part in first["loc"]) or "<event>"
    return Violation(_RULE_BY_FIELD.get(field, Rule.ENVELOPE), f"{where}: {first['msg']}", name)


def new_event(
    name: str,
    source: Domain,
    payload: Mapping[str, Any] | BaseModel,
    correlation_id: str,
    causation_id: str | None = None,
    *,
    now: datetime | None = None,
    priority: Priority | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Event:
    """Make an event, filling id, time, versions and meta defaults.

    Defaults come from the registry entry of ``name`` (its newest version)
    when the name is known: ``event_version``, ``meta.reliability``,
    ``meta.pipeline`` (when the entry has one) and ``priority``. An unknown
    name gets version 1, ``reliability: transient`` and priority normal.
    Keys in ``meta`` override the defaults. The name itself is not judged
    here; :func:`~sagaline.events.validator.validate` does that.

    Args:
        name: The event name.
        source: The emitting domain.
        payload: A map, or a payload model (turned into its map).
        correlation_id: The run's id (UUID v7); never generated here, so a
            forgotten id is an error rather than a silent new flow.
        causation_id: Id of what caused this event (UUID v7), if known.
        now: When it happened (aware); the wall clock when omitted. The id's
            time prefix is this moment (or later, to keep ids increasing).
        priority: Overrides the entry's default priority.
        meta: Extra or overriding meta keys.

    Returns:
        The new event.

    Raises:
        EventRejected: the envelope cannot be built (see :func:`parse_event`).
    """
    at = datetime.now(UTC) if now is None else now
    entry = known_event(name) if isinstance(name, str) else None
    return parse_event(
        {
            "id": uuid7(_unix_ms(at)),
            "at": at,
            "name": name,
            "source": source,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "payload": _as_map(payload),
            "taxonomy_version": TAXONOMY_VERSION,
            "event_version": entry.version if entry else 1,
            "meta": _with_defaults(meta, entry),
            "priority": priority or (entry.priority if entry else "normal"),
        }
    )


def derive(
    parent: Event,
    name: str,
    source: Domain,
    payload: Mapping[str, Any] | BaseModel,
    *,
    now: datetime | None = None,
    priority: Priority | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Event:
    """Make an event caused by ``parent``: same correlation id, causation = parent.id.

    Nothing else is inherited: meta, priority and versions come from the
    new name's registry entry, as with :func:`new_event` (whose other
    arguments these are).

    Raises:
        EventRejected: the envelope cannot be built.
    """
    return new_event(
        name,
        source,
        payload,
        parent.correlation_id,
        parent.id,
        now=now,
        priority=priority,
        meta=meta,
    )


def _unix_ms(at: object) -> int | None:
    if isinstance(at, datetime) and at.tzinfo is not None:
        return (at - _EPOCH) // timedelta(milliseconds=1)
    return None  # parse_event rejects it; the id just needs some clock


def _as_map(payload: object) -> object:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="python")
    return dict(payload) if isinstance(payload, Mapping) else payload


def _with_defaults(meta: object, entry: KnownEvent | None) -> object:
    if meta is not None and not isinstance(meta, Mapping):
        return meta  # parse_event rejects it with the field's name
    defaults: dict[str, Any] = {"reliability": entry.reliability if entry else "transient"}
    if entry is not None and entry.pipeline is not None:
        defaults["pipeline"] = entry.pipeline
    return {**defaults, **(meta or {})}
