"""The saga supervisor's journal side: recovery, lookups, and operator actions.

:class:`JournalFront` is mixed into :class:`~sagaline.actors.saga_supervisor.SagaSupervisor`.

**Recovery at start.** Once the journal actor's address is known (registry
key ``journal``) the supervisor asks for every unfinished run
(``LoadUnfinished``); until the answer arrives, requests are held, so an
idempotent start never races recovery. A run whose saga is not in the
catalog is marked ``needs_operator`` at once; the others are respawned,
``recovery_concurrency`` at a time (``BeginRun(recover=True)``: the saga
actor rebuilds the run and continues it). A ``CancelRun`` or ``RunStatus``
for a run still waiting its turn promotes it. A saga actor that dies mid-run
is respawned the same way, until it has died ``max_deaths`` times: then the
run is marked ``needs_operator`` (a poison run must not crash-loop).

**Lookups.** Runs the supervisor no longer holds in memory are looked up in
the journal (``FindRun``): a start with a known correlation id answers that
run (also after a restart), ``AwaitRun`` gets a recorded outcome,
``RunStatus`` a snapshot from the step projection.

**Operator actions** (answered with ``OperatorAnswer``; refused while the run
is in progress):

* ``ListRuns`` -> the journal's ``RunsPage``.
* ``RetryCompensation``: a ``stuck`` run is rebuilt and ``RetryCompensations``
  applied: the failed compensations run again with new keys and a fresh
  retry budget; the run ends failed/cancelled, or stuck again.
* ``ResumeRun``: a ``halted`` run continues in place; a ``failed`` or
  ``cancelled`` run gets a successor (see :class:`~sagaline.messages.saga.ResumeRun`),
  answered once the successor's start is durable (``successor`` names it);
  a ``needs_operator`` run is recovered again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any, Callable

from sagaline.actors.saga_support import operator_outcome
from sagaline.messages.ids import uuid7
from sagaline.messages.journal import (FindRun, JournalAck, JournalFinish, LoadUnfinished, QueryRuns, RunFound,
                                       RunsQueried, UnfinishedRuns)
from sagaline.messages.saga import (BeginRun, CancelAnswer, CancelRun, ListRuns, OperatorAnswer, ResumeRun,
                                    RetryCompensation, RunOutcome, RunSnapshot, SagaAccepted, SagaRefused,
                                    StartSaga, StepSnapshot)
from sagaline.messages.supervision import ExitReason
from sagaline.saga.records import error_to_data
from sagaline.saga import StepError

__all__ = ["JournalFront"]

_log = logging.getLogger("sagaline.saga")


class JournalFront:
    """Mixin: everything the saga supervisor does with the journal (see the module docstring)."""

    def start_journal(self, args: dict[str, Any]) -> None:
        """Initialise from the supervisor's args (``journal``, ``recovery_concurrency``, ``max_deaths``)."""
        self.durable = args.get("journal", "memory") == "sqlite"
        self.journal: Any = None
        self.ready = not self.durable
        self.held: list[tuple[Any, Any]] = []
        self.held_relays: dict[str, list[Any]] = {}
        self.to_recover: OrderedDict[str, str] = OrderedDict()
        self.recovering: set[str] = set()
        self.recovery_limit = max(1, int(args.get("recovery_concurrency", 32)))
        self.max_deaths = max(1, int(args.get("max_deaths", 3)))
        self.deaths: dict[str, int] = {}
        self.requests: dict[int, tuple[Any, Callable[[Any], None]]] = {}
        self.request_serial = 0
        self.checking: dict[str, list[tuple[StartSaga, Any, Any]]] = {}
        self.operators: dict[str, list[Any]] = {}
        self.successors: dict[str, str] = {}  # successor cid -> the run it resumes

    def hold(self, message: Any, sender: Any) -> bool:
        """Keep a request until the unfinished runs are known; True when held."""
        if self.ready:
            return False
        self.held.append((message, sender))
        return True

    def pending_recovery(self, cid: str) -> bool:
        """True while ``cid`` waits its turn to be recovered."""
        return cid in self.to_recover

    # ----- the journal actor ---------------------------------------------------------------

    def journal_moved(self, address: Any) -> None:
        """The journal actor is at ``address`` (None: down): re-ask what it may have lost."""
        if not self.durable:
            return
        self.journal = address
        if address is None:
            return
        for message, _ in self.requests.values():
            self.send(address, message)
        if not self.ready:
            self.send(address, LoadUnfinished())

    def ask_journal(self, make: Callable[[int], Any], then: Callable[[Any], None]) -> None:
        """Send the request ``make(request_number)``; call ``then(answer)`` when it comes."""
        self.request_serial += 1
        message = make(self.request_serial)
        self.requests[self.request_serial] = (message, then)
        if self.journal is not None:
            self.send(self.journal, message)

    def receive_RunFound(self, message: RunFound, sender: Any) -> None:
        self._answered(message.request, message)

    def receive_RunsQueried(self, message: RunsQueried, sender: Any) -> None:
        self._answered(message.request, message)

    def _answered(self, request: int, message: Any) -> None:
        entry = self.requests.pop(request, None)
        if entry is not None:
            entry[1](message)

    def receive_JournalAck(self, message: JournalAck, sender: Any) -> None:
        pass  # marks written by the supervisor need no continuation

    def mark_needs_operator(self, cid: str, saga: str, code: str, message: str) -> None:
        """Record ``cid`` as needing an operator and end it here."""
        _log.warning("run %s needs an operator: %s: %s", cid, code, message)
        out = operator_outcome(cid, saga, code, message, time.time())
        if self.journal is not None:
            self.send(self.journal, JournalFinish(token=0, correlation_id=cid, status="needs_operator", outcome=out))
        self.ended(out)

    # ----- recovery ------------------------------------------------------------------------

    def receive_UnfinishedRuns(self, message: UnfinishedRuns, sender: Any) -> None:
        for run in message.runs:
            cid = run.correlation_id
            if self.known(cid) or cid in self.finished:
                continue
            if run.saga in self.sagas:
                self.to_recover[cid] = run.saga
            else:
                self.mark_needs_operator(cid, run.saga, "unknown_saga", f"no saga named {run.saga!r} in the catalog")
        if message.runs:
            _log.info("recovering %d unfinished runs", len(self.to_recover))
        if not self.ready:
            self.ready = True
            held, self.held = self.held, []
            for request, requester in held:
                self._dispatch(request, requester)
        self.recover_more()

    def recover_more(self) -> None:
        """Respawn waiting runs while fewer than ``recovery_concurrency`` are recovering."""
        while self.to_recover and len(self.recovering) < self.recovery_limit and self.stopping is None:
            cid, saga = self.to_recover.popitem(last=False)
            self._recover(cid, saga)

    def _recover(self, cid: str, saga: str, **fields: Any) -> None:
        self.recovering.add(cid)
        self.launch_run(BeginRun(saga=saga, correlation_id=cid, inputs={}, recover=True, **fields))

    def promote(self, cid: str) -> None:
        """Recover ``cid`` now if it is waiting its turn (a request for it arrived)."""
        saga = self.to_recover.pop(cid, None)
        if saga is not None:
            self._recover(cid, saga)

    def run_ended(self, cid: str, result: RunOutcome) -> None:
        """Bookkeeping after a run ended (called by the supervisor's ``ended``)."""
        self.deaths.pop(cid, None)
        for waiter in self.operators.pop(cid, []):
            self._operator_answer(waiter, cid, False, result.status, "the run ended before the action took effect")
        if cid in self.recovering:
            self.recovering.discard(cid)
            self.recover_more()

    def run_died(self, cid: str, reason: ExitReason) -> None:
        """``cid``'s saga actor died before reporting the end of its run."""
        saga = self.run_saga.get(cid, "unknown")
        if not self.durable:
            error = error_to_data(StepError("saga_actor_died", f"{reason.kind}: {reason.detail or ''}",
                                            indefinite=True))
            self.ended(RunOutcome(correlation_id=cid, saga=saga, status="stuck", error=error))
            return
        self.drop_run(cid)
        resumed = self.successors.pop(cid, None)
        if resumed is not None:  # a successor that never began: nothing of it exists
            self.run_saga.pop(cid, None)
            for waiter in self.operators.pop(resumed, []):
                self._operator_answer(waiter, resumed, False, "failed", "the successor's saga actor died")
            return
        deaths = self.deaths[cid] = self.deaths.get(cid, 0) + 1
        if deaths >= self.max_deaths:
            self.mark_needs_operator(cid, saga, "saga_actor_died",
                                     f"its saga actor died {deaths} times (last: {reason.kind} {reason.detail or ''})")
            return
        _log.warning("saga actor of run %s died (%s); recovering it from the journal", cid, reason.kind)
        self._recover(cid, saga)

    # ----- lookups -------------------------------------------------------------------------

    def check_then_start(self, message: StartSaga, sender: Any, verdict: Any) -> None:
        """Start ``message`` unless the journal already knows its correlation id."""
        cid = verdict.correlation_id
        waiting = self.checking.setdefault(cid, [])
        waiting.append((message, sender, verdict))
        if len(waiting) == 1:
            self.ask_journal(lambda r: FindRun(request=r, correlation_id=cid), lambda found: self._checked(cid, found))

    def _checked(self, cid: str, found: RunFound) -> None:
        if found.outcome is not None:
            self.remember(found.outcome)
        for message, sender, verdict in self.checking.pop(cid, []):
            if self._answer_existing(message, cid, sender):
                continue
            if found.summary is not None:
                self.send(sender, SagaAccepted(correlation_id=cid, saga=found.summary.saga, existing=True))
                continue
            self.begin_new(message, sender, verdict)

    def await_from_journal(self, cid: str, sender: Any) -> None:
        """Answer an ``AwaitRun`` for a run not in memory from the journal."""
        def then(found: RunFound) -> None:
            if found.outcome is not None:
                self.remember(found.outcome)
                self.send(sender, found.outcome)
            elif self.known(cid):
                self.waiters.setdefault(cid, []).append(sender)
            else:
                self.send(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80} here"))
        self.ask_journal(lambda r: FindRun(request=r, correlation_id=cid), then)

    def status_from_journal(self, message: CancelRun | Any, sender: Any) -> None:
        """Answer ``CancelRun``/``RunStatus`` for a run that is not running, from the journal."""
        cid = message.correlation_id

        def then(found: RunFound) -> None:
            if found.summary is None:
                self.send(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))
            elif isinstance(message, CancelRun):
                self.send(sender, CancelAnswer(correlation_id=cid, accepted=False, status=found.summary.status))
            else:
                self.send(sender, _snapshot(found))
        self.ask_journal(lambda r: FindRun(request=r, correlation_id=cid), then)

    # ----- operator actions ------------------------------------------------------------------

    def receive_ListRuns(self, message: ListRuns, sender: Any) -> None:
        if not self.durable:
            self.send(sender, SagaRefused(code="journal_unavailable", message="this tree keeps no durable journal"))
        elif not self.hold(message, sender):
            self.ask_journal(lambda r: QueryRuns(request=r, query=message), lambda a: self.send(sender, a.page))

    def receive_RetryCompensation(self, message: RetryCompensation, sender: Any) -> None:
        self._operator_request(message, sender, self._retry_found)

    def receive_ResumeRun(self, message: ResumeRun, sender: Any) -> None:
        self._operator_request(message, sender, self._resume_found)

    def _operator_request(self, message: Any, sender: Any, decide: Callable) -> None:
        cid = message.correlation_id
        if not self.durable:
            self._operator_answer(sender, cid, False, "unknown", "this tree keeps no durable journal")
        elif self.hold(message, sender):
            return
        elif self._busy(cid):
            self._operator_answer(sender, cid, False, "running", "the run is in progress")
        else:
            self.ask_journal(lambda r: FindRun(request=r, correlation_id=cid),
                             lambda found: decide(message, sender, found))

    def _busy(self, cid: str) -> bool:
        return self.known(cid) or cid in self.operators or cid in self.successors.values()

    def _retry_found(self, message: RetryCompensation, sender: Any, found: RunFound) -> None:
        cid, summary = message.correlation_id, found.summary
        status = summary.status if summary else "unknown"
        if self._refused(sender, cid, summary):
            return
        if status != "stuck":
            self._operator_answer(sender, cid, False, status, "only a stuck run's compensations can be retried")
            return
        self.operators.setdefault(cid, []).append(sender)
        self.finished.pop(cid, None)
        self._recover(cid, summary.saga, operation="retry_compensations", steps=list(message.steps))

    def _resume_found(self, message: ResumeRun, sender: Any, found: RunFound) -> None:
        cid, summary = message.correlation_id, found.summary
        if self._refused(sender, cid, summary):
            return
        status = summary.status
        if status == "halted":
            self.operators.setdefault(cid, []).append(sender)
            self.finished.pop(cid, None)
            self._recover(cid, summary.saga, operation="resume", from_step=message.from_step)
        elif status in ("failed", "cancelled") and summary.successor:
            self._operator_answer(sender, cid, False, status, f"already resumed as {summary.successor}",
                                  summary.successor)
        elif status in ("failed", "cancelled"):
            self._start_successor(message, sender, summary.saga)
        elif status == "needs_operator":
            self.finished.pop(cid, None)
            self._recover(cid, summary.saga)
            self._operator_answer(sender, cid, True, "running", "recovery is tried again")
        else:
            self._operator_answer(sender, cid, False, status, f"a {status} run cannot be resumed")

    def _refused(self, sender: Any, cid: str, summary: Any) -> bool:
        """Answer a refusal when the run is unknown, busy, or its saga is gone."""
        if summary is None:
            self._operator_answer(sender, cid, False, "unknown", "no such run")
        elif self._busy(cid):
            self._operator_answer(sender, cid, False, summary.status, "another action on the run is in progress")
        elif summary.saga not in self.sagas:
            self._operator_answer(sender, cid, False, summary.status, f"saga {summary.saga!r} is not in the catalog")
        else:
            return False
        return True

    def _start_successor(self, message: ResumeRun, sender: Any, saga: str) -> None:
        cid, successor = message.correlation_id, uuid7()
        self.successors[successor] = cid
        self.operators.setdefault(cid, []).append(sender)
        self.launch_run(BeginRun(saga=saga, correlation_id=successor, inputs={}, causation_id=cid,
                                 resume_from=cid, from_step=message.from_step))

    def successor_begun(self, cid: str) -> None:
        """A successor's start is durable: tell the operator who asked for it."""
        resumed = self.successors.pop(cid, None)
        if resumed is not None:
            for waiter in self.operators.pop(resumed, []):
                self._operator_answer(waiter, resumed, True, "running", f"resumed as {cid}", cid)

    def receive_OperatorAnswer(self, message: OperatorAnswer, sender: Any) -> None:
        if not message.accepted and message.successor:
            self.successors.pop(message.successor, None)
            self.drop_run(message.successor)
            self.run_saga.pop(message.successor, None)
        waiting = self.operators.get(message.correlation_id)
        if waiting:
            self.send(waiting.pop(0), message)
            if not waiting:
                del self.operators[message.correlation_id]

    def _operator_answer(self, to: Any, cid: str, accepted: bool, status: str, text: str,
                         successor: str | None = None) -> None:
        self.send(to, OperatorAnswer(correlation_id=cid, accepted=accepted, status=status, message=text,
                                     successor=successor))


def _snapshot(found: RunFound) -> RunSnapshot:
    summary = found.summary
    steps = [StepSnapshot(name=s.step, status=s.status, attempts=s.attempt, started_at=s.started_at,
                          finished_at=s.finished_at, error={"code": s.error_code} if s.error_code else None,
                          compensation_error={"code": s.comp_error_code} if s.comp_error_code else None)
             for s in found.steps]
    return RunSnapshot(correlation_id=summary.correlation_id, saga=summary.saga, status=summary.status,
                       steps=steps, started_at=summary.started_at, finished_at=summary.finished_at)
