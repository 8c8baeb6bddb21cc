"""The bolt domain: UPM snapshots and adapters, NAS datasets, runs, artifacts and versions.

:class:`BoltService` answers the commands of :mod:`sagaline.messages.bolt`
with ``await service.handle(command)``, always with a Reply. Effects are
applied at most once per idempotency key; reads answer directly. Outcomes
(failures are ``CommandFailed`` with these codes):

UPM (the UPMActivation saga's steps, in order)
    ``LoadSnapshot``: ``snapshot_not_found``; ``invalid_status`` unless shadow.
    ``GetLatestDrift``: the window that ended last, or None.
    ``ArchiveActiveSnapshot``: archives the active snapshot (None when none);
    undo ``RestoreArchivedSnapshot`` makes it active again with its
    ``activated_at`` and ``archived_at`` exactly as before
    (``another_snapshot_active`` if something else is active meanwhile).
    ``ActivateSnapshot``: ``snapshot_not_found``, ``invalid_status`` unless
    shadow, ``another_snapshot_active``; undo ``RevertActivation`` puts it
    back to shadow with ``activated_at`` as before (None for a first activation).
    ``SyncAdapters``: every adapter not already there is pointed at the
    snapshot, its previous pointer remembered; all or nothing: a pinned
    adapter fails it (``adapter_pinned``) and nothing moves; undo
    ``RestoreAdapters`` gives every moved adapter back its snapshot,
    previous snapshot and sync time. Setup: ``RegisterSnapshot``,
    ``RecordDrift`` (``unknown_snapshot``, ``invalid_drift``),
    ``RegisterAdapter`` (``adapter_name_taken``, ``unknown_snapshot``).

NAS (the CerebrosNAS saga's steps)
    ``GetDataset``: ``dataset_not_found``. ``CreateModelRun``: the run is
    created ``initialized`` and moved to ``running`` (both transitions
    recorded); ``dataset_not_found``, ``invalid_run``; undo ``AbortModelRun``
    ends a still-open run ``failed`` with the reason noted by
    ``RecordRunFailure`` (the first note wins), or ``cancelled`` when none was.
    ``RecordArtifacts``: each successful trial's file must exist with the
    reported size and SHA-256 (``artifact_invalid``); ``no_successful_trials``.
    ``AnalyzeFrontier``: the Pareto frontier (accuracy up, parameters down)
    and the chosen model (``no_viable_model`` when none fits ``max_params``).
    ``CreateModelVersion``: versions the chosen artifact and moves the run to
    ``succeeded`` (``artifact_not_found``, ``illegal_transition``); undo
    ``DeleteModelVersion`` deletes it and puts the run back in the state it
    had. ``TransitionModelRun`` follows :data:`RUN_TRANSITIONS`
    (``run_not_found``, ``illegal_transition``). ``RegisterDataset``:
    ``dataset_name_taken``, ``invalid_dataset``.

Every command: ``idempotency_key_missing`` / ``idempotency_key_conflict``,
``storage_unavailable`` (retryable) / ``storage_failed``, ``unsupported_command``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagaline.domains import pareto, training
from sagaline.domains.nas import parse_space
from sagaline.messages import bolt as m
from sagaline.messages.base import Command, Reply
from sagaline.messages.bridge import TrainingDataset
from sagaline.messages.ids import uuid7
from sagaline.storage.bolt_store import BoltStore
from sagaline.storage.idempotency import answer, failure, forbid
from sagaline.storage.sqlite import Clock, Connection, read_clock, utc_now

__all__ = ["BoltConfig", "BoltService", "RUN_TRANSITIONS", "BUILTIN_DATASETS"]

#: Legal model-run moves (the original's state machine); terminal states have none.
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "initialized": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
}

#: Datasets bolt knows without a file: scikit-learn's bundled digits (8x8 images, 10 classes).
BUILTIN_DATASETS = {"digits": {"feature_count": 64, "class_count": 10, "sample_count": 1797}}


@dataclass(frozen=True)
class BoltConfig:
    """Bolt's settings."""

    seed_builtin_datasets: bool = True
    """Register :data:`BUILTIN_DATASETS` at start (idempotent)."""


