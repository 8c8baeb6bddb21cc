"""Judging events against the taxonomy, in one of three modes.

:func:`check` is the pure judgement: the first rule an event breaks, or
None. :func:`validate` adds what to do about it, chosen by ``mode``:

``raise`` (tests)
    Raise :class:`~sagaline.events.errors.EventRejected` naming the rule.
``warn`` (development)
    Log a warning on the ``sagaline.events`` logger and pass the event on:
    ``Validated(event, violation)``. Input whose envelope fails (a bad
    map, or an :class:`Event` built unchecked with ``model_construct``) is
    not an event and cannot be passed on, so it is dropped as in ``drop``
    mode.
``drop`` (production)
    Log, count the drop in the caller's :class:`DropCounter`, and return
    ``Dropped(violation, audit_event)``: the caller publishes the
    ``audit.event_drop`` event instead of the dropped one; it carries the
    dropped event (whole up to :data:`MAX_DROPPED_BYTES` packed).

A valid event gives ``Validated(event)`` in every mode. The checks, in
order (the first failure is reported):

1. the envelope: fields, types, ids UUID v7, priority, the source's form,
   versions >= 1 (re-checked even for an :class:`Event` instance, since
   ``model_construct`` builds one without checks); then the source is a
   registered domain (the runtime's, or one a loaded app registered);
2. ``taxonomy_version`` is :data:`~sagaline.events.taxonomy.TAXONOMY_VERSION`;
3. the name's format, then its family;
4. the source domain may emit the name's category;
5. for a known name: the version is registered, the source is one of the
   entry's, the payload matches the schema;
6. the known ``meta`` keys hold legal values, and ``meta.reliability``
   agrees with the registry.

Nothing here reads a clock except to stamp the audit event (pass ``now``
to make that deterministic).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from sagaline.events import payloads
from sagaline.events.envelope import Event, new_event, parse_event
from sagaline.events.errors import EventError, EventRejected
from sagaline.events.known import KnownEvent, known_event, known_versions
from sagaline.events.rules import Rule, Violation
from sagaline.events.taxonomy import (
    FAMILIES,
    MAX_NAME_LENGTH,
    PIPELINES,
    RELIABILITIES,
    TAXONOMY_VERSION,
    domains,
    family_of,
    is_well_formed_name,
    may_emit,
)
from sagaline.messages.codec import CodecError, pack_value
from sagaline.messages.ids import is_uuid7, uuid7

__all__ = ["Mode", "MODES", "MAX_DROPPED_BYTES", "Validated", "Dropped", "DropCounter", "check", "validate"]

Mode = Literal["warn", "raise", "drop"]
"""How :func:`validate` treats a broken rule; see the module docstring."""
MODES: tuple[Mode, ...] = ("warn", "raise", "drop")

_log = logging.getLogger("sagaline.events")

# Long enough for any legal name plus context; a hostile multi-megabyte
# "name" must not end up whole in logs or in the audit payload.
_CLIP = MAX_NAME_LENGTH + 45
#: Largest dropped event (codec-packed) an ``audit.event_drop`` carries whole: far above any
#: event the sagas emit (under 1 KiB), small enough that a flood of hostile drops stays cheap.
MAX_DROPPED_BYTES = 16 * 1024
_INT64 = range(-(1 << 63), 1 << 64)


@dataclass(frozen=True)
class Validated:
    """The event may be published."""

    event: Event
    """The event (the very instance given, when an :class:`Event` was given)."""
    violation: Violation | None = None
    """In ``warn`` mode, the rule it broke but was let through with; else None."""


@dataclass(frozen=True)
class Dropped:
    """The event must not be published; publish ``audit_event`` instead."""

    violation: Violation
    """The rule the event broke."""
    audit_event: Event
    """An ``audit.event_drop`` event from flow: same correlation id as the
    dropped event (a new one if it had none usable), causation = its id."""


class DropCounter:
    """Counts dropped events by rule; hand one to :func:`validate`.

    Not thread-safe: each actor (or test) keeps its own.
    """

    def __init__(self) -> None:
        self._counts: Counter[Rule] = Counter()

    def record(self, rule: Rule) -> None:
        """Count one drop for breaking ``rule``."""
        self._counts[rule] += 1

    @property
    def total(self) -> int:
        """Drops counted so far."""
        return sum(self._counts.values())

    def by_rule(self) -> dict[Rule, int]:
        """Return a copy of rule -> drops, omitting rules never broken."""
        return dict(self._counts)


def validate(
    candidate: Event | Mapping[str, Any],
    mode: Mode = "raise",
    *,
    drops: DropCounter | None = None,
    now: datetime | None = None,
) -> Validated | Dropped:
    """Judge ``candidate`` and act on the first broken rule as ``mode`` says.

    Args:
        candidate: An event, or a map of its fields (ingest from outside).
        mode: ``raise``, ``warn`` or ``drop`` (module docstring).
        drops: Where drops are counted (``drop`` mode, and ``warn`` mode on
            input that is not an event); not counted when None.
        now: Timestamp of the audit event a drop produces.

    Returns:
        ``Validated`` when the event passes (or, in ``warn`` mode, breaks a
        rule but has a sound envelope); ``Dropped`` otherwise.

    Raises:
        EventRejected: ``raise`` mode, and a rule is broken.
        EventError: ``mode`` is not one of :data:`MODES`.
    """
    if mode not in MODES:
        raise EventError(f"unknown validation mode {mode!r}; expected one of {MODES}")
    try:
        event = _envelope(candidate)
    except EventRejected as rejected:
        return _ACT[mode](None, rejected.violation, candidate, drops, now)
    violation = check(event)
    if violation is None:
        return Validated(event)
    return _ACT[mode](event, violation, candidate, drops, now)


def check(event: Event) -> Violation | None:
    """Return the first taxonomy rule a well-typed ``event`` breaks, or None.

    Pure. Covers checks 2-6 of the module docstring; the envelope (check 1)
    is the :class:`Event` type's, see :func:`validate`.
    """
    for rule_check in _CHECKS:
        violation = rule_check(event)
        if violation is not None:
            return violation
    return None


def _envelope(candidate: object) -> Event:
    if not isinstance(candidate, Event):
        return parse_event(candidate)  # type: ignore[arg-type]
    fields = {name: candidate.__dict__[name] for name in Event.model_fields if name in candidate.__dict__}
    parse_event(fields)
    return candidate


def _broken(rule: Rule, detail: str, event: Event) -> Violation:
    return Violation(rule, detail, _clip(event.name))


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[:_CLIP] + "..."


def _registered_domain(event: Event) -> Violation | None:
    if event.source in domains():
        return None
    return _broken(
        Rule.UNKNOWN_SOURCE, f"{event.source!r} is not a registered domain; known: {', '.join(domains())}", event
    )


def _taxonomy_version(event: Event) -> Violation | None:
    if event.taxonomy_version == TAXONOMY_VERSION:
        return None
    return _broken(
        Rule.TAXONOMY_VERSION,
        f"taxonomy v{event.taxonomy_version} is not v{TAXONOMY_VERSION}, the only one these rules define",
        event,
    )


def _name_format(event: Event) -> Violation | None:
    if is_well_formed_name(event.name):
        return None
    return _broken(
        Rule.NAME_FORMAT,
        f"want two or more [a-z][a-z0-9_]* segments joined by dots, at most {MAX_NAME_LENGTH} characters",
        event,
    )


def _family(event: Event) -> Violation | None:
    family = family_of(event.name)
    if family in FAMILIES:
        return None
    return _broken(Rule.UNKNOWN_FAMILY, f"{family!r} is not one of {sorted(FAMILIES)}", event)


def _category(event: Event) -> Violation | None:
    if may_emit(event.source, event.name):
        return None
    return _broken(Rule.CATEGORY_NOT_ALLOWED, f"{event.source} has no category admitting this name", event)


def _known_version(event: Event) -> Violation | None:
    versions = known_versions(event.name)
    if not versions or event.event_version in versions:
        return None
    return _broken(Rule.EVENT_VERSION, f"v{event.event_version} is not registered; known: {list(versions)}", event)


def _registered_source(event: Event) -> Violation | None:
    entry = known_event(event.name, event.event_version)
    if entry is None or event.source in entry.sources:
        return None
    return _broken(
        Rule.SOURCE_NOT_REGISTERED, f"{event.source} is not among its sources {sorted(entry.sources)}", event
    )


def _payload_schema(event: Event) -> Violation | None:
    entry = known_event(event.name, event.event_version)
    if entry is None:
        return None
    try:
        entry.payload.model_validate(event.payload)
    except ValidationError as exc:
        return _broken(Rule.PAYLOAD_SCHEMA, _summary(exc), event)
    return None


def _summary(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<payload>'}: {e['msg']}" for e in exc.errors()[:3]]
    return "; ".join(parts)


def _meta(event: Event) -> Violation | None:
    problem = _meta_problem(event.meta, known_event(event.name, event.event_version))
    return None if problem is None else _broken(Rule.META, problem, event)


def _meta_problem(meta: dict[str, Any], entry: KnownEvent | None) -> str | None:
    if "pipeline" in meta and meta["pipeline"] not in PIPELINES:
        return f"pipeline must be one of {PIPELINES}"
    if "reliability" in meta and meta["reliability"] not in RELIABILITIES:
        return f"reliability must be one of {RELIABILITIES}"
    if entry is not None and meta.get("reliability", entry.reliability) != entry.reliability:
        return f"reliability is registered as {entry.reliability}; a producer cannot change it"
    return _flags_problem(meta.get("flags", {})) or _targets_problem(meta)


def _flags_problem(flags: object) -> str | None:
    if isinstance(flags, dict) and all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        return None
    return "flags must map flag names to booleans"


def _targets_problem(meta: dict[str, Any]) -> str | None:
    known = domains()
    if "target" in meta and meta["target"] not in known:
        return f"target must be a domain, one of {known}"
    if "targets" not in meta:
        return None
    targets = meta["targets"]
    if isinstance(targets, list) and targets and all(t in known for t in targets):
        return None
    return f"targets must be a non-empty list of domains from {known}"


_CHECKS: tuple[Callable[[Event], Violation | None], ...] = (
    _registered_domain,
    _taxonomy_version,
    _name_format,
    _family,
    _category,
    _known_version,
    _registered_source,
    _payload_schema,
    _meta,
)


# What each mode does with a broken rule: (event or None when the input was
# not one, violation, input as given, counter, now) -> outcome.
_Act = Callable[[Event | None, Violation, object, DropCounter | None, datetime | None], Validated | Dropped]


def _raise(
    event: Event | None, violation: Violation, candidate: object, drops: DropCounter | None, now: datetime | None
) -> Validated | Dropped:
    raise EventRejected(violation)


def _warn(
    event: Event | None, violation: Violation, candidate: object, drops: DropCounter | None, now: datetime | None
) -> Validated | Dropped:
    if event is None:
        return _drop(event, violation, candidate, drops, now)
    _log.warning("event breaks a rule, passed anyway (warn mode): %s", _clip(str(violation)))
    return Validated(event, violation)


def _drop(
    event: Event | None, violation: Violation, candidate: object, drops: DropCounter | None, now: datetime | None
) -> Validated | Dropped:
    _log.warning("event dropped: %s", _clip(str(violation)))
    if drops is not None:
        drops.record(violation.rule)
    return Dropped(violation, _audit_event(candidate, violation, now))


_ACT: dict[str, _Act] = {"raise": _raise, "warn": _warn, "drop": _drop}


def _audit_event(candidate: object, violation: Violation, now: datetime | None) -> Event:
    raw = _raw_fields(candidate)
    correlation_id = raw.get("correlation_id")
    causation_id = raw.get("id")
    payload = payloads.EventDrop(
        dropped_name=_clip(violation.event_name or "<unnamed>"),
        reason=violation.rule.value,
        detail=_clip(violation.detail),
        event=_dropped_event(raw),
    )
    return new_event(
        "audit.event_drop",
        "flow",
        payload,
        correlation_id if is_uuid7(correlation_id) else uuid7(),
        causation_id if is_uuid7(causation_id) else None,
        now=now,
    )


def _dropped_event(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The dropped event as data: whole when it packs within :data:`MAX_DROPPED_BYTES`, else its
    scalar fields (texts clipped) and ``truncated: True``; either way something the codec can carry."""
    fields = {str(k): v for k, v in raw.items()}
    try:
        if len(pack_value(fields)) <= MAX_DROPPED_BYTES:
            return fields
    except CodecError:
        pass
    brief = {
        k: _clip(v) if isinstance(v, str) else v
        for k, v in fields.items()
        if v is None or isinstance(v, (str, bool, float)) or (isinstance(v, int) and v in _INT64)
    }
    return {**brief, "truncated": True}


def _raw_fields(candidate: object) -> Mapping[str, Any]:
    if isinstance(candidate, Event):
        return candidate.__dict__
    return candidate if isinstance(candidate, Mapping) else {}
