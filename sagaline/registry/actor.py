"""The registry actor: unique keys naming live actors (Elixir ``Registry``, unique).

How entries die with their holder. Thespian tells only an actor's *parent*
that it exited (``ChildActorExited``, with no reason). So every
:class:`~sagaline.actors.base.BaseActor` that sees a child exit, however it
exited (normal, crash, SIGKILL of its process), tells the registry
:class:`HolderExited`; supervisors are base actors, so every supervised
actor is covered. Each entry also records the holder's *lineage* (its
ancestors, from its InitActor): when an ancestor is reported gone, the
entries of its whole subtree go too (a SIGKILLed middle supervisor takes
its children down with it; nobody is left to report them one by one).

Bounds: removal follows the exit by one message hop (the parent hears of a
SIGKILL 2-3 ms later on multiprocTCPBase), so a lookup may briefly return a
dead holder; callers must tolerate that (a send to it is a dead letter).
An actor that is not a descendant of a base actor (one created directly
with ``createActor`` from outside and never given a base-actor parent) is
removed only when it unregisters or is reported.

A restarted child takes over its predecessor's name atomically: its
InitActor carries ``replaces`` (the old address), and a Register with
``replaces`` may take a key held by that address, whatever order the
supervisor's HolderExited and the new registration arrive in.

Finding the registry: it is handed down the tree in every InitActor
(``registry`` field) by whoever started the root; callers outside actors
get its address from whoever started it (see
:class:`~sagaline.registry.client.RegistryClient`). It deliberately has no
Thespian ``globalName``: a global name silently re-creates an empty actor
after the named one died.

**Partitioned keys.** The keys of saga runs, ``saga:<correlation id>``, are
held by the saga hosts themselves (each the partition of its runs, as
Elixir's partitioned ``Registry``), so a run costs no registry round trip.
A lookup of such a key that this table does not hold is forwarded to the
actor registered as :data:`PARTITIONED` says (``sagas``), which routes it
to the run's host; a select or count whose prefix starts with ``saga:``
is answered by that actor over every host, merged with this table's part.
A select without such a prefix covers this table only.

**Entries that expire.** A registration with ``ttl_s`` is dropped (reason
``expired``) unless its holder renews it (:class:`Renew`) within that many
seconds: for holders no actor of this system would report gone, such as a
convention member's domains copied here by the member (a SIGKILLed member
renews nothing, so its entries go within ``ttl_s``). Expiry runs on a timer
at the earliest expiry, on this process's monotonic clock.

Telemetry: ``REGISTRY_REGISTER`` / ``REGISTRY_UNREGISTER`` on every change
(metadata: key, reason = request | exit | replaced | expired).
"""

from __future__ import annotations

import time
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.batch import Routed
from sagaline.messages.registry import (
    AlreadyRegistered,
    Count,
    CountResult,
    Entries,
    Entry,
    HolderExited,
    Keys,
    KeysOf,
    Lookup,
    PartitionCount,
    PartitionSelect,
    Register,
    Registered,
    RegistryError,
    RegistryEvent,
    Renew,
    Select,
    Subscribe,
    Subscribed,
    Unregister,
    Unregistered,
    Unsubscribe,
    Unsubscribed,
    UpdateValue,
    ValueUpdated,
)
from sagaline.registry import table
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["Registry", "PARTITIONED"]

#: Key prefix -> registry key of the actor whose partitions hold those keys.
PARTITIONED = {"saga:": "sagas"}
#: The timer that drops expired entries.
_EXPIRY = "expiry"


