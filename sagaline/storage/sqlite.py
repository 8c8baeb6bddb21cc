"""SQLite on the caller's own thread: opening, settings, schema, transactions, typed errors.

Every store reaches SQLite through a :class:`SqliteFile` made here (the
journal inside a saga host uses it directly) or its async face
:class:`~sagaline.storage.database.Database` (for the domain services'
coroutines); no other module opens ``sqlite3`` connections. One object is one connection,
opened *inside* the process that uses it (never carried across a fork) and
used from one thread.

**No thread hand-off.** The calls run ``sqlite3`` directly on the calling
thread: an ``await conn.execute(...)`` never suspends. Measured here
(``bench/bench_cpu_breakdown.py``): a domain command used to cost three
thread hand-offs (actor thread -> asyncio loop thread -> aiosqlite worker
and back), 5.4 of the 8.75 ms of CPU of an in-process saga; a short
transaction on SQLite's C code directly costs tens of microseconds, less
than one hand-off. SQLite work is short (WAL, no fsync under NORMAL), so
blocking the actor's thread for it is right: an actor handles one message
at a time anyway.

Settings applied on open (:class:`SqliteOptions`):

``journal_mode = WAL``
    Readers (the CLI, tests, other actors) never block the writer and vice versa.
``synchronous = FULL`` (default) or ``NORMAL``
    NORMAL: a commit survives the *process* dying (a SIGKILLed actor loses
    nothing committed), but a power loss or OS crash may roll back the last
    few commits (the database stays consistent; an effect and its
    idempotency record vanish together, so a retry redoes the effect once).
    FULL: the WAL is fsynced at every commit, so commits also survive power
    loss, at the cost of one fsync per commit.
``busy_timeout``
    How long a write waits for another connection's lock before failing
    with a retryable ``locked`` :class:`~sagaline.storage.errors.StorageError`.
``foreign_keys = ON``
    Within one domain's database only; domains never reference each other.

Transactions are ``BEGIN IMMEDIATE`` (the write lock is taken up front, so
two writers never deadlock on a lock upgrade). A transaction opened inside
another one becomes a SAVEPOINT; :meth:`Database.join` joins an open one
without a savepoint. Every ``sqlite3`` error is turned into a typed error by
:func:`~sagaline.storage.errors.storage_error`; errors that are bugs in our
own SQL (``ProgrammingError``, ``InterfaceError``) propagate unchanged.

Times are stored as ISO-8601 UTC text with microseconds (:func:`iso`), a
fixed width, so text order is time order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sagaline.storage.errors import StorageError, storage_error
from sagaline.storage.schema import Schema, migration_plan

__all__ = [
    "Clock",
    "SqliteOptions",
    "Schema",
    "SqliteFile",
    "open_file",
    "apply_schema",
    "utc_now",
    "read_clock",
    "iso",
    "parse_iso",
    "iso_or_none",
    "parse_iso_or_none",
]

#: A clock: returns the current time, timezone-aware (UTC).
Clock = Callable[[], datetime]

# Errors that are bugs in our own SQL or use: never mapped, they propagate.
_BUGS = (sqlite3.ProgrammingError, sqlite3.InterfaceError)


def utc_now() -> datetime:
    """The wall clock, aware, in UTC: the default :data:`Clock`."""
    return datetime.now(UTC)


def read_clock(clock: Clock) -> datetime:
    """Call ``clock`` and return its time in UTC.

    Raises:
        ValueError: the clock returned a naive time (a bug in the clock).
    """
    now = clock()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the clock must return a timezone-aware time")
    return now.astimezone(UTC)


def iso(moment: datetime) -> str:
    """Encode an aware time as fixed-width ISO-8601 UTC text.

    Raises:
        ValueError: ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive time cannot be stored (its zone is unknown)")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """Decode text written by :func:`iso` back into an aware UTC time."""
    return datetime.fromisoformat(text).astimezone(UTC)


def iso_or_none(moment: datetime | None) -> str | None:
    """:func:`iso` for a nullable time column: None stays None."""
    return None if moment is None else iso(moment)


def parse_iso_or_none(text: str | None) -> datetime | None:
    """:func:`parse_iso` for a nullable time column: None stays None."""
    return None if text is None else parse_iso(text)


@dataclass(frozen=True)
class SqliteOptions:
    """How a database is opened; defaults declared once, here."""

    synchronous: Literal["NORMAL", "FULL"] = "FULL"
    """FULL or NORMAL; the module docstring says what each risks."""
    busy_timeout_ms: int = 5000
    """Milliseconds a write waits for another connection's lock."""

    def __post_init__(self) -> None:
        if self.synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {self.synchronous!r}")
        if self.busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must be >= 0")


