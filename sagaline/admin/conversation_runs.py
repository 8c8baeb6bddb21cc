"""PURE. The conversations about saga runs: list, show, start, wait, cancel, retry compensations, resume.

Each is a script in the sense of :mod:`sagaline.admin.conversations`; it
asks the saga supervisor (whose answer may come from the host of the run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sagaline.admin.conversation_asks import (
    TREE_LEVEL_TIMEOUT_S,
    Script,
    error,
    known_sagas,
    plain,
    refusal_of,
    result_of,
    saga_ask,
)
from sagaline.messages.admin import (
    AdminCancelRun,
    AdminError,
    AdminListRuns,
    AdminRequest,
    AdminResult,
    AdminResumeRun,
    AdminRetryCompensation,
    AdminShowRun,
    AdminStartSaga,
    AdminWaitRun,
)
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    CancelRun,
    ListRuns,
    OperatorAnswer,
    ResumeRun,
    RetryCompensation,
    RunOutcome,
    RunSnapshot,
    RunsPage,
    RunStatus,
    SagaAccepted,
    SagaRefused,
    StartSaga,
)

__all__ = ["RUN_CONVERSATIONS"]


def _list_runs(request: AdminListRuns, facts: dict[str, Any]) -> Script:
    """Pages by over-fetching ``offset + limit`` rows (ListRuns has no cursor). A saga no app
    declares is refused unless runs of it exist (a run whose saga was removed is still listed)."""
    wanted = min(request.offset + request.limit, 10_000)
    query = ListRuns(
        status=list(request.status),
        saga=request.saga,
        limit=wanted,
        id_prefix=request.id_prefix,
        started_after=request.started_after,
        started_before=request.started_before,
    )
    reply = yield saga_ask(query, RunsPage)
    if not isinstance(reply, RunsPage):
        return refusal_of(request, reply)
    sagas = known_sagas(facts)
    if request.saga is not None and sagas is not None and request.saga not in sagas and reply.total == 0:
        known = ", ".join(sorted(sagas)) or "none"
        return error(request, "invalid", f"no saga named {request.saga!r} (known: {known})", field="saga")
    rows = reply.runs[request.offset : request.offset + request.limit]
    return result_of(request, runs=[plain(r) for r in rows], total=reply.total, offset=request.offset)


#: Statuses after which a run changes no more (its outcome can be asked without waiting).
_ENDED = ("completed", "failed", "cancelled", "stuck", "halted", "needs_operator")


def _show_run(request: AdminShowRun, facts: dict[str, Any]) -> Script:
    """The snapshot (steps), and for an ended run its outcome (result, error) merged in."""
    cid = request.correlation_id
    reply = yield saga_ask(RunStatus(correlation_id=cid), RunSnapshot, CancelAnswer)
    if isinstance(reply, RunSnapshot) and reply.status not in _ENDED:
        return result_of(request, **_run_record(plain(reply), None, facts))
    if not isinstance(reply, (RunSnapshot, CancelAnswer)):
        return refusal_of(request, reply)
    record = plain(reply) if isinstance(reply, RunSnapshot) else None
    outcome = yield replace(
        saga_ask(AwaitRun(correlation_id=cid), RunOutcome), optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S
    )  # ended: at once; never wait here
    if isinstance(outcome, RunOutcome):
        return result_of(request, **_run_record(record, plain(outcome), facts))
    return (
        result_of(request, **_run_record(record, None, facts)) if record is not None else refusal_of(request, outcome)
    )


#: Outcome fields that win over the snapshot's (the snapshot's own fields win for the rest).
_OUTCOME_ONLY = ("result", "error", "failed_step", "failed_compensations")


def _run_record(record: dict[str, Any] | None, outcome: dict[str, Any] | None, facts: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with an ended run's outcome merged in, its steps in plan order, and the failed
    step's error message taken from the outcome when the snapshot kept only its code."""
    merged = {**(outcome or {}), **(record or {})}
    if outcome is not None:
        merged.update({k: outcome[k] for k in _OUTCOME_ONLY})
    steps = [dict(step) for step in merged.get("steps", [])]
    failure, failed = merged.get("error") or {}, merged.get("failed_step")
    for step in steps:
        mine = step.get("error") or {}
        if step["name"] == failed and mine.get("code") == failure.get("code") and not mine.get("message"):
            step["error"] = {**failure, **{k: v for k, v in mine.items() if v not in (None, "")}}
    if "steps" in merged:
        merged["steps"] = _plan_ordered(steps, merged.get("saga"), facts)
    return merged


