"""The saga actor: one per run, the shell that carries out the pure executor's commands.

It never blocks: each step is a local function (run inline) or a command
message to a domain actor (its reply arrives later as any other message);
timeouts and retry backoffs are Thespian timers. Every event it applies is
handed to the journal first, and the commands that follow from it are
carried out only when the journal says the record is durable (the
``then`` continuation of :class:`~sagaline.storage.journal.Journal`):
write-ahead. With a journal actor (``BeginRun.journal``) that is the
:class:`~sagaline.actors.journal_port.ActorJournal`; without one, an
in-memory journal (a crash then loses the run).

Life: started idle (a pool of them waits in the saga supervisor), given a
run by :class:`~sagaline.messages.saga.BeginRun`, reports
:class:`~sagaline.messages.saga.RunBegun` when the start is durable and
:class:`~sagaline.messages.saga.RunFinished` when the run ends, then exits
with reason normal. It also answers ``RunStatus`` and ``CancelRun`` while it
runs, and takes ``DirectoryUpdate`` when a domain actor (or the journal) was
restarted at a new address.

``BeginRun`` variants:

* ``recover=True``: load the run from the journal, ``replay`` it through the
  executor and carry out ``executor.recover(state, now)``: invocations in
  flight are re-sent with their same idempotency keys, retry timers re-armed
  for their remaining time; a rolling-back run keeps rolling back; a run
  rebuilt terminal (the crash fell before its finish was recorded) finishes
  again. With ``operation``: then apply ``RetryCompensations`` (a stuck run)
  or ``ResumeRequested`` (a halted run) and answer the supervisor with an
  ``OperatorAnswer``. A run that cannot be rebuilt (unknown saga, corrupt
  rows, inputs the definition rejects) is finished ``needs_operator``.
* ``resume_from``: a successor of a failed run: same inputs, results the
  rollback left in place carried over (:func:`~sagaline.actors.saga_support.carry_over`).

A run that ends ``stuck`` is announced by a ``reactor.saga.stuck`` event on
the bus (flow) before its finish is recorded, and by the ``SAGA_STUCK``
telemetry event.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.actors.journal_port import ActorJournal
from sagaline.actors.saga_support import (carry_over, finished_of, operator_outcome, step_rows,
                                          stuck_announcement)
from sagaline.messages.base import Reply
from sagaline.messages.journal import RunLoaded
from sagaline.messages.saga import (JOURNAL_NAME, BeginRun, CancelAnswer, CancelRun, DirectoryUpdate,
                                    OperatorAnswer, RunBegun, RunFinished, RunOutcome, RunStatus)
from sagaline.saga import (CancelRequested, Executor, Finished, InputError, InvocationResult, Invoke,
                           ResumeRequested, RetryCompensations, SetTimer, StepError, TimerFired)
from sagaline.saga.outcomes import Fail, Ok
from sagaline.saga.records import CorruptRecord, error_to_data
from sagaline.saga.shell import interpret, outcome, perform, snapshot
from sagaline.saga.steps import Send
from sagaline.sagas import definition
from sagaline.storage.journal import JournalEntry, MemoryJournal, RunStart, history_of, replay
from sagaline.telemetry import names as tn
from sagaline.telemetry.context import root_span_id, span_id_for, trace_id_for, traceparent
from sagaline.telemetry.core import telemetry

__all__ = ["SagaActor"]

_log = logging.getLogger("sagaline.saga")
_FINISH_EVENTS = {"completed": tn.SAGA_COMPLETE, "failed": tn.SAGA_FAIL, "stuck": tn.SAGA_STUCK,
                  "cancelled": tn.SAGA_CANCELLED, "halted": tn.SAGA_FAIL}
#: Seconds to wait for the bus to confirm a stuck announcement before recording the finish anyway.
ANNOUNCE_TIMEOUT_S = 5.0

_executors: dict[str, Executor] = {}


def _executor(saga: str) -> Executor:
    """One executor per saga per process: it is pure and definitions never change.

    Raises:
        KeyError: no saga of that name in the catalog.
    """
    if saga not in _executors:
        _executors[saga] = Executor(definition(saga))
    return _executors[saga]


class SagaActor(BaseActor):
    """Runs one saga run to its end."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.journal: Any = None
        self.begin: BeginRun | None = None
        self.executor: Executor | None = None
        self.state = None
        self.directory: dict[str, Any] = {}
        self.pending: dict[str, Invoke] = {}  # idempotency key -> the invoke awaiting its reply
        self.queue: deque = deque()  # events produced while carrying out commands
        self.deferred: list[tuple[Any, Any]] = []  # requests that arrived while the run was loading
        self.carried: dict[str, Any] = {}
        self.announcing: tuple[str, Any] | None = None
        self.seq = 0
        self.busy = False
        self.meta: dict[str, Any] = {}
        self.begun_ns = 0
        self.step_started: dict[str, int] = {}

    # ----- run lifecycle ---------------------------------------------------------------

    def receive_BeginRun(self, message: BeginRun, sender: Any) -> None:
        if self.begin is not None:
            _log.warning("saga actor already runs %s; ignoring BeginRun for %s",
                         self.begin.correlation_id, message.correlation_id)
            return
        self.begin, self.directory = message, dict(message.directory)
        self.journal = ActorJournal(self.send, message.journal) if message.journal is not None else MemoryJournal()
        self.meta = {"saga": message.saga, "correlation_id": message.correlation_id,
                     "trace_id": trace_id_for(message.correlation_id)}
        self.root_span = root_span_id(message.correlation_id)
        self.begun_ns = time.monotonic_ns()
        try:
            self.executor = _executor(message.saga)
        except KeyError:
            self._cannot_rebuild("unknown_saga", f"no saga named {message.saga!r} in the catalog")
            return
        if message.recover:
            self._load(message.correlation_id, self._rebuild)
        elif message.resume_from:
            self._load(message.resume_from, self._start_successor)
        else:
            self._start(dict(message.inputs), message.causation_id)

    def _load(self, run_id: str, then: Any) -> None:
        if not isinstance(self.journal, ActorJournal):
            self._cannot_rebuild("no_journal", "this tree keeps no durable journal")
            return
        self.journal.load(run_id, then)

    def _start(self, inputs: dict[str, Any], causation_id: str | None, resumed_from: str | None = None) -> None:
        cid, now = self.begin.correlation_id, time.time()
        self._emit_start(recovered=False)
        try:
            self.state, commands = self.executor.start(cid, inputs, now, causation_id)
        except InputError as exc:
            self._refuse(exc)
            return
        start = RunStart(cid, self.begin.saga, self.executor.definition.version, inputs, causation_id, now,
                         resumed_from, dict(self.carried))
        self.journal.begin(start, lambda: self._begun(commands), status=self.state.status,
                           steps=self._rows(None))

    def _begun(self, commands: list) -> None:
        if self.parent is not None:
            self.send(self.parent, RunBegun(correlation_id=self.begin.correlation_id))
        self._carry_out(commands)

    def _refuse(self, exc: InputError) -> None:
        error = StepError("invalid_input", str(exc))
        out = RunOutcome(correlation_id=self.begin.correlation_id, saga=self.begin.saga, status="failed",
                         error=error_to_data(error))
        self._answer_operator(False, "failed", f"invalid inputs: {exc}")
        if self.begin.resume_from:
            self.stop("normal")  # the successor never began
            return
        self._report(out)

    # ----- rebuilding from the journal ---------------------------------------------------

    def _rebuild(self, loaded: RunLoaded) -> None:
        state = self._replayed(loaded)
        if state is None:
            return
        self.state, self.seq = state, loaded.events[-1].seq if loaded.events else 0
        self.carried = dict(loaded.carried)
        self._emit_start(recovered=True)
        operation = self.begin.operation
        if operation is not None:
            self._operate(loaded)
        elif loaded.finished and loaded.outcome is not None:
            self._report(loaded.outcome)  # nothing to do: it had ended
        elif state.terminal or state.status == "halted":
            self._finish(finished_of(state))
        else:
            self._carry_out(self.executor.recover(state, time.time()))
        self._replay_deferred()

    def _replayed(self, loaded: RunLoaded) -> Any:
        """The run rebuilt from ``loaded``, or None after marking it needs_operator."""
        if not loaded.found:
            self._cannot_rebuild("unknown_run", "the journal has no such run")
            return None
        if loaded.problem:
            self._cannot_rebuild("corrupt_record", loaded.problem)
            return None
        try:
            return replay(self.executor, history_of(loaded))
        except (CorruptRecord, InputError) as exc:
            self._cannot_rebuild("corrupt_record", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a journal that no longer fits the definition
            self._cannot_rebuild("replay_failed", f"{type(exc).__name__}: {exc}")
        return None

    def _cannot_rebuild(self, code: str, message: str) -> None:
        """Record the run as needing an operator (never drop it), tell the supervisor, exit."""
        begin = self.begin
        _log.warning("run %s needs an operator: %s: %s", begin.correlation_id, code, message)
        self._answer_operator(False, "needs_operator", f"{code}: {message}")
        if begin.resume_from:
            self.stop("normal")  # a successor that never began: nothing of it exists
            return
        out = operator_outcome(begin.correlation_id, begin.saga, code, message, time.time())
        if begin.recover and isinstance(self.journal, ActorJournal):
            self.journal.finish(begin.correlation_id, "needs_operator", out.model_dump(mode="python"),
                                lambda: self._report(out))
        else:
            self._report(out)

    def _operate(self, loaded: RunLoaded) -> None:
        """Apply the operator action of ``BeginRun`` to the rebuilt run and answer it."""
        before, begin = self.state, self.begin
        if begin.operation == "resume" and begin.from_step is not None and \
                getattr(before.steps.get(begin.from_step), "status", None) != "pending":
            self._decline(loaded, f"a halted run resumes at its pending steps; {begin.from_step!r} is not one")
            return
        event = RetryCompensations(tuple(begin.steps)) if begin.operation == "retry_compensations" \
            else ResumeRequested()
        self._apply(event)
        if self.state is before:
            self._decline(loaded, f"nothing to do: the run is {before.status}")
            return
        self._answer_operator(True, self.state.status, f"{begin.operation} applied")
        self._drain()

    def _decline(self, loaded: RunLoaded, why: str) -> None:
        self._answer_operator(False, self.state.status, why)
        self._report(loaded.outcome or outcome(self.state, finished_of(self.state)))

    def _start_successor(self, loaded: RunLoaded) -> None:
        old = self._replayed(loaded)
        if old is None:
            return
        from_step = self.begin.from_step or (old.failure[0] if old.failure else None)
        if from_step is not None and from_step not in old.steps:
            self._cannot_rebuild("unknown_step", f"{self.begin.saga} has no step {from_step!r}")
            return
        self.carried = carry_over(self.executor, old, from_step)
        self._start(dict(loaded.inputs), loaded.correlation_id, resumed_from=loaded.correlation_id)

    def _answer_operator(self, accepted: bool, status: str, message: str) -> None:
        begin = self.begin
        if begin is None or not (begin.operation or begin.resume_from) or self.parent is None:
            return
        self.send(self.parent, OperatorAnswer(correlation_id=begin.resume_from or begin.correlation_id,
                                              accepted=accepted, status=status, message=message,
                                              successor=begin.correlation_id if begin.resume_from else None))

    # ----- applying events and carrying out commands --------------------------------------

    def _apply(self, event: Any) -> None:
        """Apply one event; its commands run once the journal has it."""
        if self.state is None or (self.state.terminal and not isinstance(event, RetryCompensations)):
            return
        now = time.time()
        self._note_result(event)
        before = self.state
        self.state, commands = self.executor.transition(before, event, now)
        if self.state is before:
            return  # stale (an old timer, a superseded answer): nothing to journal or do
        self.seq += 1
        self.journal.record(self.state.run_id, JournalEntry.of(self.seq, now, event),
                            lambda: self._carry_out(commands), status=self.state.status, steps=self._rows(before))

    def _rows(self, before: Any) -> list:
        return step_rows(before, self.state) if isinstance(self.journal, ActorJournal) else []

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
        if inv.kind == "run" and inv.step in self.carried:  # a successor keeps this result
            self.queue.append(InvocationResult(inv.step, inv.kind, inv.key, Ok(self.carried[inv.step])))
            return
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
        record = lambda: self.journal.finish(self.state.run_id, finished.status,  # noqa: E731
                                             result.model_dump(mode="python"), lambda: self._report(result))
        if finished.status == "stuck":
            self._announce(stuck_announcement(self.state, result, self.seq), record)
        else:
            record()

    def _announce(self, command: Any, then: Any) -> None:
        """Publish a run's announcement on the bus, then ``then`` (also when the bus is away)."""
        flow = self.directory.get("flow")
        if flow is None:
            _log.warning("run %s: no bus to announce %s on", self.state.run_id, command.event.name)
            then()
            return
        self.announcing = (command.headers.idempotency_key, then)
        self.send(flow, command)
        self.timers.start("announce", ANNOUNCE_TIMEOUT_S)

    def _announced(self) -> None:
        if self.announcing is not None:
            _, then = self.announcing
            self.announcing = None
            self.timers.cancel("announce")
            then()

    def _report(self, result: RunOutcome) -> None:
        if self.parent is not None:
            self.send(self.parent, RunFinished(outcome=result))
        self.stop("normal")

    # ----- incoming ----------------------------------------------------------------------

    def _dispatch(self, message: Any, sender: Any) -> None:
        """The journal's answers go to the journal port first."""
        if self.journal is not None and self.journal.handle(message):
            return
        super()._dispatch(message, sender)

    def receive_Reply(self, reply: Reply, sender: Any) -> None:
        key = reply.headers.idempotency_key
        if self.announcing is not None and key == self.announcing[0]:
            self._announced()
            return
        inv = self.pending.pop(key, None) if key else None
        if inv is None:
            return  # a duplicate answer to a re-sent command, or one for a step already resolved
        self._apply(InvocationResult(inv.step, inv.kind, inv.key, interpret(self.executor, inv, reply)))
        self._drain()

    def on_timer(self, name: str, data: Any) -> None:
        if name == "announce":
            _log.warning("run %s: the bus did not confirm its announcement", self.meta.get("correlation_id"))
            self._announced()
            return
        self._apply(TimerFired(data))
        self._drain()

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        if self._loading():
            self.deferred.append((message, sender))
            return
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
        if self._loading():
            self.deferred.append((message, sender))
            return
        self.send(sender, snapshot(self.state) if self.state is not None else
                  CancelAnswer(correlation_id=message.correlation_id, accepted=False, status="unknown"))

    def receive_DirectoryUpdate(self, message: DirectoryUpdate, sender: Any) -> None:
        if message.name == JOURNAL_NAME:
            if isinstance(self.journal, ActorJournal):
                self.journal.retarget(message.address)
        elif message.address is None:
            self.directory.pop(message.name, None)
        else:
            self.directory[message.name] = message.address

    def _loading(self) -> bool:
        return self.begin is not None and self.state is None and isinstance(self.journal, ActorJournal)

    def _replay_deferred(self) -> None:
        deferred, self.deferred = self.deferred, []
        for message, sender in deferred:
            self._dispatch(message, sender)

    def _drain(self) -> None:
        if not self.busy:
            self._carry_out([])

    # ----- telemetry -----------------------------------------------------------------------

    def _emit_start(self, recovered: bool) -> None:
        telemetry.execute(tn.SAGA_START, {"system_time": time.time_ns(), "monotonic_time": self.begun_ns},
                          {**self.meta, "span_id": self.root_span, "recovered": recovered})

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
