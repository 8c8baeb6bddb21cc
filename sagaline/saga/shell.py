"""What every shell around the executor does the same way.

A shell (the in-process driver, the saga actor) carries out ``Invoke``
commands: it asks the step's behaviour to perform or describe the
invocation, sends the described command to a domain actor, and turns the
reply back into an outcome. These helpers keep that logic in one place; the
shells differ only in how messages travel and how time passes. They also
turn a run's state into the snapshot and outcome messages clients see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagaline.messages.saga import RunOutcome, RunSnapshot, StepSnapshot
from sagaline.saga.executor import Executor
from sagaline.saga.outcomes import Outcome
from sagaline.saga.records import error_to_data
from sagaline.saga.signals import Finished, Invoke
from sagaline.saga.state import RunState, StepState
from sagaline.saga.steps import Send

__all__ = ["perform", "interpret", "snapshot", "outcome"]


def perform(executor: Executor, state: RunState, inv: Invoke, trace: Mapping[str, str] | None = None) -> Outcome | Send:
    """Run a local invocation (its outcome) or describe a remote one (a :class:`Send`)."""
    spec = executor.definition.step(inv.step)
    ctx = executor.context(state, state.steps[inv.step], inv.kind, inv.attempt, inv.key, dict(trace or {}))
    return spec.impl.invoke(inv.kind, inv.arguments, inv.value, inv.reason, ctx)


def interpret(executor: Executor, inv: Invoke, reply: Any) -> Outcome:
    """The outcome a domain actor's ``reply`` to ``inv`` means."""
    return executor.definition.step(inv.step).impl.interpret(inv.kind, reply, inv.arguments)


def snapshot(state: RunState) -> RunSnapshot:
    """A client's view of a run, step by step: the same for a running run and for an ended one
    rebuilt from its journal (lineage, which the journal's run summary holds, is left to the host)."""
    steps = [_step_snapshot(s) for s in state.steps.values()]
    failed_step, error = state.failure if state.failure else (None, None)
    return RunSnapshot(
        correlation_id=state.run_id,
        saga=state.saga,
        status=state.status,
        steps=steps,
        started_at=state.started_at,
        finished_at=state.finished_at,
        inputs=dict(state.inputs),
        result=state.result,
        error=error_to_data(error),
        failed_step=failed_step,
        failed_compensations=list(state.failed_compensations()),
        reason=state.reason,
        causation_id=state.causation_id,
    )


def _step_snapshot(step: StepState) -> StepSnapshot:
    ran_back = step.comp_attempt > 0 or step.status in ("undoing", "undone", "undo_failed", "compensating")
    return StepSnapshot(
        name=step.name,
        status=step.status,
        attempts=step.attempt,
        started_at=step.started_at,
        finished_at=step.finished_at,
        error=error_to_data(step.error),
        compensation_error=error_to_data(step.comp_error),
        result=step.value if step.completed_seq is not None else None,
        completed_seq=step.completed_seq,
        compensation_attempts=step.comp_attempt,
        compensation_kind=_compensation_kind(step) if ran_back else None,
    )


def _compensation_kind(step: StepState) -> str:
    """``undo`` for a completed step being (or that was) undone, else ``compensate``."""
    if step.comp_kind is not None:
        return step.comp_kind
    undoing = step.status in ("undoing", "undone") or (step.status == "undo_failed" and step.completed_seq is not None)
    return "undo" if undoing else "compensate"


def outcome(state: RunState, finished: Finished) -> RunOutcome:
    """How a run ended, as the message clients receive."""
    return RunOutcome(
        correlation_id=state.run_id,
        saga=state.saga,
        status=finished.status,
        result=finished.result,
        error=error_to_data(finished.error),
        failed_step=state.failure[0] if state.failure else None,
        failed_compensations=list(finished.failed_compensations),
        started_at=state.started_at,
        finished_at=state.finished_at,
    )
