"""The executor: every decision of a saga run as a pure transition function.

``Executor(definition).transition(state, event, now) -> (state', commands)``
is the whole logic of a run: which steps to dispatch, retries with
backoff, per-step timeouts, draining steps in flight when the run stops,
the undo of completed steps **last completed first**, and the outcome. It
reads no clock (``now`` is given), performs no I/O and calls no step
callback except the pure ``where`` guards and ``backoff`` functions; the
shell (saga actor or in-process driver) carries out the commands and feeds
back what happened.

Outcomes at a glance (N = ``max_retries``, U = ``undo_retries``):

* run ``Ok``: the step succeeded (numbered in completion order).
* run ``Retry`` / retryable ``Fail``: retried after backoff while fewer than
  N+1 attempts were made, with a new idempotency key; then a failure.
* run timeout: the effect is unknown, so it is re-sent with the **same**
  key while attempts remain; then an *indefinite* failure. Until a definite
  answer for that key arrives, a transient failure keeps the key too.
* failure: the step's ``compensate`` runs when it has one (``Continue``
  rescues the step; ``Retry`` runs it again while attempts remain), then the
  run stops: nothing new starts, steps in flight are awaited (a late
  success is undone too), and completed steps are undone one at a time in
  reverse completion order. A failing undo is retried U times, then
  recorded; the rollback goes on. The run ends ``failed`` (with the
  original error), ``cancelled``, or ``stuck`` when some compensation or
  undo failed for good.
* run ``Halt``: the run drains and stops ``halted``, nothing undone;
  ``ResumeRequested`` continues it.
* a stopping run (failure or cancel) asks steps in flight that support it
  to ``interrupt`` (e.g. stop waiting for training); their answers drain as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from sagaline.saga import rollback
from sagaline.saga.backoff import DEFAULT_BACKOFF, Backoff
from sagaline.saga.definition import FromInput, FromResult, SagaDefinition, StepDef
from sagaline.saga.inputs import prepare_inputs
from sagaline.saga.outcomes import Continue, Fail, Halt, Ok, Outcome, Retry, StepError
from sagaline.saga.planner import Plan, plan
from sagaline.saga.signals import (
    CancelRequested,
    Finished,
    InvocationResult,
    Invoke,
    Kind,
    ResumeRequested,
    RetryCompensations,
    RunCommand,
    RunEvent,
    SetTimer,
    TimerFired,
    TimerToken,
)
from sagaline.saga.state import RunState, StepState, idempotency_key
from sagaline.saga.steps import StepContext

__all__ = ["Executor", "Transition", "busy_kind"]

Transition = tuple[RunState, list[RunCommand]]
_DONE = ("succeeded", "skipped")
_log = logging.getLogger(__name__)


class Executor:
    """The pure decision logic for runs of one saga definition.

    Args:
        definition: the saga; it is planned once here (plan errors raise).
        backoff: the policy used when a step's own ``backoff`` says None.
    """

    def __init__(self, definition: SagaDefinition, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self.definition = definition
        self.plan: Plan = plan(definition)
        self.backoff = backoff
        # Step states are immutable: every run starts from the same records.
        self._fresh_steps = {n: StepState(n) for n in self.plan.order}
        self._handlers: dict[type, Callable[[RunState, Any, float], Transition]] = {
            InvocationResult: self._on_result,
            TimerFired: self._on_timer,
            CancelRequested: self._on_cancel,
            ResumeRequested: self._on_resume,
            RetryCompensations: self._on_retry_compensations,
        }

    # -- public ---------------------------------------------------------------

    def start(self, run_id: str, inputs: dict[str, Any], now: float, causation_id: str | None = None) -> Transition:
        """Begin a run: prepare the inputs and dispatch the first steps.

        Raises:
            InputError: the inputs are missing or invalid (nothing started).
        """
        prepared = prepare_inputs(self.definition, inputs)
        state = RunState(
            run_id,
            self.definition.name,
            self.definition.version,
            "running",
            prepared,
            dict(self._fresh_steps),
            causation_id=causation_id,
            started_at=now,
        )
        return self.advance(state, [], now)

    def transition(self, state: RunState, event: RunEvent, now: float) -> Transition:
        """Apply one event to a run; return the new state and the commands to carry out.

        Events that no longer apply (a stale timer, an answer to a superseded
        invocation, a cancel after the end) leave the state unchanged and
        produce no command.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"not a run event: {type(event).__name__}")
        state, commands = handler(state, event, now)
        return self.advance(state, commands, now)

    def recover(self, state: RunState, now: float) -> list[RunCommand]:
        """Commands that resume a run rebuilt from its journal after a crash.

        Every invocation that was in flight is sent again with its **same**
        idempotency key (a domain actor answers a duplicate with its first
        answer) and a fresh deadline; every pending retry timer is set again
        for its remaining time (at once when overdue).
        """
        commands: list[RunCommand] = []
        for step in state.steps.values():
            kind = busy_kind(step)
            if step.inflight is not None:
                timeout = self.definition.step(step.name).timeout
                key = step.inflight
                step = step.evolve(deadline=None if timeout is None else now + timeout)
                commands.append(self._invoke_command(state, step, kind, key))
                if step.deadline is not None and step.timer is not None:
                    commands.append(SetTimer(TimerToken(step.name, kind, "timeout", step.timer), step.deadline))
            elif step.retry_at is not None and step.timer is not None:
                commands.append(SetTimer(TimerToken(step.name, kind, "retry", step.timer), max(step.retry_at, now)))
        return commands

    # -- scheduling -----------------------------------------------------------

    def advance(self, state: RunState, commands: list[RunCommand], now: float) -> Transition:
        """Take every decision that follows from ``state`` without a new event."""
        while True:
            before = state
            if state.status == "running":
                state = self._schedule(state, commands, now)
            elif state.status == "draining":
                state = rollback.after_drain(self, state, commands, now)
            elif state.status == "rolling_back":
                state = rollback.next_undo(self, state, commands, now)
            if state is before:
                return state, commands

    def _schedule(self, state: RunState, commands: list[RunCommand], now: float) -> RunState:
        steps = state.steps.values()
        if all(s.status in _DONE for s in steps):
            return self._complete(state, commands, now)
        busy = [s for s in steps if s.status in ("running", "compensating")]
        if any(s.status == "compensating" for s in busy) or any(
            not self.definition.step(s.name).run_async for s in busy
        ):
            return state
        for name in self.plan.order:
            step = state.steps[name]
            if step.status != "pending" or not all(state.steps[d].status in _DONE for d in self.plan.deps[name]):
                continue
            spec = self.definition.step(name)
            if len(busy) >= self.definition.max_concurrency or (not spec.run_async and busy):
                break
            state, started = self._start_step(state, spec, commands, now)
            if started:
                busy.append(state.steps[name])
                if not spec.run_async:
                    break
            if state.stop is not None or not started:
                return state  # a skip or a failure changes what is ready: re-plan
        return state

    def _start_step(
        self, state: RunState, spec: StepDef, commands: list[RunCommand], now: float
    ) -> tuple[RunState, bool]:
        step = state.steps[spec.name]
        args = _resolve(state, spec)
        if isinstance(args, StepError):
            return self.fail_step(state, step.evolve(started_at=now), args, commands, now), False
        if spec.where is not None:
            try:
                go = bool(spec.where(args))
            except Exception as exc:
                err = StepError("guard_error", f"{type(exc).__name__}: {exc}")
                return self.fail_step(state, step.evolve(started_at=now), err, commands, now), False
            if not go:
                return state.with_step(step.evolve(status="skipped", started_at=now, finished_at=now)), False
        step = step.evolve(arguments=args, started_at=step.started_at or now)
        return self.dispatch(state, step, "run", commands, now), True

    def _complete(self, state: RunState, commands: list[RunCommand], now: float) -> RunState:
        returns = self.definition.returns
        result = state.steps[returns].value if returns else {n: s.value for n, s in state.steps.items()}
        commands.append(Finished("completed", result=result))
        return state.evolve(status="completed", result=result, finished_at=now)

    # -- invocations ----------------------------------------------------------

    def dispatch(
        self, state: RunState, step: StepState, kind: Kind, commands: list[RunCommand], now: float
    ) -> RunState:
        """Send the next attempt of ``kind`` for ``step``; its key follows its generation."""
        if kind == "run":
            step = step.evolve(status="running", attempt=step.attempt + 1)
            key = idempotency_key(state.run_id, step.name, "run", step.generation)
        else:
            step = step.evolve(comp_attempt=step.comp_attempt + 1)
            key = idempotency_key(state.run_id, step.name, kind, step.comp_generation)
        timeout = self.definition.step(step.name).timeout
        step = step.evolve(inflight=key, retry_at=None, timer=None, deadline=None if timeout is None else now + timeout)
        commands.append(self._invoke_command(state, step, kind, key))
        if step.deadline is not None:
            return self.arm(state, step, kind, "timeout", step.deadline, commands)
        return state.with_step(step)

    def _invoke_command(self, state: RunState, step: StepState, kind: Kind, key: str) -> Invoke:
        attempt = step.attempt if kind == "run" else step.comp_attempt
        return Invoke(
            step.name,
            kind,
            attempt,
            key,
            idempotency_key(state.run_id, step.name, "run", step.generation),
            step.arguments or {},
            step.value if kind == "undo" else None,
            step.error if kind == "compensate" else None,
            step.deadline,
        )

    def arm(
        self,
        state: RunState,
        step: StepState,
        kind: Kind,
        purpose: Literal["timeout", "retry"],
        at: float,
        commands: list[RunCommand],
    ) -> RunState:
        """Set the one timer that matters to ``step`` now (a new serial makes older ones stale)."""
        serial = state.timers + 1
        commands.append(SetTimer(TimerToken(step.name, kind, purpose, serial), at))
        return state.with_step(step.evolve(timer=serial)).evolve(timers=serial)

    def schedule_retry(
        self,
        state: RunState,
        step: StepState,
        kind: Kind,
        reason: Any,
        delay: float | None,
        commands: list[RunCommand],
        now: float,
    ) -> RunState:
        """Wait before the next attempt of ``kind``; the step must already be evolved
        to the waiting status (and generation) it retries from."""
        attempt = step.attempt if kind == "run" else step.comp_attempt
        if delay is None:
            delay = self._backoff(state, step, kind, reason, attempt)
        step = step.evolve(inflight=None, deadline=None, retry_at=now + delay)
        return self.arm(state, step, kind, "retry", now + delay, commands)

    def _backoff(self, state: RunState, step: StepState, kind: Kind, reason: Any, attempt: int) -> float:
        key = idempotency_key(state.run_id, step.name, kind, step.generation)
        ctx = self.context(state, step, kind, attempt, key)
        try:
            custom = self.definition.step(step.name).impl.backoff(reason, step.arguments or {}, ctx)
            delay = float(custom) if custom is not None else None
        except Exception:  # a broken backoff callback must not stall the run: said, then the default applies
            _log.warning(
                "saga %s, run %s, step %s: its backoff callback failed; the default backoff applies",
                state.saga,
                state.run_id,
                step.name,
                exc_info=True,
            )
            delay = None
        return delay if delay is not None else self.backoff.delay(attempt, key)

    def context(
        self, state: RunState, step: StepState, kind: Kind, attempt: int, key: str, trace: dict[str, str] | None = None
    ) -> StepContext:
        """The :class:`StepContext` for one invocation (shells use it too)."""
        return StepContext(
            state.run_id,
            state.saga,
            step.name,
            kind,
            attempt,
            key,
            idempotency_key(state.run_id, step.name, "run", step.generation),
            state.causation_id,
            trace or {},
        )

    # -- events ---------------------------------------------------------------

    def _on_result(self, state: RunState, event: InvocationResult, now: float) -> Transition:
        step = state.steps.get(event.step)
        if step is None or not _awaits(state, step, event.kind, event.key):
            return state, []
        commands: list[RunCommand] = []
        step = step.evolve(inflight=None, deadline=None, timer=None, retry_at=None)
        if event.kind == "run":
            state = self._run_outcome(state, step, event.outcome, commands, now)
        elif event.kind == "compensate":
            state = self._compensate_outcome(state, step, event.outcome, commands, now)
        else:
            state = rollback.undo_outcome(self, state, step, event.outcome, commands, now)
        return state, commands

    def _run_outcome(
        self, state: RunState, step: StepState, outcome: Outcome, commands: list[RunCommand], now: float
    ) -> RunState:
        spec = self.definition.step(step.name)
        if isinstance(outcome, Ok):
            return self.succeed(state, step, outcome.value, now)
        if isinstance(outcome, Halt):
            step = step.evolve(status="pending", attempt=0, generation=step.generation + 1)
            return rollback.stop(self, state.with_step(step), "halt", None, str(outcome.reason), commands)
        if isinstance(outcome, Retry):
            error = StepError("retries_exceeded", f"gave up after {step.attempt} attempts: {outcome.reason}")
            delay = outcome.delay
        else:
            # Continue belongs to compensations: the shell's check_outcome already made a run's a Fail
            error = outcome.error if isinstance(outcome, Fail) else StepError("bad_outcome", "run returned Continue")
            delay = None
            if not error.retryable:
                return self.fail_step(state, step, error, commands, now)
        if step.indefinite:
            # An earlier send of this key timed out: a transient failure now says
            # nothing about that send, so the key is kept until a definite answer.
            if step.attempt <= spec.max_retries:
                return self.schedule_retry(state, step.evolve(status="retrying"), "run", error, delay, commands, now)
            return self.fail_step(state, step, replace(error, indefinite=True), commands, now)
        if state.stop is None and step.attempt <= spec.max_retries:
            step = step.evolve(status="retrying", generation=step.generation + 1, indefinite=False)
            return self.schedule_retry(state, step, "run", error, delay, commands, now)
        return self.fail_step(state, step, error, commands, now)

    def _compensate_outcome(
        self, state: RunState, step: StepState, outcome: Outcome, commands: list[RunCommand], now: float
    ) -> RunState:
        spec = self.definition.step(step.name)
        if isinstance(outcome, Continue):
            return self.succeed(state, step, outcome.value, now)
        if isinstance(outcome, Retry) and state.stop is None and step.attempt <= spec.max_retries:
            step = step.evolve(status="retrying", generation=step.generation + 1, indefinite=False, comp_attempt=0)
            return self.schedule_retry(state, step, "run", outcome.reason, outcome.delay, commands, now)
        if isinstance(outcome, Fail):
            return rollback.retry_or_give_up(self, state, step, "compensate", outcome.error, None, commands, now)
        step = step.evolve(status="failed", finished_at=now)
        failure = None if step.error is None else (step.name, step.error)
        return rollback.stop(self, state.with_step(step), "fail", failure, None, commands)

    def succeed(self, state: RunState, step: StepState, value: Any, now: float) -> RunState:
        """Record ``step`` as completed with ``value``, numbered in completion order."""
        step = step.evolve(
            status="succeeded",
            value=value,
            indefinite=False,
            completed_seq=state.completions,
            finished_at=now,
            retry_at=None,
        )
        return state.with_step(step).evolve(completions=state.completions + 1)

    def fail_step(
        self, state: RunState, step: StepState, error: StepError, commands: list[RunCommand], now: float
    ) -> RunState:
        """``step`` failed for good: compensate it when it can, else stop the run."""
        step = step.evolve(error=error, inflight=None, deadline=None, retry_at=None)
        if self.definition.step(step.name).impl.can_compensate:
            step = step.evolve(status="compensating", comp_attempt=0)
            return self.dispatch(state, step, "compensate", commands, now)
        step = step.evolve(status="failed", finished_at=now)
        return rollback.stop(self, state.with_step(step), "fail", (step.name, error), None, commands)

    def _on_timer(self, state: RunState, event: TimerFired, now: float) -> Transition:
        token = event.token
        step = state.steps.get(token.step)
        if step is None or step.timer != token.serial:
            return state, []
        commands: list[RunCommand] = []
        step = step.evolve(timer=None)
        if token.purpose == "timeout":
            return self._timed_out(state, step, token.kind, commands, now), commands
        if token.kind == "run" and state.stop is not None and not step.indefinite:
            return state, []  # the run stopped while this retry waited: never re-run it
        return self.dispatch(state, step.evolve(retry_at=None), token.kind, commands, now), commands

    def _timed_out(
        self, state: RunState, step: StepState, kind: Kind, commands: list[RunCommand], now: float
    ) -> RunState:
        spec = self.definition.step(step.name)
        error = StepError(
            "timeout", f"{kind} of {step.name} got no answer within {spec.timeout}s", retryable=True, indefinite=True
        )
        if kind != "run":
            return rollback.retry_or_give_up(self, state, step, kind, error, None, commands, now, same_key=True)
        step = step.evolve(indefinite=True)
        if step.attempt <= spec.max_retries:
            return self.schedule_retry(state, step.evolve(status="retrying"), "run", error, None, commands, now)
        return self.fail_step(state, step, error, commands, now)

    def _on_cancel(self, state: RunState, event: CancelRequested, now: float) -> Transition:
        if state.terminal or state.stop in ("fail", "cancel"):
            return state, []
        commands: list[RunCommand] = []
        return rollback.stop(self, state, "cancel", None, event.reason, commands), commands

    def _on_resume(self, state: RunState, event: ResumeRequested, now: float) -> Transition:
        if state.status != "halted":
            return state, []
        return state.evolve(status="running", stop=None, reason=None), []

    def _on_retry_compensations(self, state: RunState, event: RetryCompensations, now: float) -> Transition:
        if state.status != "stuck":
            return state, []
        commands: list[RunCommand] = []
        return rollback.retry_failed(self, state, set(event.steps), commands, now), commands


