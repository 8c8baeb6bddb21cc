"""The journal's tables, in SQLite or PostgreSQL: runs and their events.

Written by the saga hosts (each through its own connection, inline on its
thread: on SQLite one writer at a time, its lock decides the order; on
PostgreSQL each host writes its own runs' rows), read by the saga
supervisor and by tests beside them. The SQL is written once (SQLite's
dialect, translated by :mod:`sagaline.storage.dialect` on PostgreSQL, where
the tables live in the schema ``journal``). It implements
:class:`~sagaline.saga.journal.JournalStore`. Schema, version 2::

    runs(correlation_id PK, saga, version, status, inputs BLOB, causation_id,
         started_at, updated_at, finished_at, outcome BLOB, failed_step,
         error_code, message, failed_compensations BLOB, resumed_from,
         carried BLOB, successor, last_seq)
    run_events(correlation_id, seq, at, event BLOB)   PK (correlation_id, seq)

Times are REAL seconds since the epoch (the executor's ``now``). BLOBs are
:func:`~sagaline.messages.codec.pack_value` bytes. A run is *open* while
``finished_at`` is NULL: a finish (terminal, ``halted`` or
``needs_operator``) sets it, and any later event (an operator's retry or
resume) clears it again. ``run_events`` is the source of truth (replayed
through the pure executor, which is also how a run's steps are shown);
``runs`` keeps what listing needs. Version 3 adds ``leases(resource PK,
owner, expires_at REAL, token)``: with several daemons on one journal, the
owner of each saga-host partition (:mod:`sagaline.saga.lease`); a write
with :attr:`SqliteJournal.fence` set checks the lease in its own
transaction, so a host that lost its lease writes nothing.

:meth:`SqliteJournal.write` applies a whole batch of records (many runs'
begins, appends and finishes) in **one transaction**: that is the group
commit, one commit (one fsync under ``synchronous=FULL``) per batch instead
of per step. Within it, events go in with one ``executemany`` and each
run's row is updated once for its last event (or where a finish falls
between two events), in record order (on PostgreSQL they are sent as one
pipeline: one round trip for all of them). Writes are idempotent (a known run
or ``(run, seq)`` is ignored), so a re-sent batch changes nothing.

Version 1 (before saga hosts) also kept a per-step projection, written on
every event by a trigger; version 2 drops it (a step's state comes from
replaying the events). Opening a version-1 file migrates it in place
(:data:`JOURNAL_SCHEMA`'s upgrade to 2; a PostgreSQL journal starts at 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sagaline.messages.codec import CodecError, pack_value, unpack_value
from sagaline.messages.saga import ListRuns, RunOutcome, RunsPage, RunSummary, StartSaga
from sagaline.saga.journal import Append, Begin, Entry, Finish, OpenRun, Record, RunHistory
from sagaline.saga.lease import Claim, Lease, claim
from sagaline.storage.backend import StoreFile, open_store_file
from sagaline.storage.errors import StorageError
from sagaline.storage.schema import Migration, Schema
from sagaline.storage.sqlite import SqliteOptions

__all__ = ["SqliteJournal", "JOURNAL_SCHEMA", "PRUNABLE"]

#: Statuses retention may delete; stuck, halted and needs_operator runs wait for an operator.
PRUNABLE = ("completed", "failed", "cancelled")
_SUMMARY = (
    "correlation_id, saga, status, started_at, finished_at, failed_step, error_code, message, "
    "failed_compensations, updated_at, resumed_from, successor"
)
_BEGIN = (
    "INSERT OR IGNORE INTO runs (correlation_id, saga, version, status, inputs, causation_id, started_at, "
    "updated_at, resumed_from, carried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SUCCESSOR = "UPDATE runs SET successor = ? WHERE correlation_id = ? AND successor IS NULL"
_EVENT = "INSERT OR IGNORE INTO run_events (correlation_id, seq, at, event) VALUES (?, ?, ?, ?)"
_ADVANCE = (
    "UPDATE runs SET status = ?, updated_at = ?, finished_at = NULL, last_seq = ? "
    "WHERE correlation_id = ? AND last_seq < ?"
)
_FINISH = (
    "UPDATE runs SET status = ?, updated_at = ?, finished_at = ?, outcome = ?, failed_step = ?, "
    "error_code = ?, message = ?, failed_compensations = ? WHERE correlation_id = ?"
)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
        correlation_id TEXT PRIMARY KEY,
        saga TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        inputs BLOB NOT NULL,
        causation_id TEXT,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        outcome BLOB,
        failed_step TEXT,
        error_code TEXT,
        message TEXT,
        failed_compensations BLOB,
        resumed_from TEXT,
        carried BLOB,
        successor TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_by_saga ON runs (saga, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at)",
    "CREATE INDEX IF NOT EXISTS runs_open ON runs (started_at) WHERE finished_at IS NULL",
    "CREATE INDEX IF NOT EXISTS runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS run_events (
        correlation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        event BLOB NOT NULL,
        PRIMARY KEY (correlation_id, seq)) WITHOUT ROWID""",
)
_LEASES = """CREATE TABLE IF NOT EXISTS leases (
        resource TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at REAL NOT NULL,
        token INTEGER NOT NULL) WITHOUT ROWID"""
