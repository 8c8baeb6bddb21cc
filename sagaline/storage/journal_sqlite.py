"""The journal's tables in SQLite: runs, their events, and a step projection for operators.

Used by the journal actor only (:mod:`sagaline.actors.journal`), the single
writer of ``journal.sqlite``; readers (the CLI, tests) may open the file
read-only beside it (WAL). Schema, version 1::

    runs(correlation_id PK, saga, version, status, inputs BLOB, causation_id,
         started_at, updated_at, finished_at, outcome BLOB, failed_step,
         error_code, message, failed_compensations BLOB, resumed_from,
         carried BLOB, successor, last_seq)
    run_events(correlation_id, seq, at, event BLOB)   PK (correlation_id, seq)
    run_steps(correlation_id, step, status, attempt, comp_attempt,
              idempotency_key, retry_at, deadline, error_code,
              comp_error_code, started_at, finished_at) PK (correlation_id, step)

Times are REAL seconds since the epoch (the executor's ``now``). BLOBs are
:func:`~sagaline.messages.codec.pack_value` bytes. A run is *open* while
``finished_at`` is NULL: a finish (terminal, ``halted`` or
``needs_operator``) sets it, and any later event (an operator's retry or
resume) clears it again. ``run_events`` is the source of truth (replayed
through the pure executor); ``runs.status`` and ``run_steps`` are a
projection written in the same transaction, for listing and inspection.

:meth:`SqliteJournal.write` applies a whole batch of writes (many runs'
begins, appends and finishes) in **one transaction**: that is the group
commit, one commit (one fsync under ``synchronous=FULL``) per batch instead
of per step. Writes are idempotent, so a re-sent batch changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from pydantic import ValidationError

from sagaline.messages.codec import CodecError, pack_value, unpack_value
from sagaline.messages.journal import (JournalAppend, JournalBegin, JournalFinish, JournalWrite, OpenRun,
                                       RecordedEvent, RunLoaded, StepRecord)
from sagaline.messages.saga import ListRuns, RunOutcome, RunsPage, RunSummary
from sagaline.storage.sqlite import Database, Schema, SqliteOptions, open_database

__all__ = ["SqliteJournal", "JOURNAL_SCHEMA", "PRUNABLE"]

#: Statuses retention may delete; stuck, halted and needs_operator runs wait for an operator.
PRUNABLE = ("completed", "failed", "cancelled")
_STEP_COLUMNS = ("step", "status", "attempt", "comp_attempt", "idempotency_key", "retry_at", "deadline",
                 "error_code", "comp_error_code", "started_at", "finished_at")
_SUMMARY = ("correlation_id, saga, status, started_at, finished_at, failed_step, error_code, message, "
            "failed_compensations, updated_at, resumed_from, successor")

JOURNAL_SCHEMA = Schema(version=1, statements=(
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
    """CREATE TABLE IF NOT EXISTS run_steps (
        correlation_id TEXT NOT NULL,
        step TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        comp_attempt INTEGER NOT NULL,
        idempotency_key TEXT,
        retry_at REAL,
        deadline REAL,
        error_code TEXT,
        comp_error_code TEXT,
        started_at REAL,
        finished_at REAL,
        PRIMARY KEY (correlation_id, step)) WITHOUT ROWID""",
))

_INSERT_RUN = """INSERT OR IGNORE INTO runs (correlation_id, saga, version, status, inputs, causation_id,
    started_at, updated_at, resumed_from, carried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_LINK_SUCCESSOR = "UPDATE runs SET successor = ? WHERE correlation_id = ? AND successor IS NULL"
_INSERT_EVENT = "INSERT OR IGNORE INTO run_events (correlation_id, seq, at, event) VALUES (?, ?, ?, ?)"
_ADVANCE_RUN = """UPDATE runs SET status = ?, updated_at = ?, finished_at = NULL, last_seq = MAX(last_seq, ?)
    WHERE correlation_id = ? AND last_seq <= ?"""
_UPSERT_STEP = f"""INSERT INTO run_steps (correlation_id, {", ".join(_STEP_COLUMNS)})
    VALUES (?, {", ".join("?" for _ in _STEP_COLUMNS)})
    ON CONFLICT (correlation_id, step) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _STEP_COLUMNS[1:] if c != "idempotency_key")},
    idempotency_key = COALESCE(excluded.idempotency_key, run_steps.idempotency_key)"""
_FINISH_RUN = """UPDATE runs SET status = ?, updated_at = ?, finished_at = ?, outcome = ?, failed_step = ?,
    error_code = ?, message = ?, failed_compensations = ? WHERE correlation_id = ?"""


class SqliteJournal:
    """The journal on one :class:`~sagaline.storage.sqlite.Database` (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    async def open(cls, path: str | Path, options: SqliteOptions = SqliteOptions()) -> "SqliteJournal":
        """Open (creating) ``path`` with the journal's schema.

        Raises:
            StorageError: as :func:`~sagaline.storage.sqlite.open_database`.
        """
        return cls(await open_database(path, options, JOURNAL_SCHEMA))

    async def close(self) -> None:
        """Close the connection."""
        await self.db.close()

    # ----- writes -------------------------------------------------------------------

    async def write(self, ops: Sequence[JournalWrite], now: float) -> None:
        """Apply ``ops`` in order, in one transaction (the group commit).

        Raises:
            StorageError: nothing of the batch was written (disk full, I/O error, ...).
        """
        async with self.db.transaction() as conn:
            for segment in _segments(ops):
                await _write_segment(conn, segment, now)

    # ----- reads --------------------------------------------------------------------

    async def load(self, correlation_id: str) -> RunLoaded:
        """Everything stored about one run; ``problem`` names a row that cannot be decoded."""
        row = await self.db.fetchone(
            "SELECT saga, version, inputs, causation_id, started_at, status, finished_at, outcome, "
            "resumed_from, carried FROM runs WHERE correlation_id = ?", (correlation_id,))
        if row is None:
            return RunLoaded(correlation_id=correlation_id, found=False)
        events = await self.db.fetchall(
            "SELECT seq, at, event FROM run_events WHERE correlation_id = ? ORDER BY seq", (correlation_id,))
        base = {"correlation_id": correlation_id, "found": True, "saga": row["saga"],
                "version": row["version"], "causation_id": row["causation_id"],
                "started_at": row["started_at"], "status": row["status"],
                "finished": row["finished_at"] is not None, "resumed_from": row["resumed_from"]}
        try:
            return RunLoaded(**base, inputs=_unpack(row["inputs"]) or {}, carried=_unpack(row["carried"]) or {},
                             outcome=_outcome(row["outcome"]),
                             events=[RecordedEvent(seq=e[0], at=e[1], data=_unpack(e[2])) for e in events])
        except (CodecError, ValidationError, TypeError) as exc:
            return RunLoaded(**base, problem=f"corrupt journal row: {exc}"[:500])

    async def unfinished(self) -> list[OpenRun]:
        """Every open run, oldest first (recovery respawns them)."""
        rows = await self.db.fetchall(
            "SELECT correlation_id, saga, status FROM runs WHERE finished_at IS NULL ORDER BY started_at")
        return [OpenRun(correlation_id=r[0], saga=r[1], status=r[2]) for r in rows]

    async def find(self, correlation_id: str) -> tuple[RunSummary | None, RunOutcome | None, list[StepRecord]]:
        """One run's summary, outcome (once finished) and step projection."""
        row = await self.db.fetchone(f"SELECT {_SUMMARY}, outcome FROM runs WHERE correlation_id = ?",
                                     (correlation_id,))
        if row is None:
            return None, None, []
        steps = await self.db.fetchall(
            f"SELECT {', '.join(_STEP_COLUMNS)} FROM run_steps WHERE correlation_id = ? "
            "ORDER BY started_at IS NULL, started_at", (correlation_id,))
        try:
            outcome = _outcome(row["outcome"])
        except (CodecError, ValidationError, TypeError):
            outcome = None
        return _summary(row), outcome, [StepRecord(**dict(zip(_STEP_COLUMNS, s))) for s in steps]

    async def list_runs(self, query: ListRuns, now: float) -> RunsPage:
        """Runs matching ``query``, newest first, with the total before the limit."""
        where, params = _filters(query, now)
        total = (await self.db.fetchone(f"SELECT COUNT(*) FROM runs WHERE {where}", params))[0]
        rows = await self.db.fetchall(
            f"SELECT {_SUMMARY} FROM runs WHERE {where} ORDER BY started_at DESC LIMIT ?",
            (*params, query.limit))
        return RunsPage(runs=[_summary(r) for r in rows], total=total)

    async def prune(self, cutoff: float, limit: int = 5000) -> int:
        """Delete up to ``limit`` runs finished (completed/failed/cancelled) before ``cutoff``.

        Returns:
            How many runs were deleted (call again while it returns ``limit``).
        """
        marks = ", ".join("?" for _ in PRUNABLE)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"SELECT correlation_id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? "
                f"AND status IN ({marks}) LIMIT ?", (cutoff, *PRUNABLE, limit))
            ids = [(r[0],) for r in await cursor.fetchall()]
            for table in ("run_events", "run_steps", "runs"):
                await conn.executemany(f"DELETE FROM {table} WHERE correlation_id = ?", ids)
        return len(ids)

    async def counts(self) -> dict[str, int]:
        """Rows per table (tests and benchmarks watch the journal's size)."""
        return {t: (await self.db.fetchone(f"SELECT COUNT(*) FROM {t}"))[0]
                for t in ("runs", "run_events", "run_steps")}


