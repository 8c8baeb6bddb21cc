"""Messages to and from the journal actor, the single writer of ``journal.sqlite``.

Writes (from saga actors, and from the saga supervisor for marks)::

    JournalBegin | JournalAppend | JournalFinish  -> JournalAck (after the group commit)

Each write carries the writer's ``token`` (increasing per run); the journal
answers :class:`JournalAck` with ``upto`` = the highest token of that run
made durable, once per run per commit (so one ack may confirm several
writes). Writes are idempotent (a begin of a known run, an append of a
known ``(run, seq)`` change nothing), so a writer re-sends every
unacknowledged write after the journal actor was restarted.

Reads (answered at once, after flushing what is pending, so a reader sees
every write sent before its request)::

    LoadRun         -> RunLoaded         (a saga actor rebuilding its run)
    LoadUnfinished  -> UnfinishedRuns    (the saga supervisor, at start)
    FindRun         -> RunFound          (idempotent starts, status of ended runs)
    QueryRuns       -> RunsQueried       (operators: ListRuns)
    PruneRuns       -> RunsPruned        (retention, also run on a timer)
    GetJournalStats -> JournalStats      (commits and batch sizes, for benchmarks)
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sagaline.messages.base import Message
from sagaline.messages.saga import ListRuns, RunOutcome, RunsPage, RunSummary

__all__ = [
    "StepRecord", "JournalWrite", "JournalBegin", "JournalAppend", "JournalFinish", "JournalAck",
    "JournalFlush", "RecordedEvent", "LoadRun", "RunLoaded", "OpenRun", "LoadUnfinished",
    "UnfinishedRuns", "FindRun", "RunFound", "QueryRuns", "RunsQueried", "PruneRuns", "RunsPruned",
    "GetJournalStats", "JournalStats",
]


class StepRecord(Message):
    """One step's row of the operators' projection (``run_steps``), as of a write."""

    step: str
    """The step."""
    status: str
    """Its status in the executor's words: ``running`` is dispatched, ``undone`` compensated."""
    attempt: int = 0
    """Run attempts made."""
    comp_attempt: int = 0
    """Attempts of the current compensate/undo."""
    idempotency_key: str | None = None
    """Key of the invocation in flight (None: nothing in flight)."""
    retry_at: float | None = None
    """Wall-clock time a pending retry fires."""
    deadline: float | None = None
    """Wall-clock time the invocation in flight times out."""
    error_code: str | None = None
    """Code of its run failure, if any."""
    comp_error_code: str | None = None
    """Code of its compensate/undo failure, if any."""
    started_at: float | None = None
    """First dispatch."""
    finished_at: float | None = None
    """Completion (or undo)."""


class JournalWrite(Message):
    """A write to the journal; acknowledged by :class:`JournalAck`."""

    ABSTRACT: ClassVar[bool] = True

    token: int
    """The writer's sequence number for this run (acks say ``upto``)."""
    correlation_id: str
    """The run."""


class JournalBegin(JournalWrite):
    """A run starts (or a successor run starts from a failed one)."""

    saga: str
    """Its saga."""
    version: int
    """The saga definition's version."""
    inputs: dict[str, Any]
    """Its inputs as given (msgpack-able)."""
    causation_id: str | None = None
    """What caused it."""
    started_at: float
    """Wall-clock start time (the executor's ``now`` at start)."""
    status: str = "running"
    """Its status after the start transition."""
    steps: list[StepRecord] = Field(default_factory=list)
    """Steps changed by the start."""
    resumed_from: str | None = None
    """The failed run this one resumes (ResumeRun), if any."""
    carried: dict[str, Any] = Field(default_factory=dict)
    """Step -> result carried over from ``resumed_from`` (not run again)."""


class JournalAppend(JournalWrite):
    """One event applied to a run."""

    seq: int
    """Its number in the run (1, 2, ...)."""
    at: float
    """The ``now`` it was applied at."""
    event: dict[str, Any]
    """The event as plain data (:mod:`sagaline.saga.records`)."""
    status: str
    """The run's status after it."""
    steps: list[StepRecord] = Field(default_factory=list)
    """Steps it changed."""


