"""A blocking client of the registry actor, for callers outside actors.

Each call is one ask through an :class:`~sagaline.runtime.ActorSystemHandle`
(a private endpoint, always with a timeout). Errors::

    SagalineError
    +-- RegistryRefused      the registry said no: .code is already_registered
    |                        (.holder holds the key), not_found or not_holder
    +-- runtime.AskTimeout   no answer in time (retryable)
"""

from __future__ import annotations

from typing import Any

from sagaline.errors import SagalineError
from sagaline.messages.registry import (
    AlreadyRegistered,
    Condition,
    Count,
    KeysOf,
    Lookup,
    Register,
    RegistryError,
    Select,
    Unregister,
    UpdateValue,
)

__all__ = ["RegistryClient", "RegistryRefused"]


class RegistryRefused(SagalineError):
    """The registry refused a change; nothing changed.

    Attributes:
        code: ``already_registered``, ``not_found`` or ``not_holder``.
        key: The key concerned.
        holder: For already_registered: the address holding the key.
    """

    def __init__(self, code: str, key: str, holder: Any = None) -> None:
        super().__init__(f"{code}: {key!r}" + (f" is held by {holder}" if holder is not None else ""))
        self.code, self.key, self.holder = code, key, holder


class RegistryClient:
    """Ask the registry at ``address`` through ``handle``.

    Args:
        handle: An ActorSystemHandle.
        address: The registry actor's address.
        timeout: Seconds per ask.
    """

    def __init__(self, handle: Any, address: Any, timeout: float = 5.0) -> None:
        self.handle, self.address, self.timeout = handle, address, timeout

    def _ask(self, message: Any) -> Any:
        return self.handle.ask(self.address, message, self.timeout)

    def register(self, key: str, holder: Any, value: Any = None) -> None:
        """Register ``key`` for ``holder``.

        Raises:
            RegistryRefused: code already_registered, with the holder.
        """
        reply = self._ask(Register(key=key, holder=holder, value=value))
        if isinstance(reply, AlreadyRegistered):
            raise RegistryRefused("already_registered", key, reply.holder)

    def unregister(self, key: str, holder: Any) -> bool:
        """Drop ``key`` if ``holder`` holds it; True when something was removed."""
        return bool(self._ask(Unregister(key=key, holder=holder)).removed)

    def lookup(self, key: str) -> list[tuple[Any, Any]]:
        """``[(address, value)]`` for ``key`` (empty when free; the holder may have just died)."""
        return [(e.holder, e.value) for e in self._ask(Lookup(key=key)).entries]

    def whereis(self, key: str) -> Any:
        """The holder of ``key``, or None."""
        found = self.lookup(key)
        return found[0][0] if found else None

    def select(
        self,
        key_prefix: str | None = None,
        key_pattern: str | None = None,
        where: tuple[Condition, ...] = (),
        limit: int | None = None,
    ) -> list[tuple[str, Any, Any]]:
        """``[(key, address, value)]`` of the entries passing every filter, sorted by key."""
        reply = self._ask(Select(key_prefix=key_prefix, key_pattern=key_pattern, where=where, limit=limit))
        return [(e.key, e.holder, e.value) for e in reply.entries]

    def count(self, key_prefix: str | None = None) -> int:
        """How many keys are held (starting with ``key_prefix``)."""
        return int(self._ask(Count(key_prefix=key_prefix)).count)

    def keys_of(self, holder: Any) -> list[str]:
        """The keys ``holder`` holds."""
        return list(self._ask(KeysOf(holder=holder)).keys)

    def update_value(self, key: str, value: Any, holder: Any) -> None:
        """Replace the value of ``key`` held by ``holder``.

        Raises:
            RegistryRefused: code not_found or not_holder.
        """
        reply = self._ask(UpdateValue(key=key, value=value, holder=holder))
        if isinstance(reply, RegistryError):
            raise RegistryRefused(reply.code, key)
