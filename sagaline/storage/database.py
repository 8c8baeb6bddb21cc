"""The async face of a store's database, for domain services written as coroutines.

:class:`Database` wraps a :class:`~sagaline.storage.sqlite.SqliteFile` or a
:class:`~sagaline.storage.postgres.PgFile` (same methods):
``async with db.transaction() as conn: await conn.execute(...)``. Nothing
here suspends: every call runs ``sqlite3`` (or psycopg) inline on the calling
thread (see :mod:`sagaline.storage.sqlite` for why), so a coroutine made of these
calls completes in one step of whatever drives it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sagaline.storage.backend import StoreFile, open_store_file
from sagaline.storage.sqlite import Schema, SqliteOptions

__all__ = ["Connection", "Cursor", "Database", "open_database"]


class Cursor:
    """The result of :meth:`Connection.execute` (aiosqlite's cursor shape, without the thread)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Rowid of the last inserted row (SQLite only; None on PostgreSQL)."""
        return getattr(self._cursor, "lastrowid", None)

    async def fetchone(self) -> Any | None:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return self._cursor.fetchall()


class Connection:
    """What an open transaction yields: ``await`` -able statements that run inline.

    Domain code awaits these calls; none suspends (see the module docstring),
    so a coroutine made of them completes in one step of whatever drives it.
    """

    __slots__ = ("_file", "ledger_view")

    def __init__(self, file: StoreFile) -> None:
        self._file = file
        self.ledger_view: dict[str, tuple[str, bytes] | None] | None = None
        """The ledger rows a batch read at once, by key (None: absent), while
        :func:`~sagaline.storage.idempotency.ledger_batch` is open; None otherwise."""

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor:
        """Run one statement."""
        return Cursor(self._file.execute(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        """Run one statement per row."""
        return Cursor(self._file.executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Run one statement and return all its rows."""
        return self._file.execute(sql, params).fetchall()

    @property
    def in_transaction(self) -> bool:
        """True inside an open transaction."""
        return self._file.in_transaction

    @property
    def round_trips(self) -> bool:
        """True when each statement is a round trip to a server (PostgreSQL), False on SQLite."""
        return self._file.round_trips


class Database:
    """The async face of a :class:`SqliteFile` or ``PgFile``, for the domain services' coroutines.

    Made by :func:`open_database`. Its coroutines never suspend; use it
    from the thread that opened it.
    """

    def __init__(self, file: StoreFile) -> None:
        self.file = file
        """The synchronous connection underneath."""
        self.path = file.path
        """The database file (``:memory:`` for an in-memory database)."""
        self._conn = Connection(file)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Run a block atomically (see :meth:`SqliteFile.transaction`): a nested one is a savepoint.

        Yields:
            The connection, for ``execute`` calls.

        Raises:
            StorageError: any SQLite failure (the block's work is rolled
                back); other exceptions of the block propagate after the
                rollback.
        """
        if self.file.closed:
            raise self.file.closed_error()
        with self.file.transaction():
            yield self._conn

    @asynccontextmanager
    async def join(self) -> AsyncIterator[Connection]:
        """Be part of the transaction already open, or open one.

        Unlike a nested :meth:`transaction`, joining sets no savepoint: if
        the block raises, the enclosing transaction decides what is rolled back.

        Raises:
            StorageError: as :meth:`transaction`.
        """
        if self.file.depth:
            yield self._conn
            return
        async with self.transaction() as conn:
            yield conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Run one statement (a read, or a PRAGMA) and return its rows.

        It runs on the one connection: outside any transaction, or inside the
        one open (so it sees that transaction's writes).

        Raises:
            StorageError: the query failed in SQLite.
        """
        return self.file.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        """Like :meth:`fetchall`, returning the first row or None."""
        rows = self.file.fetchall(sql, params)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Close the connection. Idempotent."""
        self.file.close()


async def open_database(
    path: str | Path, options: SqliteOptions = SqliteOptions(), schema: Schema | None = None
) -> Database:
    """:func:`~sagaline.storage.backend.open_store_file`, with the async face (same arguments and errors)."""
    return Database(open_store_file(path, options, schema))