class SqliteFile:
    """One ``sqlite3`` connection to one file, used synchronously from one thread.

    Made by :func:`open_file`. Every method maps SQLite's errors to typed
    :class:`~sagaline.storage.errors.StorageError` s.
    """

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.raw = conn
        """The ``sqlite3`` connection (for the async facade; prefer the methods)."""
        self.path = path
        """The database file (``:memory:`` for an in-memory database)."""
        self.depth = 0
        """Open transaction levels: 0 none, 1 a transaction, more: savepoints in it."""
        self.closed = False
        self.round_trips = False
        """Whether each statement costs a round trip to a server: not here (see ``PgFile.round_trips``)."""

    @property
    def in_transaction(self) -> bool:
        """True inside an open transaction."""
        return self.raw.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block atomically: commit when it ends, roll back when it raises.

        Nested inside another ``transaction()``, it is a SAVEPOINT: an
        exception rolls back only the inner block (and then propagates).

        Raises:
            StorageError: any SQLite failure (the block's work is rolled back).
        """
        level = self.depth
        name = f"sp{level}"
        self.statement("SAVEPOINT " + name if level else "BEGIN IMMEDIATE")
        self.depth = level + 1
        try:
            yield self.raw
        except BaseException:
            self.depth = level
            self.rollback(name if level else None)
            raise
        self.depth = level
        try:
            self.statement("RELEASE " + name if level else "COMMIT")
        except BaseException:
            self.rollback(name if level else None)
            raise

    def pipeline(self) -> AbstractContextManager[None]:
        """Writes whose results the block does not read, sent together: nothing to do on SQLite, where a
        statement costs no round trip (see ``PgFile.pipeline``)."""
        return nullcontext()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run one statement; return its cursor.

        Raises:
            StorageError: SQLite failed.
        """
        try:
            return self.raw.execute(sql, tuple(params))
        except _BUGS:
            raise
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        """Run one statement once per row of ``rows``.

        Raises:
            StorageError: SQLite failed.
        """
        try:
            return self.raw.executemany(sql, rows)
        except _BUGS:
            raise
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc

    def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run one statement (a read, or a PRAGMA) and return its rows.

        Raises:
            StorageError: the query failed in SQLite, or the file is closed.
        """
        if self.closed:
            raise self.closed_error()
        return self.execute(sql, params).fetchall()

    def statement(self, sql: str) -> None:
        """Run a statement that returns nothing (transaction control, PRAGMA set)."""
        if self.closed:
            raise self.closed_error()
        self.execute(sql)

    def rollback(self, to: str | None = None) -> None:
        """Undo the open transaction (or back to savepoint ``to``), quietly.

        SQLite rolls back by itself on some errors (SQLITE_FULL, say), and
        the original error is the one worth reporting, not a failed undo.
        """
        try:
            if not self.raw.in_transaction:
                return
            if to is None:
                self.raw.execute("ROLLBACK")
            else:
                self.raw.execute(f"ROLLBACK TO {to}")
                self.raw.execute(f"RELEASE {to}")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Close the connection. Idempotent."""
        if not self.closed:
            self.closed = True
            self.raw.close()

    def closed_error(self) -> StorageError:
        """The error for a use after :meth:`close`."""
        return StorageError(f"database {self.path} is closed", reason="closed", path=self.path, retryable=False)


def open_file(path: str | Path, options: SqliteOptions = SqliteOptions(), schema: Schema | None = None) -> SqliteFile:
    """Open (creating if needed) a SQLite file with the settings above; apply a schema.

    Call it inside the process (and on the thread) that will use the file.

    Args:
        path: The file; its directory must exist. ``":memory:"`` works
            (without WAL) for throwaway tests.
        options: synchronous level and busy timeout.
        schema: Tables to create (idempotent) and the version to stamp.

    Returns:
        The open file.

    Raises:
        StorageCorrupt: the file is corrupt or not a SQLite database.
        StorageError: it cannot be opened (``cant_open``, not retryable),
            is at a newer schema version than ``schema`` (``schema_too_new``),
            or a transient failure (locked, disk full) occurred.
    """
    name = str(path)
    try:
        conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise storage_error(exc, name) from exc
    file = SqliteFile(conn, name)
    try:
        _configure(file, options)
        if schema is not None:
            apply_schema(file, schema)
    except BaseException:
        file.close()
        raise
    return file


def _configure(file: SqliteFile, options: SqliteOptions) -> None:
    file.raw.row_factory = sqlite3.Row
    # busy_timeout first, so switching to WAL waits for a concurrent opener.
    file.statement(f"PRAGMA busy_timeout = {int(options.busy_timeout_ms)}")
    file.statement("PRAGMA journal_mode = WAL")
    file.statement(f"PRAGMA synchronous = {options.synchronous}")
    file.statement("PRAGMA foreign_keys = ON")


def apply_schema(file: SqliteFile, schema: Schema) -> None:
    """Bring ``file`` to ``schema``'s version (see :mod:`sagaline.storage.schema`), atomically.

    Raises:
        StorageError: the file's ``user_version`` is newer than
            ``schema.version`` (``schema_too_new``: older code must not
            write a newer layout), or SQLite failed.
    """
    with file.transaction():
        row = file.fetchall("PRAGMA user_version")
        found = int(row[0][0]) if row else 0
        for statement in migration_plan(schema, found, file.path):
            file.statement(statement)
        if found != schema.version:
            file.statement(f"PRAGMA user_version = {int(schema.version)}")
