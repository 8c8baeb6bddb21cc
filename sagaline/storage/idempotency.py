"""Exactly-once effects: the idempotency ledger, and the base every domain store extends.

A command carries an idempotency key (``headers.idempotency_key``: the saga
sends correlation id + step + kind, and re-sends the *same* key after a
timeout or a crash). :func:`apply_once` makes a redelivered command
harmless. Inside ONE transaction it:

1. looks the key up in the ``idempotency`` table;
2. found, same command type: returns the stored reply (decoded), touching
   nothing else, so the duplicate gets exactly the first answer;
3. found, another command type: returns ``CommandFailed(code=
   "idempotency_key_conflict")`` and stores nothing (the caller reused a key
   for a different intent: a bug to surface, not to paper over);
4. not found: runs the effect and stores its reply under the key, then
   commits effect and record together. When the effect answers with a
   ``CommandFailed``, its writes are rolled back with the transaction, and a
   second short transaction records the failure (unless it is retryable).

What is remembered (a duplicate gets the same reply):
    a success, and a non-retryable ``CommandFailed`` (an email already
    taken stays taken for that key). The effect's writes are rolled back
    before a failure is recorded, so a failure leaves only its ledger row.
What is not (the retry starts afresh):
    a retryable ``CommandFailed`` (an SMTP server that was down) and any
    exception, a :class:`~sagaline.storage.errors.StorageError` above all:
    the whole transaction rolls back and nothing of the attempt remains.

Bounds: exactly-once holds for effects inside this database. An effect
outside it (a mail handed to an SMTP server) happens before the commit, so a
crash or a failed commit between the two lets a retry do it again: at least
once for those, at most once per committed key. Keys are kept forever (no
expiry): the table grows by one row per command. Stored replies are decoded
with today's message classes: bumping a reply class's ``VERSION`` makes old
rows undecodable (``UnsupportedVersion`` raised, the actor's crash path), so
such a change needs a migration of the ledger.

Undo before do: an undo (``DeleteUser`` and the like) that finds nothing to
undo calls :func:`forbid`, which records a refusal under the undone
command's key; that command, arriving late, is answered
``undone_before_applied`` and has no effect. So a compensation can never be
overtaken by the effect it compensates.

Batches: a domain actor applies many commands in one transaction (each
command's own transaction a savepoint in it). On PostgreSQL, where every
statement is a round trip, :func:`ledger_batch` reads the ledger rows of
all their keys in **one** SELECT inside that transaction, and
:func:`apply_once` then answers its lookups from what was read instead of
one SELECT per command. On SQLite it does nothing: there a lookup costs a
few microseconds, and the batch's ``IN (...)`` with its bookkeeping
measured slower (``bench/bench_sql_per_run.py``, SQLite and ``--postgres``). What
the batch itself writes is kept in step: a recorded reply is added once its
savepoint is released, and a key :func:`forbid` writes is dropped (looked up
again), so every answer is the one a SELECT at that moment would give. On
SQLite the writer holds the store's write lock for the whole transaction;
on PostgreSQL another daemon's writer racing for the same key makes the
insert fail with a retryable ``conflict``, as with a lookup per command.

The ledger rows, and the ``created_by_key`` column of every effect row, are
the evidence a crash test counts: at most one effect row per key.

Schema::

    idempotency(key TEXT PRIMARY KEY, command TEXT NOT NULL, ok INTEGER NOT NULL,
                reply BLOB NOT NULL, correlation_id TEXT, created_at TEXT NOT NULL)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeVar

from sagaline.messages.base import Command, Reply
from sagaline.messages.codec import decode, encode
from sagaline.messages.common import CommandFailed
from sagaline.storage.database import Connection, Database, open_database
from sagaline.storage.sqlite import Schema, SqliteOptions, iso, parse_iso

__all__ = [
    "IDEMPOTENCY_DDL",
    "LedgerEntry",
    "Effect",
    "apply_once",
    "ledger_batch",
    "forbid",
    "ledger",
    "failure",
    "StoreBase",
]

IDEMPOTENCY_DDL = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    ok INTEGER NOT NULL,
    reply BLOB NOT NULL,
    correlation_id TEXT,
    created_at TEXT NOT NULL
)"""

#: Keys per SELECT of :func:`ledger_batch` (SQLite binds at most 32,766 parameters, PostgreSQL 65,535).
_BATCH_KEYS = 500

#: The effect of one command: given the open transaction, do it and answer.
Effect = Callable[[Connection], Awaitable[Reply]]

S = TypeVar("S", bound="StoreBase")


@dataclass(frozen=True)
class LedgerEntry:
    """One remembered answer (a row of the ``idempotency`` table)."""

    key: str
    """The idempotency key."""
    command: str
    """Tag (class name) of the command that used the key."""
    ok: bool
    """False when the remembered reply is a ``CommandFailed``."""
    reply: Reply
    """The remembered reply, decoded."""
    correlation_id: str | None
    """The run the command belonged to."""
    created_at: datetime
    """When the effect was committed."""


