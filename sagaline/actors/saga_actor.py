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

**Uncertain invocations.** A key sent a second time (re-sent after a
recovery, or after a timeout) may already have taken effect. A *retryable*
failure answered to such a re-send only says that this attempt failed, not
that the first one did; handed to the executor it would retry under a new
key, and the first key's effect would be orphaned (found by the random-kill
test: a user left behind by a rolled-back run). So the saga actor keeps the
invocation in flight and re-sends the same command with backoff
(``RESEND_BACKOFF_S``) until a success or a definite failure comes; the
step's own deadline still bounds it (its timeout path keeps the key too).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.actors.journal_port import ActorJournal
from sagaline.actors.saga_rebuild import Rebuilding
from sagaline.actors.saga_support import emit_start, note_invoke, note_result, step_rows, stuck_announcement
from sagaline.apps import load_apps
from sagaline.messages.base import Reply
from sagaline.messages.saga import (JOURNAL_NAME, BeginRun, CancelAnswer, CancelRun, DirectoryUpdate, RunBegun,
                                    RunFinished, RunOutcome, RunStatus)
from sagaline.saga import (CancelRequested, Executor, Finished, InputError, InvocationResult, Invoke,
                           RetryCompensations, SetTimer, StepError, TimerFired)
from sagaline.saga.outcomes import Fail, Ok
from sagaline.saga.records import error_to_data
from sagaline.saga.shell import interpret, outcome, perform, snapshot
from sagaline.saga.steps import Send
from sagaline.storage.journal import JournalEntry, MemoryJournal, RunStart
from sagaline.telemetry import names as tn
from sagaline.telemetry.context import root_span_id, span_id_for, trace_id_for, traceparent
from sagaline.telemetry.core import telemetry

__all__ = ["SagaActor"]

_log = logging.getLogger("sagaline.saga")
_FINISH_EVENTS = {"completed": tn.SAGA_COMPLETE, "failed": tn.SAGA_FAIL, "stuck": tn.SAGA_STUCK,
                  "cancelled": tn.SAGA_CANCELLED, "halted": tn.SAGA_FAIL}
#: Seconds to wait for the bus to confirm a stuck announcement before recording the finish anyway.
ANNOUNCE_TIMEOUT_S = 5.0
#: First and largest delay before an uncertain invocation is re-sent after a retryable failure.
RESEND_BACKOFF_S = (0.1, 5.0)

_executors: dict[str, Executor] = {}


def _executor(saga: str, apps: tuple[str, ...]) -> Executor:
    """One executor per saga per process: it is pure and definitions never change.

    Raises:
        KeyError: no saga of that name in the loaded apps.
    """
    if saga not in _executors:
        _executors[saga] = Executor(load_apps(apps, entry_points=False).definition(saga))
    return _executors[saga]


class SagaActor(Rebuilding, BaseActor):
    """Runs one saga run to its end."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.apps = tuple(args.get("apps") or ())  # app specs: where saga definitions come from
        self.journal: Any = None
        self.begin: BeginRun | None = None
        self.executor: Executor | None = None
        self.state = None
        self.directory: dict[str, Any] = {}
        self.pending: dict[str, Invoke] = {}  # idempotency key -> the invoke awaiting its reply
        self.sends: dict[str, Send] = {}  # idempotency key -> what was sent for it
        self.uncertain: dict[str, int] = {}  # re-sent keys (their first send may have taken effect) -> re-sends
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
            self.executor = _executor(message.saga, self.apps)
        except KeyError:
            self._cannot_rebuild("unknown_saga", f"no saga named {message.saga!r} in the catalog")
            return
        if message.recover:
            self._load(message.correlation_id, self._rebuild)
        elif message.resume_from:
            self._load(message.resume_from, self._start_successor)
        else:
            self._start(dict(message.inputs), message.causation_id)

    def _start(self, inputs: dict[str, Any], causation_id: str | None, resumed_from: str | None = None) -> None:
        cid, now = self.begin.correlation_id, time.time()
        emit_start(self.meta, self.root_span, self.begun_ns, recovered=False)
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

    # ----- applying events and carrying out commands --------------------------------------

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
        note_invoke(self.meta, self.root_span, self.step_started, inv, span)
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
        if inv.key in self.sends:
            self.uncertain.setdefault(inv.key, 0)  # a re-send: the first may have taken effect
        self.pending[inv.key], self.sends[inv.key] = inv, action
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
        inv = self.pending.get(key) if key else None
        if inv is None:
            return  # a duplicate answer to a re-sent command, or one for a step already resolved
        result = interpret(self.executor, inv, reply)
        if key in self.uncertain and isinstance(result, Fail) and result.error.retryable:
            self._resend_later(key)  # says nothing about the first send: ask again, same key
            return
        del self.pending[key]
        self.uncertain.pop(key, None)
        self._apply(InvocationResult(inv.step, inv.kind, inv.key, result))
        self._drain()

    def _resend_later(self, key: str) -> None:
        tries = self.uncertain[key] = self.uncertain[key] + 1
        first, cap = RESEND_BACKOFF_S
        self.timers.start(f"resend:{key}", min(cap, first * 2 ** (tries - 1)), key)

    def _resend(self, key: str) -> None:
        action, address = self.sends.get(key), None
        if action is not None and key in self.pending:
            address = self.directory.get(action.target)
        if address is not None:
            self.send(address, action.command)
        elif key in self.pending:
            self._resend_later(key)  # its domain actor is away: try again later

    def on_timer(self, name: str, data: Any) -> None:
        if name == "announce":
            _log.warning("run %s: the bus did not confirm its announcement", self.meta.get("correlation_id"))
            self._announced()
            return
        if name.startswith("resend:"):
            self._resend(data)
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