class Registry(BaseActor):
    """Holds the key table and tells subscribers about changes."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.table = table.RegistryTable(str)
        self.listeners: list[tuple[Any, str | None]] = []
        self.expiry_due = 0.0
        """When the expiry timer fires (monotonic seconds), while it is active."""

    # ----- changes ----------------------------------------------------------------------

    def receive_Register(self, message: Register, sender: Any) -> None:
        holder = message.holder if message.holder is not None else sender
        expires_at = None if message.ttl_s is None else time.monotonic() + message.ttl_s
        entry = table.Entry(message.key, holder, message.value, tuple(message.lineage), message.ttl_s, expires_at)
        conflict, replaced = self.table.register(entry, message.replaces)
        if conflict is not None:
            self.send(sender, AlreadyRegistered(key=message.key, holder=conflict.holder))
            return
        if replaced is not None:
            self._tell("unregistered", replaced, "replaced")
        self.send(sender, Registered(key=message.key, holder=holder))
        self._tell("registered", entry, "request")
        if expires_at is not None:
            self._arm_expiry()

    def receive_Renew(self, message: Renew, sender: Any) -> None:
        holder = message.holder if message.holder is not None else sender
        code = self.table.renew(message.key, holder, time.monotonic())
        self.send(
            sender,
            Registered(key=message.key, holder=holder) if code is None else RegistryError(code=code, key=message.key),
        )

    def on_timer(self, name: str, data: Any) -> None:
        if name == _EXPIRY:
            for entry in self.table.expire(time.monotonic()):
                self._tell("unregistered", entry, "expired")
            self._arm_expiry()

    def _arm_expiry(self) -> None:
        """Have the expiry timer fire at the earliest expiry (it re-arms itself when it fires)."""
        due = self.table.next_expiry()
        if due is not None and not (self.timers.active(_EXPIRY) and self.expiry_due <= due):
            self.expiry_due = due
            self.timers.start(_EXPIRY, due - time.monotonic())

    def receive_Unregister(self, message: Unregister, sender: Any) -> None:
        removed = self.table.unregister(message.key, message.holder if message.holder is not None else sender)
        self.send(sender, Unregistered(key=message.key, removed=removed is not None))
        if removed is not None:
            self._tell("unregistered", removed, "request")

    def receive_HolderExited(self, message: HolderExited, sender: Any) -> None:
        for entry in self.table.holder_exited(message.holder):
            self._tell("unregistered", entry, "exit")
        self.listeners = [(who, p) for who, p in self.listeners if not self.table.same(who, message.holder)]

    def receive_UpdateValue(self, message: UpdateValue, sender: Any) -> None:
        holder = message.holder if message.holder is not None else sender
        code = self.table.update_value(message.key, message.value, holder)
        if code is None:
            self.send(sender, ValueUpdated(key=message.key, value=message.value))
        else:
            self.send(sender, RegistryError(code=code, key=message.key))

    def on_child_exit(self, address: Any, reason: Any) -> None:
        self.receive_HolderExited(HolderExited(holder=address), None)

    # ----- queries ----------------------------------------------------------------------

    def receive_Lookup(self, message: Lookup, sender: Any) -> None:
        entry = self.table.get(message.key)
        delegate = self._partitions(message.key) if entry is None else None
        if delegate is not None:
            self.send(delegate, Routed(request=message, reply_to=sender))
        else:
            self.send(sender, Entries(entries=() if entry is None else (_wire(entry),)))

    def receive_Select(self, message: Select, sender: Any) -> None:
        where = [(tuple(c.path), c.op, c.operand) for c in message.where]
        found = self.table.select(message.key_prefix, message.key_pattern, where, message.holder, message.limit)
        self._answer(message, Entries(entries=tuple(_wire(e) for e in found)), sender)

    def receive_Count(self, message: Count, sender: Any) -> None:
        self._answer(message, CountResult(count=self.table.count(message.key_prefix)), sender)

    def _answer(self, query: Select | Count, local: Entries | CountResult, sender: Any) -> None:
        delegate = self._partitions(query.key_prefix or "")
        if delegate is not None:
            kind = PartitionSelect if isinstance(query, Select) else PartitionCount
            self.send(delegate, kind(query=query, local=local, reply_to=sender))
        else:
            self.send(sender, local)

    def _partitions(self, key: str) -> Any:
        """The actor holding the partitions of ``key``'s space, if it is partitioned and registered."""
        for prefix, holder_key in PARTITIONED.items():
            if key.startswith(prefix):
                entry = self.table.get(holder_key)
                return entry.holder if entry is not None else None
        return None

    def receive_KeysOf(self, message: KeysOf, sender: Any) -> None:
        self.send(sender, Keys(holder=message.holder, keys=tuple(self.table.keys_of(message.holder))))

    # ----- listeners --------------------------------------------------------------------

    def receive_Subscribe(self, message: Subscribe, sender: Any) -> None:
        listener = message.listener if message.listener is not None else sender
        self.listeners.append((listener, message.key_prefix))
        self.send(sender, Subscribed(key_prefix=message.key_prefix))

    def receive_Unsubscribe(self, message: Unsubscribe, sender: Any) -> None:
        listener = message.listener if message.listener is not None else sender
        kept = [(who, p) for who, p in self.listeners if not self.table.same(who, listener)]
        removed, self.listeners = len(self.listeners) - len(kept), kept
        self.send(sender, Unsubscribed(removed=removed))

    def _tell(self, kind: str, entry: table.Entry, reason: str) -> None:
        telemetry.execute(
            tn.REGISTRY_REGISTER if kind == "registered" else tn.REGISTRY_UNREGISTER,
            {"count": 1},
            {"key": entry.key, "reason": reason},
        )
        for listener, prefix in self.listeners:
            if prefix is None or entry.key.startswith(prefix):
                self.send(
                    listener,
                    RegistryEvent(kind=kind, key=entry.key, holder=entry.holder, value=entry.value, reason=reason),
                )


def _wire(entry: table.Entry) -> Entry:
    return Entry(key=entry.key, holder=entry.holder, value=entry.value)
