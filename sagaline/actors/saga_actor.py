"""The saga actor: one per run, the shell that carries out the pure executor's commands.

It never blocks: each step is a local function (run inline) or a command
message to a domain actor (its reply arrives later as any other message);
timeouts and retry backoffs are Thespian timers. Every event it applies is
handed to the journal first, and the commands that follow from it are
carried out only when the journal says the record is durable (the
``then`` continuation of :class:`~sagaline.storage.journal.Journal`).

Life: started idle (a pool of them waits in the saga supervisor), given a
run by :class:`~sagaline.messages.saga.BeginRun`, reports
:class:`~sagaline.messages.saga.RunFinished` to its supervisor when the run
ends, then exits with reason normal. It also answers ``RunStatus`` and
``CancelRun`` while it runs, and takes ``DirectoryUpdate`` when a domain
actor it talks to was restarted at a new address.

Telemetry (``sagaline.telemetry.names``): saga start/complete/fail/stuck/
cancelled, step start/stop/exception, compensate, undo, with the saga name
and correlation id in the metadata.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.base import Reply
from sagaline.messages.saga import (BeginRun, CancelAnswer, CancelRun, DirectoryUpdate, RunFinished,
                                    RunOutcome, RunStatus)
from sagaline.saga import (CancelRequested, Executor, Finished, InputError, InvocationResult, Invoke,
                           SetTimer, StepError, TimerFired)
from sagaline.saga.outcomes import Fail, Ok
from sagaline.saga.records import error_to_data
from sagaline.saga.shell import interpret, outcome, perform, snapshot
from sagaline.saga.steps import Send
from sagaline.sagas import definition
from sagaline.storage.journal import JournalEntry, MemoryJournal, RunStart
from sagaline.telemetry import names as tn
from sagaline.telemetry.context import root_span_id, span_id_for, trace_id_for, traceparent
from sagaline.telemetry.core import telemetry

__all__ = ["SagaActor"]

_log = logging.getLogger("sagaline.saga")
_FINISH_EVENTS = {"completed": tn.SAGA_COMPLETE, "failed": tn.SAGA_FAIL, "stuck": tn.SAGA_STUCK,
                  "cancelled": tn.SAGA_CANCELLED, "halted": tn.SAGA_FAIL}


_executors: dict[str, Executor] = {}


def _executor(saga: str) -> Executor:
    """One executor per saga per process: it is pure and definitions never change."""
    if saga not in _executors:
        _executors[saga] = Executor(definition(saga))
    return _executors[saga]


class SagaActor(BaseActor):
    """Runs one saga run to its end."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.journal = MemoryJournal()
        self.executor: Executor | None = None
        self.state = None
        self.directory: dict[str, Any] = {}
        self.pending: dict[str, Invoke] = {}  # idempotency key -> the invoke awaiting its reply
        self.queue: deque = deque()  # events produced while carrying out commands
        self.seq = 0
        self.busy = False
        self.meta: dict[str, Any] = {}
        self.begun_ns = 0
        self.step_started: dict[str, int] = {}

    # ----- run lifecycle ---------------------------------------------------------------

    def receive_BeginRun(self, message: BeginRun, sender: Any) -> None:
        if self.executor is not None:
            _log.warning("saga actor already runs %s; ignoring BeginRun for %s",
                         self.state.run_id if self.state else "?", message.correlation_id)
            return
        self.directory = dict(message.directory)
        self.executor = _executor(message.saga)
        self.meta = {"saga": message.saga, "correlation_id": message.correlation_id,
                     "trace_id": trace_id_for(message.correlation_id)}
        self.root_span = root_span_id(message.correlation_id)
        self.begun_ns = time.monotonic_ns()
        now = time.time()
        telemetry.execute(tn.SAGA_START, {"system_time": time.time_ns(), "monotonic_time": self.begun_ns},
                          {**self.meta, "span_id": self.root_span})
        try:
            self.state, commands = self.executor.start(message.correlation_id, message.inputs, now,
                                                       message.causation_id)
        except InputError as exc:
            self._refuse(message, exc)
            return
        start = RunStart(message.correlation_id, message.saga, self.executor.definition.version,
                         dict(message.inputs), message.causation_id, now)
        self.journal.begin(start, lambda: self._carry_out(commands))

    def _refuse(self, message: BeginRun, exc: InputError) -> None:
        error = StepError("invalid_input", str(exc))
        out = RunOutcome(correlation_id=message.correlation_id, saga=message.saga, status="failed",
                         error=error_to_data(error))
        self.send(self.parent, RunFinished(outcome=out))
        self.stop("normal")

    def _apply(self, event: Any) -> None:
        """Apply one event; its commands run once the journal has it."""
        if self.state is None or self.state.terminal:
            return
        now = time.time()
        self._note_result(event)
        before = self.state
        self.state, commands = self.executor.transition(before, event, now)
        if self.state is before:
            return  # stale (an old timer, a superseded answer): nothing to journal or do
        self.seq += 1
        self.journal.record(self.state.run_id, JournalEntry.of(self.seq, now, event),
                            lambda: self._carry_out(commands))

    def _carry_out(self, commands: list) -> None:
        """Carry out commands; local outcomes are queued and applied in order, not recursively."""
        for command in commands:
            if isinstance(command, Invoke):
                self._invoke(command)
            elif isinstance(command, SetTimer):
                self.timers.start(f"t{command.token.serial}", command.at - time.time(), command.token)
            elif isinstance(command, Finished):
                self._finish(command)
        if self.busy:
            return
        self.busy = True
        try:
            while self.queue:
                self._apply(self.queue.popleft())
        finally:
            self.busy = False

    def _invoke(self, inv: Invoke) -> None:
        span = span_id_for(inv.key, inv.kind, inv.attempt)
        self._note_invoke(inv, span)
        trace = {"traceparent": traceparent(self.state.run_id, span)}
        action = perform(self.executor, self.state, inv, trace)
        if not isinstance(action, Send):
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, action))
            return
        address = self.directory.get(action.target)
        if address is None:
            error = StepError("target_unavailable", f"no {action.target!r} actor is known", retryable=True)
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, Fail(error)))
            return
        self.pending[inv.key] = inv
        self.send(address, action.command)

    def _finish(self, finished: Finished) -> None:
        result = outcome(self.state, finished)
        duration = time.monotonic_ns() - self.begun_ns
        telemetry.execute(_FINISH_EVENTS[finished.status], {"duration": duration},
                          {**self.meta, "status": finished.status,
                           "error": result.error, "failed_compensations": result.failed_compensations})
        self.journal.finish(self.state.run_id, finished.status, result.model_dump(mode="python"),
                            lambda: self._report(result))

    def _report(self, result: Any) -> None:
        if self.parent is not None:
            self.send(self.parent, RunFinished(outcome=result))
        self.stop("normal")

    # ----- incoming ----------------------------------------------------------------------

    def receive_Reply(self, reply: Reply, sender: Any) -> None:
        key = reply.headers.idempotency_key
        inv = self.pending.pop(key, None) if key else None
        if inv is None:
            return  # a duplicate answer to a re-sent command, or one for a step already resolved
        self._apply(InvocationResult(inv.step, inv.kind, inv.key, interpret(self.executor, inv, reply)))
        self._drain()

    def on_timer(self, name: str, data: Any) -> None:
        self._apply(TimerFired(data))
        self._drain()

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        if self.state is None:
            self.send(sender, CancelAnswer(correlation_id=message.correlation_id, accepted=False,
                                           status="unknown"))
            return
        before = self.state
        self._apply(CancelRequested(message.reason))
        accepted = self.state is not before and self.state.stop == "cancel"
        self.send(sender, CancelAnswer(correlation_id=message.correlation_id, accepted=accepted,
                                       status=self.state.status))
        self._drain()

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self.send(sender, snapshot(self.state) if self.state is not None else
                  CancelAnswer(correlation_id=message.correlation_id, accepted=False, status="unknown"))

    def receive_DirectoryUpdate(self, message: DirectoryUpdate, sender: Any) -> None:
        if message.address is None:
            self.directory.pop(message.name, None)
        else:
            self.directory[message.name] = message.address

    def _drain(self) -> None:
        if not self.busy:
            self._carry_out([])

    # ----- telemetry -----------------------------------------------------------------------

    def _note_invoke(self, inv: Invoke, span: str) -> None:
        meta = {**self.meta, "step": inv.step, "kind": inv.kind, "attempt": inv.attempt,
                "idempotency_key": inv.key, "span_id": span, "parent_span_id": self.root_span}
        now = time.monotonic_ns()
        if inv.kind == "run":
            self.step_started[inv.step] = now
            telemetry.execute(tn.STEP_START, {"monotonic_time": now}, meta)
        else:
            telemetry.execute(tn.COMPENSATE if inv.kind == "compensate" else tn.UNDO,
                              {"monotonic_time": now}, meta)

    def _note_result(self, event: Any) -> None:
        if not isinstance(event, InvocationResult) or event.kind != "run":
            return
        started = self.step_started.get(event.step)
        duration = time.monotonic_ns() - started if started else 0
        meta = {**self.meta, "step": event.step, "idempotency_key": event.key}
        if isinstance(event.outcome, Ok):
            telemetry.execute(tn.STEP_STOP, {"duration": duration}, meta)
        else:
            telemetry.execute(tn.STEP_EXCEPTION, {"duration": duration},
                              {**meta, "kind": type(event.outcome).__name__.lower(),
                               "reason": getattr(event.outcome, "error", None) or
                               getattr(event.outcome, "reason", None)})
