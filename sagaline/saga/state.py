"""Run state: immutable records that only the executor's transitions replace.

A run's status moves along::

    running --(step fails for good)--> draining --(nothing in flight)--> rolling_back
       |  \\--(cancel)-----------------^                                  |
       |   \\--(step halts)--> draining --> halted --(resume)--> running  v
       v                                               failed | cancelled | stuck
    completed

``draining`` waits for every step still in flight (their results are kept,
so a step that succeeds late is undone too); ``rolling_back`` undoes the
completed steps one at a time, last completed first. A run whose
compensation or undo failed for good ends ``stuck``: it needs an operator.

Steps move along::

    pending -> running -> succeeded -> undoing -> undone | undo_failed
       |          |  \\-> retrying -> running
       |          \\---> compensating -> succeeded (Continue) | failed | undo_failed
       \\-> skipped (guard false) | abandoned (the run stopped before it ran)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

from sagaline.saga.outcomes import StepError
from sagaline.saga.signals import Kind

__all__ = [
    "StepStatus",
    "RunStatus",
    "TERMINAL",
    "IN_FLIGHT",
    "StepState",
    "RunState",
    "idempotency_key",
]

StepStatus = Literal[
    "pending",
    "running",
    "retrying",
    "compensating",
    "succeeded",
    "skipped",
    "failed",
    "abandoned",
    "undoing",
    "undone",
    "undo_failed",
]
RunStatus = Literal[
    "running",
    "draining",
    "rolling_back",
    "halted",
    "completed",
    "failed",
    "cancelled",
    "stuck",
]

#: Statuses a run never leaves by itself (``stuck`` leaves only by operator retry).
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled", "stuck"})
#: Step statuses in which the run must wait for the step before rolling back.
IN_FLIGHT: frozenset[str] = frozenset({"running", "compensating"})


#: The field names of each state record (filled in below its classes).
_FIELDS: dict[type, frozenset[str]] = {}
_R = TypeVar("_R")


def _evolve(record: _R, changes: dict[str, Any]) -> _R:
    """A copy of a frozen dataclass with ``changes``: ``dataclasses.replace``
    re-runs ``__init__`` field by field and dominated the executor's profile;
    copying ``__dict__`` is a single C-level operation."""
    unknown = changes.keys() - _FIELDS[type(record)]
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field(s) {sorted(unknown)}")
    new = object.__new__(type(record))
    data = record.__dict__.copy()
    data.update(changes)
    object.__setattr__(new, "__dict__", data)
    return new


def idempotency_key(run_id: str, step: str, kind: Kind, generation: int) -> str:
    """The key for ``kind`` of ``step`` in ``run_id`` at ``generation``.

    Correlation id + step + kind (+ generation): a re-send after a timeout or
    a crash reuses it; a retry after a definite failure bumps the generation.
    """
    return f"{run_id}:{step}:{kind}:{generation}"


@dataclass(frozen=True)
class StepState:
    """Where one step of one run stands.

    Attributes:
        name: the step.
        status: see the module docstring.
        attempt: run attempts started (shared with compensate-driven retries).
        generation: bumped by each retry after a definite failure.
        indefinite: the latest run attempt timed out: its effect is unknown.
        comp_attempt: attempts of the current compensate or undo.
        comp_generation: bumped by each compensate/undo retry after a definite failure.
        comp_kind: which callback (``compensate`` or ``undo``) failed for good.
        inflight: the key of the invocation awaiting an answer, if any.
        timer: serial of the one timer (deadline or retry) that still matters.
        deadline: when that invocation times out, if it can.
        retry_at: when a pending retry fires, if one is scheduled.
        arguments: the arguments the step ran with (undo gets them again).
        value: the result, once succeeded.
        error: the run failure that ended or is ending this step.
        comp_error: the failure of its compensation or undo.
        completed_seq: completion order within the run (undo goes by it, descending).
        started_at, finished_at: first dispatch and final completion times.
    """

    name: str
    status: StepStatus = "pending"
    attempt: int = 0
    generation: int = 0
    indefinite: bool = False
    comp_attempt: int = 0
    comp_generation: int = 0
    comp_kind: Kind | None = None
    inflight: str | None = None
    timer: int | None = None
    deadline: float | None = None
    retry_at: float | None = None
    arguments: Mapping[str, Any] | None = None
    value: Any = None
    error: StepError | None = None
    comp_error: StepError | None = None
    completed_seq: int | None = None
    started_at: float | None = None
    finished_at: float | None = None

    def evolve(self, **changes: Any) -> StepState:
        """A copy with ``changes`` applied."""
        return _evolve(self, changes)


@dataclass(frozen=True)
class RunState:
    """Where one run stands.

    Attributes:
        run_id: the correlation id.
        saga: the saga's name; ``version`` its definition version.
        status: see the module docstring.
        stop: why the run stopped starting steps: ``fail``, ``cancel``,
            ``halt`` or None while running normally.
        inputs: the prepared inputs.
        steps: step name -> :class:`StepState`.
        completions: how many steps have completed (next ``completed_seq``).
        timers: how many timers were set (the last serial handed out).
        failure: ``(step, error)`` of the first failure that stopped the run.
        reason: the cancellation or halt reason, when there is one.
        result: the run's result once completed.
        causation_id: what caused the run.
        started_at, finished_at: start and terminal times.
    """

    run_id: str
    saga: str
    version: int
    status: RunStatus
    inputs: Mapping[str, Any]
    steps: Mapping[str, StepState]
    stop: Literal["fail", "cancel", "halt"] | None = None
    completions: int = 0
    timers: int = 0
    failure: tuple[str, StepError] | None = None
    reason: str | None = None
    result: Any = None
    causation_id: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None

    def evolve(self, **changes: Any) -> RunState:
        """A copy with ``changes`` applied."""
        return _evolve(self, changes)

    def with_step(self, step: StepState) -> RunState:
        """A copy in which ``step`` replaces the step of the same name."""
        steps = dict(self.steps)
        steps[step.name] = step
        return _evolve(self, {"steps": steps})

    @property
    def terminal(self) -> bool:
        """True once the run is completed, failed, cancelled or stuck."""
        return self.status in TERMINAL

    def failed_compensations(self) -> tuple[str, ...]:
        """Steps whose compensation or undo failed for good, in completion order."""
        return tuple(s.name for s in self.steps.values() if s.status == "undo_failed")


_FIELDS.update({cls: frozenset(f.name for f in fields(cls)) for cls in (StepState, RunState)})
