"""PURE. Messages of the registry actor (unique keys, a value per entry).

Requests -> replies: Register -> Registered | AlreadyRegistered;
Renew -> Registered | RegistryError; Unregister -> Unregistered; Lookup -> Entries; Select -> Entries;
Count -> CountResult; KeysOf -> Keys; UpdateValue -> ValueUpdated |
RegistryError; Subscribe -> Subscribed; Unsubscribe -> Unsubscribed.
HolderExited is told (no reply) by a parent when a child ended.
Subscribers receive RegistryEvent on every register and unregister.

Select conditions are data (:class:`Condition`), never code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import ActorRef, Message

__all__ = [
    "Register",
    "Registered",
    "AlreadyRegistered",
    "Renew",
    "Unregister",
    "Unregistered",
    "Lookup",
    "Entry",
    "Entries",
    "Condition",
    "Select",
    "Count",
    "CountResult",
    "KeysOf",
    "Keys",
    "UpdateValue",
    "ValueUpdated",
    "RegistryError",
    "Subscribe",
    "Subscribed",
    "Unsubscribe",
    "Unsubscribed",
    "RegistryEvent",
    "HolderExited",
    "PartitionSelect",
    "PartitionCount",
    "WhereIsRegistry",
    "RegistryAt",
]


class Register(Message):
    """Take ``key`` for ``holder`` (default: the sender)."""

    key: str
    """The unique key."""
    value: Any = None
    """Metadata stored with the entry (plain data)."""
    holder: ActorRef = None
    """The actor the key names; None means the sender."""
    lineage: tuple[ActorRef, ...] = ()
    """The holder's ancestors: the entry is removed when any of them exits."""
    replaces: ActorRef = None
    """A dead predecessor whose entry for ``key`` this registration takes over."""
    ttl_s: float | None = Field(default=None, gt=0)
    """Seconds the entry lives unless renewed (:class:`Renew`); None: until its holder exits or
    unregisters. For entries whose holder no actor of this system would report gone: a convention
    member's domains, copied into the leader's registry (:mod:`sagaline.daemon.mirror`)."""


class Registered(Message):
    """Reply to Register: the key is now held."""

    key: str
    """The key."""
    holder: ActorRef
    """Its holder."""


class AlreadyRegistered(Message):
    """Reply to Register: the key is held by another actor; nothing changed."""

    key: str
    """The key."""
    holder: ActorRef
    """The actor holding it."""


class Renew(Message):
    """Extend ``key``'s life by its ``ttl_s`` from now; only its holder (default: the sender) may.
    An entry without ``ttl_s`` is left as it is and answered :class:`Registered` too."""

    key: str
    """The key."""
    holder: ActorRef = None
    """Who must hold it; None means the sender."""


class Unregister(Message):
    """Drop ``key`` if ``holder`` (default: the sender) holds it."""

    key: str
    """The key."""
    holder: ActorRef = None
    """Who must hold it; None means the sender."""


class Unregistered(Message):
    """Reply to Unregister."""

    key: str
    """The key."""
    removed: bool
    """False when the key was not held by that holder."""


class Lookup(Message):
    """Ask who holds ``key``."""

    key: str
    """The key."""


class Entry(Message):
    """One registry entry."""

    key: str
    """The key."""
    holder: ActorRef
    """The holder's address (may have just died: callers tolerate that)."""
    value: Any = None
    """The entry's value."""


class Entries(Message):
    """Reply to Lookup (zero or one entry) and Select (sorted by key)."""

    entries: tuple[Entry, ...]
    """The matching entries."""


class Condition(Message):
    """A test on an entry's value: ``value[path...] <op> operand``."""

    path: tuple[str, ...] = ()
    """Keys leading into the value (empty: the value itself)."""
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "exists"]
    """The comparison; ``exists`` only checks the path leads somewhere."""
    operand: Any = None
    """The right-hand side (a list for ``in``)."""


