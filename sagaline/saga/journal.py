"""PURE. What a journal records about a run, and how a run is rebuilt from it.

A run is journaled as its start (the :class:`~sagaline.messages.saga.StartSaga`
it was admitted with, plus the definition version and start time), then the
run events the executor consumed, each with the time it was applied, and
finally its outcome. Because the executor is pure, replaying those events
rebuilds the run exactly (:func:`replay`), which is how recovery resumes a
run after a crash.

Write-ahead rule, kept by whoever drives a run: an event is handed to the
journal *before* any command that follows from it is carried out; the
commands are carried out in a continuation called once the record is
durable. :class:`GroupCommit` is that rule for many runs at once: records
of every run collected while a saga host handles one message are written
in one transaction, then every continuation runs.

Each write carries the run's ``status`` after it (for listing runs); a
run's steps are shown by replaying its events.

Records are plain frozen data: the start keeps the admitted ``StartSaga``
itself (one record of the start from admission to the journal), an append
keeps the event as the dict :mod:`sagaline.saga.records` makes, a finish
keeps the :class:`~sagaline.messages.saga.RunOutcome` waiters receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sagaline.messages.saga import ListRuns, RunOutcome, RunsPage, RunSummary, StartSaga
from sagaline.saga.executor import Executor
from sagaline.saga.records import event_from_data, event_to_data
from sagaline.saga.signals import RunEvent
from sagaline.saga.state import RunState

__all__ = [
    "Begin",
    "Append",
    "Finish",
    "Record",
    "Entry",
    "RunHistory",
    "OpenRun",
    "JournalStore",
    "MemoryJournal",
    "GroupCommit",
    "HaltRule",
    "Halted",
    "replay",
    "append_of",
]

#: What a :class:`GroupCommit` hands back once a record is durable.
Then = TypeVar("Then")


@dataclass(frozen=True, slots=True)
class Begin:
    """A run starts (or a successor of a failed run starts).

    Attributes:
        start: the admitted request (saga, inputs, correlation and causation ids).
        version: the saga definition's version.
        started_at: the executor's ``now`` at start.
        status: the run's status after the start transition.
        resumed_from: the failed run this one resumes, if any.
        carried: step -> result carried over from ``resumed_from``.
    """

    start: StartSaga
    version: int
    started_at: float
    status: str = "running"
    resumed_from: str | None = None
    carried: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.start.correlation_id or ""


@dataclass(frozen=True, slots=True)
class Append:
    """One event applied to a run: number ``seq``, applied at ``at``, as plain data."""

    run_id: str
    seq: int
    at: float
    event: dict[str, Any]
    status: str


@dataclass(frozen=True, slots=True)
class Finish:
    """A run stopped: terminal, halted, or marked ``needs_operator``."""

    run_id: str
    status: str
    outcome: RunOutcome


Record = Begin | Append | Finish


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored event of a run (its data is checked when it is replayed)."""

    seq: int
    at: float
    data: Any


@dataclass
class RunHistory:
    """Everything journaled about one run.

    ``problem`` names a stored row that could not be decoded (the run then
    needs an operator; nothing is guessed).
    """

    begin: Begin
    entries: list[Entry] = field(default_factory=list)
    status: str = "running"
    outcome: RunOutcome | None = None
    problem: str | None = None

    @property
    def finished(self) -> bool:
        """True when a finish was recorded (and not reopened since)."""
        return self.outcome is not None


@dataclass(frozen=True, slots=True)
class OpenRun:
    """An unfinished run, as recovery sees it."""

    run_id: str
    saga: str
    status: str


class JournalStore(Protocol):
    """Where records are kept (SQLite, or memory). Used from one thread."""

    def write(self, records: Sequence[Record], now: float) -> None:
        """Apply ``records`` in order, atomically (all or none); raise StorageError when nothing was written."""

    def load(self, run_id: str) -> RunHistory | None:
        """One run's history (None: unknown)."""

    def unfinished(self) -> list[OpenRun]:
        """Every run without a recorded finish, oldest first."""

    def find(self, run_id: str) -> tuple[RunSummary | None, RunOutcome | None]:
        """One run's summary and outcome (once finished)."""

    def list_runs(self, query: ListRuns, now: float) -> RunsPage:
        """Runs matching ``query``, newest first."""

    def close(self) -> None:
        """Release the store."""


class MemoryJournal:
    """A journal in dicts: durable only as long as the process lives (tests, ``journal="memory"``)."""

    durable = False

    def __init__(self) -> None:
        self.runs: dict[str, RunHistory] = {}

    def write(self, records: Sequence[Record], now: float) -> None:
        for record in records:
            if isinstance(record, Begin):
                self.runs.setdefault(record.run_id, RunHistory(record, status=record.status))
                continue
            history = self.runs[record.run_id]
            if isinstance(record, Append):
                history.entries.append(Entry(record.seq, record.at, record.event))
                history.status, history.outcome = record.status, None
            else:
                history.status, history.outcome = record.status, record.outcome

    def load(self, run_id: str) -> RunHistory | None:
        return self.runs.get(run_id)

    def unfinished(self) -> list[OpenRun]:
        return [OpenRun(h.begin.run_id, h.begin.start.saga, h.status) for h in self.runs.values() if not h.finished]

    def find(self, run_id: str) -> tuple[RunSummary | None, RunOutcome | None]:
        history = self.runs.get(run_id)
        if history is None:
            return None, None
        out = history.outcome
        summary = RunSummary(
            correlation_id=run_id,
            saga=history.begin.start.saga,
            status=history.status,
            started_at=history.begin.started_at,
            finished_at=out.finished_at if out else None,
            failed_step=out.failed_step if out else None,
            error_code=(out.error or {}).get("code") if out else None,
        )
        return summary, out

    def list_runs(self, query: ListRuns, now: float) -> RunsPage:
        rows = [self.find(run_id)[0] for run_id in reversed(list(self.runs))]
        rows = [
            r
            for r in rows
            if r is not None
            and (not query.status or r.status in query.status)
            and (query.saga is None or r.saga == query.saga)
        ]
        return RunsPage(runs=rows[: query.limit], total=len(rows))

    def close(self) -> None:
        pass


