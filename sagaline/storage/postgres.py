"""PostgreSQL on the caller's own thread: the same face as :class:`~sagaline.storage.sqlite.SqliteFile`.

:class:`PgFile` is one psycopg 3 connection to one store's schema, used
synchronously from the thread that opened it, exactly as a ``SqliteFile``:
``transaction()``, ``execute``, ``executemany``, ``fetchall``. The stores'
SQL is written once in SQLite's dialect and translated on the way
(:func:`~sagaline.storage.dialect.to_postgres`); rows read by index or by
column name, as ``sqlite3.Row`` s.

Why psycopg 3 (``psycopg[binary]``, pinned): measured here (bench_pg_driver,
2000 operations on loopback) it was faster than asyncpg for the shape every
store uses, a short transaction of a few statements issued from synchronous
code on the actor's thread (asyncpg needs an event loop and a hand-off per
call); asyncpg won only on 50-row batches, which psycopg's pipelined
``executemany`` (the journal's group commit) narrows. The binary extra
brings libpq with it, so nothing has to be compiled.

Settings applied on open (mapped from :class:`~sagaline.storage.sqlite.SqliteOptions`):

``synchronous = NORMAL`` -> ``synchronous_commit = off``
    As SQLite's NORMAL: a commit survives our process dying (the server
    has it), but a crash of the *server's machine* may lose the last
    fraction of a second of commits (the database stays consistent).
``synchronous = FULL`` -> ``synchronous_commit = on``
    Every commit is flushed to the server's WAL before it returns.
``busy_timeout_ms`` -> ``lock_timeout``
    How long a statement waits for another transaction's lock before
    failing with a retryable ``locked`` error.
``search_path`` = the store's schema
    One schema per store (created by the first open, with its tables).

Transactions are ``BEGIN`` ... ``COMMIT`` at PostgreSQL's default READ
COMMITTED: every store has one writer per schema (its domain actor; a run's
journal rows are written by the one host that owns it), so there is no
write-write race for a stronger level to settle. A nested transaction is a
SAVEPOINT. A connection that broke (the server restarted, or cut it) is
opened again by the next call outside a transaction; the failed operation
itself raised a retryable ``StorageError``.

Errors map by SQLSTATE class to the typed errors of
:mod:`sagaline.storage.errors`: connection failures, serialization
failures, deadlocks, lock timeouts, disk full, cancellations and unique
violations (a race of two writers; the retry sees the winner's row) are
retryable; data corruption is ``StorageCorrupt``; syntax and undefined
names (class 42, bugs in our SQL) propagate unchanged, as SQLite's
``ProgrammingError`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq

from sagaline.storage.dialect import NOCASE_DDL, to_postgres
from sagaline.storage.errors import StorageCorrupt, StorageError
from sagaline.storage.location import redacted, split_location
from sagaline.storage.schema import Schema, migration_plan
from sagaline.storage.sqlite import SqliteOptions

__all__ = ["PgFile", "PgRow", "open_pg", "pg_error"]

_CONNECT_TIMEOUT_S = 10
# SQLSTATE (or its two-character class) -> (reason, retryable); the longest match wins.
_STATES = {
    "08": ("connection", True),
    "40": ("locked", True),
    "55P03": ("locked", True),
    "53100": ("disk_full", True),
    "53": ("no_memory", True),
    "57014": ("interrupted", True),
    "57": ("connection", True),
    "58030": ("io_error", True),
    "25006": ("read_only", False),
    "42501": ("read_only", False),
    # Two writers of one store (two daemons' domain actors) may both find a key free and insert it;
    # the loser's retry finds the winner's row (a ledger entry, a taken email) and answers from it.
    "23505": ("conflict", True),
}


class PgRow:
    """A row read by position (``row[0]``), by column name (``row["saga"]``), or unpacked."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | slice | str) -> Any:
        return self._values[self._index[key]] if isinstance(key, str) else self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"PgRow{self._values!r}"

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, index)


