"""Bolt's schema and row codecs: the DDL, each table's column list, and a decoder per table.

Each decoder turns one row, selected with the matching ``*_COLS`` list, into
its message record; :class:`thunderline.storage.bolt_store.BoltStore` runs the
statements. The tables, their invariants and their undo tables are described
in :mod:`thunderline.storage.bolt_store`. Pure: no connection here.
"""

from __future__ import annotations

import json
from typing import Any

from sagaline.storage.sqlite import parse_iso, parse_iso_or_none
from thunderline.messages.bolt import DriftWindow, UpmAdapter, UpmSnapshot
from thunderline.messages.bolt_models import (
    FrontierPoint,
    ModelArtifact,
    ModelRunRecord,
    ModelVersionRecord,
)
from thunderline.messages.bridge import TrainingDataset

__all__ = [
    "DDL",
    "SNAPSHOT_COLS",
    "ADAPTER_COLS",
    "DRIFT_COLS",
    "DATASET_COLS",
    "RUN_COLS",
    "ARTIFACT_COLS",
    "VERSION_COLS",
    "snapshot",
    "adapter",
    "drift",
    "dataset",
    "run",
    "artifact",
    "version",
]

DDL = (
    """CREATE TABLE IF NOT EXISTS snapshots (
        id TEXT PRIMARY KEY, version INTEGER NOT NULL, checksum TEXT NOT NULL, trained_by TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('shadow', 'active', 'archived')),
        created_at TEXT NOT NULL, activated_at TEXT, archived_at TEXT, created_by_key TEXT NOT NULL UNIQUE)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_active_snapshot ON snapshots (mode) WHERE mode = 'active'",
    """CREATE TABLE IF NOT EXISTS snapshot_changes (
        key TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL, from_mode TEXT NOT NULL, to_mode TEXT NOT NULL,
        prev_activated_at TEXT, prev_archived_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS drift_windows (
        id TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL, score REAL NOT NULL, sample_count INTEGER NOT NULL,
        window_start TEXT NOT NULL, window_end TEXT NOT NULL, created_by_key TEXT NOT NULL UNIQUE)""",
    "CREATE INDEX IF NOT EXISTS drift_by_snapshot ON drift_windows (snapshot_id, window_end)",
    """CREATE TABLE IF NOT EXISTS adapters (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, snapshot_id TEXT, previous_snapshot_id TEXT,
        pinned INTEGER NOT NULL, synced_at TEXT, created_by_key TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS adapter_moves (
        key TEXT NOT NULL, adapter_id TEXT NOT NULL, prev_snapshot_id TEXT, prev_previous_id TEXT,
        prev_synced_at TEXT, PRIMARY KEY (key, adapter_id))""",
    """CREATE TABLE IF NOT EXISTS datasets (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, path TEXT NOT NULL,
        feature_count INTEGER NOT NULL, class_count INTEGER NOT NULL, sample_count INTEGER NOT NULL,
        registered_at TEXT NOT NULL, created_by_key TEXT)""",
    """CREATE TABLE IF NOT EXISTS model_runs (
        id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
        failure_note TEXT, requested_trials INTEGER NOT NULL, max_params INTEGER NOT NULL,
        search_space TEXT NOT NULL, correlation_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS run_transitions (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, from_state TEXT, to_state TEXT NOT NULL,
        reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (run_id, seq))""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        id TEXT PRIMARY KEY, run_id TEXT NOT NULL, trial_id TEXT NOT NULL, path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, accuracy REAL NOT NULL,
        param_count INTEGER NOT NULL, architecture TEXT NOT NULL, created_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL, UNIQUE (run_id, trial_id))""",
    """CREATE TABLE IF NOT EXISTS model_versions (
        id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, run_id TEXT NOT NULL, artifact_id TEXT NOT NULL,
        metrics TEXT NOT NULL, frontier TEXT NOT NULL, prev_run_state TEXT NOT NULL, created_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL UNIQUE)""",
)

SNAPSHOT_COLS = "id, version, checksum, trained_by, mode, created_at, activated_at, archived_at"
ADAPTER_COLS = "id, name, snapshot_id, previous_snapshot_id, pinned, synced_at"
DRIFT_COLS = "id, snapshot_id, score, sample_count, window_start, window_end"
DATASET_COLS = "id, name, kind, path, feature_count, class_count, sample_count, registered_at"
RUN_COLS = (
    "id, dataset_id, state, reason, requested_trials, max_params, search_space, correlation_id, created_at, updated_at"
)
ARTIFACT_COLS = "id, run_id, trial_id, path, size_bytes, sha256, accuracy, param_count, architecture"
VERSION_COLS = "id, number, run_id, artifact_id, metrics, frontier, created_at"


def snapshot(r: Any) -> UpmSnapshot:
    """A ``snapshots`` row (``SNAPSHOT_COLS``) as a record."""
    return UpmSnapshot(
        snapshot_id=r[0],
        version=r[1],
        checksum=r[2],
        trained_by=r[3],
        mode=r[4],
        created_at=parse_iso(r[5]),
        activated_at=parse_iso_or_none(r[6]),
        archived_at=parse_iso_or_none(r[7]),
    )


def adapter(r: Any) -> UpmAdapter:
    """An ``adapters`` row (``ADAPTER_COLS``) as a record."""
    return UpmAdapter(
        adapter_id=r[0],
        name=r[1],
        snapshot_id=r[2],
        previous_snapshot_id=r[3],
        pinned=bool(r[4]),
        synced_at=parse_iso_or_none(r[5]),
    )


def drift(r: Any) -> DriftWindow:
    return DriftWindow(
        window_id=r[0],
        snapshot_id=r[1],
        score=r[2],
        sample_count=r[3],
        window_start=parse_iso(r[4]),
        window_end=parse_iso(r[5]),
    )


def dataset(r: Any) -> TrainingDataset:
    return TrainingDataset(
        dataset_id=r[0],
        name=r[1],
        kind=r[2],
        path=r[3],
        feature_count=r[4],
        class_count=r[5],
        sample_count=r[6],
        registered_at=parse_iso(r[7]),
    )


def run(r: Any) -> ModelRunRecord:
    return ModelRunRecord(
        run_id=r[0],
        dataset_id=r[1],
        state=r[2],
        reason=r[3],
        requested_trials=r[4],
        max_params=r[5],
        search_space=json.loads(r[6]),
        correlation_id=r[7],
        created_at=parse_iso(r[8]),
        updated_at=parse_iso(r[9]),
    )


def artifact(r: Any) -> ModelArtifact:
    return ModelArtifact(
        artifact_id=r[0],
        run_id=r[1],
        trial_id=r[2],
        path=r[3],
        size_bytes=r[4],
        sha256=r[5],
        accuracy=r[6],
        param_count=r[7],
        architecture=json.loads(r[8]),
    )


def version(r: Any) -> ModelVersionRecord:
    return ModelVersionRecord(
        version_id=r[0],
        number=r[1],
        run_id=r[2],
        artifact_id=r[3],
        metrics=json.loads(r[4]),
        frontier=[FrontierPoint(**p) for p in json.loads(r[5])],
        created_at=parse_iso(r[6]),
    )
