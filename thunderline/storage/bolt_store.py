"""Bolt's database: UPM snapshots, drift, adapters, datasets, model runs, artifacts, versions.

Schema (version 1; effect rows name the idempotency key that made them)::

    snapshots(id PK, version, checksum, trained_by,
              mode CHECK IN (shadow, active, archived),
              created_at, activated_at, archived_at, created_by_key UNIQUE)
      UNIQUE INDEX one_active_snapshot ON snapshots(mode) WHERE mode = 'active'
    snapshot_changes(key PK, snapshot_id, from_mode, to_mode,      -- what an archive or
                     prev_activated_at, prev_archived_at)          -- activation changed
    drift_windows(id PK, snapshot_id, score, sample_count, window_start, window_end,
                  created_by_key UNIQUE)
    adapters(id PK, name UNIQUE, snapshot_id, previous_snapshot_id, pinned, synced_at,
             created_by_key UNIQUE)
    adapter_moves(key, adapter_id, prev_snapshot_id, prev_previous_id, prev_synced_at,
                  PRIMARY KEY (key, adapter_id))                   -- what a sync changed
    datasets(id PK, name UNIQUE, kind, path, feature_count, class_count, sample_count,
             registered_at, created_by_key)
    model_runs(id PK, dataset_id, state, reason, failure_note, requested_trials, max_params,
               search_space JSON, correlation_id, created_at, updated_at, created_by_key UNIQUE)
    run_transitions(run_id, seq, from_state, to_state, reason, at, PRIMARY KEY (run_id, seq))
    artifacts(id PK, run_id, trial_id, path, size_bytes, sha256, accuracy, param_count,
              architecture JSON, created_at, created_by_key, UNIQUE (run_id, trial_id))
    model_versions(id PK, number UNIQUE, run_id, artifact_id, metrics JSON, frontier JSON,
                   prev_run_state, created_at, created_by_key UNIQUE)

The partial unique index makes "at most one active snapshot" a fact of the
database, not a hope. ``snapshot_changes`` and ``adapter_moves`` hold the
exact fields an effect overwrote, so its undo restores them field by field.
Write methods take the open transaction's connection; reads return message
records. The DDL, column lists and row decoders are in
:mod:`thunderline.storage.bolt_rows`. Raises :class:`~sagaline.storage.errors.StorageError` on SQLite failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import thunderline.messages.bolt
import thunderline.messages.bolt_models  # noqa: F401  and its NAS replies
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, iso_or_none, parse_iso
from thunderline.messages.bolt import DriftWindow, UpmAdapter, UpmSnapshot
from thunderline.messages.bolt_models import (
    ModelArtifact,
    ModelRunRecord,
    ModelVersionRecord,
    RunTransition,
)
from thunderline.messages.bridge import TrainingDataset
from thunderline.storage import bolt_rows

__all__ = ["BoltStore"]


async def _one(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return rows[0] if rows else None


class BoltStore(StoreBase):
    """Bolt's tables; open with ``await BoltStore.open(path)``."""

    STATEMENTS = bolt_rows.DDL
    EFFECT_TABLES = ("snapshots", "drift_windows", "adapters", "model_runs", "artifacts", "model_versions")

    # -- snapshots ---------------------------------------------------------------------------

    async def insert_snapshot(self, conn: Connection, s: UpmSnapshot, key: str) -> None:
        """Insert a snapshot made under ``key``."""
        await conn.execute(
            f"INSERT INTO snapshots ({bolt_rows.SNAPSHOT_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                s.snapshot_id,
                s.version,
                s.checksum,
                s.trained_by,
                s.mode,
                iso(s.created_at),
                iso_or_none(s.activated_at),
                iso_or_none(s.archived_at),
                key,
            ),
        )

    async def snapshot(self, conn: Connection | None, snapshot_id: str) -> UpmSnapshot | None:
        """The snapshot ``snapshot_id`` (inside ``conn``'s transaction, or committed state)."""
        sql, params = f"SELECT {bolt_rows.SNAPSHOT_COLS} FROM snapshots WHERE id = ?", (snapshot_id,)
        row = await (_one(conn, sql, params) if conn else self.db.fetchone(sql, params))
        return None if row is None else bolt_rows.snapshot(row)

    async def active_snapshot(self, conn: Connection) -> UpmSnapshot | None:
        """The active snapshot, if any."""
        row = await _one(conn, f"SELECT {bolt_rows.SNAPSHOT_COLS} FROM snapshots WHERE mode = 'active'")
        return None if row is None else bolt_rows.snapshot(row)

    async def change_mode(
        self,
        conn: Connection,
        key: str,
        s: UpmSnapshot,
        to_mode: str,
        activated_at: datetime | None,
        archived_at: datetime | None,
    ) -> None:
        """Set ``s``'s mode and times, remembering under ``key`` what they were."""
        await conn.execute(
            "INSERT INTO snapshot_changes VALUES (?,?,?,?,?,?)",
            (key, s.snapshot_id, s.mode, to_mode, iso_or_none(s.activated_at), iso_or_none(s.archived_at)),
        )
        await conn.execute(
            "UPDATE snapshots SET mode = ?, activated_at = ?, archived_at = ? WHERE id = ?",
            (to_mode, iso_or_none(activated_at), iso_or_none(archived_at), s.snapshot_id),
        )

    async def revert_change(self, conn: Connection, key: str) -> str | None:
        """Put back exactly what the change made under ``key`` overwrote; return its snapshot.

        A snapshot that has moved on since (its mode is no longer the one
        the change set) is left alone: undoing would clobber a later change.
        """
        change = await _one(
            conn,
            "SELECT snapshot_id, from_mode, to_mode, prev_activated_at, prev_archived_at "
            "FROM snapshot_changes WHERE key = ?",
            (key,),
        )
        if change is None:
            return None
        await conn.execute(
            "UPDATE snapshots SET mode = ?, activated_at = ?, archived_at = ? WHERE id = ? AND mode = ?",
            (change[1], change[3], change[4], change[0], change[2]),
        )
        await conn.execute("DELETE FROM snapshot_changes WHERE key = ?", (key,))
        return change[0]

    async def snapshots(self) -> list[UpmSnapshot]:
        """Every snapshot, oldest first."""
        rows = await self.db.fetchall(f"SELECT {bolt_rows.SNAPSHOT_COLS} FROM snapshots ORDER BY created_at, id")
        return [bolt_rows.snapshot(r) for r in rows]

    # -- drift -------------------------------------------------------------------------------

    async def insert_drift(self, conn: Connection, w: DriftWindow, key: str) -> None:
        """Insert a drift window."""
        await conn.execute(
            f"INSERT INTO drift_windows ({bolt_rows.DRIFT_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?)",
            (w.window_id, w.snapshot_id, w.score, w.sample_count, iso(w.window_start), iso(w.window_end), key),
        )

    async def latest_drift(self, snapshot_id: str) -> DriftWindow | None:
        """The window of ``snapshot_id`` that ended last (ties: the last recorded)."""
        row = await self.db.fetchone(
            f"SELECT {bolt_rows.DRIFT_COLS} FROM drift_windows WHERE snapshot_id = ? "
            "ORDER BY window_end DESC, rowid DESC LIMIT 1",
            (snapshot_id,),
        )
        return None if row is None else bolt_rows.drift(row)

    # -- adapters ----------------------------------------------------------------------------

    async def insert_adapter(self, conn: Connection, a: UpmAdapter, key: str) -> None:
        """Insert an adapter."""
        await conn.execute(
            f"INSERT INTO adapters ({bolt_rows.ADAPTER_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?)",
            (
                a.adapter_id,
                a.name,
                a.snapshot_id,
                a.previous_snapshot_id,
                int(a.pinned),
                iso_or_none(a.synced_at),
                key,
            ),
        )

    async def adapter_named(self, conn: Connection, name: str) -> bool:
        """True when an adapter called ``name`` exists."""
        return await _one(conn, "SELECT 1 FROM adapters WHERE name = ?", (name,)) is not None

    async def adapters(self, conn: Connection | None = None) -> list[UpmAdapter]:
        """Every adapter, by name."""
        sql = f"SELECT {bolt_rows.ADAPTER_COLS} FROM adapters ORDER BY name"
        rows = await (conn.execute_fetchall(sql) if conn else self.db.fetchall(sql))
        return [bolt_rows.adapter(r) for r in rows]

    async def move_adapter(self, conn: Connection, key: str, a: UpmAdapter, to: str, now: datetime) -> None:
        """Point ``a`` at ``to``, remembering under ``key`` its previous fields."""
        await conn.execute(
            "INSERT INTO adapter_moves VALUES (?,?,?,?,?)",
            (key, a.adapter_id, a.snapshot_id, a.previous_snapshot_id, iso_or_none(a.synced_at)),
        )
        await conn.execute(
            "UPDATE adapters SET snapshot_id = ?, previous_snapshot_id = ?, synced_at = ? WHERE id = ?",
            (to, a.snapshot_id, iso(now), a.adapter_id),
        )

    async def restore_adapters(self, conn: Connection, key: str) -> list[str]:
        """Give every adapter moved under ``key`` back its previous fields; return their ids."""
        moves = await conn.execute_fetchall(
            "SELECT adapter_id, prev_snapshot_id, prev_previous_id, prev_synced_at "
            "FROM adapter_moves WHERE key = ? ORDER BY adapter_id",
            (key,),
        )
        for m in moves:
            await conn.execute(
                "UPDATE adapters SET snapshot_id = ?, previous_snapshot_id = ?, synced_at = ? WHERE id = ?",
                (m[1], m[2], m[3], m[0]),
            )
        await conn.execute("DELETE FROM adapter_moves WHERE key = ?", (key,))
        return [m[0] for m in moves]

    # -- datasets ----------------------------------------------------------------------------

    async def insert_dataset(self, conn: Connection, d: TrainingDataset, key: str | None) -> None:
        """Insert a dataset (``key`` None for the built-ins bolt seeds itself)."""
        await conn.execute(
            f"INSERT INTO datasets ({bolt_rows.DATASET_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                d.dataset_id,
                d.name,
                d.kind,
                d.path,
                d.feature_count,
                d.class_count,
                d.sample_count,
                iso(d.registered_at),  # type: ignore[arg-type]
                key,
            ),
        )

    async def dataset(self, id_or_name: str, conn: Connection | None = None) -> TrainingDataset | None:
        """The dataset with that id, else with that name."""
        sql = f"SELECT {bolt_rows.DATASET_COLS} FROM datasets WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1"
        params = (id_or_name, id_or_name, id_or_name)
        row = await (_one(conn, sql, params) if conn else self.db.fetchone(sql, params))
        return None if row is None else bolt_rows.dataset(row)

    async def datasets(self) -> list[TrainingDataset]:
        """Every dataset, oldest first."""
        rows = await self.db.fetchall(f"SELECT {bolt_rows.DATASET_COLS} FROM datasets ORDER BY registered_at, id")
        return [bolt_rows.dataset(r) for r in rows]

    # -- model runs --------------------------------------------------------------------------

    async def insert_run(self, conn: Connection, run: ModelRunRecord, key: str) -> None:
        """Insert a run (in its initial state) and its creation transition."""
        await conn.execute(
            f"INSERT INTO model_runs ({bolt_rows.RUN_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                run.run_id,
                run.dataset_id,
                run.state,
                run.reason,
                run.requested_trials,
                run.max_params,
                json.dumps(run.search_space, sort_keys=True),
                run.correlation_id,
                iso(run.created_at),
                iso(run.updated_at),
                key,
            ),
        )
        await self._transition_row(conn, run.run_id, None, run.state, "", run.created_at)

    async def run(self, run_id: str, conn: Connection | None = None) -> ModelRunRecord | None:
        """The run ``run_id``."""
        sql, params = f"SELECT {bolt_rows.RUN_COLS} FROM model_runs WHERE id = ?", (run_id,)
        row = await (_one(conn, sql, params) if conn else self.db.fetchone(sql, params))
        return None if row is None else bolt_rows.run(row)

    async def run_made_by(self, conn: Connection, key: str) -> ModelRunRecord | None:
        """The run created under idempotency key ``key``."""
        row = await _one(conn, f"SELECT {bolt_rows.RUN_COLS} FROM model_runs WHERE created_by_key = ?", (key,))
        return None if row is None else bolt_rows.run(row)

    async def set_run_state(
        self, conn: Connection, run: ModelRunRecord, to_state: str, reason: str, now: datetime
    ) -> None:
        """Record ``run``'s move to ``to_state`` (the caller checked it is legal)."""
        await conn.execute(
            "UPDATE model_runs SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
            (to_state, reason, iso(now), run.run_id),
        )
        await self._transition_row(conn, run.run_id, run.state, to_state, reason, now)

    async def _transition_row(
        self, conn: Connection, run_id: str, from_state: str | None, to_state: str, reason: str, at: datetime
    ) -> None:
        await conn.execute(
            "INSERT INTO run_transitions SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? "
            "FROM run_transitions WHERE run_id = ?",
            (run_id, from_state, to_state, reason, iso(at), run_id),
        )

    async def note_failure(self, conn: Connection, run_id: str, note: str) -> bool:
        """Keep ``note`` as the run's failure reason unless one is kept already."""
        cursor = await conn.execute(
            "UPDATE model_runs SET failure_note = ? WHERE id = ? AND failure_note IS NULL "
            "AND state IN ('initialized', 'running')",
            (note, run_id),
        )
        return cursor.rowcount == 1

    async def failure_note(self, conn: Connection, run_id: str) -> str | None:
        """The run's noted failure reason."""
        row = await _one(conn, "SELECT failure_note FROM model_runs WHERE id = ?", (run_id,))
        return None if row is None else row[0]

    async def runs(self, state: str | None = None) -> list[ModelRunRecord]:
        """Runs (in ``state``), oldest first."""
        where, params = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {bolt_rows.RUN_COLS} FROM model_runs {where} ORDER BY created_at, id", params
        )
        return [bolt_rows.run(r) for r in rows]

    async def transitions(self, run_id: str) -> list[RunTransition]:
        """A run's state changes, oldest first."""
        rows = await self.db.fetchall(
            "SELECT from_state, to_state, reason, at FROM run_transitions WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [RunTransition(from_state=r[0], to_state=r[1], reason=r[2], at=parse_iso(r[3])) for r in rows]

    # -- artifacts and versions --------------------------------------------------------------

    async def insert_artifact(self, conn: Connection, a: ModelArtifact, now: datetime, key: str) -> None:
        """Insert an artifact (one per run and trial)."""
        await conn.execute(
            f"INSERT INTO artifacts ({bolt_rows.ARTIFACT_COLS}, created_at, created_by_key) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                a.artifact_id,
                a.run_id,
                a.trial_id,
                a.path,
                a.size_bytes,
                a.sha256,
                a.accuracy,
                a.param_count,
                json.dumps(a.architecture, sort_keys=True),
                iso(now),
                key,
            ),
        )

    async def artifacts(self, run_id: str, conn: Connection | None = None) -> list[ModelArtifact]:
        """A run's artifacts, by trial."""
        sql, params = f"SELECT {bolt_rows.ARTIFACT_COLS} FROM artifacts WHERE run_id = ? ORDER BY trial_id", (run_id,)
        rows = await (conn.execute_fetchall(sql, params) if conn else self.db.fetchall(sql, params))
        return [bolt_rows.artifact(r) for r in rows]

    async def insert_version(self, conn: Connection, v: ModelVersionRecord, prev_state: str, key: str) -> int:
        """Insert a version, numbered after the last one; return its number."""
        row = await _one(conn, "SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions")
        await conn.execute(
            f"INSERT INTO model_versions ({bolt_rows.VERSION_COLS}, prev_run_state, created_by_key) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                v.version_id,
                row[0],
                v.run_id,
                v.artifact_id,
                json.dumps(v.metrics, sort_keys=True),
                json.dumps([p.model_dump() for p in v.frontier]),
                iso(v.created_at),
                prev_state,
                key,
            ),
        )
        return int(row[0])

    async def delete_version_by_key(self, conn: Connection, key: str) -> tuple[str, str, str] | None:
        """Delete the version made under ``key``; return (version id, run id, run state before it)."""
        row = await _one(
            conn, "DELETE FROM model_versions WHERE created_by_key = ? RETURNING id, run_id, prev_run_state", (key,)
        )
        return None if row is None else (row[0], row[1], row[2])

    async def versions(self, run_id: str | None = None) -> list[ModelVersionRecord]:
        """Model versions (of ``run_id``), by number."""
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {bolt_rows.VERSION_COLS} FROM model_versions {where} ORDER BY number", params
        )
        return [bolt_rows.version(r) for r in rows]
