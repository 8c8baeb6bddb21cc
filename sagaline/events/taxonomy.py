"""The event taxonomy as data: names, families, domains and who may say what.

Everything here is a constant, a pure predicate over strings, or the
registry of domains (written only while apps load); the validator (:mod:`sagaline.events.validator`) and the registry
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
    An event's ``source`` is a domain, never a module or class name. A
    domain may emit a name only when the name falls under one of that
    domain's categories. A name falls under a category when it equals it or
    starts with it followed by a dot: the match is by whole segments, so
    ``ml.run`` admits ``ml.run.completed`` and not ``ml.runner.started``.

    The domains are not a closed set here: the runtime registers its own
    (:data:`RUNTIME_CATEGORIES`: flow, the event bus, which also speaks for
    the saga runtime and the validator), and each app registers its domains
    and their categories when it is loaded (``App.event_domains``, see
    :mod:`sagaline.apps`; the Thunderline app's map, the original's, is in
    :mod:`thunderline.events`). :func:`register_domain` is the only writer;
    :func:`domains` and :func:`categories_by_domain` read the map the
    validator uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal, get_args

from sagaline.events.errors import EventError

__all__ = [
    "TAXONOMY_VERSION",
    "MAX_NAME_LENGTH",
    "Domain",
    "Priority",
    "Pipeline",
    "Reliability",
    "PRIORITIES",
    "PIPELINES",
    "RELIABILITIES",
    "FAMILIES",
    "RUNTIME_CATEGORIES",
    "register_domain",
    "domains",
    "categories_by_domain",
    "is_well_formed_name",
    "is_domain_name",
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

Domain = str
"""A domain that may be an event's source: a lowercase identifier registered
with :func:`register_domain` (the runtime's ``flow``, or an app's domain)."""

Priority = Literal["low", "normal", "high", "critical"]
"""How urgently an event should be handled; ``high`` and ``critical`` route to realtime."""

Pipeline = Literal["realtime", "cross_domain", "general"]
"""The bus pipeline an event travels on (see :mod:`sagaline.events.pipeline`)."""

Reliability = Literal["persistent", "transient"]
"""``persistent``: stored durably, delivered at least once; ``transient``: best effort."""

PRIORITIES: tuple[Priority, ...] = get_args(Priority)
PIPELINES: tuple[Pipeline, ...] = get_args(Pipeline)
RELIABILITIES: tuple[Reliability, ...] = get_args(Reliability)

#: First segments a name may start with: the original's reserved prefixes
#: (``cluster`` came later there), plus ``user`` (ours, see module docstring).
FAMILIES: frozenset[str] = frozenset(
    {"system", "reactor", "ui", "audit", "evt", "ml", "ai", "flow", "grid", "cluster", "user"}
)

#: The runtime's own domain and its categories (the original's flow map,
#: ``flow.reactor system ai``, plus what ours adds):
#:
#: - ``reactor.saga``: saga lifecycle events come from the saga runtime,
#:   which is orchestration, like the ``flow.reactor.*`` events it already
#:   emits (the original said bolt, because its sagas lived there).
#: - ``audit``: the validator runs on the flow bus; its ``audit.event_drop``
#:   was sent as flow in the original, which its own map then refused.
RUNTIME_CATEGORIES: Mapping[Domain, tuple[str, ...]] = MappingProxyType(
    {
        "flow": ("flow.reactor", "system", "ai", "reactor.saga", "audit"),
    }
)

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_DOMAIN_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CATEGORY_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_CATEGORIES: dict[Domain, tuple[str, ...]] = dict(RUNTIME_CATEGORIES)


def register_domain(domain: str, categories: Iterable[str]) -> None:
    """Let ``domain`` emit names under ``categories``.

    Registering a domain again with the same categories is a no-op, so an
    app loaded twice in one process is harmless. Categories are not checked
    against :data:`FAMILIES`: one that is no family can simply never match
    (the original's gate ``presence`` is such a one, kept as found).

    Raises:
        EventError: the domain is not a lowercase identifier, a category is
            not a dotted lowercase name (or there is none), or the domain is
            registered already with other categories.
    """
    wanted = tuple(categories)
    if not is_domain_name(domain):
        raise EventError(f"domain {domain!r} is not a lowercase identifier")
    bad = [c for c in wanted if not isinstance(c, str) or not _CATEGORY_RE.fullmatch(c)]
    if bad or not wanted:
        raise EventError(f"domain {domain!r}: categories {bad or list(wanted)!r} are not dotted lowercase names")
    held = _CATEGORIES.setdefault(domain, wanted)
    if held != wanted:
        raise EventError(f"domain {domain!r} is registered already with categories {list(held)}")


def domains() -> tuple[Domain, ...]:
    """Every registered domain, in registration order (the runtime's first)."""
    return tuple(_CATEGORIES)


def categories_by_domain() -> Mapping[Domain, tuple[str, ...]]:
    """A read-only view of domain -> categories: the map the validator uses."""
    return MappingProxyType(_CATEGORIES)


def is_domain_name(value: object) -> bool:
    """True when ``value`` could name a domain (a lowercase identifier, at most 64 characters)."""
    return isinstance(value, str) and _DOMAIN_RE.fullmatch(value) is not None


def is_well_formed_name(name: object) -> bool:
    """True when ``name`` is a string of two or more lowercase segments.

    Each segment matches ``[a-z][a-z0-9_]*``; the whole is at most
    :data:`MAX_NAME_LENGTH` characters. Says nothing about the family.
    """
    return isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and _NAME_RE.fullmatch(name) is not None


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
        category for category in _CATEGORIES.get(domain, ()) if name == category or name.startswith(category + ".")
    ]
    return max(matches, key=len, default=None)


def may_emit(domain: str, name: str) -> bool:
    """True when ``domain`` has a category that admits ``name``."""
    return category_for(domain, name) is not None
