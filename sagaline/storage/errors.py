"""Typed storage errors, and the one function that maps SQLite's to them (PostgreSQL's:
:func:`sagaline.storage.postgres.pg_error`).

The tree::

    SagalineError (sagaline.errors)
    +-- StorageError                a database operation failed; nothing it
        |                           tried was committed. ``retryable`` says
        |                           whether the same operation may succeed:
        |                             True  disk full, I/O error, locked/busy,
        |                                   out of memory, interrupted
        |                             False cannot open, read-only, schema
        |                                   newer than the code, closed, ...
        +-- StorageCorrupt          the file is corrupt or not a SQLite
                                    database; never retryable; the message
                                    names the file

Who raises what, and what to do:

- :mod:`sagaline.storage.sqlite` raises them from every open, transaction
  and query (through :func:`storage_error`); the domain stores pass them on.
- The domain services (:mod:`sagaline.domains`) catch ``StorageError`` and
  answer the command with a ``CommandFailed`` whose ``retryable`` is the
  error's: the actor keeps running, and the saga retries the step (same
  idempotency key) or rolls back. A transient failure is never remembered
  under the idempotency key, so the retry can succeed.
- ``StorageCorrupt`` is what an operator must see: the actor may keep
  answering (every command fails, not retryable), but the file needs a
  restore from backup; retrying cannot help.

SQLite errors that are bugs in our SQL (``sqlite3.ProgrammingError``,
``InterfaceError``) are *not* mapped: they propagate unchanged, so the
actor's crash semantics apply.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sagaline.errors import SagalineError

__all__ = ["StorageError", "StorageCorrupt", "storage_error"]


class StorageError(SagalineError):
    """A database operation failed and was rolled back.

    Raised by :mod:`sagaline.storage.sqlite` (and so by every store). Read
    ``retryable`` to decide whether to try again; ``reason`` for the kind.

    Attributes:
        retryable: True when the same operation may succeed later.
        reason: Short stable kind: ``disk_full``, ``io_error``, ``locked``,
            ``no_memory``, ``interrupted``, ``corrupt``, ``not_a_database``,
            ``cant_open``, ``read_only``, ``schema_too_new``,
            ``schema_unknown``, ``closed`` or ``sqlite_error``; on
            PostgreSQL also ``connection`` (unreachable, retryable),
            ``conflict`` (a unique violation between two writers, retryable),
            ``database_error``, and ``driver_missing`` (psycopg not installed);
            ``fenced`` for a journal write refused because another host took
            over the lease (:mod:`sagaline.saga.lease`).
        path: The database file concerned.
    """

    def __init__(self, message: str, *, reason: str, path: str | Path, retryable: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.path = str(path)
        self.retryable = retryable


class StorageCorrupt(StorageError):
    """The database file is damaged or is not a SQLite database at all.

    Never retryable. Raised on open or on any later operation that reads a
    damaged page; restore the named file from a backup (or move it aside to
    start empty). Catch it apart from ``StorageError`` to alert an operator.
    """

    def __init__(self, message: str, *, reason: str, path: str | Path) -> None:
        super().__init__(message, reason=reason, path=path, retryable=False)


# Primary result codes (the low byte of an extended code): sqlite3.h.
_TRANSIENT = {
    sqlite3.SQLITE_FULL: ("disk_full", "database or disk is full"),
    sqlite3.SQLITE_IOERR: ("io_error", "disk I/O error"),
    sqlite3.SQLITE_BUSY: ("locked", "database is locked by another connection"),
    sqlite3.SQLITE_LOCKED: ("locked", "table is locked"),
    sqlite3.SQLITE_NOMEM: ("no_memory", "out of memory"),
    sqlite3.SQLITE_INTERRUPT: ("interrupted", "operation interrupted"),
    sqlite3.SQLITE_PROTOCOL: ("locked", "WAL locking protocol error"),
}
_CORRUPT = {
    sqlite3.SQLITE_CORRUPT: ("corrupt", "is corrupt"),
    sqlite3.SQLITE_NOTADB: ("not_a_database", "is not a SQLite database"),
}
_PERMANENT = {
    sqlite3.SQLITE_CANTOPEN: "cant_open",
    sqlite3.SQLITE_READONLY: "read_only",
    sqlite3.SQLITE_PERM: "read_only",
}


def storage_error(exc: sqlite3.Error, path: str | Path) -> StorageError:
    """Return the typed error for a SQLite error raised while using ``path``.

    Args:
        exc: The error SQLite raised (its ``sqlite_errorcode`` decides).
        path: The database file, named in the message.

    Returns:
        ``StorageCorrupt`` for a corrupt file or not a database; a retryable
        ``StorageError`` for disk full, I/O error, locked/busy, out of memory
        or an interrupt; a non-retryable ``StorageError`` otherwise.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _CORRUPT:
        reason, what = _CORRUPT[primary]
        return StorageCorrupt(
            f"database file {path} {what} ({exc}); restore it from a backup", reason=reason, path=path
        )
    if primary in _TRANSIENT:
        reason, what = _TRANSIENT[primary]
        return StorageError(f"{what} ({path}): {exc}", reason=reason, path=path, retryable=True)
    reason = _PERMANENT.get(primary, "sqlite_error")  # type: ignore[arg-type]
    return StorageError(f"database {path}: {exc}", reason=reason, path=path, retryable=False)