class Select(Message):
    """Ask for every entry matching all the given filters."""

    key_prefix: str | None = None
    """Keep keys starting with this."""
    key_pattern: str | None = None
    """Keep keys matching this shell-style pattern (``fnmatch``)."""
    where: tuple[Condition, ...] = ()
    """Keep entries whose value passes every condition."""
    holder: ActorRef = None
    """Keep entries of this holder only."""
    limit: int | None = None
    """At most this many entries."""


class Count(Message):
    """Ask how many keys are held (optionally only those with a prefix)."""

    key_prefix: str | None = None
    """Count only keys starting with this."""


class CountResult(Message):
    """Reply to Count."""

    count: int
    """The number of keys."""


class KeysOf(Message):
    """Ask which keys ``holder`` holds."""

    holder: ActorRef
    """The actor."""


class Keys(Message):
    """Reply to KeysOf, sorted."""

    holder: ActorRef
    """The actor."""
    keys: tuple[str, ...]
    """Its keys."""


class UpdateValue(Message):
    """Replace the value of ``key``; only its holder (default: the sender) may."""

    key: str
    """The key."""
    value: Any = None
    """The new value."""
    holder: ActorRef = None
    """Who must hold it; None means the sender."""


class ValueUpdated(Message):
    """Reply to UpdateValue."""

    key: str
    """The key."""
    value: Any = None
    """The value now stored."""


class RegistryError(Message):
    """A registry request failed; nothing changed."""

    code: Literal["not_found", "not_holder"]
    """not_found: no such key; not_holder: the key is held by another actor."""
    key: str
    """The key."""


class Subscribe(Message):
    """Send RegistryEvent to ``listener`` (default: the sender) on every change."""

    listener: ActorRef = None
    """Who is told; None means the sender."""
    key_prefix: str | None = None
    """Only changes of keys starting with this."""


class Subscribed(Message):
    """Reply to Subscribe."""

    key_prefix: str | None = None
    """The prefix subscribed to."""


class Unsubscribe(Message):
    """Stop telling ``listener`` (default: the sender)."""

    listener: ActorRef = None
    """Who stops being told; None means the sender."""


class Unsubscribed(Message):
    """Reply to Unsubscribe."""

    removed: int
    """How many subscriptions were dropped."""


class RegistryEvent(Message):
    """Told to listeners when an entry appears or disappears."""

    kind: Literal["registered", "unregistered"]
    """What happened."""
    key: str
    """The key."""
    holder: ActorRef
    """The holder."""
    value: Any = None
    """The entry's value."""
    reason: Literal["request", "exit", "replaced", "expired"] = "request"
    """Why an entry went: asked, its holder (or an ancestor) exited, a successor took it over, or its
    ``ttl_s`` ran out unrenewed."""


class HolderExited(Message):
    """Told to the registry when an actor ended: drop its entries and its descendants'."""

    holder: ActorRef
    """The actor that ended."""


class PartitionSelect(Message):
    """Registry -> the actor whose partitions hold a key space (``saga:`` keys: the saga
    supervisor, whose hosts hold their runs' keys): answer ``query`` over every partition,
    merged with ``local`` (what the registry itself holds), to ``reply_to``."""

    query: Select
    """The select, as asked."""
    local: Entries
    """The registry's own answer to it."""
    reply_to: ActorRef
    """Who asked."""


class PartitionCount(Message):
    """As :class:`PartitionSelect`, for a count."""

    query: Count
    """The count, as asked."""
    local: CountResult
    """The registry's own answer to it."""
    reply_to: ActorRef
    """Who asked."""


class WhereIsRegistry(Message):
    """A member daemon -> the leader's admin door: the address of the leader's registry (to share the
    ``domain:*`` entries across the convention, :mod:`sagaline.daemon.mirror`)."""


class RegistryAt(Message):
    """The door's answer to :class:`WhereIsRegistry` (None while the daemon starts)."""

    registry: ActorRef = None
    """The registry's address."""
