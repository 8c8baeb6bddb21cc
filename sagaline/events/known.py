"""The registry of known events: schema, version, reliability, route, senders.

An event is *known* when an entry is registered for its name here. Known
events get a stricter check than the taxonomy alone gives: the source must
be one of the entry's declared sources, the payload must match the entry's
schema and the version must be one registered. Unknown names that the
taxonomy admits still pass (as in the original), as ``transient`` events.

Built-in entries, the runtime's own (version, sources, reliability,
default pipeline and priority)::

    flow.reactor.retry          v1  flow  transient   (rules)       normal
    reactor.saga.complete       v1  flow  persistent  realtime      normal
    reactor.saga.fail           v1  flow  persistent  realtime      high
    reactor.saga.stuck          v1  flow  persistent  realtime      critical
    audit.event_drop            v1  flow  persistent  realtime      high
    system.storage.fault        v1  flow  transient   realtime      critical
    system.storage.recovered    v1  flow  transient   realtime      normal

The storage alerts are transient on purpose: the bus's own store may sit
on the disk that just filled, and a persistent event would then never be
published at all.

An app registers its own events when it is loaded (``App.events``, see
:mod:`sagaline.apps`), with the same checks; the Thunderline app's
(``user.onboarding.complete``, ``ai.upm.snapshot.activated``,
``ml.run.completed``, ``ml.trial.completed``) are in
:mod:`thunderline.events`, which also tells why ``user.`` is gate's.

Entries declare their own ``sources``, but only to *narrow* the domain ->
categories map: several domains may emit ``ai.*`` names, yet only bolt may
announce ``ai.upm.snapshot.activated``. :func:`register_event` checks every
declared source against the map when the entry is registered, so the
registry can never contradict the taxonomy: such an entry raises
:class:`~sagaline.events.errors.EventError` before any event is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sagaline.events import payloads
from sagaline.events.errors import EventError
from sagaline.events.taxonomy import (
    FAMILIES,
    PIPELINES,
    PRIORITIES,
    RELIABILITIES,
    Domain,
    Pipeline,
    Priority,
    Reliability,
    domains,
    family_of,
    is_well_formed_name,
    may_emit,
)

__all__ = ["KnownEvent", "register_event", "known_event", "known_versions", "known_events"]


@dataclass(frozen=True)
class KnownEvent:
    """The definition of one known event at one version."""

    name: str
    """The event name, e.g. ``user.onboarding.complete``."""
    version: int
    """Schema version of the payload; events carry it as ``event_version``."""
    payload: type[payloads.Payload]
    """The pydantic model the payload map must satisfy."""
    sources: frozenset[Domain]
    """Domains allowed to emit it; each must be admitted by the taxonomy."""
    reliability: Reliability
    """``persistent`` (stored, at least once) or ``transient`` (best effort)."""
    pipeline: Pipeline | None = None
    """Default ``meta.pipeline`` new events get; None leaves routing to the rules."""
    priority: Priority = "normal"
    """Default priority new events get."""
    description: str = field(default="", compare=False)
    """One line saying what happened; the payload model's docstring by default."""


_ENTRIES: dict[tuple[str, int], KnownEvent] = {}


def register_event(entry: KnownEvent) -> KnownEvent:
    """Add ``entry`` to the registry after checking it against the taxonomy.

    Registering an entry equal to one already registered is a no-op.

    Returns:
        ``entry``, so a module can register and keep it in one statement.

    Raises:
        EventError: the name is malformed or outside the families, the
            version is below 1, a declared source is not a domain or may
            not emit the name, a default (reliability, pipeline, priority)
            is unknown, or another entry holds the same name and version.
    """
    problem = _entry_problem(entry)
    if problem:
        raise EventError(f"cannot register {entry.name!r} v{entry.version}: {problem}")
    held = _ENTRIES.setdefault((entry.name, entry.version), entry)
    if held != entry:
        raise EventError(f"{entry.name!r} v{entry.version} is already registered differently")
    return entry


def _entry_problem(entry: KnownEvent) -> str | None:
    if not is_well_formed_name(entry.name) or family_of(entry.name) not in FAMILIES:
        return "name is malformed or outside the reserved families"
    if type(entry.version) is not int or entry.version < 1:
        return "version must be an int >= 1"
    if not entry.sources:
        return "no sources declared"
    if not set(entry.sources) <= set(domains()):
        return f"sources {sorted(set(entry.sources) - set(domains()))} are not registered domains"
    refused = sorted(d for d in entry.sources if not may_emit(d, entry.name))
    if refused:
        return f"the taxonomy does not let {refused} emit it"
    return _defaults_problem(entry)


def _defaults_problem(entry: KnownEvent) -> str | None:
    if entry.reliability not in RELIABILITIES:
        return f"unknown reliability {entry.reliability!r}"
    if entry.pipeline is not None and entry.pipeline not in PIPELINES:
        return f"unknown pipeline {entry.pipeline!r}"
    if entry.priority not in PRIORITIES:
        return f"unknown priority {entry.priority!r}"
    return None


def known_event(name: str, version: int | None = None) -> KnownEvent | None:
    """Return the entry for ``name`` at ``version`` (the newest when None).

    Returns:
        The entry, or None when the name (or that version of it) is unknown.
    """
    if version is not None:
        return _ENTRIES.get((name, version))
    versions = known_versions(name)
    return _ENTRIES[(name, versions[-1])] if versions else None


def known_versions(name: str) -> tuple[int, ...]:
    """Return the registered versions of ``name``, ascending (empty if unknown)."""
    return tuple(sorted(v for (n, v) in _ENTRIES if n == name))


def known_events() -> Mapping[tuple[str, int], KnownEvent]:
    """Return a read-only view of every entry, keyed by (name, version)."""
    return MappingProxyType(_ENTRIES)


def _builtin(
    name: str,
    payload: type[payloads.Payload],
    source: Domain,
    reliability: Reliability,
    pipeline: Pipeline | None = None,
    priority: Priority = "normal",
) -> KnownEvent:
    description = (payload.__doc__ or "").strip().splitlines()[0]
    return register_event(
        KnownEvent(
            name=name,
            version=1,
            payload=payload,
            sources=frozenset({source}),
            reliability=reliability,
            pipeline=pipeline,
            priority=priority,
            description=description,
        )
    )


# Defaults from the original where it had them (reference, seed inventory:
# saga lifecycle realtime; audit.event_drop realtime/high); the rest are ours.
FLOW_REACTOR_RETRY = _builtin("flow.reactor.retry", payloads.FlowReactorRetry, "flow", "transient")
REACTOR_SAGA_COMPLETE = _builtin("reactor.saga.complete", payloads.SagaComplete, "flow", "persistent", "realtime")
REACTOR_SAGA_FAIL = _builtin("reactor.saga.fail", payloads.SagaFail, "flow", "persistent", "realtime", "high")
REACTOR_SAGA_STUCK = _builtin("reactor.saga.stuck", payloads.SagaStuck, "flow", "persistent", "realtime", "critical")
AUDIT_EVENT_DROP = _builtin("audit.event_drop", payloads.EventDrop, "flow", "persistent", "realtime", "high")
SYSTEM_STORAGE_FAULT = _builtin(
    "system.storage.fault", payloads.StorageFault, "flow", "transient", "realtime", "critical"
)
SYSTEM_STORAGE_RECOVERED = _builtin(
    "system.storage.recovered", payloads.StorageRecovered, "flow", "transient", "realtime"
)