# ----- helpers -------------------------------------------------------------------------------

def _segments(ops: Sequence[JournalWrite]) -> Iterable[list[JournalWrite]]:
    """Split a batch where executing it by statement kind (begins, appends, finishes)
    would reorder one run's writes: a begin or append after that run's finish."""
    segment: list[JournalWrite] = []
    finished: set[str] = set()
    for op in ops:
        if not isinstance(op, JournalFinish) and op.correlation_id in finished:
            yield segment
            segment, finished = [], set()
        segment.append(op)
        if isinstance(op, JournalFinish):
            finished.add(op.correlation_id)
    if segment:
        yield segment


async def _write_segment(conn: Any, ops: list[JournalWrite], now: float) -> None:
    begins = [op for op in ops if isinstance(op, JournalBegin)]
    appends = [op for op in ops if isinstance(op, JournalAppend)]
    finishes = [op for op in ops if isinstance(op, JournalFinish)]
    if begins:
        await conn.executemany(_INSERT_RUN, [
            (b.correlation_id, b.saga, b.version, b.status, pack_value(b.inputs), b.causation_id, b.started_at,
             now, b.resumed_from, pack_value(b.carried) if b.carried else None) for b in begins])
        links = [(b.correlation_id, b.resumed_from) for b in begins if b.resumed_from]
        if links:
            await conn.executemany(_LINK_SUCCESSOR, links)
    if appends:
        await conn.executemany(_INSERT_EVENT, [(a.correlation_id, a.seq, a.at, pack_value(a.event))
                                               for a in appends])
        await conn.executemany(_ADVANCE_RUN, [(a.status, a.at, a.seq, a.correlation_id, a.seq) for a in appends])
    steps = [(op.correlation_id, *(getattr(s, c) for c in _STEP_COLUMNS))
             for op in (*begins, *appends) for s in op.steps]
    if steps:
        await conn.executemany(_UPSERT_STEP, steps)
    if finishes:
        await conn.executemany(_FINISH_RUN, [_finish_row(f, now) for f in finishes])