async def apply_once(db: Database, command: Command, effect: Effect, now: datetime) -> Reply:
    """Apply ``effect`` at most once per idempotency key; answer duplicates from the ledger.

    Args:
        db: The domain's database (holding an ``idempotency`` table).
        command: The command; its ``headers.idempotency_key`` must be set.
        effect: Does the work on the transaction's connection, returns the reply.
        now: Timestamp of the ledger row.

    Returns:
        The first reply ever given for this key (a fresh one if new);
        ``CommandFailed(code="idempotency_key_missing")`` when the command
        has no key; ``CommandFailed(code="idempotency_key_conflict")`` when
        the key was used by another command type.

    Raises:
        StorageError: SQLite failed; nothing was applied or remembered.
        Exception: whatever ``effect`` raised, after rolling back.
    """
    key = command.headers.idempotency_key
    if not key:
        return failure(command, "idempotency_key_missing", f"{type(command).__name__} carries no idempotency key")
    try:
        return await _apply(db, key, command, effect, now)
    except _Undo as undo:
        failed = undo.reply
    if failed.retryable:
        return failed
    return await _apply(db, key, command, _constant(failed), now, keep_failure=True)


def _constant(reply: Reply) -> Effect:
    async def effect(conn: Connection) -> Reply:
        return reply

    return effect


async def _apply(
    db: Database, key: str, command: Command, effect: Effect, now: datetime, keep_failure: bool = False
) -> Reply:
    # The success path costs BEGIN, lookup, the effect, record, COMMIT; no savepoint
    # is set around the effect (a failing effect rolls the whole transaction back).
    # Inside a ledger_batch the lookup is answered from the batch's one SELECT.
    async with db.transaction() as conn:
        view = conn.ledger_view
        found = view[key] if view is not None and key in view else await _lookup(conn, key)
        if found is not None:
            return _replay(command, found)
        reply = await effect(conn)
        if isinstance(reply, CommandFailed) and not keep_failure:
            raise _Undo(reply)  # rolls the effect's writes back with the transaction
        row = await _record(conn, key, command, reply, now)
    if view is not None:  # the savepoint is released: the row is in the batch's transaction
        view[key] = row
    return reply


async def _lookup(conn: Connection, key: str) -> tuple[str, bytes] | None:
    rows = await conn.execute_fetchall("SELECT command, reply FROM idempotency WHERE key = ?", (key,))
    return (rows[0][0], rows[0][1]) if rows else None


@asynccontextmanager
async def ledger_batch(conn: Connection, commands: Iterable[Command], read: bool | None = None) -> AsyncIterator[None]:
    """Read the ledger rows of ``commands``' keys in one SELECT; :func:`apply_once` looks there first.

    Used by the domain actor around a batch of commands applied in one
    transaction (see the module docstring). A key not among ``commands``'
    (a service that derives a key of its own) is looked up on its own, as
    outside a batch.

    Args:
        conn: The batch's open transaction (``async with db.transaction() as conn``).
        commands: The batch's commands; those without a key are skipped.
        read: Read the rows (True), or let each command look its key up (False); None (the default):
            read them where a statement is a round trip (``conn.round_trips``: PostgreSQL).

    Raises:
        ValueError: ``conn`` is not inside a transaction (what was read could change under it).
        StorageError: the SELECT failed.
    """
    if not conn.in_transaction:
        raise ValueError("ledger_batch needs an open transaction")
    if not (conn.round_trips if read is None else read):  # SQLite: a lookup per command is cheaper
        yield
        return
    keys = list(dict.fromkeys(key for command in commands if (key := command.headers.idempotency_key)))
    view: dict[str, tuple[str, bytes] | None] = dict.fromkeys(keys)
    for start in range(0, len(keys), _BATCH_KEYS):
        chunk = keys[start : start + _BATCH_KEYS]
        rows = await conn.execute_fetchall(
            f"SELECT key, command, reply FROM idempotency WHERE key IN ({', '.join('?' * len(chunk))})", chunk
        )
        view.update((row[0], (row[1], row[2])) for row in rows)
    conn.ledger_view = view
    try:
        yield
    finally:
        conn.ledger_view = None


def _replay(command: Command, found: tuple[str, bytes]) -> Reply:
    tag, data = found
    if tag != type(command).__name__:
        return failure(
            command,
            "idempotency_key_conflict",
            f"key {command.headers.idempotency_key!r} was used by {tag}, not {type(command).__name__}",
        )
    reply = decode(data)
    assert isinstance(reply, Reply)
    return reply


class _Undo(Exception):
    """Raised inside the transaction to roll a failed effect's writes back."""

    def __init__(self, reply: CommandFailed) -> None:
        self.reply = reply


