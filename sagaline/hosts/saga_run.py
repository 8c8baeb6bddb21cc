"""One saga run: a lightweight actor with its own mailbox, state and timers, living in a saga host.

A :class:`SagaRun` is the shell that carries out the pure executor's
commands for one run. It never blocks: each step is a local function (run
inline) or a command message to a domain actor (its reply arrives later,
through the host, into this run's mailbox); timeouts and retry backoffs are
the host's timers, named per run. Every event it applies goes to the
journal first, and the commands that follow from it are carried out only
once the record is durable (the ``then`` continuation of the host's
:class:`~sagaline.saga.journal.GroupCommit`): write-ahead.

It talks to the world only through its :class:`HostPort` (send, timers,
journal, directory, and the host's bookkeeping of waiters and ends), so it
is the same object in a saga host with thousands of runs and in a
single-run host (``isolation="process"``).

How a run begins (one method per intent):

* :meth:`SagaRun.begin` -- a new run from an admitted ``StartSaga``;
* :meth:`SagaRun.rebuild` -- an unfinished run loaded from the journal and
  replayed through the executor, then continued (``executor.recover``:
  invocations in flight re-sent with their same keys, retry timers re-armed
  for their remaining time), finished again, or given an operator's
  :class:`Operation` (retry a stuck run's compensations; resume a halted run);
* :meth:`SagaRun.succeed` -- a successor of a failed or cancelled run, with
  the results the rollback left in place carried over.

A run that cannot be rebuilt (corrupt rows, inputs its definition rejects)
is finished ``needs_operator``, never dropped. A run that ends ``stuck`` is
announced by a ``reactor.saga.stuck`` event on the bus before its finish is
recorded.

**Uncertain invocations.** A key sent a second time (re-sent after a
recovery, or after a timeout) may already have taken effect. A *retryable*
failure answered to such a re-send only says that this attempt failed, not
that the first one did; handed to the executor it would retry under a new
key and orphan the first key's effect. So the run keeps the invocation in
flight and re-sends the same command with backoff (``RESEND_BACKOFF_S``)
until a success or a definite failure comes; the step's own deadline still
bounds it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sagaline.hosts.saga_support import carry_over, emit_start, finished_of, note_invoke, note_result, operator_outcome
from sagaline.messages.base import Reply
from sagaline.messages.saga import CancelAnswer, CancelRun, OperatorAnswer, RunOutcome, RunStatus, StartSaga
from sagaline.saga import (
    CancelRequested,
    Executor,
    Finished,
    InputError,
    InvocationResult,
    Invoke,
    ResumeRequested,
    RetryCompensations,
    SetTimer,
    StepError,
    TimerFired,
)
from sagaline.saga.journal import Begin, Finish, Record, RunHistory, append_of, replay
from sagaline.saga.outcomes import Fail, Ok
from sagaline.saga.records import CorruptRecord, error_to_data
from sagaline.saga.shell import interpret, outcome, perform, snapshot
from sagaline.saga.state import RunState
from sagaline.saga.steps import Send
from sagaline.sagas.announcements import finish_announcement, retry_announcement
from sagaline.telemetry import names as tn
from sagaline.telemetry.context import root_span_id, span_id_for, trace_id_for, traceparent
from sagaline.telemetry.core import telemetry

__all__ = ["SagaRun", "HostPort", "Operation", "Tick", "ANNOUNCE_TIMEOUT_S", "RESEND_BACKOFF_S"]

_log = logging.getLogger("sagaline.saga")
_FINISH_EVENTS = {
    "completed": tn.SAGA_COMPLETE,
    "failed": tn.SAGA_FAIL,
    "stuck": tn.SAGA_STUCK,
    "cancelled": tn.SAGA_CANCELLED,
    "halted": tn.SAGA_FAIL,
}
#: Seconds to wait for the bus to confirm a stuck announcement before recording the finish anyway.
ANNOUNCE_TIMEOUT_S = 5.0
#: First and largest delay before an uncertain invocation is re-sent after a retryable failure.
RESEND_BACKOFF_S = (0.1, 5.0)


class HostPort(Protocol):
    """What a run needs from the host it lives in."""

    directory: dict[str, Any]

    def record(self, run: SagaRun, record: Record, then: Callable[[], None]) -> None:
        """Journal ``record``; call ``then`` once it is durable (write-ahead)."""

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` (gathered with others bound for the same actor)."""

    def start_timer(self, run: SagaRun, name: str, seconds: float, data: Any = None) -> None:
        """(Re)start this run's timer ``name``; it arrives in the run's mailbox as a :class:`Tick`."""

    def cancel_timer(self, run: SagaRun, name: str) -> None:
        """Cancel this run's timer ``name`` (no error if absent)."""

    def begun(self, run: SagaRun) -> None:
        """The run's start is durable: whoever started it may be told."""

    def ended(self, run: SagaRun, result: RunOutcome) -> None:
        """The run ended (its finish is durable, or it never began): the actor is gone."""


