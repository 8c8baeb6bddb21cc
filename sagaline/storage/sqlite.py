"""SQLite through aiosqlite: opening, settings, schema, transactions, typed errors.

Every store reaches SQLite through a :class:`Database` made by
:func:`open_database`; nothing outside :mod:`sagaline.storage` imports
aiosqlite. One ``Database`` is one connection, opened *inside* the process
that uses it (never carried across a fork) and used from one event loop
(the actor's :class:`~sagaline.storage.aio.AsyncRunner`).

Settings applied on open (:class:`SqliteOptions`):

``journal_mode = WAL``
    Readers (the CLI, tests) never block the writer and vice versa.
``synchronous = NORMAL`` (default) or ``FULL``
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
another one in the same task becomes a SAVEPOINT; :meth:`Database.join` joins
an open one without a savepoint. Every ``sqlite3`` error is
turned into a typed error by :func:`~sagaline.storage.errors.storage_error`.

Times are stored as ISO-8601 UTC text with microseconds (:func:`iso`), a
fixed width, so text order is time order.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Literal

import aiosqlite

from sagaline.storage.errors import StorageError, storage_error

__all__ = [
    "Clock", "Connection", "SqliteOptions", "Schema", "Database", "open_database", "utc_now",
    "read_clock", "iso", "parse_iso",
]

#: A clock: returns the current time, timezone-aware (UTC).
Clock = Callable[[], datetime]

#: The connection an open transaction yields; domain code names the type
#: through this alias so that only :mod:`sagaline.storage` imports aiosqlite.
Connection = aiosqlite.Connection

# Errors that are bugs in our own SQL or use: never mapped, they propagate.
_BUGS = (sqlite3.ProgrammingError, sqlite3.InterfaceError)


def utc_now() -> datetime:
    """The wall clock, aware, in UTC: the default :data:`Clock`."""
    return datetime.now(timezone.utc)


def read_clock(clock: Clock) -> datetime:
    """Call ``clock`` and return its time in UTC.

    Raises:
        ValueError: the clock returned a naive time (a bug in the clock).
    """
    now = clock()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the clock must return a timezone-aware time")
    return now.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    """Encode an aware time as fixed-width ISO-8601 UTC text.

    Raises:
        ValueError: ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive time cannot be stored (its zone is unknown)")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """Decode text written by :func:`iso` back into an aware UTC time."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@dataclass(frozen=True)
class SqliteOptions:
    """How a database is opened; defaults declared once, here."""

    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """NORMAL or FULL; the module docstring says what each risks."""
    busy_timeout_ms: int = 5000
    """Milliseconds a write waits for another connection's lock."""

    def __post_init__(self) -> None:
        if self.synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {self.synchronous!r}")
        if self.busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must be >= 0")


@dataclass(frozen=True)
class Schema:
    """A database's tables: idempotent DDL plus the version it stamps.

    Every statement must be safe to run again (``CREATE ... IF NOT
    EXISTS``); applying the schema to a database already at ``version``
    changes nothing.
    """

    version: int
    """Stored in ``PRAGMA user_version``; a file with a higher one is refused."""
    statements: tuple[str, ...]
    """The DDL, run in order inside one transaction."""


