"""Commands to the bolt domain actor (UPM snapshots, adapters, NAS runs) and its replies.

Conventions of :mod:`sagaline.messages.gate`: every effect is applied at
most once per idempotency key (a duplicate gets the first answer), undo
commands name their effect by ``effect_key``, failures are
:class:`~sagaline.messages.common.CommandFailed`. Reads (``Load*``,
``Get*``, ``List*``, ``Show*``) change nothing and are answered directly.
Each command's outcomes are listed in :mod:`sagaline.domains.bolt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sagaline.messages.base import Command, Message, Reply
from sagaline.messages.bridge import DatasetKind, TrainingDataset, TrialResult

__all__ = [
    "SnapshotMode", "RunState", "UpmSnapshot", "DriftWindow", "UpmAdapter", "ModelRunRecord",
    "RunTransition", "ModelArtifact", "FrontierPoint", "ModelVersionRecord",
    "RegisterSnapshot", "SnapshotRegistered", "RecordDrift", "DriftRecorded", "RegisterAdapter",
    "AdapterRegistered", "LoadSnapshot", "ShowSnapshot", "SnapshotLoaded", "GetLatestDrift", "LatestDrift",
    "ArchiveActiveSnapshot", "ActiveSnapshotArchived", "RestoreArchivedSnapshot", "ArchivedSnapshotRestored",
    "ActivateSnapshot", "SnapshotActivated", "RevertActivation", "ActivationReverted",
    "SyncAdapters", "AdaptersSynced", "RestoreAdapters", "AdaptersRestored",
    "ListSnapshots", "SnapshotsPage", "ListAdapters", "AdaptersPage",
    "RegisterDataset", "DatasetRegistered", "GetDataset", "DatasetFound", "CreateModelRun", "ModelRunCreated",
    "TransitionModelRun", "ModelRunTransitioned", "RecordRunFailure", "RunFailureRecorded",
    "AbortModelRun", "ModelRunAborted", "RecordArtifacts", "ArtifactsRecorded", "AnalyzeFrontier",
    "FrontierAnalyzed", "CreateModelVersion", "ModelVersionCreated", "DeleteModelVersion",
    "ModelVersionDeleted", "ListModelRuns", "ModelRunsPage", "ShowModelRun", "ModelRunShown",
]

SnapshotMode = Literal["shadow", "active", "archived"]
RunState = Literal["initialized", "running", "succeeded", "failed", "cancelled"]


# ----- records ------------------------------------------------------------------------------

class UpmSnapshot(Message):
    """A trained UPM model snapshot."""

    snapshot_id: str
    """Its id (UUID v7)."""
    version: int
    """Its version number."""
    checksum: str
    """Checksum of its weights."""
    trained_by: str
    """The trainer that produced it (policies allow-list these)."""
    mode: SnapshotMode
    """shadow (trained, not serving), active (serving; at most one) or archived."""
    created_at: datetime
    """When it was registered (UTC)."""
    activated_at: datetime | None = None
    """When it last became active; None while never active or after a reverted activation."""
    archived_at: datetime | None = None
    """When it was archived, if it is."""


class DriftWindow(Message):
    """Drift measured for a snapshot over a window of traffic."""

    window_id: str
    """Its id (UUID v7)."""
    snapshot_id: str
    """The snapshot measured."""
    score: float
    """Drift score (the original's p95); lower is better."""
    sample_count: int
    """Samples in the window."""
    window_start: datetime
    """Window start (UTC)."""
    window_end: datetime
    """Window end (UTC); the latest window is the one ending last."""


class UpmAdapter(Message):
    """A consumer of UPM snapshots, pointing at one of them."""

    adapter_id: str
    """Its id (UUID v7)."""
    name: str
    """Its unique name."""
    snapshot_id: str | None = None
    """The snapshot it serves from (None: none yet)."""
    previous_snapshot_id: str | None = None
    """The one it served before its last sync (for rollback)."""
    pinned: bool = False
    """A pinned adapter refuses to be moved: a sync fails, naming it."""
    synced_at: datetime | None = None
    """When it was last pointed at a snapshot."""


class ModelRunRecord(Message):
    """A NAS model run."""

    run_id: str
    """Its id (UUID v7)."""
    dataset_id: str
    """The dataset it trains on."""
    state: RunState
    """initialized -> running -> succeeded | failed | cancelled."""
    reason: str = ""
    """Why it failed or was cancelled."""
    requested_trials: int
    """Trials it asked for."""
    max_params: int
    """Largest model it accepts."""
    search_space: dict[str, Any]
    """The declared search space."""
    correlation_id: str | None = None
    """The saga run that created it."""
    created_at: datetime
    """Creation time (UTC)."""
    updated_at: datetime
    """Last state change (UTC)."""


class RunTransition(Message):
    """One state change of a model run (its history)."""

    from_state: str | None
    """State before (None for creation)."""
    to_state: str
    """State after."""
    reason: str = ""
    """Why, when it says."""
    at: datetime
    """When (UTC)."""


class ModelArtifact(Message):
    """A trained model file recorded for a run."""

    artifact_id: str
    """Its id (UUID v7)."""
    run_id: str
    """Its model run."""
    trial_id: str
    """The trial that trained it."""
    path: str
    """The model file."""
    size_bytes: int
    """File size."""
    sha256: str
    """SHA-256 of the file (checked by bolt when recorded)."""
    accuracy: float
    """Held-out accuracy, 0..1."""
    param_count: int
    """Weights and biases."""
    architecture: dict[str, Any]
    """What was trained."""


class FrontierPoint(Message):
    """One model on a Pareto frontier (accuracy up, size down)."""

    artifact_id: str
    """The artifact."""
    accuracy: float
    """Its accuracy."""
    param_count: int
    """Its size in parameters."""
    size_bytes: int
    """Its file size."""


class ModelVersionRecord(Message):
    """A versioned model: the chosen artifact of a run, with the frontier it was chosen from."""

    version_id: str
    """Its id (UUID v7)."""
    number: int
    """Version number (1, 2, ... across all runs)."""
    run_id: str
    """The run it came from."""
    artifact_id: str
    """The chosen artifact."""
    metrics: dict[str, Any]
    """accuracy, param_count, size_bytes of the chosen model."""
    frontier: list[FrontierPoint]
    """The run's Pareto frontier."""
    created_at: datetime
    """When (UTC)."""


# ----- UPM ----------------------------------------------------------------------------------

class RegisterSnapshot(Command):
    """Register a trained snapshot in shadow mode."""

    version: int
    """Its version number."""
    checksum: str
    """Checksum of its weights."""
    trained_by: str
    """The trainer."""


class SnapshotRegistered(Reply):
    """Answer to :class:`RegisterSnapshot`."""

    snapshot: UpmSnapshot
    """The new snapshot."""


class RecordDrift(Command):
    """Record a drift window for a snapshot (``unknown_snapshot``, ``invalid_drift``)."""

    snapshot_id: str
    """The snapshot measured."""
    score: float
    """Drift score (>= 0)."""
    sample_count: int
    """Samples (>= 0)."""
    window_start: datetime
    """Window start (aware)."""
    window_end: datetime
    """Window end (aware, after the start)."""


class DriftRecorded(Reply):
    """Answer to :class:`RecordDrift`."""

    window: DriftWindow
    """The recorded window."""


class RegisterAdapter(Command):
    """Register an adapter (``adapter_name_taken``, ``unknown_snapshot``)."""

    name: str
    """Its unique name."""
    snapshot_id: str | None = None
    """The snapshot it starts on."""
    pinned: bool = False
    """Pinned adapters refuse syncs."""


class AdapterRegistered(Reply):
    """Answer to :class:`RegisterAdapter`."""

    adapter: UpmAdapter
    """The new adapter."""


class LoadSnapshot(Command):
    """The snapshot to activate: it must exist and be in shadow mode
    (``snapshot_not_found``, ``invalid_status``)."""

    snapshot_id: str
    """The snapshot."""


class ShowSnapshot(Command):
    """Any snapshot, whatever its mode (``snapshot_not_found``)."""

    snapshot_id: str
    """The snapshot."""


class SnapshotLoaded(Reply):
    """Answer to :class:`LoadSnapshot` and :class:`ShowSnapshot`."""

    snapshot: UpmSnapshot
    """The snapshot."""


class GetLatestDrift(Command):
    """The drift window of a snapshot that ended last."""

    snapshot_id: str
    """The snapshot."""


class LatestDrift(Reply):
    """Answer to :class:`GetLatestDrift`."""

    window: DriftWindow | None
    """The latest window; None when none was recorded."""


class ArchiveActiveSnapshot(Command):
    """Archive the active snapshot, if there is one other than ``keep_snapshot_id``."""

    keep_snapshot_id: str
    """The snapshot about to be activated (left alone if it were active)."""


class ActiveSnapshotArchived(Reply):
    """Answer to :class:`ArchiveActiveSnapshot`."""

    snapshot_id: str | None
    """The snapshot archived; None when none was active."""


class RestoreArchivedSnapshot(Command):
    """Undo an :class:`ArchiveActiveSnapshot`: make its snapshot active again, exactly as before."""

    effect_key: str
    """Idempotency key of the archive command."""


class ArchivedSnapshotRestored(Reply):
    """Answer to :class:`RestoreArchivedSnapshot`."""

    snapshot_id: str | None
    """The snapshot restored; None when that key archived nothing."""


class ActivateSnapshot(Command):
    """Make a shadow snapshot the active one (``invalid_status``, ``another_snapshot_active``)."""

    snapshot_id: str
    """The snapshot."""


class SnapshotActivated(Reply):
    """Answer to :class:`ActivateSnapshot`."""

    snapshot: UpmSnapshot
    """The snapshot, now active."""


class RevertActivation(Command):
    """Undo an :class:`ActivateSnapshot`: back to shadow, ``activated_at`` as before."""

    effect_key: str
    """Idempotency key of the activate command."""


class ActivationReverted(Reply):
    """Answer to :class:`RevertActivation`."""

    snapshot_id: str | None
    """The snapshot reverted; None when that key activated nothing."""


class SyncAdapters(Command):
    """Point every adapter at ``snapshot_id``, remembering each one's previous pointer.

    All or nothing: a pinned adapter fails the sync (``adapter_pinned``) and
    the adapters already moved by it are put back.
    """

    snapshot_id: str
    """The snapshot to serve from."""


class AdaptersSynced(Reply):
    """Answer to :class:`SyncAdapters`."""

    snapshot_id: str
    """The snapshot they now point at."""
    adapters: list[UpmAdapter]
    """Every adapter after the sync."""
    moved: int
    """How many changed pointer."""


class RestoreAdapters(Command):
    """Undo a :class:`SyncAdapters`: every adapter it moved gets back exactly its previous state."""

    effect_key: str
    """Idempotency key of the sync command."""


class AdaptersRestored(Reply):
    """Answer to :class:`RestoreAdapters`."""

    adapter_ids: list[str]
    """Adapters restored (empty when that key moved none)."""


class ListSnapshots(Command):
    """Every snapshot, oldest first."""


class SnapshotsPage(Reply):
    """Answer to :class:`ListSnapshots`."""

    snapshots: list[UpmSnapshot]
    """The snapshots."""


class ListAdapters(Command):
    """Every adapter, by name."""


class AdaptersPage(Reply):
    """Answer to :class:`ListAdapters`."""

    adapters: list[UpmAdapter]
    """The adapters."""


# ----- NAS ----------------------------------------------------------------------------------

class RegisterDataset(Command):
    """Register a dataset file (``dataset_name_taken``, ``invalid_dataset``)."""

    name: str
    """Its unique name."""
    kind: DatasetKind
    """csv (label in the last column) or npz (arrays X and y); builtin only for known names."""
    path: str = ""
    """The file."""


class DatasetRegistered(Reply):
    """Answer to :class:`RegisterDataset`."""

    dataset: TrainingDataset
    """The dataset, with its shape."""


class GetDataset(Command):
    """A dataset by id or name (``dataset_not_found``)."""

    dataset: str
    """Its id or name."""


class DatasetFound(Reply):
    """Answer to :class:`GetDataset`."""

    dataset: TrainingDataset
    """The dataset."""


class CreateModelRun(Command):
    """Create a model run (initialized, then running); ``dataset_not_found``, ``invalid_run``."""

    dataset_id: str
    """Its dataset."""
    requested_trials: int = 3
    """Trials asked for (the original's default)."""
    max_params: int = 2_000_000
    """Largest model accepted (the original's default)."""
    search_space: dict[str, Any] = {}
    """The declared search space."""


class ModelRunCreated(Reply):
    """Answer to :class:`CreateModelRun`."""

    run: ModelRunRecord
    """The run, now running."""


class TransitionModelRun(Command):
    """Move a run to ``to_state`` (``run_not_found``, ``illegal_transition``)."""

    run_id: str
    """The run."""
    to_state: RunState
    """Target state."""
    reason: str = ""
    """Why."""


class ModelRunTransitioned(Reply):
    """Answer to :class:`TransitionModelRun`."""

    run: ModelRunRecord
    """The run after the change."""


class RecordRunFailure(Command):
    """Note why a saga step of a run failed; the first note becomes the run's reason."""

    run_id: str
    """The run."""
    step: str
    """The saga step that failed."""
    code: str
    """Its error code."""
    message: str = ""
    """Its error message."""


class RunFailureRecorded(Reply):
    """Answer to :class:`RecordRunFailure`."""

    run_id: str
    """The run."""
    recorded: bool
    """False when a reason was already noted or the run had ended."""


class AbortModelRun(Command):
    """Undo a :class:`CreateModelRun`: the run ends failed (with the noted reason) or,
    when no failure was noted, cancelled."""

    effect_key: str
    """Idempotency key of the create command."""


class ModelRunAborted(Reply):
    """Answer to :class:`AbortModelRun`."""

    run_id: str | None
    """The run; None when that key created none."""
    state: str | None
    """Its state now."""


class RecordArtifacts(Command):
    """Record the successful trials' model files (checksums verified); ``run_not_found``,
    ``artifact_invalid``, ``no_successful_trials``."""

    run_id: str
    """The run."""
    trials: list[TrialResult]
    """Every trial's outcome."""


class ArtifactsRecorded(Reply):
    """Answer to :class:`RecordArtifacts`."""

    artifacts: list[ModelArtifact]
    """One per successful trial."""
    failed_trials: list[str]
    """Trials that did not succeed."""


class AnalyzeFrontier(Command):
    """Compute the run's Pareto frontier and choose its model (``no_viable_model``)."""

    run_id: str
    """The run."""
    max_params: int = 2_000_000
    """Largest model that may be chosen."""


class FrontierAnalyzed(Reply):
    """Answer to :class:`AnalyzeFrontier`."""

    frontier: list[FrontierPoint]
    """Non-dominated models, smallest first."""
    chosen: FrontierPoint
    """The most accurate frontier model within ``max_params``."""


class CreateModelVersion(Command):
    """Version the chosen model and mark its run succeeded (``run_not_found``, ``illegal_transition``)."""

    run_id: str
    """The run."""
    artifact_id: str
    """The chosen artifact."""
    frontier: list[FrontierPoint]
    """The frontier it was chosen from."""


class ModelVersionCreated(Reply):
    """Answer to :class:`CreateModelVersion`."""

    version: ModelVersionRecord
    """The new version."""


class DeleteModelVersion(Command):
    """Undo a :class:`CreateModelVersion`: delete the version, the run back to running."""

    effect_key: str
    """Idempotency key of the create command."""


class ModelVersionDeleted(Reply):
    """Answer to :class:`DeleteModelVersion`."""

    version_id: str | None
    """The version deleted; None when that key created none."""


class ListModelRuns(Command):
    """Model runs, oldest first."""

    state: RunState | None = None
    """Only runs in this state."""


class ModelRunsPage(Reply):
    """Answer to :class:`ListModelRuns`."""

    runs: list[ModelRunRecord]
    """The runs."""


class ShowModelRun(Command):
    """One run with its history, artifacts and versions (``run_not_found``)."""

    run_id: str
    """The run."""


class ModelRunShown(Reply):
    """Answer to :class:`ShowModelRun`."""

    run: ModelRunRecord
    """The run."""
    transitions: list[RunTransition]
    """Its state changes, oldest first."""
    artifacts: list[ModelArtifact]
    """Its artifacts."""
    versions: list[ModelVersionRecord]
    """Its model versions."""
