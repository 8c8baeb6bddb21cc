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
    journal_writes (a view: the write path, see below)

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
of per step. The batch is a single multi-row ``INSERT`` into the view
``journal_writes``, whose ``INSTEAD OF`` trigger applies each row in order
(insert the run or the event, advance the run's status, upsert the steps
given as JSON, record a finish): one statement is one implicit transaction,
and one round trip to SQLite's thread. (Measured on multiprocTCPBase under
load: a statement per table and an explicit BEGIN/COMMIT took ~8 ms per
commit, mostly thread hand-offs; the whole batch in one statement ~1 hop.)
Writes are idempotent (a known run or ``(run, seq)`` is ignored), so a
re-sent batch changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from sagaline.messages.codec import CodecError, pack_value, unpack_value
from sagaline.messages.journal import (JournalAppend, JournalBegin, JournalWrite, OpenRun,
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

_WRITE_COLUMNS = ("op", "correlation_id", "seq", "at", "now", "saga", "version", "status", "data", "causation_id",
                  "resumed_from", "carried", "steps", "failed_step", "error_code", "message", "failed_compensations")
_STEP_SET = ", ".join(f"{c} = excluded.{c}" for c in _STEP_COLUMNS[1:] if c != "idempotency_key")
_STEP_JSON = ", ".join(f"json_extract(value, '$.{c}')" for c in _STEP_COLUMNS)

#: The write path: rows inserted into this view are applied, in order, by its trigger.
_WRITE_VIEW = (
    f"CREATE VIEW IF NOT EXISTS journal_writes AS SELECT {', '.join(f'NULL AS {c}' for c in _WRITE_COLUMNS)} WHERE 0",
    f"""CREATE TRIGGER IF NOT EXISTS journal_writes_apply INSTEAD OF INSERT ON journal_writes BEGIN
        INSERT OR IGNORE INTO runs (correlation_id, saga, version, status, inputs, causation_id, started_at,
                                    updated_at, resumed_from, carried)
            SELECT NEW.correlation_id, NEW.saga, NEW.version, NEW.status, NEW.data, NEW.causation_id, NEW.at,
                   NEW.now, NEW.resumed_from, NEW.carried WHERE NEW.op = 'begin';
        UPDATE runs SET successor = NEW.correlation_id
            WHERE NEW.op = 'begin' AND NEW.resumed_from IS NOT NULL AND correlation_id = NEW.resumed_from
              AND successor IS NULL;
        INSERT OR IGNORE INTO run_events (correlation_id, seq, at, event)
            SELECT NEW.correlation_id, NEW.seq, NEW.at, NEW.data WHERE NEW.op = 'append';
        UPDATE runs SET status = NEW.status, updated_at = NEW.at, finished_at = NULL, last_seq = NEW.seq
            WHERE NEW.op = 'append' AND correlation_id = NEW.correlation_id AND last_seq < NEW.seq;
        INSERT INTO run_steps (correlation_id, {", ".join(_STEP_COLUMNS)})
            SELECT NEW.correlation_id, {_STEP_JSON} FROM json_each(NEW.steps) WHERE NEW.steps IS NOT NULL
            ON CONFLICT (correlation_id, step) DO UPDATE SET {_STEP_SET},
                idempotency_key = COALESCE(excluded.idempotency_key, run_steps.idempotency_key);
        UPDATE runs SET status = NEW.status, updated_at = NEW.now, finished_at = NEW.at, outcome = NEW.data,
                        failed_step = NEW.failed_step, error_code = NEW.error_code, message = NEW.message,
                        failed_compensations = NEW.failed_compensations
            WHERE NEW.op = 'finish' AND correlation_id = NEW.correlation_id;
    END""",
)
_ROW = f"({', '.join('?' for _ in _WRITE_COLUMNS)})"
#: Rows per statement: SQLite binds at most 32,766 parameters in one statement.
_MAX_ROWS = 32_766 // len(_WRITE_COLUMNS)


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
    *_WRITE_VIEW,
))

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
        if len(ops) <= _MAX_ROWS:  # one statement: its own transaction, one round trip
            await self.db.fetchall(*_insert(ops, now))
            return
        async with self.db.transaction() as conn:
            for start in range(0, len(ops), _MAX_ROWS):
                await conn.execute(*_insert(ops[start:start + _MAX_ROWS], now))

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

def _insert(ops: Sequence[JournalWrite], now: float) -> tuple[str, list]:
    """The multi-row INSERT into ``journal_writes`` for ``ops``, and its parameters."""
    sql = f"INSERT INTO journal_writes ({', '.join(_WRITE_COLUMNS)}) VALUES " + ", ".join(_ROW for _ in ops)
    return sql, [value for op in ops for value in _row(op, now)]


def _row(op: JournalWrite, now: float) -> tuple:
    """One row of ``journal_writes`` (see ``_WRITE_COLUMNS``) for a write."""
    cid = op.correlation_id
    if isinstance(op, JournalBegin):
        return ("begin", cid, None, op.started_at, now, op.saga, op.version, op.status, pack_value(op.inputs),
                op.causation_id, op.resumed_from, pack_value(op.carried) if op.carried else None, _steps(op.steps),
                None, None, None, None)
    if isinstance(op, JournalAppend):
        return ("append", cid, op.seq, op.at, now, None, None, op.status, pack_value(op.event), None, None, None,
                _steps(op.steps), None, None, None, None)
    out = op.outcome
    error = out.error or {}
    return ("finish", cid, None, out.finished_at or now, now, None, None, op.status,
            pack_value(out.model_dump(mode="python")), None, None, None, None, out.failed_step, error.get("code"),
            error.get("message"), pack_value(list(out.failed_compensations)))


def _steps(steps: Sequence[StepRecord]) -> str | None:
    return json.dumps([s.model_dump() for s in steps]) if steps else None


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
