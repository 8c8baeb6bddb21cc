"""The journal interface: every transition of every run goes through it.

A run is journaled as its start record (saga, version, inputs, causation,
start time) followed by the run events the executor consumed, each with the
time it was applied, and finally its outcome. Because the executor is pure,
replaying those events rebuilds the run exactly (:func:`replay`), which is
how recovery resumes a run after a crash.

Write-ahead rule, kept by the saga actor: an event is handed to the journal
*before* any command that follows from it is carried out; the commands are
carried out in the ``then`` continuation, which the journal calls once the
record is durable (at once for :class:`MemoryJournal`; after the group
commit for a durable journal). The shape is asynchronous so a durable
journal can batch many runs' records into one transaction without changing
the saga actor.

Implementations: :class:`MemoryJournal` here (tests, and trees built with
``TreeConfig(journal="memory")``); the durable one is the journal actor
(:mod:`sagaline.actors.journal`) over :mod:`sagaline.storage.journal_sqlite`,
reached from a saga actor through :class:`~sagaline.actors.journal_port.ActorJournal`.

Writes may carry a projection for operators: the run's ``status`` after the
write and the ``steps`` it changed (:class:`~sagaline.messages.journal.StepRecord`);
a memory journal ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from sagaline.messages.journal import RunLoaded, StepRecord
from sagaline.saga.executor import Executor
from sagaline.saga.records import event_from_data, event_to_data
from sagaline.saga.signals import RunEvent
from sagaline.saga.state import RunState

__all__ = ["RunStart", "JournalEntry", "RunHistory", "Journal", "MemoryJournal", "replay", "history_of"]


@dataclass(frozen=True, slots=True)
class RunStart:
    """How a run began: enough to call :meth:`Executor.start` again."""

    run_id: str
    saga: str
    version: int
    inputs: dict[str, Any]
    causation_id: str | None
    started_at: float
    resumed_from: str | None = None
    """The failed run this one resumes (its successor), if any."""
    carried: dict[str, Any] = field(default_factory=dict)
    """Step -> result carried over from ``resumed_from`` instead of running again."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One run event as plain data (see :mod:`sagaline.saga.records`) and when it applied."""

    seq: int
    at: float
    data: dict[str, Any]

    @classmethod
    def of(cls, seq: int, at: float, event: RunEvent) -> "JournalEntry":
        """Record ``event`` applied at ``at`` as entry number ``seq``."""
        return cls(seq, at, event_to_data(event))


@dataclass
class RunHistory:
    """Everything journaled about one run."""

    start: RunStart
    entries: list[JournalEntry] = field(default_factory=list)
    status: str = "running"
    outcome: dict[str, Any] | None = None


class Journal(Protocol):
    """Where runs are recorded. Calls come from the saga actor's thread."""

    def begin(self, start: RunStart, then: Callable[[], None], *, status: str = "running",
              steps: Sequence[StepRecord] = ()) -> None:
        """Record a run's start; call ``then`` once durable."""

    def record(self, run_id: str, entry: JournalEntry, then: Callable[[], None], *,
               status: str | None = None, steps: Sequence[StepRecord] = ()) -> None:
        """Record one applied event; call ``then`` once durable."""

    def finish(self, run_id: str, status: str, outcome: dict[str, Any], then: Callable[[], None]) -> None:
        """Record the run's terminal (or halted) status and outcome; call ``then`` once durable."""

    def unfinished(self) -> list[RunHistory]:
        """Every run not yet in a terminal status (for recovery)."""

    def history(self, run_id: str) -> RunHistory | None:
        """One run's record, or None."""

    def handle(self, message: Any) -> bool:
        """Give the journal a message the saga actor received (a durable
        journal's acknowledgement); True when it was the journal's."""


class MemoryJournal:
    """A journal in a dict: durable only as long as the process lives."""

    def __init__(self) -> None:
        self.runs: dict[str, RunHistory] = {}

    def begin(self, start: RunStart, then: Callable[[], None], *, status: str = "running",
              steps: Sequence[StepRecord] = ()) -> None:
        self.runs[start.run_id] = RunHistory(start)
        then()

    def record(self, run_id: str, entry: JournalEntry, then: Callable[[], None], *,
               status: str | None = None, steps: Sequence[StepRecord] = ()) -> None:
        history = self.runs[run_id]
        history.entries.append(entry)
        if history.status not in ("running", "halted"):
            history.status, history.outcome = "running", None  # reopened (operator retry)
        then()

    def finish(self, run_id: str, status: str, outcome: dict[str, Any], then: Callable[[], None]) -> None:
        history = self.runs[run_id]
        history.status, history.outcome = status, outcome
        then()

    def unfinished(self) -> list[RunHistory]:
        return [h for h in self.runs.values() if h.status in ("running", "halted")]

    def history(self, run_id: str) -> RunHistory | None:
        return self.runs.get(run_id)

    def handle(self, message: Any) -> bool:
        return False


def replay(executor: Executor, history: RunHistory) -> RunState:
    """Rebuild a run from its journal (``executor.recover(state, now)`` then
    gives the commands that resume it).

    Raises:
        InputError: the recorded inputs no longer fit the saga's definition.
        CorruptRecord: an entry is not a well-formed event.
    """
    start = history.start
    state, _ = executor.start(start.run_id, start.inputs, start.started_at, start.causation_id)
    for entry in history.entries:
        state, _ = executor.transition(state, event_from_data(entry.data), entry.at)
    return state


def history_of(loaded: RunLoaded) -> RunHistory:
    """A :class:`RunHistory` from the journal actor's :class:`RunLoaded` answer."""
    start = RunStart(loaded.correlation_id, loaded.saga, loaded.version, dict(loaded.inputs),
                     loaded.causation_id, loaded.started_at, loaded.resumed_from, dict(loaded.carried))
    entries = [JournalEntry(e.seq, e.at, e.data) for e in loaded.events]
    outcome = loaded.outcome.model_dump(mode="python") if loaded.outcome is not None else None
    return RunHistory(start, entries, loaded.status, outcome)
