"""Messages to and from the saga supervisor and the saga actors (one per run).

Client view (request -> reply, all through the saga supervisor)::

    StartSaga  -> SagaAccepted (new or existing run) | SagaRefused
    AwaitRun   -> RunOutcome (when the run ends; at once if it already has)
    CancelRun  -> CancelAnswer
    RunStatus  -> RunSnapshot | SagaRefused (unknown run)

Operator actions (the admin CLI; answered from the durable journal)::

    ListRuns            -> RunsPage | SagaRefused (unavailable: no durable journal)
    RetryCompensation   -> OperatorAnswer   (a stuck run rolls back again)
    ResumeRun           -> OperatorAnswer   (a halted run continues; a failed or
                                             cancelled one is resumed by a successor run)

Statuses (:data:`RunStatusName`): the executor's, plus ``needs_operator``: a
run the runtime cannot continue by itself (its saga is no longer in the
catalog, its journal rows are corrupt, or its saga actor kept dying); it is
listed, never dropped, and :class:`ResumeRun` tries to recover it again.

Inside the tree: the saga supervisor routes each request about a run to the
saga host of its partition (wrapped in :class:`~sagaline.messages.batch.Routed`
so the host answers the requester directly). A host runs its runs itself, or
a ``process`` saga's run in a single-run child host, which reports
:class:`RunBegun` once the start is durable and :class:`RunEnded` when it
ends (or :class:`RunWithdrawn` when its start could not be made durable),
and gets :class:`DirectoryUpdate` when a domain actor moved.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import ActorRef, Message
from sagaline.messages.ids import GivenId

__all__ = [
    "StartSaga",
    "SagaAccepted",
    "SagaRefused",
    "AwaitRun",
    "RunOutcome",
    "CancelRun",
    "CancelAnswer",
    "RunStatus",
    "RunSnapshot",
    "StepSnapshot",
    "RunBegun",
    "RunEnded",
    "RunWithdrawn",
    "DirectoryUpdate",
    "ListRuns",
    "RunSummary",
    "RunsPage",
    "RetryCompensation",
    "ResumeRun",
    "OperatorAnswer",
    "RunStatusName",
    "GetHostStats",
    "HostStats",
    "ListLeases",
    "LeaseList",
]

RunStatusName = Literal[
    "running", "draining", "rolling_back", "halted", "completed", "failed", "cancelled", "stuck", "needs_operator"
]


class StartSaga(Message):
    """Start a run of ``saga`` (idempotent by correlation id)."""

    saga: str
    """Name of the saga (see ``sagaline.sagas.catalog``)."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """The run's inputs."""
    correlation_id: GivenId | None = None
    """The run's id (UUID v7, any letter case, kept lowercase); generated when None or empty; a malformed
    one is refused."""
    causation_id: GivenId | None = None
    """What caused the run (UUID v7 when given, any letter case, kept lowercase): e.g. the run before it
    in one business transaction."""
    wait: bool = False
    """Reply with the :class:`RunOutcome` when the run ends instead of :class:`SagaAccepted`."""


class SagaAccepted(Message):
    """The run exists: just started, or already running/finished under that id."""

    correlation_id: str
    """The run's id."""
    saga: str
    """The saga it runs."""
    existing: bool
    """True when a run with this correlation id already existed (nothing new started)."""
    address: ActorRef = None
    """The run's saga actor (None when the run has already ended)."""


class SagaRefused(Message):
    """The request was refused; nothing started, nothing changed."""

    code: Literal[
        "invalid_correlation_id",
        "invalid_causation_id",
        "unknown_saga",
        "invalid_input",
        "unknown_run",
        "max_children",
        "unavailable",
        "journal_unavailable",
        "storage_unavailable",
        "correlation_id_taken",
    ]
    """Why, as a stable code."""
    message: str
    """What was wrong, for a human."""


class AwaitRun(Message):
    """Reply with :class:`RunOutcome` once the run ``correlation_id`` ends."""

    correlation_id: GivenId
    """The run to wait for."""


class RunOutcome(Message):
    """How a run ended."""

    correlation_id: str
    """The run."""
    saga: str
    """Its saga."""
    status: RunStatusName
    """completed | failed | cancelled | stuck | halted | needs_operator."""
    result: Any = None
    """The run's result (completed only)."""
    error: dict[str, Any] | None = None
    """The failure (code, message, retryable, indefinite, details), if any."""
    failed_step: str | None = None
    """The step whose failure stopped the run, if any."""
    failed_compensations: list[str] = Field(default_factory=list)
    """Steps whose compensation or undo failed for good (stuck runs)."""
    started_at: float | None = None
    """Wall-clock time the run started (seconds since the epoch)."""
    finished_at: float | None = None
    """Wall-clock time it ended."""
    existing: bool = False
    """In the answer to a ``StartSaga`` with ``wait``: True when the run existed before that start
    (nothing new was started); False everywhere else."""


