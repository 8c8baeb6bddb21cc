"""Plain helpers of a saga run: finishing again, carry-over, the stuck event, telemetry.

Kept apart from :mod:`sagaline.hosts.saga_run` so the run reads as its
message handling; everything here is a function of run state or journal
rows (no actor operations).
"""

from __future__ import annotations

import time
from typing import Any

from sagaline.messages.saga import RunOutcome
from sagaline.saga import Executor, Finished, InvocationResult, Invoke, RunState, StepError
from sagaline.saga.outcomes import Ok
from sagaline.saga.records import error_to_data
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["finished_of", "carry_over", "operator_outcome", "emit_start", "note_invoke", "note_result"]


def finished_of(state: RunState) -> Finished:
    """The ``Finished`` command a terminal or halted ``state`` was reached with.

    Used when a run is rebuilt after a crash that fell between its last
    event and the record of its finish: the finish is done again.
    """
    error = state.failure[1] if state.failure else None
    if state.status == "cancelled":
        error = StepError("cancelled", state.reason or "cancelled")
    elif state.status == "halted":
        error = StepError("halted", state.reason or "")
    return Finished(
        state.status,
        result=state.result if state.status == "completed" else None,
        error=error,
        failed_compensations=state.failed_compensations(),
    )


def carry_over(executor: Executor, old: RunState, from_step: str | None) -> dict[str, Any]:
    """Step -> result a successor of the failed run ``old`` may keep instead of running again.

    A step is carried over when it is not ``from_step`` nor downstream of
    it, it ended ``succeeded`` in ``old`` (so the rollback did not undo it:
    it has no undo), and every step it depends on is carried over too (its
    arguments would otherwise change).
    """
    plan = executor.plan
    redo = set() if from_step is None else {from_step} | set(plan.descendants(from_step))
    carried: dict[str, Any] = {}
    for name in plan.order:
        step = old.steps[name]
        if name not in redo and step.status == "succeeded" and all(d in carried for d in plan.deps[name]):
            carried[name] = step.value
    return carried


def operator_outcome(
    run_id: str, saga: str, code: str, message: str, now: float, started_at: float | None = None
) -> RunOutcome:
    """The outcome recorded for a run marked ``needs_operator``."""
    error = error_to_data(StepError(code, message[:2000]))
    return RunOutcome(
        correlation_id=run_id,
        saga=saga or "unknown",
        status="needs_operator",
        error=error,
        started_at=started_at,
        finished_at=now,
    )


# ----- telemetry (``sagaline.telemetry.names``) ------------------------------------------------


def emit_start(meta: dict[str, Any], span: str, begun_ns: int, recovered: bool, system_time: int | None = None) -> None:
    """``reactor.saga.start`` (``recovered``: rebuilt from the journal rather than started; ``system_time``:
    when it started, if not now)."""
    telemetry.execute(
        tn.SAGA_START,
        {"system_time": system_time or time.time_ns(), "monotonic_time": begun_ns},
        {**meta, "span_id": span, "recovered": recovered},
    )


_ROLLBACK_START = {"compensate": tn.COMPENSATE, "undo": tn.UNDO}
_ROLLBACK_STOP = {"compensate": tn.COMPENSATE_STOP, "undo": tn.UNDO_STOP}


def note_invoke(meta: dict[str, Any], root_span: str, started: dict[str, int], inv: Invoke, span: str) -> None:
    """Step start, compensate or undo, as the invocation goes out."""
    meta = {
        **meta,
        "step": inv.step,
        "kind": inv.kind,
        "attempt": inv.attempt,
        "idempotency_key": inv.key,
        "span_id": span,
        "parent_span_id": root_span,
    }
    now = time.monotonic_ns()
    if inv.kind == "run":
        started[inv.step] = now
        telemetry.execute(tn.STEP_START, {"monotonic_time": now}, meta)
    elif inv.kind in _ROLLBACK_START:
        started[inv.key] = now
        telemetry.execute(_ROLLBACK_START[inv.kind], {"monotonic_time": now}, meta)


def note_result(meta: dict[str, Any], started: dict[str, int], event: Any) -> None:
    """Step stop or exception (or a compensation's/undo's stop), as an outcome is applied."""
    if not isinstance(event, InvocationResult):
        return
    if event.kind in _ROLLBACK_STOP:
        began = started.pop(event.key, None)
        outcome = event.outcome
        telemetry.execute(
            _ROLLBACK_STOP[event.kind],
            {"duration": time.monotonic_ns() - began if began else 0},
            {
                **meta,
                "step": event.step,
                "kind": event.kind,
                "idempotency_key": event.key,
                "outcome": "ok" if isinstance(outcome, Ok) else type(outcome).__name__.lower(),
                "reason": getattr(outcome, "error", None) or getattr(outcome, "reason", None),
            },
        )
        return
    if event.kind != "run":
        return
    began = started.get(event.step)
    duration = time.monotonic_ns() - began if began else 0
    meta = {**meta, "step": event.step, "idempotency_key": event.key}
    if isinstance(event.outcome, Ok):
        telemetry.execute(tn.STEP_STOP, {"duration": duration}, meta)
    else:
        telemetry.execute(
            tn.STEP_EXCEPTION,
            {"duration": duration},
            {
                **meta,
                "kind": type(event.outcome).__name__.lower(),
                "reason": getattr(event.outcome, "error", None) or getattr(event.outcome, "reason", None),
            },
        )