def pg_error(exc: psycopg.Error, where: str) -> StorageError:
    """The typed error for a psycopg error raised while using ``where`` (a redacted location)."""
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("XX001") or state.startswith("XX002"):
        return StorageCorrupt(
            f"database {where} reports corrupt data ({exc}); restore it from a backup", reason="corrupt", path=where
        )
    if isinstance(exc, psycopg.OperationalError) and not state:
        return StorageError(f"database {where} is unreachable: {exc}", reason="connection", path=where, retryable=True)
    reason, retryable = _STATES.get(state) or _STATES.get(state[:2]) or ("database_error", False)
    return StorageError(f"database {where}: {exc}", reason=reason, path=where, retryable=retryable)


def _is_bug(exc: psycopg.Error) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return (state.startswith("42") and state != "42501") or isinstance(exc, psycopg.InterfaceError)


class PgFile:
    """One psycopg connection to one store's schema, used synchronously from one thread.

    Made by :func:`open_pg`. Every method maps PostgreSQL's errors to typed
    :class:`~sagaline.storage.errors.StorageError` s.
    """

    def __init__(self, location: str, options: SqliteOptions) -> None:
        self.url, self.schema = split_location(location)
        self.options = options
        self.path = redacted(location)
        """The location, password hidden (named in errors)."""
        self.depth = 0
        """Open transaction levels: 0 none, 1 a transaction, more: savepoints in it."""
        self.closed = False
        self.round_trips = True
        """Each statement costs a round trip to the server: reading many rows in one statement pays
        (:func:`~sagaline.storage.idempotency.ledger_batch`), where on SQLite it costs more than it saves."""
        self.raw: psycopg.Connection = self._connect()

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S, row_factory=_row_factory
            )
        except psycopg.Error as exc:
            raise pg_error(exc, self.path) from exc
        commit = "on" if self.options.synchronous == "FULL" else "off"
        try:
            conn.execute(f"SET synchronous_commit = {commit}")
            conn.execute(f"SET lock_timeout = {int(self.options.busy_timeout_ms)}")
            conn.execute(f'SET search_path TO "{self.schema}"')
        except psycopg.Error as exc:
            conn.close()
            raise pg_error(exc, self.path) from exc
        return conn

    @property
    def in_transaction(self) -> bool:
        """True inside an open transaction."""
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Run a block atomically: commit when it ends, roll back when it raises (nested: a SAVEPOINT).

        Raises:
            StorageError: any database failure (the block's work is rolled back).
        """
        level = self.depth
        name = f"sp{level}"
        self.control("SAVEPOINT " + name if level else "BEGIN")
        self.depth = level + 1
        try:
            yield self
        except BaseException:
            self.depth = level
            self.rollback(name if level else None)
            raise
        self.depth = level
        try:
            self.control("RELEASE SAVEPOINT " + name if level else "COMMIT")
        except BaseException:
            self.rollback(name if level else None)
            raise

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Send the block's statements without waiting for each answer: one round trip when it ends.

        For writes whose results the block does not read (their cursors'
        rows and ``rowcount`` are not ready inside it): the journal's group
        commit, whose ``executemany`` s would otherwise cost a round trip
        each. psycopg's pipeline mode; a failure surfaces at the latest when
        the block ends, as a :class:`StorageError`, and the transaction
        around it rolls back as for any failed statement.

        Raises:
            StorageError: a statement of the block failed.
        """
        try:
            with self.raw.pipeline():
                yield
        except psycopg.Error as exc:
            if _is_bug(exc):
                raise
            raise pg_error(exc, self.path) from exc

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Run one statement (SQLite's dialect, translated); return its cursor.

        Raises:
            StorageError: the database failed.
        """
        if self.closed:
            raise self.closed_error()
        if not self.depth and self.raw.closed:  # broken, or closed after a failure
            self.raw = self._connect()
        try:
            return self.raw.execute(to_postgres(sql), tuple(params))
        except psycopg.Error as exc:
            if _is_bug(exc):
                raise
            raise pg_error(exc, self.path) from exc

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Any:
        """Run one statement once per row of ``rows`` (pipelined: one round trip for the batch).

        Raises:
            StorageError: the database failed.
        """
        if self.closed:
            raise self.closed_error()
        cursor = self.raw.cursor()
        try:
            cursor.executemany(to_postgres(sql), [tuple(r) for r in rows])
        except psycopg.Error as exc:
            if _is_bug(exc):
                raise
            raise pg_error(exc, self.path) from exc
        return cursor

    def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[PgRow]:
        """Run one query and return its rows.

        Raises:
            StorageError: the query failed, or the connection is closed.
        """
        return self.execute(sql, params).fetchall()

    def statement(self, sql: str) -> None:
        """Run a statement that returns nothing (transaction control, DDL)."""
        self.execute(sql)

    def control(self, command: str) -> None:
        """Run a transaction-control command (BEGIN, COMMIT, SAVEPOINT ...) straight through libpq.

        Measured (``bench/bench_scale.py``): psycopg's cursor machinery costs
        the daemon tens of microseconds of CPU per statement; these commands,
        two of every transaction, need none of it (no parameters, no rows).
        """
        if self.closed:
            raise self.closed_error()
        if not self.depth and self.raw.closed:  # broken, or closed after a failure
            self.raw = self._connect()
        try:
            result = self.raw.pgconn.exec_(command.encode())
        except psycopg.OperationalError as exc:
            raise pg_error(exc, self.path) from exc
        if result.status == pq.ExecStatus.COMMAND_OK:
            return
        failure = psycopg.errors.error_from_result(result, encoding="utf-8")
        if self.raw.pgconn.status != pq.ConnStatus.OK:  # the server went away: reopened at the next call
            self.raw.close()
            raise StorageError(
                f"database {self.path} is unreachable: {failure}", reason="connection", path=self.path, retryable=True
            ) from failure
        raise pg_error(failure, self.path) from failure

    def rollback(self, to: str | None = None) -> None:
        """Undo the open transaction (or back to savepoint ``to``), quietly (the original error matters)."""
        try:
            if not self.in_transaction:
                return
            if to is None:
                self.raw.execute("ROLLBACK")
            else:
                self.raw.execute(f"ROLLBACK TO SAVEPOINT {to}")
                self.raw.execute(f"RELEASE SAVEPOINT {to}")
        except psycopg.Error:
            pass

    def close(self) -> None:
        """Close the connection. Idempotent."""
        if not self.closed:
            self.closed = True
            self.raw.close()

    def closed_error(self) -> StorageError:
        """The error for a use after :meth:`close`."""
        return StorageError(f"database {self.path} is closed", reason="closed", path=self.path, retryable=False)


def open_pg(location: str, options: SqliteOptions = SqliteOptions(), schema: Schema | None = None) -> PgFile:
    """Connect to the store at ``location`` (``postgresql://...#schema``) and bring its schema up to date.

    Call it inside the process (and on the thread) that will use it.

    Raises:
        StorageError: the server is unreachable (``connection``, retryable),
            the schema is newer than the code (``schema_too_new``), or the
            migration failed.
        ValueError: ``location`` has no valid ``#schema``.
    """
    file = PgFile(location, options)
    try:
        if schema is not None:
            apply_pg_schema(file, schema)
    except BaseException:
        file.close()
        raise
    return file


def apply_pg_schema(file: PgFile, schema: Schema) -> None:
    """Create the store's PostgreSQL schema if missing and migrate it, under an advisory lock.

    Many processes open the same store at once (every saga host opens the
    journal): the transaction-scoped advisory lock on the schema's name
    makes them migrate one after another; the later ones find it done.
    """
    with file.transaction():
        file.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"sagaline:{file.schema}",))
        file.statement(f'CREATE SCHEMA IF NOT EXISTS "{file.schema}"')
        file.statement("CREATE TABLE IF NOT EXISTS sagaline_schema (version INTEGER NOT NULL) WITHOUT ROWID")
        rows = file.fetchall("SELECT version FROM sagaline_schema")
        found = int(rows[0][0]) if rows else 0
        plan = migration_plan(schema, found, file.path)
        if plan and found == 0:
            file.statement(NOCASE_DDL)
        for statement in plan:
            file.statement(statement)
        if found != schema.version:
            file.statement("DELETE FROM sagaline_schema")
            file.execute("INSERT INTO sagaline_schema (version) VALUES (?)", (schema.version,))