@dataclass(frozen=True, slots=True)
class Tick:
    """A run's timer fired (delivered into its mailbox)."""

    name: str
    data: Any = None


@dataclass(frozen=True)
class Operation:
    """An operator's action on a rebuilt run, answered to ``reply_to`` with an ``OperatorAnswer``.

    Attributes:
        kind: ``retry_compensations`` (a stuck run) or ``resume`` (a halted run).
        steps: for ``retry_compensations``: only these steps (empty: all failed ones).
        from_step: for ``resume``: must name a pending step, if given.
        reply_to: the operator's address.
    """

    kind: str
    reply_to: Any
    steps: tuple[str, ...] = ()
    from_step: str | None = None


@dataclass
class _Successor:
    """What a successor run answers its operator once its start is durable."""

    predecessor: str
    reply_to: Any


@dataclass
class _Flight:
    """Invocations awaiting answers, keyed by idempotency key."""

    pending: dict[str, Invoke] = field(default_factory=dict)
    sends: dict[str, Send] = field(default_factory=dict)
    uncertain: dict[str, int] = field(default_factory=dict)


class SagaRun:
    """One run's actor (see the module docstring).

    Args:
        host: the :class:`HostPort` of the saga host it lives in.
        run_id: the correlation id.
        saga: the saga's name.
        executor: the pure executor of that saga.
    """

    def __init__(self, host: HostPort, run_id: str, saga: str, executor: Executor) -> None:
        self.host, self.run_id, self.saga, self.executor = host, run_id, saga, executor
        self.mailbox: deque[tuple[Any, Any]] = deque()
        self.state: Any = None
        self.seq = 0
        self.flight = _Flight()
        self.queue: deque = deque()  # events produced while carrying out commands, applied in order
        self.busy = False
        self.carried: dict[str, Any] = {}
        self.announcing: tuple[str, Callable[[], None]] | None = None
        self.operation: Operation | None = None
        self.successor: _Successor | None = None
        self.done = False
        self.meta: dict[str, Any] = {"saga": saga, "correlation_id": run_id, "trace_id": trace_id_for(run_id)}
        self.root_span = root_span_id(run_id)
        self.begun_ns = time.monotonic_ns()
        self.begun_wall: int | None = None
        self.step_started: dict[str, int] = {}

    # ----- beginnings ----------------------------------------------------------------------

    def begin(self, start: StartSaga, resumed_from: str | None = None) -> None:
        """Start a new run from an admitted request; the host hears :meth:`HostPort.begun` once durable."""
        now = time.time()
        self.meta["causation_id"] = start.causation_id
        # reactor.saga.start is told once the start is durable (in _begun): a start refused for its
        # inputs, or taken back because the journal could not be written, never began
        self.begun_wall = time.time_ns()
        try:
            self.state, commands = self.executor.start(self.run_id, dict(start.inputs), now, start.causation_id)
        except InputError as exc:
            self._refuse(exc)
            return
        record = Begin(
            start, self.executor.definition.version, now, self.state.status, resumed_from, dict(self.carried)
        )
        self.host.record(self, record, lambda: self._begun(commands))

    def rebuild(self, history: RunHistory | None, operation: Operation | None = None) -> None:
        """Continue a run loaded from the journal (or apply ``operation`` to it)."""
        self.operation = operation
        state = self._replayed(history)
        if state is None or history is None:
            return
        self.state, self.seq = state, history.entries[-1].seq if history.entries else 0
        self.carried = dict(history.begin.carried)
        self.meta["causation_id"] = state.causation_id
        emit_start(self.meta, self.root_span, self.begun_ns, recovered=True)
        if operation is not None:
            self._operate(history, operation)
        elif history.outcome is not None:
            self._end(history.outcome)  # nothing to do: it had ended
        elif state.terminal or state.status == "halted":
            self._finish(finished_of(state))
        else:
            commands = self.executor.recover(state, time.time())
            self.flight.uncertain.update((c.key, 0) for c in commands if isinstance(c, Invoke))
            self._carry_out(commands)

    def succeed(self, predecessor: RunHistory | None, from_step: str | None, reply_to: Any) -> None:
        """Start as the successor of the failed/cancelled run ``predecessor`` (``ResumeRun``)."""
        self.successor = _Successor(predecessor.begin.run_id if predecessor else "", reply_to)
        old = self._replayed(predecessor)
        if old is None or predecessor is None:
            return
        from_step = from_step or (old.failure[0] if old.failure else None)
        if from_step is not None and from_step not in old.steps:
            self._cannot_rebuild("unknown_step", f"{self.saga} has no step {from_step!r}")
            return
        self.carried = carry_over(self.executor, old, from_step)
        start = predecessor.begin.start
        self.begin(
            StartSaga(
                saga=self.saga,
                inputs=dict(start.inputs),
                correlation_id=self.run_id,
                causation_id=predecessor.begin.run_id,
            ),
            resumed_from=predecessor.begin.run_id,
        )

    def _begun(self, commands: list) -> None:
        emit_start(self.meta, self.root_span, self.begun_ns, recovered=False, system_time=self.begun_wall)
        self.host.begun(self)
        if self.successor is not None:
            self._answer_operator(True, "running", f"resumed as {self.run_id}")
        self._carry_out(commands)

    def _refuse(self, exc: InputError) -> None:
        self._answer_operator(False, "failed", f"invalid inputs: {exc}")
        error = error_to_data(StepError("invalid_input", str(exc)))
        self._end(RunOutcome(correlation_id=self.run_id, saga=self.saga, status="failed", error=error))

    # ----- the mailbox ---------------------------------------------------------------------

    def process(self) -> None:
        """Handle every message in the mailbox (the host calls this; an exception ends the run)."""
        while self.mailbox and not self.done:
            message, reply_to = self.mailbox.popleft()
            if isinstance(message, Reply):
                self._on_reply(message)
            elif isinstance(message, Tick):
                self._on_tick(message)
            elif isinstance(message, CancelRun):
                self._on_cancel(message, reply_to)
            elif isinstance(message, RunStatus):
                self.host.post(reply_to, snapshot(self.state))
            else:
                raise TypeError(f"a saga run cannot handle {type(message).__name__}")

    def _on_reply(self, reply: Reply) -> None:
        key = reply.headers.idempotency_key
        if self.announcing is not None and key == self.announcing[0]:
            self._announced()
            return
        inv = self.flight.pending.get(key) if key else None
        if key is None or inv is None:
            return  # a duplicate answer to a re-sent command, or one for a step already resolved
        result = interpret(self.executor, inv, reply)
        if key in self.flight.uncertain and isinstance(result, Fail) and result.error.retryable:
            self._resend_later(key)  # says nothing about the first send: ask again, same key
            return
        del self.flight.pending[key]
        self.flight.uncertain.pop(key, None)
        self._apply(InvocationResult(inv.step, inv.kind, inv.key, result))
        self._drain()

    def _on_tick(self, tick: Tick) -> None:
        if tick.name == "announce":
            _log.warning("run %s: the bus did not confirm its announcement", self.run_id)
            self._announced()
        elif tick.name.startswith("resend:"):
            self._resend(tick.data)
        else:
            self._apply(TimerFired(tick.data))
            self._drain()

    def _on_cancel(self, message: CancelRun, reply_to: Any) -> None:
        before = self.state
        self._apply(CancelRequested(message.reason))
        accepted = self.state is not before and self.state.stop == "cancel"
        self.host.post(reply_to, CancelAnswer(correlation_id=self.run_id, accepted=accepted, status=self.state.status))
        self._drain()

    # ----- applying events and carrying out commands ---------------------------------------

    def _apply(self, event: Any) -> None:
        """Apply one event; its commands run once the journal has it."""
        if self.state is None or (self.state.terminal and not isinstance(event, RetryCompensations)):
            return
        now = time.time()
        note_result(self.meta, self.step_started, event)
        before = self.state
        self.state, commands = self.executor.transition(before, event, now)
        if self.state is before:
            return  # stale (an old timer, a superseded answer): nothing to journal or do
        self.seq += 1
        self.host.record(
            self, append_of(self.run_id, self.seq, now, event, self.state), lambda: self._carry_out(commands)
        )
        if self.executor.definition.announce:
            self._announce_retry(event)

    def _announce_retry(self, event: Any) -> None:
        """A failed attempt whose step will be tried again: say so on the bus (best effort, not awaited)."""
        if not (isinstance(event, InvocationResult) and event.kind == "run" and isinstance(event.outcome, Fail)):
            return
        step = self.state.steps.get(event.step)
        flow = self.host.directory.get("flow")
        if step is None or step.status != "retrying" or flow is None:
            return
        code = event.outcome.error.code if event.outcome.error is not None else "failed"
        span = span_id_for(event.key, "run", step.attempt)
        self.host.post(
            flow,
            retry_announcement(
                self.state, event.step, step.attempt + 1, code, traceparent=traceparent(self.run_id, span)
            ),
        )

    def _carry_out(self, commands: list) -> None:
        """Carry out commands; local outcomes are queued and applied in order, not recursively."""
        for command in commands:
            if isinstance(command, Invoke):
                self._invoke(command)
            elif isinstance(command, SetTimer):
                self.host.start_timer(self, f"t{command.token.serial}", command.at - time.time(), command.token)
            elif isinstance(command, Finished):
                self._finish(command)
        self._drain()

    def _drain(self) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            while self.queue and not self.done:
                self._apply(self.queue.popleft())
        finally:
            self.busy = False

    def _invoke(self, inv: Invoke) -> None:
        if inv.kind == "run" and inv.step in self.carried:  # a successor keeps this result
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, Ok(self.carried[inv.step])))
            return
        span = span_id_for(inv.key, inv.kind, inv.attempt)
        note_invoke(self.meta, self.root_span, self.step_started, inv, span)
        action = perform(self.executor, self.state, inv, {"traceparent": traceparent(self.run_id, span)})
        if not isinstance(action, Send):
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, action))
            return
        flight = self.flight
        address = self.host.directory.get(action.target)
        if address is None and inv.key not in flight.uncertain:
            error = StepError("target_unavailable", f"no {action.target!r} actor is known", retryable=True)
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, Fail(error)))
            return
        if inv.key in flight.sends:
            flight.uncertain.setdefault(inv.key, 0)  # a re-send: the first may have taken effect
        flight.pending[inv.key], flight.sends[inv.key] = inv, action
        if address is None:
            self._resend_later(inv.key)  # an uncertain key is never given up for lack of a target
        else:
            self.host.post(address, action.command)

    def _resend_later(self, key: str) -> None:
        tries = self.flight.uncertain[key] = self.flight.uncertain[key] + 1
        first, cap = RESEND_BACKOFF_S
        self.host.start_timer(self, f"resend:{key}", min(cap, first * 2 ** (tries - 1)), key)

    def _resend(self, key: str) -> None:
        action = self.flight.sends.get(key)
        if action is None or key not in self.flight.pending:
            return
        address = self.host.directory.get(action.target)
        if address is not None:
            self.host.post(address, action.command)
        else:
            self._resend_later(key)  # its domain actor is away: try again later

    # ----- the end -------------------------------------------------------------------------

    def _finish(self, finished: Finished) -> None:
        result = outcome(self.state, finished)
        telemetry.execute(
            _FINISH_EVENTS[finished.status],
            {"duration": time.monotonic_ns() - self.begun_ns},
            {
                **self.meta,
                "status": finished.status,
                "error": result.error,
                "failed_compensations": result.failed_compensations,
            },
        )

        def record() -> None:
            self.host.record(self, Finish(self.run_id, finished.status, result), lambda: self._end(result))

        said = (
            finish_announcement(self.state, result, self.seq, traceparent=traceparent(self.run_id, self.root_span))
            if self.executor.definition.announce or finished.status == "stuck"
            else None
        )
        if said is not None:  # published before the finish is recorded: a rebuilt run says it again, once
            self._announce(said, record)
        else:
            record()

    def _announce(self, command: Any, then: Callable[[], None]) -> None:
        """Publish the run's announcement on the bus, then ``then`` (also when the bus is away)."""
        flow = self.host.directory.get("flow")
        if flow is None:
            _log.warning("run %s: no bus to announce %s on", self.run_id, command.event.name)
            then()
            return
        self.announcing = (command.headers.idempotency_key, then)
        self.host.post(flow, command)
        self.host.start_timer(self, "announce", ANNOUNCE_TIMEOUT_S)

    def _announced(self) -> None:
        if self.announcing is not None:
            _, then = self.announcing
            self.announcing = None
            self.host.cancel_timer(self, "announce")
            then()

    def _end(self, result: RunOutcome) -> None:
        if not self.done:
            self.done = True
            self.host.ended(self, result)

    # ----- rebuilding ----------------------------------------------------------------------

    def _replayed(self, history: RunHistory | None) -> RunState | None:
        """The run rebuilt from ``history``, or None after marking it needs_operator."""
        if history is None:
            self._cannot_rebuild("unknown_run", "the journal has no such run")
            return None
        if history.problem:
            self._cannot_rebuild("corrupt_record", history.problem)
            return None
        try:
            return replay(self.executor, history)
        except (CorruptRecord, InputError) as exc:
            self._cannot_rebuild("corrupt_record", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a journal that no longer fits the definition
            self._cannot_rebuild("replay_failed", f"{type(exc).__name__}: {exc}")
        return None

    def _cannot_rebuild(self, code: str, message: str) -> None:
        """Record the run as needing an operator (never drop it), then end."""
        _log.warning("run %s needs an operator: %s: %s", self.run_id, code, message)
        self._answer_operator(False, "needs_operator", f"{code}: {message}")
        out = operator_outcome(self.run_id, self.saga, code, message, time.time())
        if self.successor is not None:
            self._end(out)  # a successor that never began: nothing of it exists
            return
        self.host.record(self, Finish(self.run_id, "needs_operator", out), lambda: self._end(out))

    def _operate(self, history: RunHistory, operation: Operation) -> None:
        """Apply the operator's action to the rebuilt run and answer it."""
        before = self.state
        if (
            operation.kind == "resume"
            and operation.from_step is not None
            and getattr(before.steps.get(operation.from_step), "status", None) != "pending"
        ):
            self._decline(history, f"a halted run resumes at its pending steps; {operation.from_step!r} is not one")
            return
        event = (
            RetryCompensations(tuple(operation.steps)) if operation.kind == "retry_compensations" else ResumeRequested()
        )
        self._apply(event)
        if self.state is before:
            self._decline(history, f"nothing to do: the run is {before.status}")
            return
        self._answer_operator(True, self.state.status, f"{operation.kind} applied")
        self._drain()

    def _decline(self, history: RunHistory, why: str) -> None:
        self._answer_operator(False, self.state.status, why)
        self._end(history.outcome or outcome(self.state, finished_of(self.state)))

    def _answer_operator(self, accepted: bool, status: str, message: str) -> None:
        if self.successor is not None:
            to, cid, successor = self.successor.reply_to, self.successor.predecessor, self.run_id
        elif self.operation is not None:
            to, cid, successor = self.operation.reply_to, self.run_id, None
        else:
            return
        self.operation = None
        if self.successor is not None:
            self.successor.reply_to = None  # answered once
        if to is not None:
            self.host.post(
                to,
                OperatorAnswer(
                    correlation_id=cid, accepted=accepted, status=status, message=message, successor=successor
                ),
            )
