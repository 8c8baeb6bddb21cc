"""What flows into and out of the executor's transition function.

Events (inputs to :meth:`~sagaline.saga.executor.Executor.transition`):

* :class:`InvocationResult` - a step callback finished (locally, or a domain
  actor replied) with an outcome;
* :class:`TimerFired` - a timer the executor asked for went off (timers
  cannot be cancelled in Thespian, so stale ones arrive and are ignored);
* :class:`CancelRequested` - an operator (or caller) cancels the run: it
  drains and rolls back;
* :class:`ResumeRequested` - a halted run continues;
* :class:`RetryCompensations` - an operator retries the failed
  compensations of a ``stuck`` run.

Commands (outputs, carried out by the shell):

* :class:`Invoke` - call a step's ``run``/``compensate``/``undo``, or
  ``interrupt`` a step in flight when the run stops (fire and forget);
* :class:`SetTimer` - deliver ``TimerFired(token)`` at time ``at``;
* :class:`Finished` - the run reached a terminal (or halted) status.

All are frozen records of plain data, so a journal can store the events and
rebuild a run by replaying them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sagaline.saga.outcomes import Outcome, StepError

__all__ = [
    "Kind",
    "TimerToken",
    "InvocationResult",
    "TimerFired",
    "CancelRequested",
    "ResumeRequested",
    "RetryCompensations",
    "RunEvent",
    "Invoke",
    "SetTimer",
    "Finished",
    "RunCommand",
]

#: Which callback an invocation calls. ``interrupt`` asks a step still in
#: flight to stop early when its run stops; its answer is never awaited.
Kind = Literal["run", "compensate", "undo", "interrupt"]


@dataclass(frozen=True, slots=True)
class TimerToken:
    """Identifies one timer: which step, which callback, why, and its serial.

    ``purpose`` is ``"timeout"`` (the invocation's deadline) or ``"retry"``
    (the end of a backoff). ``serial`` is unique within the run; a step
    remembers the serial of the one timer that still matters to it, so any
    other timer that fires (Thespian timers cannot be cancelled) is stale.
    """

    step: str
    kind: Kind
    purpose: Literal["timeout", "retry"]
    serial: int


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """A step callback's outcome; ``key`` is the idempotency key it answered."""

    step: str
    kind: Kind
    key: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer set by :class:`SetTimer` went off."""

    token: TimerToken


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """Cancel the run: stop starting steps, drain, roll back, end ``cancelled``."""

    reason: str = "cancelled"


@dataclass(frozen=True, slots=True)
class ResumeRequested:
    """Continue a ``halted`` run from where it stopped."""


@dataclass(frozen=True, slots=True)
class RetryCompensations:
    """Retry the failed compensations of a ``stuck`` run (all when ``steps`` is empty)."""

    steps: tuple[str, ...] = ()


RunEvent = InvocationResult | TimerFired | CancelRequested | ResumeRequested | RetryCompensations


@dataclass(frozen=True, slots=True)
class Invoke:
    """Call ``kind`` of ``step``.

    Attributes:
        attempt: 1-based attempt of this kind for this step.
        key: idempotency key of this invocation (a re-send after a timeout
            reuses it; a retry after a definite failure has a new one).
        run_key: key of the step's latest run invocation.
        arguments: the step's resolved arguments.
        value: the step's result (``undo`` only).
        reason: the failure being compensated (``compensate`` only).
        deadline: absolute time by which an answer is expected, or None.
    """

    step: str
    kind: Kind
    attempt: int
    key: str
    run_key: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    value: Any = None
    reason: StepError | None = None
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Deliver ``TimerFired(token)`` at absolute time ``at`` (the shell's clock)."""

    token: TimerToken
    at: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The run stopped.

    Attributes:
        status: ``completed``, ``failed``, ``cancelled``, ``stuck`` or ``halted``.
        result: the run's result (``completed`` only).
        error: the original failure (``failed``/``stuck``), or the
            cancellation reason as a ``cancelled`` error.
        failed_compensations: steps whose compensation or undo failed for
            good (``stuck`` only).
    """

    status: str
    result: Any = None
    error: StepError | None = None
    failed_compensations: tuple[str, ...] = ()


RunCommand = Invoke | SetTimer | Finished