def _plan_ordered(steps: list[dict[str, Any]], saga: str | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """``steps`` in the saga's plan order when the daemon knows the saga (else as they came)."""
    sagas = known_sagas(facts)
    if sagas is None or saga not in sagas:
        return steps
    from sagaline.saga.planner import plan

    order = {name: index for index, name in enumerate(plan(sagas[saga]).order)}
    return sorted(steps, key=lambda step: order.get(step["name"], len(order)))


def _start_saga(request: AdminStartSaga, facts: dict[str, Any]) -> Script:
    start = StartSaga(
        saga=request.saga,
        inputs=request.inputs,
        correlation_id=request.correlation_id,
        causation_id=request.causation_id,
        wait=request.wait,
    )
    reply = yield saga_ask(start, RunOutcome, SagaAccepted)
    if isinstance(reply, RunOutcome):
        return result_of(request, **plain(reply))
    if isinstance(reply, SagaAccepted):
        return result_of(request, correlation_id=reply.correlation_id, saga=reply.saga, existing=reply.existing)
    return refusal_of(request, reply)


def _wait_run(request: AdminWaitRun, facts: dict[str, Any]) -> Script:
    reply = yield saga_ask(AwaitRun(correlation_id=request.correlation_id), RunOutcome)
    if isinstance(reply, RunOutcome):
        return result_of(request, **plain(reply))
    return refusal_of(request, reply)


def _cancel_run(request: AdminCancelRun, facts: dict[str, Any]) -> Script:
    reply = yield saga_ask(CancelRun(correlation_id=request.correlation_id, reason=request.reason), CancelAnswer)
    if isinstance(reply, CancelAnswer):
        return result_of(request, **plain(reply))
    return refusal_of(request, reply)


def _retry(request: AdminRetryCompensation, facts: dict[str, Any]) -> Script:
    """Steps named are checked first: each must be a step of the run whose compensation failed."""
    if request.steps:
        snapshot = yield saga_ask(RunStatus(correlation_id=request.correlation_id), RunSnapshot, CancelAnswer)
        problem = _unknown_steps(request, snapshot, request.steps, retrying=True)
        if problem is not None:
            return problem
    reply = yield saga_ask(
        RetryCompensation(correlation_id=request.correlation_id, steps=request.steps), OperatorAnswer
    )
    return _operator_answer(request, reply)


def _resume(request: AdminResumeRun, facts: dict[str, Any]) -> Script:
    """``from_step`` is checked first: it must be a step of the run."""
    if request.from_step is not None:
        snapshot = yield saga_ask(RunStatus(correlation_id=request.correlation_id), RunSnapshot, CancelAnswer)
        problem = _unknown_steps(request, snapshot, [request.from_step], retrying=False)
        if problem is not None:
            return problem
    reply = yield saga_ask(
        ResumeRun(correlation_id=request.correlation_id, from_step=request.from_step), OperatorAnswer
    )
    return _operator_answer(request, reply)


def _unknown_steps(request: AdminRequest, snapshot: Any, names: list[str], retrying: bool) -> AdminError | None:
    """Why the steps named do not fit the run (None: they do, or the run's steps are not known here)."""
    if not isinstance(snapshot, RunSnapshot):
        return refusal_of(request, snapshot) if isinstance(snapshot, SagaRefused) else None
    steps = {step.name: step for step in snapshot.steps}
    if not steps:
        return None
    flag = "--step" if retrying else "--from"
    unknown = [name for name in names if name not in steps]
    if unknown:
        return error(
            request,
            "invalid",
            f"{flag} {unknown[0]!r}: run {snapshot.correlation_id} (saga "
            f"{snapshot.saga}) has no such step; its steps: {', '.join(steps)}",
            field=flag[2:],
        )
    failed = [name for name, step in steps.items() if step.status == "undo_failed"]
    if retrying and snapshot.status == "stuck":
        idle = [name for name in names if name not in failed]
        if idle:
            return error(
                request,
                "invalid",
                f"--step {idle[0]!r}: its compensation did not fail (it is "
                f"{steps[idle[0]].status}); the failed ones: {', '.join(failed) or 'none'}",
                field="step",
            )
    return None


def _operator_answer(request: AdminRequest, reply: Any) -> AdminResult | AdminError:
    if isinstance(reply, OperatorAnswer):
        return result_of(request, **plain(reply))
    return refusal_of(request, reply)


#: Request class -> its conversation (the runs' part of :data:`sagaline.admin.conversations.CONVERSATIONS`).
RUN_CONVERSATIONS: dict[type, Callable[[Any, dict[str, Any]], Script]] = {
    AdminListRuns: _list_runs,
    AdminShowRun: _show_run,
    AdminStartSaga: _start_saga,
    AdminWaitRun: _wait_run,
    AdminCancelRun: _cancel_run,
    AdminRetryCompensation: _retry,
    AdminResumeRun: _resume,
}