class Halted(Exception):
    """Raised by :meth:`GroupCommit.flush` when the rehearsal hook stopped the journal."""

    def __init__(self, rule: HaltRule) -> None:
        super().__init__(f"journal halted by its rehearsal rule ({rule.action})")
        self.rule = rule


@dataclass(frozen=True)
class HaltRule:
    """Where a rehearsal stops the journal: at the first append matching the rule.

    Tests and rehearsals only (like fault rules): the journal writes up to
    the matching record (``when="before"``) or through it (``"after"``),
    then the host touches ``marker`` and freezes (blocks until killed) or
    goes mute (writes nothing more). It stops a run deterministically at a
    chosen point of its life.
    """

    step: str
    kind: str = "run"
    outcome: str | None = None
    when: str = "after"
    action: str = "freeze"
    marker: str | None = None

    def __post_init__(self) -> None:
        if self.when not in ("before", "after") or self.action not in ("freeze", "mute"):
            raise ValueError(f"bad halt rule: when={self.when!r} action={self.action!r}")

    def match(self, records: Sequence[Record]) -> int | None:
        """Index of the first record the rule stops at, or None."""
        for index, record in enumerate(records):
            event = record.event if isinstance(record, Append) else {}
            if (
                event.get("e") == "result"
                and event.get("step") == self.step
                and event.get("kind") == self.kind
                and (self.outcome is None or (event.get("outcome") or {}).get("t") == self.outcome)
            ):
                return index
        return None


class GroupCommit(Generic[Then]):
    """Write-ahead for many runs: records collected, written in one transaction, then continued.

    ``add(record, then)`` queues a record; :meth:`flush` writes every queued
    record in one ``store.write`` (one commit; one fsync under FULL) and
    returns the continuations, in order (``Then``: whatever the caller continues
    with, a callable or a (run, step) pair). When the store fails the
    records stay queued (nothing was written) and the error propagates:
    nothing that follows from them may happen until a later flush succeeds.
    Starts whose first record waits may be taken back meanwhile
    (:meth:`withdraw_starts`), so that nobody is told of a run that may never be.

    Args:
        store: where records go.
        halt: a rehearsal :class:`HaltRule` (tests only).
    """

    def __init__(self, store: JournalStore, halt: HaltRule | None = None) -> None:
        self.store = store
        self.halt = halt
        self.muted = False
        self._queue: list[tuple[Record, Then | None]] = []
        self.commits = 0
        self.writes = 0
        self.largest = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    def add(self, record: Record, then: Then | None = None) -> None:
        """Queue ``record``; ``then`` runs after the flush that makes it durable."""
        if not self.muted:
            self._queue.append((record, then))

    def withdraw_starts(self) -> list[str]:
        """Take back every run whose :class:`Begin` is still queued (its start was never durable):
        its records leave the queue and nothing of it will be written.

        Returns:
            The ids of those runs, in the order they were queued.
        """
        starting = [r.run_id for r, _ in self._queue if isinstance(r, Begin)]
        if starting:
            gone = set(starting)
            self._queue = [(r, then) for r, then in self._queue if r.run_id not in gone]
        return starting

    def flush(self, now: float) -> list[Then]:
        """Write everything queued in one transaction; return the continuations.

        Raises:
            StorageError: nothing was written; the records stay queued.
            Halted: the rehearsal rule stopped the journal (records up to it were written).
        """
        if not self._queue:
            return []
        queue, halt = self._queue, self.halt
        stop = halt.match([r for r, _ in queue]) if halt is not None else None
        if halt is not None and stop is not None:
            queue = queue[: stop + (halt.when == "after")]
        try:
            if queue:
                self.store.write([r for r, _ in queue], now)
        except Exception:
            self.failures += 1
            raise
        self._queue = self._queue[len(queue) :] if stop is None else []
        self.commits += 1
        self.writes += len(queue)
        self.largest = max(self.largest, len(queue))
        if halt is not None and stop is not None:
            self.muted = True
            raise Halted(halt)
        return [then for _, then in queue if then is not None]


def replay(executor: Executor, history: RunHistory) -> RunState:
    """Rebuild a run from its journal (``executor.recover(state, now)`` then
    gives the commands that resume it).

    Raises:
        InputError: the recorded inputs no longer fit the saga's definition.
        CorruptRecord: an entry is not a well-formed event.
    """
    begin = history.begin
    state, _ = executor.start(begin.run_id, dict(begin.start.inputs), begin.started_at, begin.start.causation_id)
    for entry in history.entries:
        state, _ = executor.transition(state, event_from_data(entry.data), entry.at)
    return state


def append_of(run_id: str, seq: int, at: float, event: RunEvent, after: RunState) -> Append:
    """The :class:`Append` recording ``event`` (number ``seq``) that left the run in ``after``."""
    return Append(run_id, seq, at, event_to_data(event), after.status)