class Database:
    """One aiosqlite connection to one file, with transactions and typed errors.

    Made by :func:`open_database`; use it from the event loop that opened it.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        """The database file (``:memory:`` for an in-memory database)."""
        self._lock = asyncio.Lock()
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar(f"tx:{path}", default=0)
        self._closed = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a block atomically: commit when it ends, roll back when it raises.

        Nested inside another ``transaction()`` of the same task, it is a
        SAVEPOINT: an exception rolls back only the inner block (and then
        propagates). Do not start tasks inside a transaction; the
        transactions of concurrent tasks run one after another.

        Yields:
            The connection, for ``execute`` calls.

        Raises:
            StorageError: any SQLite failure (the block's work is rolled
                back); other exceptions of the block propagate after the
                rollback.
        """
        depth = self._depth.get()
        if depth:
            async with self._savepoint(depth) as conn:
                yield conn
            return
        async with self._lock:
            token = self._depth.set(1)
            try:
                async with self._outermost() as conn:
                    yield conn
            finally:
                self._depth.reset(token)

    @asynccontextmanager
    async def join(self) -> AsyncIterator[aiosqlite.Connection]:
        """Be part of the transaction this task has open, or open one.

        Unlike a nested :meth:`transaction`, joining sets no savepoint (two
        fewer round trips to SQLite's thread): if the block raises, the
        enclosing transaction decides what is rolled back.

        Raises:
            StorageError: as :meth:`transaction`.
        """
        if self._depth.get():
            with self._mapped():
                yield self._conn
            return
        async with self.transaction() as conn:
            yield conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run one statement (a read, or a PRAGMA) and return its rows.

        It runs on the one connection: outside any transaction, or inside the
        one the calling task has open (so it sees that transaction's writes).

        Raises:
            StorageError: the query failed in SQLite.
        """
        try:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        except _BUGS:
            raise
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc
        except ValueError as exc:  # aiosqlite: "no active connection"
            raise self._closed_error() from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """Like :meth:`fetchall`, returning the first row or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Close the connection (and its aiosqlite thread). Idempotent."""
        if not self._closed:
            self._closed = True
            await self._conn.close()

    @asynccontextmanager
    async def _outermost(self) -> AsyncIterator[aiosqlite.Connection]:
        with self._mapped():
            await self._conn.execute("BEGIN IMMEDIATE")
        try:
            with self._mapped():
                yield self._conn
        except BaseException:
            await self._rollback()
            raise
        try:
            with self._mapped():
                await self._conn.commit()
        except BaseException:
            await self._rollback()
            raise

    @asynccontextmanager
    async def _savepoint(self, depth: int) -> AsyncIterator[aiosqlite.Connection]:
        name = f"sp{depth}"
        token = self._depth.set(depth + 1)
        try:
            with self._mapped():
                await self._conn.execute(f"SAVEPOINT {name}")
            try:
                with self._mapped():
                    yield self._conn
            except BaseException:
                await self._rollback(to=name)
                raise
            with self._mapped():
                await self._conn.execute(f"RELEASE {name}")
        finally:
            self._depth.reset(token)

    async def _rollback(self, to: str | None = None) -> None:
        # SQLite rolls back by itself on some errors (SQLITE_FULL, say), and
        # the original error is the one worth reporting, not a failed undo.
        try:
            if not self._conn.in_transaction:
                return
            if to is None:
                await self._conn.rollback()
            else:
                await self._conn.execute(f"ROLLBACK TO {to}")
                await self._conn.execute(f"RELEASE {to}")
        except (sqlite3.Error, ValueError):
            pass

    def _mapped(self) -> "_ErrorMap":
        return _ErrorMap(self)

    def _closed_error(self) -> StorageError:
        return StorageError(f"database {self.path} is closed", reason="closed",
                            path=self.path, retryable=False)


class _ErrorMap:
    """Context manager turning sqlite3 errors raised by aiosqlite calls into typed ones."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, (_BUGS, StorageError)):
            return False
        if isinstance(exc, sqlite3.Error):
            raise storage_error(exc, self._db.path) from exc
        if isinstance(exc, ValueError) and self._db._closed:
            raise self._db._closed_error() from exc
        return False


async def open_database(
    path: str | Path, options: SqliteOptions = SqliteOptions(), schema: Schema | None = None,
) -> Database:
    """Open (creating if needed) a SQLite file with the settings above; apply a schema.

    Call it inside the process and event loop that will use the database.

    Args:
        path: The file; its directory must exist. ``":memory:"`` works
            (without WAL) for throwaway tests.
        options: synchronous level and busy timeout.
        schema: Tables to create (idempotent) and the version to stamp.

    Returns:
        The open database.

    Raises:
        StorageCorrupt: the file is corrupt or not a SQLite database.
        StorageError: it cannot be opened (``cant_open``, not retryable),
            is at a newer schema version than ``schema`` (``schema_too_new``),
            or a transient failure (locked, disk full) occurred.
    """
    name = str(path)
    connecting = aiosqlite.connect(name, isolation_level=None)
    try:
        conn = await connecting
    except sqlite3.Error as exc:
        await _worker_finished(connecting)
        raise storage_error(exc, name) from exc
    db = Database(conn, name)
    try:
        with db._mapped():
            await _configure(conn, options)
        if schema is not None:
            await apply_schema(db, schema)
    except BaseException:
        await db.close()
        raise
    return db


async def _worker_finished(connection: aiosqlite.Connection, timeout: float = 5.0) -> None:
    """Wait (keeping this loop running) until a failed connection's worker thread has ended.

    On a failed connect aiosqlite queues its stop and returns at once; its
    thread then answers on this loop. Were the loop closed first (an actor
    giving up on a bad data directory), that answer would die in the thread
    with "Event loop is closed". aiosqlite exposes no public join.
    """
    thread = getattr(connection, "_thread", None)
    deadline = time.monotonic() + timeout
    while thread is not None and thread.is_alive() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)


async def _configure(conn: aiosqlite.Connection, options: SqliteOptions) -> None:
    conn.row_factory = sqlite3.Row
    # busy_timeout first, so switching to WAL waits for a concurrent opener.
    await conn.execute(f"PRAGMA busy_timeout = {int(options.busy_timeout_ms)}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute(f"PRAGMA synchronous = {options.synchronous}")
    await conn.execute("PRAGMA foreign_keys = ON")


async def apply_schema(db: Database, schema: Schema) -> None:
    """Create ``schema``'s tables if missing and stamp its version, atomically.

    Raises:
        StorageError: the file's ``user_version`` is newer than
            ``schema.version`` (``schema_too_new``: older code must not
            write a newer layout), or SQLite failed.
    """
    async with db.transaction() as conn:
        row = await (await conn.execute("PRAGMA user_version")).fetchone()
        found = int(row[0]) if row else 0
        if found > schema.version:
            raise StorageError(
                f"database {db.path} has schema version {found}; this code knows up to "
                f"{schema.version}", reason="schema_too_new", path=db.path, retryable=False)
        for statement in schema.statements:
            await conn.execute(statement)
        if found != schema.version:
            await conn.execute(f"PRAGMA user_version = {int(schema.version)}")