class CancelRun(Message):
    """Cancel a running run: it drains and rolls back."""

    correlation_id: GivenId
    """The run to cancel."""
    reason: str = "cancelled by operator"
    """Recorded as the cancellation reason."""


class CancelAnswer(Message):
    """What a :class:`CancelRun` did."""

    correlation_id: str
    """The run."""
    accepted: bool
    """True when the run was running and now rolls back; False when it had already ended."""
    status: str
    """The run's status after the request."""


class RunStatus(Message):
    """Ask where a run stands."""

    correlation_id: GivenId
    """The run."""


class StepSnapshot(Message):
    """One step of a :class:`RunSnapshot`."""

    name: str
    """The step."""
    status: str
    """Its status (pending, running, succeeded, undone, ...)."""
    attempts: int
    """Run attempts made."""
    started_at: float | None = None
    """Wall-clock time of its first dispatch."""
    finished_at: float | None = None
    """Wall-clock time it completed (or was undone)."""
    error: dict[str, Any] | None = None
    """Its run failure, if any."""
    compensation_error: dict[str, Any] | None = None
    """Its compensation/undo failure, if any."""
    result: Any = None
    """Its result, once it succeeded (kept after an undo: what was undone)."""
    completed_seq: int | None = None
    """Its place in the run's completion order (0 first; undo goes by it, last first); None: never completed."""
    compensation_kind: Literal["compensate", "undo"] | None = None
    """Which callback the latest compensation attempts ran (None: none ran)."""
    compensation_attempts: int = 0
    """Attempts of that compensate or undo (0: none)."""


class RunSnapshot(Message):
    """Where a run stands, step by step.

    The fields after ``finished_at`` are optional: a host that rebuilds an
    ended run from its journal (``sagaline.saga.shell.snapshot``) fills what
    the run's state knows; lineage (``resumed_from``, ``successor``) comes
    from the journal's run summary and is None where the host does not add it.
    """

    correlation_id: str
    """The run."""
    saga: str
    """Its saga."""
    status: str
    """The run's status."""
    steps: list[StepSnapshot]
    """Its steps in plan order."""
    started_at: float
    """Wall-clock start time."""
    finished_at: float | None = None
    """Wall-clock end time, once ended."""
    inputs: dict[str, Any] | None = None
    """The run's prepared inputs (defaults filled in); None: not known here."""
    result: Any = None
    """Its result, once completed."""
    error: dict[str, Any] | None = None
    """The failure that stopped it (code, message, retryable, indefinite, details), if any."""
    failed_step: str | None = None
    """The step whose failure stopped it, if any."""
    failed_compensations: list[str] = Field(default_factory=list)
    """Steps whose compensation or undo failed for good (stuck runs)."""
    reason: str | None = None
    """Why it was cancelled or halted, when it was."""
    causation_id: str | None = None
    """What caused the run (for a successor: the run it resumes)."""
    resumed_from: str | None = None
    """The failed or cancelled run this one resumes, if any (from the journal)."""
    successor: str | None = None
    """The run that resumed this one, if any (from the journal)."""


class RunBegun(Message):
    """Single-run host -> its parent host: the run's start is durable (the starter may be told)."""

    correlation_id: str
    """The run."""


class RunEnded(Message):
    """Single-run host -> its parent host: the run ended (the child exits next)."""

    outcome: RunOutcome
    """How it ended."""


class RunWithdrawn(Message):
    """Single-run host -> its parent host: the run's start could not be written (a storage fault), so it
    was taken back; the starter is refused ``storage_unavailable`` (the child exits next)."""

    correlation_id: str
    """The run that never began."""
    reason: str
    """Why the journal could not be written."""


class GetHostStats(Message):
    """Ask a saga host how it has been doing (benchmarks, health)."""


