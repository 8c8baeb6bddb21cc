"""PURE. The registry's state: unique keys, a value per entry, indexes by
holder and by ancestor, and select conditions evaluated as data.

Holders are opaque; ``identity`` turns one into a hashable key (the actor
uses ``str`` of a Thespian address, stable within one host). The table is
used by :class:`~sagaline.registry.actor.Registry` and tested directly.
"""

from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["RegistryTable", "Entry", "matches"]

_MISSING = object()
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda a, b: a in b,
}


@dataclass(frozen=True)
class Entry:
    """One registration: ``key`` names ``holder`` (with ``value``); it dies with
    the holder or any address in ``lineage``, or at ``expires_at`` unless renewed by ``ttl_s``."""

    key: str
    holder: Any
    value: Any = None
    lineage: tuple = ()
    ttl_s: float | None = None
    expires_at: float | None = None


def matches(value: Any, path: Iterable[str], op: str, operand: Any) -> bool:
    """Evaluate one condition ``value[path...] <op> operand``; False when the path
    leads nowhere or the comparison is not possible."""
    for step in path:
        value = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            return False
    if op == "exists":
        return True
    try:
        return bool(_OPS[op](value, operand))
    except (TypeError, KeyError):
        return False


class RegistryTable:
    """Keys -> entries, with reverse indexes for exits.

    Args:
        identity: Maps a holder to a hashable key.
    """

    def __init__(self, identity: Callable[[Any], Any] = str) -> None:
        self._identity = identity
        self._entries: dict[str, Entry] = {}
        self._by_holder: dict[Any, set[str]] = {}
        self._by_ancestor: dict[Any, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        """The entry for ``key``, or None."""
        return self._entries.get(key)

    def same(self, a: Any, b: Any) -> bool:
        """True when two holders are the same actor."""
        return a is not None and b is not None and self._identity(a) == self._identity(b)

    def register(self, entry: Entry, replaces: Any = None) -> tuple[Entry | None, Entry | None]:
        """Add ``entry`` unless its key is held by someone other than ``replaces``.

        Returns:
            ``(conflict, replaced)``: the entry that blocks it (nothing was
            changed), or the predecessor's entry it took over (or None).
        """
        current = self._entries.get(entry.key)
        if current is not None and not self.same(current.holder, replaces):
            return current, None
        if current is not None:
            self._drop(current)
        self._entries[entry.key] = entry
        self._by_holder.setdefault(self._identity(entry.holder), set()).add(entry.key)
        for ancestor in entry.lineage:
            self._by_ancestor.setdefault(self._identity(ancestor), set()).add(entry.key)
        return None, current

    def unregister(self, key: str, holder: Any) -> Entry | None:
        """Remove ``key`` if ``holder`` holds it; return the removed entry."""
        current = self._entries.get(key)
        if current is None or not self.same(current.holder, holder):
            return None
        self._drop(current)
        return current

    def holder_exited(self, holder: Any) -> list[Entry]:
        """Remove every entry of ``holder`` or of its descendants; return them."""
        ident = self._identity(holder)
        keys = self._by_holder.get(ident, set()) | self._by_ancestor.get(ident, set())
        removed = [self._entries[k] for k in sorted(keys) if k in self._entries]
        for entry in removed:
            self._drop(entry)
        self._by_ancestor.pop(ident, None)
        return removed

    def update_value(self, key: str, value: Any, holder: Any) -> str | None:
        """Replace the value of ``key``; return an error code (not_found, not_holder) or None."""
        current = self._entries.get(key)
        if current is None:
            return "not_found"
        if not self.same(current.holder, holder):
            return "not_holder"
        self._entries[key] = replace(current, value=value)
        return None

    def renew(self, key: str, holder: Any, now: float) -> str | None:
        """Move ``key``'s expiry to ``now`` plus its ``ttl_s``; return an error code (not_found, not_holder)
        or None (an entry without ``ttl_s`` is left as it is)."""
        current = self._entries.get(key)
        if current is None:
            return "not_found"
        if not self.same(current.holder, holder):
            return "not_holder"
        if current.ttl_s is not None:
            self._entries[key] = replace(current, expires_at=now + current.ttl_s)
        return None

    def expire(self, now: float) -> list[Entry]:
        """Remove every entry whose expiry is ``now`` or earlier; return them, sorted by key."""
        gone = [e for _, e in sorted(self._entries.items()) if e.expires_at is not None and e.expires_at <= now]
        for entry in gone:
            self._drop(entry)
        return gone

    def next_expiry(self) -> float | None:
        """The earliest expiry of any entry, or None when none expires."""
        return min((e.expires_at for e in self._entries.values() if e.expires_at is not None), default=None)

    def keys_of(self, holder: Any) -> list[str]:
        """The keys ``holder`` holds, sorted."""
        return sorted(self._by_holder.get(self._identity(holder), set()))

    def count(self, prefix: str | None = None) -> int:
        """How many keys (starting with ``prefix``) are held."""
        if prefix is None:
            return len(self._entries)
        return sum(1 for k in self._entries if k.startswith(prefix))

    def select(
        self,
        prefix: str | None = None,
        pattern: str | None = None,
        where: Iterable[tuple[tuple[str, ...], str, Any]] = (),
        holder: Any = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries passing every filter, sorted by key (at most ``limit``)."""
        conditions = list(where)
        found = []
        for key in sorted(self._entries):
            entry = self._entries[key]
            if prefix is not None and not key.startswith(prefix):
                continue
            if pattern is not None and not fnmatch.fnmatchcase(key, pattern):
                continue
            if holder is not None and not self.same(entry.holder, holder):
                continue
            if all(matches(entry.value, path, op, operand) for path, op, operand in conditions):
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _drop(self, entry: Entry) -> None:
        del self._entries[entry.key]
        keys = self._by_holder.get(self._identity(entry.holder))
        if keys is not None:
            keys.discard(entry.key)
            if not keys:
                del self._by_holder[self._identity(entry.holder)]
        for ancestor in entry.lineage:
            self._by_ancestor.get(self._identity(ancestor), set()).discard(entry.key)