class JournalFinish(JournalWrite):
    """A run stopped: terminal, halted, or marked ``needs_operator``."""

    status: str
    """completed | failed | cancelled | stuck | halted | needs_operator."""
    outcome: RunOutcome
    """How it ended (what waiters receive)."""


class JournalAck(Message):
    """Writes of ``correlation_id`` up to token ``upto`` are durable."""

    correlation_id: str
    """The run."""
    upto: int
    """Highest token made durable."""


class JournalFlush(Message):
    """Journal actor -> itself: commit the pending batch (its mailbox had drained)."""

    generation: int
    """Which batch it was scheduled for (a stale one is ignored)."""


class RecordedEvent(Message):
    """One stored event of a run."""

    seq: int
    """Its number in the run."""
    at: float
    """When it applied."""
    data: Any
    """The event as plain data (checked by whoever replays it)."""


class LoadRun(Message):
    """Saga actor -> journal: send me everything about this run."""

    correlation_id: str
    """The run."""


class RunLoaded(Message):
    """A run's journal, as stored."""

    correlation_id: str
    """The run."""
    found: bool
    """False when the journal has no such run."""
    saga: str = ""
    """Its saga."""
    version: int = 0
    """The definition version it started with."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """Its inputs."""
    causation_id: str | None = None
    """What caused it."""
    started_at: float = 0.0
    """Its start time."""
    status: str = ""
    """Its last recorded status."""
    finished: bool = False
    """True when a finish was recorded (it has an outcome)."""
    outcome: RunOutcome | None = None
    """The recorded outcome, if finished."""
    events: list[RecordedEvent] = Field(default_factory=list)
    """Its events in order."""
    resumed_from: str | None = None
    """The run it resumes, if any."""
    carried: dict[str, Any] = Field(default_factory=dict)
    """Step results carried over from that run."""
    problem: str | None = None
    """Why the stored rows cannot be read (a corrupt row), if so."""


class OpenRun(Message):
    """An unfinished run found at start."""

    correlation_id: str
    """The run."""
    saga: str
    """Its saga."""
    status: str
    """Its last recorded status."""


class LoadUnfinished(Message):
    """Supervisor -> journal: which runs must be recovered?"""


class UnfinishedRuns(Message):
    """Every run without a recorded finish (and not waiting for an operator), oldest first."""

    runs: list[OpenRun]
    """The runs."""


class FindRun(Message):
    """What does the journal know about one run?"""

    request: int
    """The asker's request number, echoed."""
    correlation_id: str
    """The run."""


class RunFound(Message):
    """Answer to :class:`FindRun`."""

    request: int
    """Echoed."""
    correlation_id: str
    """The run."""
    summary: RunSummary | None = None
    """Its row (None: unknown run)."""
    outcome: RunOutcome | None = None
    """Its outcome, once finished."""
    steps: list[StepRecord] = Field(default_factory=list)
    """Its steps from the projection, in plan order as recorded."""


class QueryRuns(Message):
    """Supervisor -> journal: an operator's :class:`ListRuns`."""

    request: int
    """The asker's request number, echoed."""
    query: ListRuns
    """The filter."""


class RunsQueried(Message):
    """Answer to :class:`QueryRuns`."""

    request: int
    """Echoed."""
    page: RunsPage
    """The rows."""


class PruneRuns(Message):
    """Delete finished runs (completed, failed, cancelled) older than ``older_than_s`` now."""

    older_than_s: float | None = None
    """Age in seconds; None: the journal's configured retention."""


class RunsPruned(Message):
    """Answer to :class:`PruneRuns`."""

    pruned: int
    """How many runs were deleted."""


class GetJournalStats(Message):
    """Ask the journal actor how it has been committing."""


class JournalStats(Message):
    """Answer to :class:`GetJournalStats` (counts since the journal actor started)."""

    commits: int
    """Transactions committed for writes."""
    writes: int
    """Writes made durable."""
    largest_batch: int
    """Most writes in one commit."""
    batch_sizes: list[int] = Field(default_factory=list)
    """Histogram: item ``i`` counts commits of ``2**i`` to ``2**(i+1) - 1`` writes."""
    failures: int = 0
    """Commits that failed and were retried."""
    commit_seconds: float = 0.0
    """Wall time spent committing writes (the journal actor is blocked meanwhile)."""