class HostStats(Message):
    """Answer to :class:`GetHostStats` (counts since the host started)."""

    index: int
    """The host's partition."""
    runs: int
    """Runs in progress in the host itself."""
    process_runs: int
    """Runs in progress in single-run child hosts."""
    recovering: int
    """Unfinished runs still waiting to be rebuilt."""
    commits: int
    """Journal transactions committed."""
    writes: int
    """Journal records made durable."""
    largest_batch: int
    """Most records in one commit."""
    commit_failures: int
    """Journal writes that failed (and were retried)."""
    envelopes: int
    """Messages sent (a batch of commands counts once)."""
    items: int
    """Messages the runs and the host gave the outbox (a batched command counts once each)."""
    storage_fault: str | None = None
    """Why the journal cannot be written now (None: it can)."""
    desk_served: int = 0
    """Admin requests clients sent straight to this host and got answered here."""


class DirectoryUpdate(Message):
    """Saga host -> its single-run child hosts: a domain actor has a new address."""

    name: str
    """The domain actor's name."""
    address: ActorRef = None
    """Its address (None: currently unavailable)."""


class ListRuns(Message):
    """List runs, newest first, filtered."""

    status: list[str] = Field(default_factory=list)
    """Only runs in these statuses (empty: any)."""
    saga: str | None = None
    """Only runs of this saga."""
    older_than_s: float | None = None
    """Only runs started at least this many seconds ago."""
    newer_than_s: float | None = None
    """Only runs started at most this many seconds ago."""
    id_prefix: str | None = Field(default=None, max_length=64)
    """Only runs whose correlation id starts with this (how an abbreviated id is resolved)."""
    started_after: float | None = None
    """Only runs started at or after this wall-clock time (seconds since the epoch)."""
    started_before: float | None = None
    """Only runs started before this wall-clock time."""
    limit: int = Field(default=50, ge=1, le=10_000)
    """Most rows returned."""


class RunSummary(Message):
    """One row of a :class:`RunsPage`."""

    correlation_id: str
    """The run."""
    saga: str
    """Its saga."""
    status: str
    """Its status."""
    started_at: float
    """Wall-clock start time."""
    finished_at: float | None = None
    """Wall-clock end time, once ended."""
    failed_step: str | None = None
    """The step whose failure stopped it, if any."""
    error_code: str | None = None
    """The code of its error, if any."""
    failed_compensations: list[str] = Field(default_factory=list)
    """For stuck runs: the compensations that failed for good."""
    message: str | None = None
    """Its error's message (for ``needs_operator``: why)."""
    updated_at: float | None = None
    """Wall-clock time of its last journal write."""
    resumed_from: str | None = None
    """The failed run this one resumes, if any."""
    successor: str | None = None
    """The run that resumed this one, if any."""


class RunsPage(Message):
    """Answer to :class:`ListRuns`."""

    runs: list[RunSummary]
    """The matching runs, newest first."""
    total: int
    """How many runs matched before ``limit``."""


class RetryCompensation(Message):
    """Retry the failed compensations of a stuck run (all of them when ``steps`` is empty)."""

    correlation_id: GivenId
    """The stuck run."""
    steps: list[str] = Field(default_factory=list)
    """Only these steps' compensations."""


class ResumeRun(Message):
    """Continue a halted run, or resume a failed (rolled back) or cancelled run.

    * halted: the same run continues (``ResumeRequested``) at its pending
      steps; ``from_step`` may only name one of them.
    * failed / cancelled: its effects were undone, so it cannot continue in
      place; a **successor run** (new correlation id, causation = this run)
      starts with the same inputs. ``from_step`` (default: the step that
      failed) and every step downstream of it run again, and so does every
      step whose effect the rollback undid; a step whose result survived the
      rollback (it has no undo) and whose upstream steps are all carried
      over too is not run again: its recorded result is carried over.
    * needs_operator: recovery is tried again (e.g. after its saga was
      deployed again).

    Refused for running, completed and stuck runs, and for a run already
    resumed (the answer names its successor).
    """

    correlation_id: GivenId
    """The run."""
    from_step: str | None = None
    """The step to run again first (with everything that depends on it); None: where it stopped."""


class OperatorAnswer(Message):
    """What an operator action did."""

    correlation_id: str
    """The run."""
    accepted: bool
    """True when the action was taken."""
    status: str
    """The run's status after the request."""
    message: str = ""
    """Why it was refused, or what happened."""
    successor: str | None = None
    """ResumeRun of a failed/cancelled run: the successor run's correlation id."""


class ListLeases(Message):
    """Admin -> the saga supervisor: every partition lease in the journal. Answered with :class:`LeaseList`
    (or :class:`SagaRefused` without a durable journal)."""


class LeaseList(Message):
    """Every stored lease: ``resource``, ``owner``, ``expires_at`` (wall clock), ``token``."""

    leases: list[dict[str, Any]] = Field(default_factory=list)
    """The leases, by resource."""