#: Version 3. From 1 (SQLite only: it predates PostgreSQL): the per-step projection goes;
#: from 2: the leases table comes.
JOURNAL_SCHEMA = Schema(
    version=3,
    statements=(*_TABLES, _LEASES),
    upgrades=(
        Migration(
            2,
            (
                *_TABLES,
                "DROP TRIGGER IF EXISTS journal_writes_apply",
                "DROP VIEW IF EXISTS journal_writes",
                "DROP TABLE IF EXISTS run_steps",
            ),
        ),
        Migration(3, (_LEASES,)),
    ),
)
_LEASE_COLS = "resource, owner, expires_at, token"
# Compare-and-set: each write re-checks, in its WHERE, what the decision was made on.
_LEASE_ACQUIRE = f"INSERT OR IGNORE INTO leases ({_LEASE_COLS}) VALUES (?, ?, ?, ?)"
_LEASE_RENEW = "UPDATE leases SET expires_at = ? WHERE resource = ? AND owner = ? AND token = ?"
_LEASE_STEAL = (
    "UPDATE leases SET owner = ?, expires_at = ?, token = ? WHERE resource = ? AND token = ? AND expires_at <= ?"
)
# Expire a lease now, only if still held as read (owner and token) and live: a lost member's.
_LEASE_EXPIRE = "UPDATE leases SET expires_at = ? WHERE resource = ? AND owner = ? AND token = ? AND expires_at > ?"
# A no-op update: on PostgreSQL it also locks the lease row until the write commits, so a
# takeover waits for this write and its recovery then reads it.
_FENCE = "UPDATE leases SET token = token WHERE resource = ? AND owner = ? AND token = ?"


