"""The event taxonomy as data: names, families, domains and who may say what.

Everything here is a constant or a pure predicate over strings; the
validator (:mod:`sagaline.events.validator`) and the registry
(:mod:`sagaline.events.known`) both judge events by these, so the rules live
in exactly one place.

Names
    ``<layer>.<domain>.<category>.<action>``, written lowercase: at least
    two dot-separated segments, each matching ``[a-z][a-z0-9_]*``, at most
    :data:`MAX_NAME_LENGTH` characters. The first segment is the event's
    *family* and must be one of :data:`FAMILIES`. The original also asked
    for past-tense terminal actions; that is *not* enforced, because its own
    names (``user.onboarding.complete``, ``reactor.saga.fail``,
    ``flow.reactor.retry``) break it and no string check can tell a tense.

Families
    The original validator's "reserved prefixes" (``system reactor ui audit
    evt ml ai flow grid``, later ``cluster``) were an allow-list: a name had
    to start with one of them. Ours keeps that list and adds ``user``,
    which the original lacked although its onboarding saga emitted
    ``user.onboarding.complete`` (so that event never passed).

Domains and categories
    An event's ``source`` is a domain (:data:`DOMAINS`), never a module or
    class name. A domain may emit a name only when the name falls under one
    of that domain's categories. A name falls under a category when it
    equals it or starts with it followed by a dot: the match is by whole
    segments, so ``ml.run`` admits ``ml.run.completed`` and not
    ``ml.runner.started``.

    :data:`ORIGINAL_CATEGORIES` is the original map, unchanged.
    :data:`ADDED_CATEGORIES` is what ours adds so that every event our
    sagas emit is legal, each addition justified where it is declared.
    :data:`CATEGORIES_BY_DOMAIN` is their union and the only map the
    validator reads. One quirk of the original is kept as found: gate's
    ``presence`` category can never match, since ``presence`` is not a
    family (the original's presence events were ``system.presence.*``,
    which gate may emit through ``system``).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Literal, Mapping, get_args

__all__ = [
    "TAXONOMY_VERSION",
    "MAX_NAME_LENGTH",
    "Domain",
    "Priority",
    "Pipeline",
    "Reliability",
    "DOMAINS",
    "PRIORITIES",
    "PIPELINES",
    "RELIABILITIES",
    "FAMILIES",
    "ORIGINAL_CATEGORIES",
    "ADDED_CATEGORIES",
    "CATEGORIES_BY_DOMAIN",
    "is_well_formed_name",
    "family_of",
    "category_for",
    "may_emit",
]

#: Version of these rules; every event carries it as ``taxonomy_version``.
#: Bump it when a rule here changes so old events can be told apart.
TAXONOMY_VERSION = 1

#: Longest name accepted: a bound keeps hostile input cheap to reject, and
#: names are indexed columns in the journal.
MAX_NAME_LENGTH = 255

Domain = Literal["gate", "block", "link", "bolt", "crown", "flow", "bridge"]
"""A domain that may be an event's source (the original's seven)."""

Priority = Literal["low", "normal", "high", "critical"]
"""How urgently an event should be handled; ``high`` and ``critical`` route to realtime."""

Pipeline = Literal["realtime", "cross_domain", "general"]
"""The bus pipeline an event travels on (see :mod:`sagaline.events.pipeline`)."""

Reliability = Literal["persistent", "transient"]
"""``persistent``: stored durably, delivered at least once; ``transient``: best effort."""

DOMAINS: tuple[Domain, ...] = get_args(Domain)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
PIPELINES: tuple[Pipeline, ...] = get_args(Pipeline)
RELIABILITIES: tuple[Reliability, ...] = get_args(Reliability)

#: First segments a name may start with: the original's reserved prefixes
#: (``cluster`` came later there), plus ``user`` (ours, see module docstring).
FAMILIES: frozenset[str] = frozenset(
    {"system", "reactor", "ui", "audit", "evt", "ml", "ai", "flow", "grid", "cluster", "user"}
)

#: The original's domain -> categories map, as found (reference: "Events").
ORIGINAL_CATEGORIES: Mapping[Domain, tuple[str, ...]] = MappingProxyType({
    "gate": ("ui.command", "system", "presence"),
    "bolt": ("ml.run", "ml.trial", "system", "ai"),
    "link": ("ui.command", "system", "ai"),
    "crown": ("ai.intent", "system", "ai"),
    "block": ("system",),
    "flow": ("flow.reactor", "system", "ai"),
    "bridge": ("system", "ui.command", "ai"),
})

#: Categories ours adds, so that every event the sagas emit can pass:
#:
#: - gate ``user``: gate owns identity (it creates users and sends magic
#:   links), so the ``user.*`` lifecycle is gate's to announce; this is how
#:   ``user.onboarding.complete`` becomes legal (the registry's docstring
#:   explains why this, rather than a per-event exception).
#: - flow ``reactor.saga``: saga lifecycle events come from the saga
#:   runtime, which is orchestration, like the ``flow.reactor.*`` events it
#:   already emits (the original said bolt, because its sagas lived there).
#: - flow ``audit``: the validator runs on the flow bus; its
#:   ``audit.event_drop`` was sent as flow in the original, which its own
#:   map then refused.
ADDED_CATEGORIES: Mapping[Domain, tuple[str, ...]] = MappingProxyType({
    "gate": ("user",),
    "flow": ("reactor.saga", "audit"),
})

#: The map the validator uses: original categories, then ours.
CATEGORIES_BY_DOMAIN: Mapping[Domain, tuple[str, ...]] = MappingProxyType({
    domain: ORIGINAL_CATEGORIES[domain] + ADDED_CATEGORIES.get(domain, ())
    for domain in DOMAINS
})

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")


def is_well_formed_name(name: object) -> bool:
    """True when ``name`` is a string of two or more lowercase segments.

    Each segment matches ``[a-z][a-z0-9_]*``; the whole is at most
    :data:`MAX_NAME_LENGTH` characters. Says nothing about the family.
    """
    return (
        isinstance(name, str)
        and len(name) <= MAX_NAME_LENGTH
        and _NAME_RE.fullmatch(name) is not None
    )


def family_of(name: str) -> str:
    """Return the first segment of ``name`` (the whole string if it has no dot)."""
    return name.split(".", 1)[0]


def category_for(domain: str, name: str) -> str | None:
    """Return the category of ``domain`` that admits ``name``, if any.

    Args:
        domain: A source domain; an unknown domain admits nothing.
        name: An event name (assumed well formed).

    Returns:
        The longest matching category (``ml.run`` rather than ``ml`` if a
        domain had both), or None when ``domain`` may not emit ``name``.
    """
    matches = [
        category
        for category in CATEGORIES_BY_DOMAIN.get(domain, ())  # type: ignore[call-overload]
        if name == category or name.startswith(category + ".")
    ]
    return max(matches, key=len, default=None)


def may_emit(domain: str, name: str) -> bool:
    """True when ``domain`` has a category that admits ``name``."""
    return category_for(domain, name) is not None
