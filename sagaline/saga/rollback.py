"""The stopping half of the executor: draining, undo last-completed-first,
retries of failing compensations, and the final outcome.

These are functions of the :class:`~sagaline.saga.executor.Executor`'s
decisions, split out to keep each module small; they are as pure as it is.
Why this differs from Reactor: Reactor undoes oldest-first despite its
docs, and abandons steps still running when another fails. Here a stopped
run first *drains* (waits for every step in flight, keeping late results so
they are undone too), then undoes completed steps strictly one at a time in
reverse completion order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagaline.saga.outcomes import Fail, Ok, Retry, StepError
from sagaline.saga.signals import Finished, Invoke, Kind, RunCommand
from sagaline.saga.state import RunState, StepState, idempotency_key

if TYPE_CHECKING:  # pragma: no cover
    from sagaline.saga.executor import Executor

__all__ = [
    "stop",
    "after_drain",
    "next_undo",
    "undo_outcome",
    "retry_or_give_up",
    "compensation_failed",
    "retry_failed",
]


def stop(
    ex: Executor,
    state: RunState,
    why: str,
    failure: tuple[str, StepError] | None,
    reason: str | None,
    commands: list[RunCommand],
) -> RunState:
    """Stop starting steps because of a failure, a cancellation or a halt.

    A failure or cancellation overrides a halt in progress; the first
    failure is the one the run reports. Steps waiting to retry after a
    definite failure will never run (abandoned, or back to pending for a
    halt); steps whose last attempt timed out keep retrying with their key
    until their effect is known. On a failure or cancellation, every step
    still in flight that can be interrupted is told to stop early (Reactor's
    "drained: awaited or cancelled"); its answer still decides its fate.
    """
    if state.stop in ("fail", "cancel") or (state.stop == "halt" and why == "halt"):
        if failure is not None and state.failure is None:
            state = state.evolve(failure=failure)
        return state
    state = state.evolve(stop=why, status="draining", failure=state.failure or failure, reason=reason or state.reason)
    for step in state.steps.values():
        if step.status == "retrying" and not step.indefinite:
            parked = "pending" if why == "halt" else "abandoned"
            state = state.with_step(step.evolve(status=parked, retry_at=None, timer=None))
        elif step.status == "running" and why != "halt" and _interruptible(ex, step.name):
            commands.append(_interrupt(state, step))
    return state


def _interruptible(ex: Executor, name: str) -> bool:
    return bool(getattr(ex.definition.step(name).impl, "can_interrupt", False))


def _interrupt(state: RunState, step: StepState) -> Invoke:
    key = idempotency_key(state.run_id, step.name, "interrupt", step.generation)
    return Invoke(
        step.name,
        "interrupt",
        step.attempt,
        key,
        idempotency_key(state.run_id, step.name, "run", step.generation),
        step.arguments or {},
    )


def _draining(step: StepState) -> bool:
    return step.status in ("running", "compensating") or (step.status == "retrying" and step.indefinite)


def after_drain(ex: Executor, state: RunState, commands: list[RunCommand], now: float) -> RunState:
    """Once nothing is in flight: halt, or start rolling back."""
    if any(_draining(s) for s in state.steps.values()):
        return state
    if state.stop == "halt":
        commands.append(Finished("halted", error=StepError("halted", state.reason or "")))
        return state.evolve(status="halted")
    return state.evolve(status="rolling_back")


def next_undo(ex: Executor, state: RunState, commands: list[RunCommand], now: float) -> RunState:
    """Undo the most recently completed step not yet undone; finish when none is left."""
    steps = state.steps.values()
    if any(s.status == "undoing" for s in steps):
        return state
    done = [s for s in steps if s.status == "succeeded" and ex.definition.step(s.name).impl.can_undo]
    if done:
        last = max(done, key=lambda s: -1 if s.completed_seq is None else s.completed_seq)
        last = last.evolve(status="undoing", comp_attempt=0)
        return ex.dispatch(state, last, "undo", commands, now)
    return _finish(state, commands, now)


def _finish(state: RunState, commands: list[RunCommand], now: float) -> RunState:
    for step in state.steps.values():
        if step.status == "pending":
            state = state.with_step(step.evolve(status="abandoned"))
    failed = state.failed_compensations()
    error = state.failure[1] if state.failure else None
    if state.stop == "cancel":
        error = StepError("cancelled", state.reason or "cancelled")
    status = "stuck" if failed else ("cancelled" if state.stop == "cancel" else "failed")
    commands.append(Finished(status, error=error, failed_compensations=failed))
    return state.evolve(status=status, finished_at=now)


def undo_outcome(
    ex: Executor, state: RunState, step: StepState, outcome: Any, commands: list[RunCommand], now: float
) -> RunState:
    """Record an undo's answer: done, retry with backoff, or failed for good."""
    if isinstance(outcome, Ok):
        return state.with_step(step.evolve(status="undone", finished_at=now))
    if isinstance(outcome, Retry):
        error = StepError("undo_retry", str(outcome.reason or "undo asked to retry"), retryable=True)
        return retry_or_give_up(ex, state, step, "undo", error, outcome.delay, commands, now)
    error = outcome.error if isinstance(outcome, Fail) else StepError("bad_outcome", repr(outcome))
    return retry_or_give_up(ex, state, step, "undo", error, None, commands, now)