def _finish_row(op: JournalFinish, now: float) -> tuple:
    out = op.outcome
    error = out.error or {}
    return (op.status, now, out.finished_at or now, pack_value(out.model_dump(mode="python")), out.failed_step,
            error.get("code"), error.get("message"), pack_value(list(out.failed_compensations)),
            op.correlation_id)


def _filters(query: ListRuns, now: float) -> tuple[str, tuple]:
    clauses, params = ["1 = 1"], []
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
    return " AND ".join(clauses), tuple(params)


def _summary(row: Any) -> RunSummary:
    try:
        failed = [str(s) for s in (_unpack(row["failed_compensations"]) or [])]
    except (CodecError, TypeError):
        failed = []
    return RunSummary(correlation_id=row["correlation_id"], saga=row["saga"], status=row["status"],
                      started_at=row["started_at"], finished_at=row["finished_at"],
                      failed_step=row["failed_step"], error_code=row["error_code"], message=row["message"],
                      failed_compensations=failed, updated_at=row["updated_at"],
                      resumed_from=row["resumed_from"], successor=row["successor"])


def _unpack(blob: bytes | None) -> Any:
    return None if blob is None else unpack_value(blob)


def _outcome(blob: bytes | None) -> RunOutcome | None:
    data = _unpack(blob)
    return None if data is None else RunOutcome.model_validate(data)
