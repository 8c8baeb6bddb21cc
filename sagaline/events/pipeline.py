"""Where the bus sends an event (its pipeline) and how hard it must try.

Pipeline selection, exactly as the original's taxonomy says, first match
wins::

    meta.pipeline is realtime | cross_domain | general   -> that pipeline
    name in the ai. or grid. family                      -> realtime
    meta has a target or targets (addressed to domains)  -> cross_domain
    priority high or critical                            -> realtime
    otherwise                                            -> general

Known events get their registered default into ``meta.pipeline`` when
made with :func:`~sagaline.events.envelope.new_event`, so for them the
first line decides (``user.onboarding.complete`` and ``ml.run.completed``
go cross_domain, ``ai.upm.snapshot.activated`` realtime).

Both functions expect an event that passed validation; an unknown
``meta.pipeline`` or ``meta.reliability`` value is ignored here (the
validator is what rejects it).
"""

from __future__ import annotations

from collections.abc import Callable

from sagaline.events.envelope import Event
from sagaline.events.known import known_event
from sagaline.events.taxonomy import PIPELINES, RELIABILITIES, Pipeline, Reliability, family_of

__all__ = ["select_pipeline", "reliability_of"]

# The original routed AI and grid traffic to realtime by family.
_REALTIME_FAMILIES = frozenset({"ai", "grid"})
_URGENT = frozenset({"high", "critical"})


def _declared(event: Event) -> Pipeline | None:
    pipeline = event.meta.get("pipeline")
    return pipeline if pipeline in PIPELINES else None


def _by_family(event: Event) -> Pipeline | None:
    return "realtime" if family_of(event.name) in _REALTIME_FAMILIES else None


def _targeted(event: Event) -> Pipeline | None:
    return "cross_domain" if event.meta.get("target") or event.meta.get("targets") else None


def _urgent(event: Event) -> Pipeline | None:
    return "realtime" if event.priority in _URGENT else None


_RULES: tuple[Callable[[Event], Pipeline | None], ...] = (_declared, _by_family, _targeted, _urgent)


def select_pipeline(event: Event) -> Pipeline:
    """Return the pipeline ``event`` travels on (table in the module docstring)."""
    for rule in _RULES:
        pipeline = rule(event)
        if pipeline is not None:
            return pipeline
    return "general"


def reliability_of(event: Event) -> Reliability:
    """Return how the bus must deliver ``event``.

    Returns:
        ``meta.reliability`` when it is a legal value, else the registry
        entry's for the event's name and version, else ``transient``
        (nobody promised durability for an unregistered event).
        ``persistent``: store it durably and deliver at least once;
        ``transient``: best effort.
    """
    declared = event.meta.get("reliability")
    if declared in RELIABILITIES:
        reliability: Reliability = declared
        return reliability
    entry = known_event(event.name, event.event_version)
    return entry.reliability if entry is not None else "transient"