async def _record(conn: Connection, key: str, command: Command, reply: Reply, now: datetime) -> tuple[str, bytes]:
    tag, data = type(command).__name__, encode(reply)
    await conn.execute(
        "INSERT INTO idempotency (key, command, ok, reply, correlation_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (key, tag, int(not isinstance(reply, CommandFailed)), data, command.headers.correlation_id, iso(now)),
    )
    return tag, data


async def forbid(conn: Connection, undo: Command, effect_key: str, command_tag: str, now: datetime) -> None:
    """Make sure the command under ``effect_key`` can never take effect later.

    Called by an undo that found nothing to undo: the effect may still be on
    its way (a slow or re-sent command overtaken by its compensation). A
    ledger row is written for ``effect_key`` (unless one exists) answering
    ``CommandFailed(code="undone_before_applied")``, so the late command
    gets that answer instead of leaving an orphan behind.

    Args:
        conn: The undo's open transaction.
        undo: The undo command (its headers, with the key replaced, head the reply).
        effect_key: Idempotency key of the command being undone.
        command_tag: Class name of that command (``CreateUser`` for ``DeleteUser``).
        now: Timestamp of the row.
    """
    headers = undo.headers.model_copy(update={"idempotency_key": effect_key})
    refused = CommandFailed(
        headers=headers,
        code="undone_before_applied",
        message=f"{command_tag} {effect_key!r} was undone before it arrived",
    )
    await conn.execute(
        "INSERT OR IGNORE INTO idempotency (key, command, ok, reply, correlation_id, created_at) "
        "VALUES (?, ?, 0, ?, ?, ?)",
        (effect_key, command_tag, encode(refused), headers.correlation_id, iso(now)),
    )
    if conn.ledger_view is not None:  # a batch's view: look this key up again (this savepoint may roll back)
        conn.ledger_view.pop(effect_key, None)


async def ledger(db: Database, key: str | None = None) -> list[LedgerEntry]:
    """Return the ledger rows (all, or the one for ``key``), oldest first.

    Raises:
        StorageError: SQLite failed.
    """
    sql = "SELECT key, command, ok, reply, correlation_id, created_at FROM idempotency"
    rows = await (db.fetchall(sql + " ORDER BY rowid") if key is None else db.fetchall(sql + " WHERE key = ?", (key,)))
    return [
        LedgerEntry(r[0], r[1], bool(r[2]), decode(r[3]), r[4], parse_iso(r[5]))  # type: ignore[arg-type]
        for r in rows
    ]


def failure(command: Command, code: str, message: str, retryable: bool = False) -> CommandFailed:
    """Return a ``CommandFailed`` answering ``command`` (echoing its headers)."""
    return CommandFailed(headers=command.headers, code=code, message=message, retryable=retryable)


class StoreBase:
    """What every domain store shares: one database, the ledger, open/close.

    A subclass declares ``STATEMENTS`` (its DDL), ``SCHEMA_VERSION`` and
    ``EFFECT_TABLES`` (tables whose rows carry ``created_by_key``).
    """

    STATEMENTS: ClassVar[tuple[str, ...]] = ()
    SCHEMA_VERSION: ClassVar[int] = 1
    EFFECT_TABLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, db: Database) -> None:
        self.db = db
        """The open database (tests use it to read or to break things)."""

    @classmethod
    async def open(cls: type[S], path: str | Path, options: SqliteOptions = SqliteOptions()) -> S:
        """Open (creating if needed) the store's database at ``path`` and apply its schema.

        Raises:
            StorageCorrupt, StorageError: see :func:`~sagaline.storage.sqlite.open_database`.
        """
        schema = Schema(cls.SCHEMA_VERSION, (IDEMPOTENCY_DDL, *cls.STATEMENTS))
        return cls(await open_database(path, options, schema))

    async def close(self) -> None:
        """Close the database. Idempotent."""
        await self.db.close()

    async def apply_once(self, command: Command, effect: Effect, now: datetime) -> Reply:
        """:func:`apply_once` on this store's database."""
        return await apply_once(self.db, command, effect, now)

    async def ledger(self, key: str | None = None) -> list[LedgerEntry]:
        """:func:`ledger` on this store's database."""
        return await ledger(self.db, key)

    async def rows_per_key(self) -> dict[str, dict[str, int]]:
        """Count effect rows per ``created_by_key`` in each effect table.

        Returns:
            table -> {key: rows}; exactly-once means no count above 1.
        """
        counts: dict[str, dict[str, int]] = {}
        for table in self.EFFECT_TABLES:
            rows = await self.db.fetchall(f"SELECT created_by_key, COUNT(*) FROM {table} GROUP BY created_by_key")
            counts[table] = {row[0]: row[1] for row in rows}
        return counts
