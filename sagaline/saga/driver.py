"""The in-process driver: run a saga to its end with no actors and no real clock.

It is the smallest possible shell around the pure executor, so the core is
usable (scripts, unit tests, the ``sagaline demo``) on its own: local steps
run as plain Python; command steps go through a ``dispatch(target, command)``
function you pass (plain handlers standing in for domain actors); timers
run on a virtual clock that jumps to the next timer when nothing else is
left to do, so backoffs and timeouts cost no wall time.

``dispatch`` may raise :class:`TimeoutError` to play a lost message: no
answer arrives and the step's timeout decides. Any other exception becomes
a retryable ``dispatch_error`` failure.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sagaline.messages.base import Command
from sagaline.messages.ids import uuid7
from sagaline.saga.definition import SagaDefinition
from sagaline.saga.executor import Executor
from sagaline.saga.outcomes import Fail, Ok, Outcome, Retry, StepError
from sagaline.saga.shell import interpret, perform
from sagaline.saga.signals import (
    CancelRequested,
    Finished,
    InvocationResult,
    Invoke,
    RunCommand,
    RunEvent,
    SetTimer,
    TimerFired,
)
from sagaline.saga.state import RunState
from sagaline.saga.steps import Send

__all__ = ["Driver", "RunReport", "TimelineEntry"]

Dispatch = Callable[[str, Command], Any]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a run's timeline: at virtual time ``at``, ``what`` happened to ``step``."""

    at: float
    step: str
    what: str
    detail: str = ""


@dataclass
class RunReport:
    """The end of a driven run: final state, outcome and the timeline that led there."""

    state: RunState
    finished: Finished
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.finished.status


class Driver:
    """Drives runs of one saga definition in-process.

    Args:
        definition: the saga.
        dispatch: ``(target, command) -> reply`` for command steps; None when
            the saga has only local steps.
        cancel_when: ``(state) -> bool`` checked after every event; when it
            first says True, the run is cancelled (tests and the demo use it).
    """

    def __init__(
        self,
        definition: SagaDefinition,
        dispatch: Dispatch | None = None,
        cancel_when: Callable[[RunState], bool] | None = None,
    ) -> None:
        self.executor = Executor(definition)
        self._dispatch = dispatch
        self._cancel_when = cancel_when

    def run(
        self,
        inputs: dict[str, Any],
        run_id: str | None = None,
        causation_id: str | None = None,
        max_events: int = 100_000,
    ) -> RunReport:
        """Run to a terminal (or halted) status and return the report.

        Raises:
            InputError: the inputs are invalid (nothing ran).
            RuntimeError: more than ``max_events`` events (a runaway saga).
        """
        now = 0.0
        timeline: list[TimelineEntry] = []
        events: deque[RunEvent] = deque()
        timers: list[tuple[float, int, TimerFired]] = []
        state, commands = self.executor.start(run_id or uuid7(), inputs, now, causation_id)
        cancelled = False
        for _ in range(max_events):
            finished = self._carry_out(state, commands, now, events, timers, timeline)
            if finished is not None:
                return RunReport(state, finished, timeline)
            if not cancelled and self._cancel_when is not None and self._cancel_when(state):
                cancelled = True
                events.append(CancelRequested("cancel_when"))
            if not events:
                if not timers:
                    raise RuntimeError(f"run {state.run_id} is stuck waiting with nothing scheduled")
                now, _, fired = heapq.heappop(timers)
                events.append(fired)
            event = events.popleft()
            _note_event(timeline, now, event, state)
            state, commands = self.executor.transition(state, event, now)
        raise RuntimeError(f"run {state.run_id} exceeded {max_events} events")

    def _carry_out(
        self,
        state: RunState,
        commands: list[RunCommand],
        now: float,
        events: deque[RunEvent],
        timers: list[tuple[float, int, TimerFired]],
        timeline: list[TimelineEntry],
    ) -> Finished | None:
        for command in commands:
            if isinstance(command, Invoke):
                timeline.append(TimelineEntry(now, command.step, command.kind, f"attempt {command.attempt}"))
                result = self._invoke(state, command)
                if result is not None:
                    events.append(result)
            elif isinstance(command, SetTimer):
                heapq.heappush(timers, (command.at, command.token.serial, TimerFired(command.token)))
                if command.token.purpose == "retry":
                    timeline.append(
                        TimelineEntry(
                            now, command.token.step, "backoff", f"{command.token.kind} again at t={command.at:.3f}"
                        )
                    )
            elif isinstance(command, Finished):
                detail = str(command.error or "")
                if command.failed_compensations:
                    detail += f" (failed compensations: {', '.join(command.failed_compensations)})"
                timeline.append(TimelineEntry(now, "-", command.status, detail))
                return command
        return None

    def _invoke(self, state: RunState, inv: Invoke) -> InvocationResult | None:
        action = perform(self.executor, state, inv)
        outcome: Outcome
        if isinstance(action, Send):
            if self._dispatch is None:
                outcome = Fail(StepError("no_dispatch", f"no dispatch for target {action.target!r}"))
            else:
                try:
                    reply = self._dispatch(action.target, action.command)
                except TimeoutError:
                    return None  # lost: the step's timeout decides
                except Exception as exc:
                    outcome = Fail(StepError("dispatch_error", f"{type(exc).__name__}: {exc}", retryable=True))
                else:
                    outcome = interpret(self.executor, inv, reply)
        else:
            outcome = action
        return InvocationResult(inv.step, inv.kind, inv.key, outcome)


def _note_event(timeline: list[TimelineEntry], now: float, event: RunEvent, state: RunState) -> None:
    if isinstance(event, InvocationResult):
        outcome = event.outcome
        if isinstance(outcome, Fail):
            text = f"failed: {outcome.error}"
        elif isinstance(outcome, Retry):
            text = f"asked to retry: {outcome.reason}"
        elif isinstance(outcome, Ok):
            text = "ok"
        else:
            text = type(outcome).__name__.lower()
        timeline.append(TimelineEntry(now, event.step, f"{event.kind} {text.split(':')[0]}", text.partition(": ")[2]))
    elif (
        isinstance(event, TimerFired)
        and event.token.purpose == "timeout"
        and (state.steps[event.token.step].timer == event.token.serial)
    ):
        timeline.append(TimelineEntry(now, event.token.step, "deadline", f"{event.token.kind} timer fired"))
    elif isinstance(event, CancelRequested):
        timeline.append(TimelineEntry(now, "-", "cancel", event.reason))
