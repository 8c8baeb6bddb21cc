"""The front door of every domain service: one command in, always one Reply out.

A service's ``handle`` is ``answer(command, {CreateUser: self._create, ...})``: the command goes to
the handler for its class; a class with no handler, and a storage failure, become a
``CommandFailed`` the saga can act on (see :func:`answer`). The effects themselves go through the
store's ledger (:mod:`sagaline.storage.idempotency`), so each applies at most once per key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sagaline.messages.base import Command, Reply
from sagaline.storage.errors import StorageError
from sagaline.storage.idempotency import failure

__all__ = ["Handler", "answer"]

#: A service's handler of one command class.
Handler = Callable[[Any], Awaitable[Reply]]


async def answer(command: Any, handlers: Mapping[type, Handler]) -> Reply:
    """Dispatch ``command`` by class to its handler; always answer with a Reply.

    The shared front door of every domain service's ``handle``.

    Returns:
        The handler's reply; ``CommandFailed(code="unsupported_command")``
        for a command class with no handler; for a
        :class:`~sagaline.storage.errors.StorageError`,
        ``CommandFailed(code="storage_unavailable", retryable=True)`` when
        transient, else ``CommandFailed(code="storage_failed")``, the
        message naming the file.

    Raises:
        TypeError: ``command`` is not a :class:`Command` (it has no headers
            to answer with): a bug in the caller.
        Exception: a bug in a handler propagates (the actor's crash
            semantics apply).
    """
    if not isinstance(command, Command):
        raise TypeError(f"expected a Command, got {type(command).__name__}")
    handler = handlers.get(type(command))
    if handler is None:
        return failure(command, "unsupported_command", f"{type(command).__name__} is not handled here")
    try:
        return await handler(command)
    except StorageError as exc:
        code = "storage_unavailable" if exc.retryable else "storage_failed"
        return failure(command, code, str(exc), retryable=exc.retryable)
