"""Messages of the cerebros bridge (NAS trials) and of its trainer actors.

The bridge (registered as ``"bridge"``) proposes architectures, runs each
trial as its own trainer actor, and answers the saga by message:

``ProposeArchitectures`` -> ``ArchitecturesProposed``
    Seeded and reproducible; ``invalid_search_space`` /
    ``no_viable_architecture`` (nothing fits ``max_params``).
``DispatchTraining`` -> ``TrainingDispatched``
    One trial per proposal; the run's deadline starts now. A re-sent
    command with the same idempotency key gets the first answer.
``AwaitTrials`` -> ``TrialsFinished`` once every trial of the run has ended;
    ``training_deadline_exceeded`` at the run's deadline (every trial still
    running is cancelled first), ``training_cancelled`` when the run was
    cancelled meanwhile, ``unknown_run``.
``CancelTrials`` -> ``TrialsCancelled``: every queued or running trial of
    the run ends (its trainer process is killed) and is marked cancelled.
``ListTrials`` -> ``TrialsPage``: live view (state, pid, progress).

Between the bridge and a trainer: ``TrainTrial`` (bridge -> trainer),
``TrialProgress`` and ``TrialReport`` (trainer -> bridge). Failures of the
commands come back as :class:`~sagaline.messages.common.CommandFailed`.
Shared records (:class:`TrainingDataset`, :class:`Architecture`,
:class:`TrialResult`) live here; bolt's messages reuse them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import Command, Message, Reply

__all__ = [
    "DatasetKind",
    "TrialState",
    "TrainingDataset",
    "Architecture",
    "TrialResult",
    "TrialInfo",
    "ProposeArchitectures",
    "ArchitecturesProposed",
    "DispatchTraining",
    "TrainingDispatched",
    "AwaitTrials",
    "TrialsFinished",
    "CancelTrials",
    "TrialsCancelled",
    "ListTrials",
    "TrialsPage",
    "TrainTrial",
    "TrialProgress",
    "TrialReport",
]

DatasetKind = Literal["builtin", "csv", "npz"]
TrialState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class TrainingDataset(Message):
    """A dataset registered with bolt, as trainers need to load it."""

    dataset_id: str
    """Its id (the name for built-in datasets)."""
    name: str
    """Its unique name (``digits`` for scikit-learn's bundled digits)."""
    kind: DatasetKind
    """``builtin`` (shipped with scikit-learn), ``csv`` (label in the last column) or ``npz`` (arrays X, y)."""
    path: str = ""
    """File path of a csv/npz dataset; empty for built-ins."""
    feature_count: int
    """Features per sample."""
    class_count: int
    """Distinct labels."""
    sample_count: int
    """Samples."""
    registered_at: datetime | None = None
    """When bolt registered it (UTC)."""


class Architecture(Message):
    """One proposed network (see :class:`thunderline.domains.nas.Proposal`)."""

    layers: list[int]
    """Width of each hidden layer, input side first."""
    activation: str
    """Hidden-layer activation (relu, tanh, logistic, identity)."""
    learning_rate: float
    """Adam's initial learning rate."""
    alpha: float
    """L2 penalty."""
    batch_size: int
    """Minibatch size."""
    epochs: int
    """Passes over the training data."""
    param_count: int
    """Weights and biases of the network."""


class TrialResult(Message):
    """How one trial ended (the bridge's answer, and what bolt records)."""

    trial_id: str
    """The trial's id (unique per bridge)."""
    run_id: str
    """The model run it belongs to."""
    state: Literal["succeeded", "failed", "cancelled"]
    """Its terminal state."""
    architecture: Architecture
    """What was trained."""
    accuracy: float | None = None
    """Accuracy on the held-out split, 0..1 (succeeded only)."""
    artifact_path: str | None = None
    """The model file (succeeded only)."""
    size_bytes: int | None = None
    """Size of the model file."""
    sha256: str | None = None
    """SHA-256 of the model file, hex."""
    duration_s: float = 0.0
    """Seconds the trainer spent training."""
    reason: str = ""
    """Why it failed or was cancelled."""


class TrialInfo(Message):
    """A trial as the bridge sees it now."""

    trial_id: str
    """The trial's id."""
    run_id: str
    """Its model run."""
    state: TrialState
    """queued, running, succeeded, failed or cancelled."""
    trainer: bool = False
    """True once a trainer actor was created for it (a trial cancelled while queued never gets one)."""
    pid: int | None = None
    """OS pid of its trainer, once the trainer reported it (the bridge's own pid in-process)."""
    member: str | None = None
    """The convention member (its admin's address) the bridge placed its trainer on; None: the bridge's own
    actor system (or, when that declares no ``trainer``, the first member Thespian finds declaring it)."""
    epoch: int = 0
    """Epochs reported done so far."""
    epochs: int = 0
    """Epochs planned."""
    reason: str = ""
    """Why it failed or was cancelled."""


class ProposeArchitectures(Command):
    """Propose up to ``count`` architectures from ``search_space`` (seeded)."""

    run_id: str
    """The model run they are for."""
    search_space: dict[str, Any] = Field(default_factory=dict)
    """The declared space (:class:`thunderline.domains.nas.SearchSpace` as data); empty: the default."""
    count: int = 3
    """How many are wanted."""
    seed: int = 0
    """Seeds the draw (same inputs, same proposals)."""
    feature_count: int
    """The dataset's features (for each network's size)."""
    class_count: int
    """The dataset's classes."""
    max_params: int = 2_000_000
    """Largest network proposed (the original's default)."""


class ArchitecturesProposed(Reply):
    """Answer to :class:`ProposeArchitectures`."""

    run_id: str
    """The model run."""
    proposals: list[Architecture]
    """The proposals, in draw order."""


class DispatchTraining(Command):
    """Start one trial per proposal; the run's deadline starts now."""

    run_id: str
    """The model run."""
    dataset: TrainingDataset
    """What to train on."""
    proposals: list[Architecture]
    """One trial each."""
    seed: int = 0
    """Seeds the data split and the weights of every trial."""
    deadline_s: float = 300.0
    """Seconds from now until unfinished trials are cancelled (the original waited 300 s)."""


class TrainingDispatched(Reply):
    """Answer to :class:`DispatchTraining`."""

    run_id: str
    """The model run."""
    trial_ids: list[str]
    """One per proposal, in order."""


class AwaitTrials(Command):
    """Answer when every trial of the run has ended (no polling)."""

    run_id: str
    """The model run."""


class TrialsFinished(Reply):
    """Every trial of the run has ended."""

    run_id: str
    """The model run."""
    trials: list[TrialResult]
    """Each trial's outcome, in dispatch order."""


class CancelTrials(Command):
    """Cancel every trial of the run that has not ended (kills its trainer)."""

    run_id: str
    """The model run."""
    reason: str = "cancelled"
    """Recorded on each cancelled trial."""


class TrialsCancelled(Reply):
    """Answer to :class:`CancelTrials`."""

    run_id: str
    """The model run."""
    cancelled: list[str]
    """Trials that were queued or running and are now cancelled."""


class ListTrials(Command):
    """The bridge's live view of trials (tests, CLI)."""

    run_id: str | None = None
    """Only this run's; all when None."""


class TrialsPage(Reply):
    """Answer to :class:`ListTrials`."""

    trials: list[TrialInfo]
    """In dispatch order."""


class TrainTrial(Message):
    """Bridge -> trainer: train this architecture, write the artifact, report."""

    trial_id: str
    """The trial."""
    run_id: str
    """Its model run."""
    dataset: TrainingDataset
    """What to train on."""
    architecture: Architecture
    """What to train."""
    seed: int = 0
    """Seeds the split and the initial weights."""
    artifacts_dir: str
    """Directory the model file goes in."""


class TrialProgress(Message):
    """Trainer -> bridge: an epoch is done."""

    trial_id: str
    """The trial."""
    epoch: int
    """Epochs done."""
    epochs: int
    """Epochs planned."""
    loss: float
    """Training loss after this epoch."""


class TrialReport(Message):
    """Trainer -> bridge: the trial ended (success or failure)."""

    result: TrialResult
    """How it ended."""