class BoltService:
    """UPM and NAS bookkeeping over a :class:`BoltStore`."""

    def __init__(self, store: BoltStore, clock: Clock = utc_now, config: BoltConfig = BoltConfig()) -> None:
        """Args:
            store: Bolt's open store.
            clock: Returns the current aware UTC time.
            config: :class:`BoltConfig`.
        """
        self.store = store
        self.config = config
        self._clock = clock
        self._handlers = {
            m.RegisterSnapshot: self._register_snapshot, m.RecordDrift: self._record_drift,
            m.RegisterAdapter: self._register_adapter, m.LoadSnapshot: self._load_snapshot,
            m.ShowSnapshot: self._show_snapshot, m.GetLatestDrift: self._latest_drift,
            m.ArchiveActiveSnapshot: self._archive_active, m.RestoreArchivedSnapshot: self._restore_archived,
            m.ActivateSnapshot: self._activate, m.RevertActivation: self._revert_activation,
            m.SyncAdapters: self._sync_adapters, m.RestoreAdapters: self._restore_adapters,
            m.ListSnapshots: self._list_snapshots, m.ListAdapters: self._list_adapters,
            m.RegisterDataset: self._register_dataset, m.GetDataset: self._get_dataset,
            m.CreateModelRun: self._create_run, m.TransitionModelRun: self._transition_run,
            m.RecordRunFailure: self._record_failure, m.AbortModelRun: self._abort_run,
            m.RecordArtifacts: self._record_artifacts, m.AnalyzeFrontier: self._analyze_frontier,
            m.CreateModelVersion: self._create_version, m.DeleteModelVersion: self._delete_version,
            m.ListModelRuns: self._list_runs, m.ShowModelRun: self._show_run,
        }

    async def start(self) -> None:
        """Register the built-in datasets once (when configured to)."""
        if not self.config.seed_builtin_datasets:
            return
        for name, shape in BUILTIN_DATASETS.items():
            async with self.store.db.transaction() as conn:
                if await self.store.dataset(name, conn) is None:
                    await self.store.insert_dataset(conn, TrainingDataset(
                        dataset_id=name, name=name, kind="builtin", registered_at=self._now(), **shape), None)

    async def handle(self, command: object) -> Reply:
        """Apply one bolt command; the outcomes are in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    def _now(self) -> datetime:
        return read_clock(self._clock)

    async def _once(self, cmd: Command, effect: Any) -> Reply:
        return await self.store.apply_once(cmd, effect, self._now())

    # ----- UPM setup ----------------------------------------------------------------------------

    async def _register_snapshot(self, cmd: m.RegisterSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            snap = m.UpmSnapshot(snapshot_id=uuid7(), version=cmd.version, checksum=cmd.checksum,
                                 trained_by=cmd.trained_by, mode="shadow", created_at=self._now())
            await self.store.insert_snapshot(conn, snap, _key(cmd))
            return m.SnapshotRegistered(headers=cmd.headers, snapshot=snap)
        return await self._once(cmd, effect)

    async def _record_drift(self, cmd: m.RecordDrift) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "unknown_snapshot", f"no snapshot {cmd.snapshot_id}")
            problem = _drift_problem(cmd)
            if problem:
                return failure(cmd, "invalid_drift", problem)
            window = m.DriftWindow(window_id=uuid7(), snapshot_id=cmd.snapshot_id, score=cmd.score,
                                   sample_count=cmd.sample_count, window_start=cmd.window_start,
                                   window_end=cmd.window_end)
            await self.store.insert_drift(conn, window, _key(cmd))
            return m.DriftRecorded(headers=cmd.headers, window=window)
        return await self._once(cmd, effect)

    async def _register_adapter(self, cmd: m.RegisterAdapter) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.adapter_named(conn, cmd.name):
                return failure(cmd, "adapter_name_taken", f"an adapter is already called {cmd.name!r}")
            if cmd.snapshot_id and await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "unknown_snapshot", f"no snapshot {cmd.snapshot_id}")
            adapter = m.UpmAdapter(adapter_id=uuid7(), name=cmd.name, snapshot_id=cmd.snapshot_id,
                                   pinned=cmd.pinned, synced_at=self._now() if cmd.snapshot_id else None)
            await self.store.insert_adapter(conn, adapter, _key(cmd))
            return m.AdapterRegistered(headers=cmd.headers, adapter=adapter)
        return await self._once(cmd, effect)

    # ----- UPM activation ---------------------------------------------------------------------

    async def _load_snapshot(self, cmd: m.LoadSnapshot) -> Reply:
        snap = await self.store.snapshot(None, cmd.snapshot_id)
        if snap is None:
            return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
        if snap.mode != "shadow":
            return failure(cmd, "invalid_status", f"snapshot {cmd.snapshot_id} is {snap.mode}, not shadow")
        return m.SnapshotLoaded(headers=cmd.headers, snapshot=snap)

    async def _show_snapshot(self, cmd: m.ShowSnapshot) -> Reply:
        snap = await self.store.snapshot(None, cmd.snapshot_id)
        if snap is None:
            return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
        return m.SnapshotLoaded(headers=cmd.headers, snapshot=snap)

    async def _latest_drift(self, cmd: m.GetLatestDrift) -> Reply:
        return m.LatestDrift(headers=cmd.headers, window=await self.store.latest_drift(cmd.snapshot_id))

    async def _archive_active(self, cmd: m.ArchiveActiveSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            active = await self.store.active_snapshot(conn)
            if active is None or active.snapshot_id == cmd.keep_snapshot_id:
                return m.ActiveSnapshotArchived(headers=cmd.headers, snapshot_id=None)
            await self.store.change_mode(conn, _key(cmd), active, "archived", active.activated_at, self._now())
            return m.ActiveSnapshotArchived(headers=cmd.headers, snapshot_id=active.snapshot_id)
        return await self._once(cmd, effect)

    async def _restore_archived(self, cmd: m.RestoreArchivedSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            active = await self.store.active_snapshot(conn)
            if active is not None and await self._changed_by(conn, cmd.effect_key):
                return failure(cmd, "another_snapshot_active",
                               f"snapshot {active.snapshot_id} is active; undo its activation first",
                               retryable=True)
            restored = await self.store.revert_change(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, restored, "ArchiveActiveSnapshot")
            return m.ArchivedSnapshotRestored(headers=cmd.headers, snapshot_id=restored)
        return await self._once(cmd, effect)

    async def _forbid_if_none(self, conn: Connection, undo: Any, found: Any, command_tag: str) -> None:
        # Nothing to undo: the effect may still be on its way; make sure it never lands.
        if not found:
            await forbid(conn, undo, undo.effect_key, command_tag, self._now())

    async def _changed_by(self, conn: Connection, key: str) -> bool:
        rows = await conn.execute_fetchall("SELECT 1 FROM snapshot_changes WHERE key = ?", (key,))
        return bool(rows)

    async def _activate(self, cmd: m.ActivateSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            snap = await self.store.snapshot(conn, cmd.snapshot_id)
            if snap is None:
                return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
            if snap.mode != "shadow":
                return failure(cmd, "invalid_status", f"snapshot {cmd.snapshot_id} is {snap.mode}, not shadow")
            active = await self.store.active_snapshot(conn)
            if active is not None:
                return failure(cmd, "another_snapshot_active", f"snapshot {active.snapshot_id} is still active")
            now = self._now()
            await self.store.change_mode(conn, _key(cmd), snap, "active", now, None)
            return m.SnapshotActivated(headers=cmd.headers, snapshot=snap.model_copy(
                update={"mode": "active", "activated_at": now, "archived_at": None}))
        return await self._once(cmd, effect)

    async def _revert_activation(self, cmd: m.RevertActivation) -> Reply:
        async def effect(conn: Connection) -> Reply:
            reverted = await self.store.revert_change(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, reverted, "ActivateSnapshot")
            return m.ActivationReverted(headers=cmd.headers, snapshot_id=reverted)
        return await self._once(cmd, effect)

    async def _sync_adapters(self, cmd: m.SyncAdapters) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
            moved, now = 0, self._now()
            for adapter in await self.store.adapters(conn):
                if adapter.snapshot_id == cmd.snapshot_id:
                    continue
                if adapter.pinned:  # the moves made so far roll back with the transaction
                    return failure(cmd, "adapter_pinned", f"adapter {adapter.name!r} is pinned to "
                                   f"{adapter.snapshot_id}; {moved} adapter(s) moved before it were put back")
                await self.store.move_adapter(conn, _key(cmd), adapter, cmd.snapshot_id, now)
                moved += 1
            return m.AdaptersSynced(headers=cmd.headers, snapshot_id=cmd.snapshot_id,
                                    adapters=await self.store.adapters(conn), moved=moved)
        return await self._once(cmd, effect)

    async def _restore_adapters(self, cmd: m.RestoreAdapters) -> Reply:
        async def effect(conn: Connection) -> Reply:
            restored = await self.store.restore_adapters(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, restored, "SyncAdapters")
            return m.AdaptersRestored(headers=cmd.headers, adapter_ids=restored)
        return await self._once(cmd, effect)

    async def _list_snapshots(self, cmd: m.ListSnapshots) -> Reply:
        return m.SnapshotsPage(headers=cmd.headers, snapshots=await self.store.snapshots())

    async def _list_adapters(self, cmd: m.ListAdapters) -> Reply:
        return m.AdaptersPage(headers=cmd.headers, adapters=await self.store.adapters())

    # ----- NAS ----------------------------------------------------------------------------------

    async def _register_dataset(self, cmd: m.RegisterDataset) -> Reply:
        try:
            shape = await asyncio.to_thread(training.describe_dataset, cmd.kind, cmd.path, cmd.name)
        except training.DatasetError as exc:
            return failure(cmd, "invalid_dataset", str(exc))

        async def effect(conn: Connection) -> Reply:
            if await self.store.dataset(cmd.name, conn) is not None:
                return failure(cmd, "dataset_name_taken", f"a dataset is already called {cmd.name!r}")
            dataset = TrainingDataset(dataset_id=uuid7(), name=cmd.name, kind=cmd.kind, path=cmd.path,
                                      registered_at=self._now(), **shape)
            await self.store.insert_dataset(conn, dataset, _key(cmd))
            return m.DatasetRegistered(headers=cmd.headers, dataset=dataset)
        return await self._once(cmd, effect)

    async def _get_dataset(self, cmd: m.GetDataset) -> Reply:
        dataset = await self.store.dataset(cmd.dataset)
        if dataset is None:
            return failure(cmd, "dataset_not_found", f"no dataset {cmd.dataset!r}")
        return m.DatasetFound(headers=cmd.headers, dataset=dataset)

    async def _create_run(self, cmd: m.CreateModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.dataset(cmd.dataset_id, conn) is None:
                return failure(cmd, "dataset_not_found", f"no dataset {cmd.dataset_id!r}")
            problem = _run_problem(cmd)
            if problem:
                return failure(cmd, "invalid_run", problem)
            now = self._now()
            run = m.ModelRunRecord(run_id=uuid7(), dataset_id=cmd.dataset_id, state="initialized",
                                   requested_trials=cmd.requested_trials, max_params=cmd.max_params,
                                   search_space=cmd.search_space, correlation_id=cmd.headers.correlation_id,
                                   created_at=now, updated_at=now)
            await self.store.insert_run(conn, run, _key(cmd))
            await self.store.set_run_state(conn, run, "running", "", now)
            return m.ModelRunCreated(headers=cmd.headers, run=run.model_copy(update={"state": "running"}))
        return await self._once(cmd, effect)

    async def _transition_run(self, cmd: m.TransitionModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            if cmd.to_state not in RUN_TRANSITIONS.get(run.state, ()):
                return failure(cmd, "illegal_transition", f"run {run.run_id}: {run.state} -> {cmd.to_state}")
            await self.store.set_run_state(conn, run, cmd.to_state, cmd.reason, self._now())
            return m.ModelRunTransitioned(headers=cmd.headers, run=await self.store.run(run.run_id, conn))
        return await self._once(cmd, effect)

    async def _record_failure(self, cmd: m.RecordRunFailure) -> Reply:
        async def effect(conn: Connection) -> Reply:
            note = f"{cmd.step} failed: {cmd.code}" + (f": {cmd.message}" if cmd.message else "")
            recorded = await self.store.note_failure(conn, cmd.run_id, note[:2000])
            return m.RunFailureRecorded(headers=cmd.headers, run_id=cmd.run_id, recorded=recorded)
        return await self._once(cmd, effect)

    async def _abort_run(self, cmd: m.AbortModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run_made_by(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, run, "CreateModelRun")
            if run is None:
                return m.ModelRunAborted(headers=cmd.headers, run_id=None, state=None)
            if run.state in RUN_TRANSITIONS:
                note = await self.store.failure_note(conn, run.run_id)
                state, reason = ("failed", note) if note else ("cancelled", "its saga run was rolled back")
                await self.store.set_run_state(conn, run, state, reason, self._now())
                run = run.model_copy(update={"state": state})
            return m.ModelRunAborted(headers=cmd.headers, run_id=run.run_id, state=run.state)
        return await self._once(cmd, effect)

    async def _record_artifacts(self, cmd: m.RecordArtifacts) -> Reply:
        succeeded = [t for t in cmd.trials if t.state == "succeeded"]
        problems = await asyncio.to_thread(_artifact_problems, succeeded)

        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            if problems:
                return failure(cmd, "artifact_invalid", "; ".join(problems))
            if not succeeded:
                return failure(cmd, "no_successful_trials", f"none of {len(cmd.trials)} trial(s) succeeded")
            known = {a.trial_id for a in await self.store.artifacts(run.run_id, conn)}
            for trial in succeeded:
                if trial.trial_id not in known:
                    await self.store.insert_artifact(conn, _artifact(trial), self._now(), _key(cmd))
            return m.ArtifactsRecorded(headers=cmd.headers, artifacts=await self.store.artifacts(run.run_id, conn),
                                       failed_trials=[t.trial_id for t in cmd.trials if t.state != "succeeded"])
        return await self._once(cmd, effect)

    async def _analyze_frontier(self, cmd: m.AnalyzeFrontier) -> Reply:
        artifacts = {a.artifact_id: a for a in await self.store.artifacts(cmd.run_id)}
        front = pareto.frontier(pareto.Candidate(a.artifact_id, a.accuracy, a.param_count)
                                for a in artifacts.values())
        chosen = pareto.choose(front, cmd.max_params)
        if chosen is None:
            return failure(cmd, "no_viable_model", f"run {cmd.run_id}: no model of {len(artifacts)} "
                           f"within {cmd.max_params} parameters")
        return m.FrontierAnalyzed(headers=cmd.headers, frontier=[_point(artifacts[c.id]) for c in front],
                                  chosen=_point(artifacts[chosen.id]))

    async def _create_version(self, cmd: m.CreateModelVersion) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            chosen = next((a for a in await self.store.artifacts(run.run_id, conn)
                           if a.artifact_id == cmd.artifact_id), None)
            if chosen is None:
                return failure(cmd, "artifact_not_found", f"run {run.run_id} has no artifact {cmd.artifact_id}")
            if "succeeded" not in RUN_TRANSITIONS.get(run.state, ()):
                return failure(cmd, "illegal_transition", f"run {run.run_id}: {run.state} -> succeeded")
            version = m.ModelVersionRecord(
                version_id=uuid7(), number=0, run_id=run.run_id, artifact_id=chosen.artifact_id,
                metrics=_point(chosen).model_dump(exclude={"artifact_id"}), frontier=cmd.frontier,
                created_at=self._now())
            number = await self.store.insert_version(conn, version, run.state, _key(cmd))
            await self.store.set_run_state(conn, run, "succeeded", f"model version {number}", self._now())
            return m.ModelVersionCreated(headers=cmd.headers, version=version.model_copy(update={"number": number}))
        return await self._once(cmd, effect)

    async def _delete_version(self, cmd: m.DeleteModelVersion) -> Reply:
        async def effect(conn: Connection) -> Reply:
            deleted = await self.store.delete_version_by_key(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, deleted, "CreateModelVersion")
            if deleted is None:
                return m.ModelVersionDeleted(headers=cmd.headers, version_id=None)
            version_id, run_id, previous = deleted
            run = await self.store.run(run_id, conn)
            if run is not None and run.state == "succeeded":
                # An undo restores what the effect overwrote; it is not a forward move.
                await self.store.set_run_state(conn, run, previous, "model version withdrawn", self._now())
            return m.ModelVersionDeleted(headers=cmd.headers, version_id=version_id)
        return await self._once(cmd, effect)

    async def _list_runs(self, cmd: m.ListModelRuns) -> Reply:
        return m.ModelRunsPage(headers=cmd.headers, runs=await self.store.runs(cmd.state))

    async def _show_run(self, cmd: m.ShowModelRun) -> Reply:
        run = await self.store.run(cmd.run_id)
        if run is None:
            return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
        return m.ModelRunShown(headers=cmd.headers, run=run, transitions=await self.store.transitions(run.run_id),
                               artifacts=await self.store.artifacts(run.run_id),
                               versions=await self.store.versions(run.run_id))


def _key(cmd: Any) -> str:
    return cmd.headers.idempotency_key  # apply_once has refused a command without one


def _aware(t: datetime) -> bool:
    return t.tzinfo is not None and t.utcoffset() is not None


def _drift_problem(cmd: m.RecordDrift) -> str | None:
    if not (cmd.score >= 0 and cmd.score != float("inf")):
        return f"score must be a finite number >= 0, not {cmd.score}"
    if cmd.sample_count < 0:
        return "sample_count must be >= 0"
    if not (_aware(cmd.window_start) and _aware(cmd.window_end)):
        return "window times must be timezone-aware"
    return None if cmd.window_start < cmd.window_end else "window_start must be before window_end"


def _run_problem(cmd: m.CreateModelRun) -> str | None:
    if cmd.requested_trials < 1 or cmd.max_params < 1:
        return "requested_trials and max_params must be >= 1"
    try:
        parse_space(cmd.search_space)
    except ValueError as exc:
        return str(exc)
    return None


def _artifact_problems(trials: list) -> list[str]:
    problems = []
    for trial in trials:
        problem = training.verify_artifact(trial.artifact_path or "", trial.size_bytes, trial.sha256)
        if problem:
            problems.append(f"trial {trial.trial_id}: {problem}")
    return problems


def _artifact(trial: Any) -> m.ModelArtifact:
    return m.ModelArtifact(artifact_id=uuid7(), run_id=trial.run_id, trial_id=trial.trial_id,
                           path=trial.artifact_path, size_bytes=trial.size_bytes, sha256=trial.sha256,
                           accuracy=trial.accuracy, param_count=trial.architecture.param_count,
                           architecture=trial.architecture.model_dump())


def _point(a: m.ModelArtifact) -> m.FrontierPoint:
    return m.FrontierPoint(artifact_id=a.artifact_id, accuracy=a.accuracy, param_count=a.param_count,
                           size_bytes=a.size_bytes)