def retry_or_give_up(
    ex: Executor,
    state: RunState,
    step: StepState,
    kind: Kind,
    error: StepError,
    delay: float | None,
    commands: list[RunCommand],
    now: float,
    same_key: bool = False,
) -> RunState:
    """Retry a failing compensate/undo after backoff while ``undo_retries`` allow
    and the error is retryable; otherwise it failed for good.

    ``same_key`` (after a timeout) re-sends with the same idempotency key;
    otherwise the retry gets a new one.
    """
    spec = ex.definition.step(step.name)
    if error.retryable and step.comp_attempt <= spec.undo_retries:
        if not same_key:
            step = step.evolve(comp_generation=step.comp_generation + 1)
        return ex.schedule_retry(state, step.evolve(comp_error=error), kind, error, delay, commands, now)
    return compensation_failed(ex, state, step, kind, error, commands, now)


def compensation_failed(
    ex: Executor, state: RunState, step: StepState, kind: Kind, error: StepError, commands: list[RunCommand], now: float
) -> RunState:
    """A compensation or undo failed for good: record it (the run will end ``stuck``).

    A failing step whose compensation failed also stops the run; a failed
    undo does not stop the rollback of the other steps.
    """
    step = step.evolve(
        status="undo_failed",
        comp_error=error,
        comp_kind=kind,
        inflight=None,
        deadline=None,
        retry_at=None,
        timer=None,
        finished_at=now,
    )
    state = state.with_step(step)
    if kind == "compensate":
        failure = None if step.error is None else (step.name, step.error)
        return stop(ex, state, "fail", failure, None, commands)
    return state


def retry_failed(ex: Executor, state: RunState, only: set[str], commands: list[RunCommand], now: float) -> RunState:
    """Operator retry of a stuck run's failed compensations (all when ``only`` is empty).

    Each retried compensation gets a new idempotency key and a fresh retry
    budget; the run drains and rolls back again, ending failed/cancelled
    when all succeed, or stuck again.
    """
    chosen = [s for s in state.steps.values() if s.status == "undo_failed" and (not only or s.name in only)]
    if not chosen:
        return state
    state = state.evolve(status="draining", finished_at=None)
    for step in chosen:
        step = step.evolve(comp_attempt=0, comp_generation=step.comp_generation + 1, comp_error=None, finished_at=None)
        if step.comp_kind == "compensate":
            state = ex.dispatch(state, step.evolve(status="compensating", comp_kind=None), "compensate", commands, now)
        else:
            state = state.with_step(step.evolve(status="succeeded", comp_kind=None))
    return state