class SqliteJournal:
    """The journal on one SQLite file or PostgreSQL schema (see the module docstring)."""

    durable = True

    def __init__(self, file: StoreFile) -> None:
        self.file = file
        self.fence: Lease | None = None
        """The lease every write checks in its own transaction (None: no leases, every write goes)."""

    @classmethod
    def open(cls, location: str | Path, options: SqliteOptions = SqliteOptions()) -> SqliteJournal:
        """Open (creating, or migrating from version 1) the journal at ``location`` (a SQLite
        path or a PostgreSQL location, see :mod:`sagaline.storage.location`).

        Raises:
            StorageError: as :func:`~sagaline.storage.backend.open_store_file`.
        """
        return cls(open_store_file(location, options, JOURNAL_SCHEMA))

    def close(self) -> None:
        """Close the connection."""
        self.file.close()

    # ----- writes -------------------------------------------------------------------

    def write(self, records: Sequence[Record], now: float) -> None:
        """Apply ``records`` in order, in one transaction (the group commit).

        Raises:
            StorageError: nothing of the batch was written (disk full, I/O error, ...;
                ``fenced`` when :attr:`fence` is set and another host holds the lease now).
        """
        file = self.file
        with file.transaction():
            if self.fence is not None:
                self._check_fence(self.fence)
            with file.pipeline():  # nothing below reads a result: on PostgreSQL, one round trip
                begins = [r for r in records if isinstance(r, Begin)]
                if begins:
                    file.executemany(_BEGIN, [_begin_row(b, now) for b in begins])
                    successors = [(b.run_id, b.resumed_from) for b in begins if b.resumed_from]
                    if successors:
                        file.executemany(_SUCCESSOR, successors)
                events = [(r.run_id, r.seq, r.at, pack_value(r.event)) for r in records if isinstance(r, Append)]
                if events:
                    file.executemany(_EVENT, events)
                _in_order(file, _row_updates(records, now))

    def _check_fence(self, lease: Lease) -> None:
        if self.file.execute(_FENCE, (lease.resource, lease.owner, lease.token)).rowcount != 1:
            raise StorageError(
                f"{lease.owner} no longer holds {lease.resource} (token {lease.token}): another "
                "host took it over; this write is refused",
                reason="fenced",
                path=self.file.path,
                retryable=False,
            )

    # ----- leases -------------------------------------------------------------------

    def claim(self, resource: str, owner: str, now: float, duration: float) -> Claim:
        """Acquire, renew or take over ``resource`` for ``owner`` (see :func:`sagaline.saga.lease.claim`).

        The decision is made on the stored lease and written only if that
        lease is still as it was read (compare-and-set): a claimant that
        loses a race is answered ``refused`` with the winner's lease.

        Raises:
            StorageError: the database failed.
        """
        with self.file.transaction():
            current = self.lease(resource)
            decided = claim(current, resource, owner, now, duration)
            if decided.granted and not self._store_claim(decided, current, now):
                return Claim("refused", self.lease(resource) or decided.lease)
        return decided

    def _store_claim(self, decided: Claim, before: Lease | None, now: float) -> bool:
        new = decided.lease
        params: tuple[Any, ...]
        if decided.outcome == "acquired":
            sql, params = _LEASE_ACQUIRE, (new.resource, new.owner, new.expires_at, new.token)
        elif decided.outcome == "renewed":
            sql, params = _LEASE_RENEW, (new.expires_at, new.resource, new.owner, new.token)
        else:
            assert before is not None
            sql, params = _LEASE_STEAL, (new.owner, new.expires_at, new.token, new.resource, before.token, now)
        return self.file.execute(sql, params).rowcount == 1

    def release(self, lease: Lease) -> bool:
        """Let ``lease`` expire now (a clean stop): a standby takes it over at once, with the next token.

        Returns:
            False when the lease was no longer held as given (taken over already).
        """
        with self.file.transaction():
            return (
                self.file.execute(
                    "UPDATE leases SET expires_at = 0 WHERE resource = ? AND owner = ? AND token = ?",
                    (lease.resource, lease.owner, lease.token),
                ).rowcount
                == 1
            )

    def expire(self, leases: Sequence[Lease], now: float) -> int:
        """Let ``leases`` expire at ``now`` (a lost member's, :func:`sagaline.saga.lease.leases_of`), in one
        transaction, each only if still held as given (same owner and token) and live: a lease renewed
        meanwhile keeps its new expiry only if the owner renewed before this, and one taken over is untouched.

        Returns:
            How many leases were expired.

        Raises:
            StorageError: the database failed.
        """
        with self.file.transaction():
            return sum(
                self.file.execute(_LEASE_EXPIRE, (now, lease.resource, lease.owner, lease.token, now)).rowcount
                for lease in leases
            )

    def lease(self, resource: str) -> Lease | None:
        """The stored lease of ``resource``, if any."""
        rows = self.file.fetchall(f"SELECT {_LEASE_COLS} FROM leases WHERE resource = ?", (resource,))
        return Lease(*rows[0]) if rows else None

    def leases(self) -> list[Lease]:
        """Every stored lease, by resource (what the shell and tests look at)."""
        return [Lease(*r) for r in self.file.fetchall(f"SELECT {_LEASE_COLS} FROM leases ORDER BY resource")]

    # ----- reads --------------------------------------------------------------------

    def load(self, run_id: str) -> RunHistory | None:
        """Everything stored about one run; ``problem`` names a row that cannot be decoded."""
        rows = self.file.fetchall(
            "SELECT saga, version, inputs, causation_id, started_at, status, finished_at, outcome, "
            "resumed_from, carried FROM runs WHERE correlation_id = ?",
            (run_id,),
        )
        if not rows:
            return None
        row = rows[0]
        events = self.file.fetchall(
            "SELECT seq, at, event FROM run_events WHERE correlation_id = ? ORDER BY seq", (run_id,)
        )
        try:
            start = StartSaga(
                saga=row["saga"],
                inputs=_unpack(row["inputs"]) or {},
                correlation_id=run_id,
                causation_id=row["causation_id"],
            )
            begin = Begin(
                start,
                row["version"],
                row["started_at"],
                resumed_from=row["resumed_from"],
                carried=_unpack(row["carried"]) or {},
            )
            outcome = _outcome(row["outcome"]) if row["finished_at"] is not None else None
            entries = [Entry(e[0], e[1], _unpack(e[2])) for e in events]
        except (CodecError, ValidationError, TypeError) as exc:
            empty = StartSaga.model_construct(
                saga=row["saga"], inputs={}, correlation_id=run_id, causation_id=row["causation_id"], wait=False
            )
            return RunHistory(
                Begin(empty, row["version"], row["started_at"], resumed_from=row["resumed_from"]),
                status=row["status"],
                problem=f"corrupt journal row: {exc}"[:500],
            )
        return RunHistory(begin, entries, row["status"], outcome)

    def unfinished(self) -> list[OpenRun]:
        """Every open run, oldest first (recovery respawns them)."""
        rows = self.file.fetchall(
            "SELECT correlation_id, saga, status FROM runs WHERE finished_at IS NULL ORDER BY started_at"
        )
        return [OpenRun(r[0], r[1], r[2]) for r in rows]

    def find(self, run_id: str) -> tuple[RunSummary | None, RunOutcome | None]:
        """One run's summary and outcome (once finished)."""
        rows = self.file.fetchall(f"SELECT {_SUMMARY}, outcome FROM runs WHERE correlation_id = ?", (run_id,))
        if not rows:
            return None, None
        row = rows[0]
        try:
            outcome = _outcome(row["outcome"]) if row["finished_at"] is not None else None
        except (CodecError, ValidationError, TypeError):
            outcome = None
        return _summary(row), outcome

    def list_runs(self, query: ListRuns, now: float) -> RunsPage:
        """Runs matching ``query``, newest first, with the total before the limit."""
        where, params = _filters(query, now)
        total = self.file.fetchall(f"SELECT COUNT(*) FROM runs WHERE {where}", params)[0][0]
        rows = self.file.fetchall(
            f"SELECT {_SUMMARY} FROM runs WHERE {where} ORDER BY started_at DESC LIMIT ?", (*params, query.limit)
        )
        return RunsPage(runs=[_summary(r) for r in rows], total=total)

    def prune(self, cutoff: float, limit: int = 5000) -> int:
        """Delete up to ``limit`` runs finished (completed/failed/cancelled) before ``cutoff``.

        Returns:
            How many runs were deleted (call again while it returns ``limit``).
        """
        marks = ", ".join("?" for _ in PRUNABLE)
        with self.file.transaction():
            ids = [
                (r[0],)
                for r in self.file.fetchall(
                    f"SELECT correlation_id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? "
                    f"AND status IN ({marks}) LIMIT ?",
                    (cutoff, *PRUNABLE, limit),
                )
            ]
            for table in ("run_events", "runs"):
                self.file.executemany(f"DELETE FROM {table} WHERE correlation_id = ?", ids)
        return len(ids)

    def counts(self) -> dict[str, int]:
        """Rows per table (tests and benchmarks watch the journal's size)."""
        return {t: self.file.fetchall(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("runs", "run_events")}


# ----- helpers -------------------------------------------------------------------------------


def _begin_row(begin: Begin, now: float) -> tuple:
    start = begin.start
    return (
        start.correlation_id,
        start.saga,
        begin.version,
        begin.status,
        pack_value(start.inputs),
        start.causation_id,
        begin.started_at,
        now,
        begin.resumed_from,
        pack_value(begin.carried) if begin.carried else None,
    )


def _row_updates(records: Sequence[Record], now: float) -> list[tuple[str, tuple]]:
    """The ``runs`` row updates of a batch, in order: each run's last event (or the one before a finish
    in between), and every finish."""
    updates: list[tuple[str, tuple]] = []
    latest: dict[str, Append] = {}  # each run's last event not yet reflected in its row
    for record in records:
        if isinstance(record, Append):
            latest[record.run_id] = record
        elif isinstance(record, Finish):
            if record.run_id in latest:
                updates.append(_advance(latest.pop(record.run_id)))
            updates.append((_FINISH, _finish_row(record, now)))
    updates.extend(_advance(append) for append in latest.values())
    return updates


def _advance(append: Append) -> tuple[str, tuple]:
    return _ADVANCE, (append.status, append.at, append.seq, append.run_id, append.seq)


def _in_order(file: StoreFile, updates: list[tuple[str, tuple]]) -> None:
    """Run ``updates`` in order, each run of one statement as one ``executemany``."""
    for sql, group in groupby(updates, key=lambda update: update[0]):
        file.executemany(sql, [params for _, params in group])


def _finish_row(finish: Finish, now: float) -> tuple:
    out = finish.outcome
    error = out.error or {}
    return (
        finish.status,
        now,
        out.finished_at or now,
        pack_value(out.model_dump(mode="python")),
        out.failed_step,
        error.get("code"),
        error.get("message"),
        pack_value(list(out.failed_compensations)),
        finish.run_id,
    )


def _filters(query: ListRuns, now: float) -> tuple[str, tuple]:
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if query.status:
        clauses.append(f"status IN ({', '.join('?' for _ in query.status)})")
        params.extend(query.status)
    if query.saga is not None:
        clauses.append("saga = ?")
        params.append(query.saga)
    if query.older_than_s is not None:
        clauses.append("started_at <= ?")
        params.append(now - query.older_than_s)
    if query.newer_than_s is not None:
        clauses.append("started_at >= ?")
        params.append(now - query.newer_than_s)
    if query.id_prefix:  # a range, so the primary key's index serves it
        clauses.append("correlation_id >= ? AND correlation_id < ?")
        params.extend((query.id_prefix, query.id_prefix + "\U0010ffff"))
    if query.started_after is not None:
        clauses.append("started_at >= ?")
        params.append(query.started_after)
    if query.started_before is not None:
        clauses.append("started_at < ?")
        params.append(query.started_before)
    return " AND ".join(clauses), tuple(params)


def _summary(row: Any) -> RunSummary:
    try:
        failed = [str(s) for s in (_unpack(row["failed_compensations"]) or [])]
    except (CodecError, TypeError):
        failed = []
    return RunSummary(
        correlation_id=row["correlation_id"],
        saga=row["saga"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        failed_step=row["failed_step"],
        error_code=row["error_code"],
        message=row["message"],
        failed_compensations=failed,
        updated_at=row["updated_at"],
        resumed_from=row["resumed_from"],
        successor=row["successor"],
    )


def _unpack(blob: bytes | None) -> Any:
    return None if blob is None else unpack_value(blob)


def _outcome(blob: bytes | None) -> RunOutcome | None:
    data = _unpack(blob)
    return None if data is None else RunOutcome.model_validate(data)
