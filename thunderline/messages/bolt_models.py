"""Commands to the bolt domain actor for NAS model runs and its replies.

The CerebrosNAS saga's half of bolt (datasets, model runs, artifacts,
Pareto frontiers, model versions); the UPM half is
:mod:`thunderline.messages.bolt`. Conventions of :mod:`thunderline.messages.gate`:
every effect is applied at most once per idempotency key (a duplicate gets
the first answer), undo commands name their effect by ``effect_key``,
failures are :class:`~sagaline.messages.common.CommandFailed`. Reads
(``Get*``, ``List*``, ``Show*``) change nothing and are answered directly.
Each command's outcomes are listed in :mod:`thunderline.domains.bolt_models`.
A process that decodes these messages imports this module: importing
:mod:`thunderline.messages.bolt` does not register them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import Command, Message, Reply
from thunderline.messages.bridge import DatasetKind, TrainingDataset, TrialResult

__all__ = [
    "RunState",
    "ModelRunRecord",
    "RunTransition",
    "ModelArtifact",
    "FrontierPoint",
    "ModelVersionRecord",
    "RegisterDataset",
    "DatasetRegistered",
    "GetDataset",
    "DatasetFound",
    "ListDatasets",
    "DatasetsPage",
    "CreateModelRun",
    "ModelRunCreated",
    "TransitionModelRun",
    "ModelRunTransitioned",
    "RecordRunFailure",
    "RunFailureRecorded",
    "AbortModelRun",
    "ModelRunAborted",
    "RecordArtifacts",
    "ArtifactsRecorded",
    "AnalyzeFrontier",
    "FrontierAnalyzed",
    "CreateModelVersion",
    "ModelVersionCreated",
    "DeleteModelVersion",
    "ModelVersionDeleted",
    "ListModelRuns",
    "ModelRunsPage",
    "ShowModelRun",
    "ModelRunShown",
]

RunState = Literal["initialized", "running", "succeeded", "failed", "cancelled"]


# ----- records ------------------------------------------------------------------------------


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


# ----- commands and replies -----------------------------------------------------------------


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


class ListDatasets(Command):
    """Every registered dataset (the built-ins too), oldest first."""


class DatasetsPage(Reply):
    """Answer to :class:`ListDatasets`."""

    datasets: list[TrainingDataset]
    """The datasets."""


class CreateModelRun(Command):
    """Create a model run (initialized, then running); ``dataset_not_found``, ``invalid_search_space``,
    ``invalid_run``."""

    dataset_id: str
    """Its dataset."""
    requested_trials: int = 3
    """Trials asked for (the original's default)."""
    max_params: int = 2_000_000
    """Largest model accepted (the original's default)."""
    search_space: dict[str, Any] = Field(default_factory=dict)
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
    """Version the chosen model and mark its run succeeded (``run_not_found``, ``artifact_not_found``,
    ``illegal_transition``)."""

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