def _awaits(state: RunState, step: StepState, kind: Kind, key: str) -> bool:
    """Whether an answer for ``key`` still matters: it answers the invocation in
    flight, or the one whose timeout left the step waiting to re-send that same key."""
    if busy_kind(step) != kind:
        return False
    if step.inflight is not None:
        return step.inflight == key
    if step.retry_at is None or step.status not in ("retrying", "compensating", "undoing"):
        return False
    generation = step.generation if kind == "run" else step.comp_generation
    return key == idempotency_key(state.run_id, step.name, kind, generation)


def busy_kind(step: StepState) -> Kind:
    """Which callback a step is busy with (in flight or waiting to retry), from its status."""
    if step.status in ("running", "retrying"):
        return "run"
    if step.status == "compensating":
        return "compensate"
    return "undo"


def _resolve(state: RunState, spec: StepDef) -> dict[str, Any] | StepError:
    """The step's argument values, or an ``argument_error`` naming the bad one."""
    args: dict[str, Any] = {}
    for arg in spec.arguments:
        src = arg.source
        if isinstance(src, FromInput):
            args[arg.name] = state.inputs.get(src.name)
        elif isinstance(src, FromResult):
            try:
                args[arg.name] = _at_path(state.steps[src.step].value, src.path)
            except (KeyError, IndexError, TypeError) as exc:
                return StepError(
                    "argument_error",
                    f"argument {arg.name!r}: result of {src.step!r} has no {list(src.path)!r} ({exc!r})",
                )
        else:
            args[arg.name] = src.value
    return args


def _at_path(value: Any, path: tuple[Any, ...]) -> Any:
    """Index into mappings/sequences; like Elixir's ``get_in``, None stays None."""
    for part in path:
        if value is None:
            return None
        value = value[part]
    return value
