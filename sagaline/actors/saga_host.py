"""The saga host: one actor (one OS process on multiprocTCPBase) running many saga runs.

Like a BEAM scheduler running many Erlang processes, a host carries many
lightweight run actors (:class:`~sagaline.actors.saga_run.SagaRun`), each
with its own mailbox, state, timers and registry entry ``saga:<correlation
id>``. The saga supervisor supervises a fixed set of hosts (one per core by
default) and routes every request about a run to the host of its
**partition** (:func:`~sagaline.saga.placement.partition_of` its
correlation id): nobody looks a run up to find it. A host is the authority
for its partition: it admits starts (one run per correlation id, checked in
memory and in the journal), holds the waiters of its runs, answers their
status, and registers them.

**One message, one pump.** After each message it receives, the host lets
every run with mail handle it, writes every journal record those runs made
in **one** transaction (group commit: :class:`~sagaline.saga.journal.GroupCommit`),
then carries out what follows from them (write-ahead), and sends what the
runs sent, one envelope per destination
(:class:`~sagaline.actors.host_io.Outbox`: commands for one domain actor
travel as one batch). Timers of all runs share one heap and one Thespian
wakeup (:class:`~sagaline.actors.host_io.RunTimers`).

**Isolation.** An exception in one run's code ends that run only, as a
crash ends an Erlang process: the run is rebuilt from the journal (its
in-flight commands re-sent with their keys), and after ``max_deaths``
deaths it is marked ``needs_operator``; other runs never notice. A host
that dies (SIGKILL, OOM) is restarted by the saga supervisor and rebuilds
every unfinished run of its partition from the journal. Without a durable
journal (``journal="memory"``), a run whose actor died ends ``stuck``
(``saga_actor_died``), announced to its waiters: never lost.

**Process runs.** A saga declared ``isolation="process"`` runs in a
single-run host: a child actor (its own OS process) of the partition's
host, which keeps its waiters and its registry entry, forwards requests to
it, and rebuilds it from the journal when it dies.

**Storage faults.** When the journal cannot be written (disk full,
read-only, I/O errors), nothing that follows from the unwritten records
happens: runs pause, the write is retried with backoff (up to
:data:`MAX_RETRY_S`), new starts are refused at once with
``storage_unavailable``, and the host reports the fault (``HostStats``,
the ``SAGA_STORAGE_FAULT`` telemetry event). Runs resume when a write
succeeds.

Args: see :class:`~sagaline.actors.host_args.HostArgs`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

from sagaline.actors.host_args import HostArgs, Launch, NewRun, Rebuild, Successor
from sagaline.actors.host_io import Outbox, RunTimers
from sagaline.actors.saga_run import Operation, SagaRun, Tick
from sagaline.actors.saga_support import operator_outcome, snapshot_of
from sagaline.messages.base import Reply
from sagaline.messages.batch import ReplyBatch, Routed
from sagaline.messages.registry import Count, CountResult, Entries, Entry, Lookup, RegistryEvent, Select, Subscribe
from sagaline.messages.saga import (AwaitRun, CancelAnswer, CancelRun, DirectoryUpdate, GetHostStats, HostStats,
                                    OperatorAnswer, ResumeRun, RetryCompensation, RunBegun, RunEnded, RunOutcome,
                                    RunStatus, SagaAccepted, SagaRefused, StartSaga)
from sagaline.messages.supervision import ChildInfo, Children, ExitReason, WhichChildren
from sagaline.registry.table import Entry as TableEntry
from sagaline.registry.table import RegistryTable
from sagaline.saga import Executor
from sagaline.saga.journal import Finish, GroupCommit, Halted, MemoryJournal
from sagaline.saga.placement import partition_of, successor_id
from sagaline.sagas.admission import admit
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.sqlite import SqliteOptions
from sagaline.supervisors.children import Child, ChildKeeper
from sagaline.supervisors.spec import child_spec
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["SagaHost", "run_key", "MAX_RETRY_S"]

_log = logging.getLogger("sagaline.saga")
#: Largest delay between two attempts to write the journal after a storage fault.
MAX_RETRY_S = 5.0
#: Rounds of (runs handle mail -> commit -> continue) one pump may take before it yields.
_MAX_ROUNDS = 64


def run_key(correlation_id: str) -> str:
    """The registry key of a run's actor."""
    return f"saga:{correlation_id}"


class SagaHost(ChildKeeper):
    """Runs many saga runs (see the module docstring)."""

    # ----- start ---------------------------------------------------------------------------

    def on_start(self, args: dict[str, Any]) -> None:
        self.cfg = HostArgs.model_validate(args)
        self.runs: dict[str, SagaRun] = {}
        self.process_runs: dict[str, Child] = {}
        self.relayed: dict[str, deque[tuple[Any, Any]]] = {}
        self.waiters: dict[str, list[Any]] = {}
        self.accepting: dict[str, list[Any]] = {}
        self.finished: OrderedDict[str, RunOutcome] = OrderedDict()
        self.deaths: dict[str, int] = {}
        self.to_recover: OrderedDict[str, str] = OrderedDict()
        self.respawn: list[tuple[str, str]] = []
        self.ready: deque[SagaRun] = deque()
        self.outbox = Outbox(self.send)
        self.run_timers = RunTimers()
        self.armed_at: float | None = None
        self.retry_s = 0.0
        self.storage_fault: str | None = None
        self.directory: dict[str, Any] = dict(self.cfg.directory)
        self.executors: dict[str, Executor] = {}
        self.definitions: dict[str, Any] = {}
        self.journal = GroupCommit(self._open_store(), self.cfg.halt_rule())
        if self.registry is not None and self.cfg.launch is None:
            self.post(self.registry, Subscribe(key_prefix="domain:"))
            self.post(self.registry, Select(key_prefix="domain:"))
        self.waiting_for_directory = self.registry is not None and self.cfg.launch is None
        self.held: list[Routed] = []
        if self.cfg.launch is not None:
            self._launch_local(self.cfg.launch)
        elif not self.waiting_for_directory:
            self._find_unfinished()
        self._pump()

    def _open_store(self) -> Any:
        if self.cfg.journal != "sqlite":
            return MemoryJournal()
        path = Path(self.cfg.journal_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteJournal.open(path, SqliteOptions(synchronous=self.cfg.synchronous))

    @property
    def durable(self) -> bool:
        return self.cfg.journal == "sqlite"

    def _find_unfinished(self) -> None:
        """Queue every unfinished run of this partition for recovery (``recovery_concurrency`` at a time)."""
        if not self.durable:
            return
        for run in self.journal.store.unfinished():
            if partition_of(run.run_id, self.cfg.count) != self.cfg.index:
                continue
            if run.saga in self.cfg.sagas():
                self.to_recover[run.run_id] = run.saga
            else:
                self._mark_needs_operator(run.run_id, run.saga, "unknown_saga",
                                          f"no saga named {run.saga!r} in the catalog")
        if self.to_recover:
            _log.info("host %d: recovering %d unfinished runs", self.cfg.index, len(self.to_recover))
        self._recover_more()

    def _recover_more(self) -> None:
        while self.to_recover and self._active() < self.cfg.recovery_concurrency:
            cid, saga = self.to_recover.popitem(last=False)
            self._launch(Rebuild(cid, saga))

    def _active(self) -> int:
        return len(self.runs) + len(self.process_runs)

    # ----- the pump ------------------------------------------------------------------------

    def after_message(self) -> None:
        self._pump()

    def _pump(self) -> None:
        """Runs handle their mail, the journal commits, continuations run; then send, then re-arm."""
        for _ in range(_MAX_ROUNDS):
            while self.ready:
                run = self.ready.popleft()
                self._guarded(run, run.process)
            if self.retry_s or not self._commit():
                break
            for cid, saga in self.respawn:
                self._launch(Rebuild(cid, saga))
            self.respawn.clear()
            if not self.ready and not self.journal.pending:
                break
        self.outbox.flush()
        self._arm()

    def _commit(self) -> bool:
        """Write the queued records; run their continuations. False when storage failed."""
        try:
            thens = self.journal.flush(time.time())
        except StorageError as exc:
            self._storage_failed(exc)
            return False
        except Halted as halted:
            self._halted(halted.rule)
            return False
        if self.storage_fault is not None:
            _log.warning("host %d: the journal is writable again", self.cfg.index)
            telemetry.execute(tn.SAGA_STORAGE_FAULT, {"count": 0}, {"host": self.cfg.index, "fault": None})
            self.storage_fault = None
        for run, then in thens:
            if self.runs.get(run.run_id) is run or self.cfg.launch is not None:
                self._guarded(run, then)
        return True

    def _guarded(self, run: SagaRun, action: Any, *args: Any) -> None:
        """Call into one run's code; an exception ends that run alone."""
        if run.done:
            return
        try:
            action(*args)
        except Exception as exc:
            _log.error("run %s crashed", run.run_id, exc_info=exc)
            self._run_died(run, ExitReason(kind="error", error_type=type(exc).__name__, detail=str(exc)[:2000]))

    def _storage_failed(self, exc: StorageError) -> None:
        self.retry_s = min(MAX_RETRY_S, max(0.05, self.retry_s * 2))
        if self.storage_fault is None:
            telemetry.execute(tn.SAGA_STORAGE_FAULT, {"count": 1}, {"host": self.cfg.index, "fault": str(exc)})
        self.storage_fault = f"{exc.reason}: {exc}"
        _log.warning("host %d: journal write failed (%s); %d records wait, retry in %.2f s",
                     self.cfg.index, exc, self.journal.pending, self.retry_s)
        self.timers.start("journal", self.retry_s)

    def _halted(self, rule: Any) -> None:
        if rule.marker:
            Path(rule.marker).write_text("halted\n")
        _log.warning("journal halted by its rehearsal rule (%s)", rule.action)
        while rule.action == "freeze":  # the test kills the whole system now
            time.sleep(3600)

    def _arm(self) -> None:
        at = self.run_timers.next_at()
        if at is None or (self.armed_at is not None and self.armed_at <= at):
            return
        self.armed_at = at
        self.timers.start("runs", max(0.0, at - time.time()))

    def on_timer(self, name: str, data: Any) -> None:
        if name == "runs":
            self.armed_at = None
            for (cid, timer), payload in self.run_timers.due(time.time() + 0.0005):
                self._deliver(cid, Tick(timer, payload), None)
        elif name == "journal":
            self.retry_s = 0.0  # this attempt may fail again: the backoff doubles from there
        else:
            super().on_timer(name, data)

    # ----- HostPort (what runs call) ---------------------------------------------------------

    def record(self, run: SagaRun, record: Any, then: Any) -> None:
        self.journal.add(record, (run, then))

    def start_timer(self, run: SagaRun, name: str, seconds: float, data: Any = None) -> None:
        self.run_timers.start((run.run_id, name), time.time() + seconds, data)

    def cancel_timer(self, run: SagaRun, name: str) -> None:
        self.run_timers.cancel((run.run_id, name))

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` at the end of this pump, gathered with others bound for ``address``."""
        self.outbox.put(address, message)

    def begun(self, run: SagaRun) -> None:
        cid = run.run_id
        if self.cfg.launch is not None:
            self.post(self.parent, RunBegun(correlation_id=cid))
            return
        for waiter in self.accepting.pop(cid, []):
            self.post(waiter, SagaAccepted(correlation_id=cid, saga=run.saga, existing=False, address=self.myAddress))

    def ended(self, run: SagaRun, result: RunOutcome) -> None:
        cid = run.run_id
        run.done = True
        if self.runs.get(cid) is run:
            del self.runs[cid]
        self.run_timers.cancel_all(lambda key: key[0] == cid)
        if self.cfg.launch is not None:
            self.post(self.parent, RunEnded(outcome=result))
            self.stop("normal")
            return
        self._run_over(result)

    def _run_over(self, result: RunOutcome) -> None:
        """Remember how a run ended and tell everyone waiting for it."""
        cid = result.correlation_id
        self.deaths.pop(cid, None)
        self.finished[cid] = result
        self.finished.move_to_end(cid)
        while len(self.finished) > self.cfg.finished_cache:
            self.finished.popitem(last=False)
        for waiter in self.waiters.pop(cid, []):
            self.post(waiter, result)
        for waiter in self.accepting.pop(cid, []):
            self.post(waiter, SagaAccepted(correlation_id=cid, saga=result.saga, existing=False))
        self._recover_more()

    # ----- launching runs --------------------------------------------------------------------

    def _launch(self, launch: Launch) -> None:
        """Start, rebuild or succeed a run here or, for a process saga, in a single-run child host."""
        if self.cfg.isolation_of(launch.saga, self._definition(launch.saga)) == "process":
            self._spawn_process_run(launch)
        else:
            self._launch_local(launch)

    def _launch_local(self, launch: Launch) -> None:
        run = SagaRun(self, launch.run_id, launch.saga, self._executor(launch.saga))
        self.runs[launch.run_id] = run
        if isinstance(launch, NewRun):
            self._guarded(run, run.begin, launch.start)
        elif isinstance(launch, Rebuild):
            history = self.journal.store.load(launch.run_id) if self.durable else None
            self._guarded(run, run.rebuild, history, launch.operation)
        else:
            history = self.journal.store.load(launch.predecessor) if self.durable else None
            self._guarded(run, run.succeed, history, launch.from_step, launch.reply_to)

    def _spawn_process_run(self, launch: Launch) -> None:
        spec = child_spec(f"run:{launch.run_id}", "sagaline.actors.saga_host.SagaHost",
                          self.cfg.for_process_run(launch, self.directory), restart="temporary")
        child = Child(spec.id, spec)
        self.process_runs[launch.run_id] = child
        self.spawn(child)
        for message, _ in self.relayed.get(launch.run_id, ()):  # asked of a predecessor that died
            self.post(child.address, Routed(request=message, reply_to=self.myAddress))

    def _executor(self, saga: str) -> Executor:
        if saga not in self.executors:
            self.executors[saga] = Executor(self._definition(saga))
        return self.executors[saga]

    def _definition(self, saga: str) -> Any:
        if saga not in self.definitions:
            self.definitions[saga] = self.cfg.sagas()[saga]()
        return self.definitions[saga]

    def _run_died(self, run: SagaRun, reason: ExitReason) -> None:
        """A run's actor died before its end was recorded: rebuild it, or give up after ``max_deaths``."""
        cid = run.run_id
        run.done = True
        if self.runs.get(cid) is run:
            del self.runs[cid]
        self.run_timers.cancel_all(lambda key: key[0] == cid)
        self._lost(cid, run.saga, reason)

    def _lost(self, cid: str, saga: str, reason: ExitReason) -> None:
        if self.cfg.launch is not None:
            raise RuntimeError(f"the run died: {reason.error_type}: {reason.detail}")  # the parent rebuilds it
        if not self.durable:
            out = operator_outcome(cid, saga, "saga_actor_died", f"{reason.kind}: {reason.detail or ''}", time.time())
            self._run_over(out.model_copy(update={"status": "stuck"}))
            return
        deaths = self.deaths[cid] = self.deaths.get(cid, 0) + 1
        if deaths >= self.cfg.max_deaths:
            self._mark_needs_operator(cid, saga, "saga_actor_died",
                                      f"its actor died {deaths} times (last: {reason.kind} {reason.detail or ''})")
            return
        _log.warning("the actor of run %s died (%s); rebuilding it from the journal", cid, reason.kind)
        self.respawn.append((cid, saga))

    def _mark_needs_operator(self, cid: str, saga: str, code: str, message: str) -> None:
        _log.warning("run %s needs an operator: %s: %s", cid, code, message)
        out = operator_outcome(cid, saga, code, message, time.time())
        self.journal.add(Finish(cid, "needs_operator", out))
        self._run_over(out)

    # ----- process runs (children) -------------------------------------------------------------

    def find_child(self, child_id: str) -> Child | None:
        return self.process_runs.get(child_id[4:]) if child_id.startswith("run:") else None

    def all_children(self) -> list[Child]:
        return list(self.process_runs.values())

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        self.child_died(child, reason)

    def child_died(self, child: Child, reason: ExitReason) -> None:
        cid = child.id[4:]
        if self.process_runs.pop(cid, None) is None:
            return
        if reason.kind == "normal" and cid in self.finished:
            return
        self._lost(cid, _saga_of(child), reason)

    def receive_RunBegun(self, message: RunBegun, sender: Any) -> None:
        child = self.process_runs.get(message.correlation_id)
        for waiter in self.accepting.pop(message.correlation_id, []):
            self.post(waiter, SagaAccepted(correlation_id=message.correlation_id, saga=_saga_of(child) if child else "",
                                           existing=False, address=sender))

    def receive_RunEnded(self, message: RunEnded, sender: Any) -> None:
        self.process_runs.pop(message.outcome.correlation_id, None)  # its host exits next: ask it nothing more
        self._run_over(message.outcome)
        for request, requester in self.relayed.pop(message.outcome.correlation_id, ()):
            self._answer_ended(request, requester)

    def receive_WhichChildren(self, message: WhichChildren, sender: Any) -> None:
        self.post(sender, Children(children=tuple(
            ChildInfo(id=c.id, address=c.address, status="running" if c.alive else "undefined", type="worker",
                      restarts=c.restarts, pid=c.pid, name=run_key(c.id[4:])) for c in self.process_runs.values())))

    # ----- requests ----------------------------------------------------------------------------

    def receive_Routed(self, message: Routed, sender: Any) -> None:
        if self.waiting_for_directory:
            self.held.append(message)  # until the domain actors are known (moments after start)
            return
        self.deliver(message.request, message.reply_to)

    def receive_StartSaga(self, message: StartSaga, sender: Any) -> None:
        verdict = admit(message, self.cfg.sagas(), self.definitions)
        if isinstance(verdict, SagaRefused):
            self.post(sender, verdict)
            return
        cid = verdict.correlation_id
        if self._answer_existing(message, cid, sender):
            return
        refusal = self._refusal()
        if refusal is not None:
            self.post(sender, refusal)
            return
        if message.correlation_id and self.durable:
            summary, out, _ = self.journal.store.find(cid)
            if summary is not None:
                self._answer_recorded(message, cid, summary.saga, out, sender)
                return
        (self.waiters if message.wait else self.accepting).setdefault(cid, []).append(sender)
        start = message if message.correlation_id == cid else message.model_copy(update={"correlation_id": cid})
        self._launch(NewRun(cid, message.saga, start))

    def _refusal(self) -> SagaRefused | None:
        if self.storage_fault is not None:
            return SagaRefused(code="storage_unavailable", message=f"the journal cannot be written: {self.storage_fault}")
        if self._exiting:
            return SagaRefused(code="unavailable", message="the saga host is shutting down")
        limit = self.cfg.max_runs
        if limit is not None and self._active() + len(self.to_recover) >= limit:
            return SagaRefused(code="max_children", message=f"{limit} runs already in progress on this host")
        return None

    def _answer_existing(self, message: StartSaga, cid: str, sender: Any) -> bool:
        if cid in self.finished:
            self._answer_recorded(message, cid, self.finished[cid].saga, self.finished[cid], sender)
            return True
        if not self._known(cid):
            return False
        if message.wait:
            self.waiters.setdefault(cid, []).append(sender)
        else:
            saga = self.runs[cid].saga if cid in self.runs else message.saga
            self.post(sender, SagaAccepted(correlation_id=cid, saga=saga, existing=True, address=self._address_of(cid)))
        return True

    def _answer_recorded(self, message: StartSaga, cid: str, saga: str, out: RunOutcome | None, sender: Any) -> None:
        if message.wait and out is not None:
            self.post(sender, out)
        elif message.wait:
            self.waiters.setdefault(cid, []).append(sender)
        else:
            self.post(sender, SagaAccepted(correlation_id=cid, saga=saga, existing=True))

    def _known(self, cid: str) -> bool:
        return cid in self.runs or cid in self.process_runs or cid in self.to_recover

    def _address_of(self, cid: str) -> Any:
        child = self.process_runs.get(cid)
        return child.address if child is not None else self.myAddress

    def receive_AwaitRun(self, message: AwaitRun, sender: Any) -> None:
        cid = message.correlation_id
        if cid in self.finished:
            self.post(sender, self.finished[cid])
        elif self._known(cid):
            self.waiters.setdefault(cid, []).append(sender)
        else:
            out = self.journal.store.find(cid)[1] if self.durable else None
            self.post(sender, out or SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        self._to_run(message, sender)

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self._to_run(message, sender)

    def _to_run(self, message: CancelRun | RunStatus, sender: Any) -> None:
        cid = message.correlation_id
        self._promote(cid)
        if cid in self.runs:
            self._deliver(cid, message, sender)
        elif cid in self.process_runs:
            self._relay(cid, message, sender)
        else:
            self._answer_ended(message, sender)

    def _relay(self, cid: str, message: CancelRun | RunStatus, sender: Any) -> None:
        """Ask a process run through this host: its answer comes back here, in order, and goes on to
        ``sender``; what it never answered (it ended, or died and is rebuilt) is answered or asked again."""
        self.relayed.setdefault(cid, deque()).append((message, sender))
        child = self.process_runs[cid]
        if child.address is not None:
            self.post(child.address, Routed(request=message, reply_to=self.myAddress))

    def receive_CancelAnswer(self, message: CancelAnswer, sender: Any) -> None:
        self._relayed_answer(message.correlation_id, message)

    def receive_RunSnapshot(self, message: Any, sender: Any) -> None:
        self._relayed_answer(message.correlation_id, message)

    def _relayed_answer(self, cid: str, answer: Any) -> None:
        waiting = self.relayed.get(cid)
        if waiting:
            _, requester = waiting.popleft()
            self.post(requester, answer)
            if not waiting:
                del self.relayed[cid]

    def _answer_ended(self, message: CancelRun | RunStatus, sender: Any) -> None:
        cid = message.correlation_id
        summary, out, steps = self.journal.store.find(cid) if self.durable else (None, self.finished.get(cid), [])
        status = summary.status if summary is not None else (out.status if out is not None else None)
        if status is None:
            self.post(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))
        elif isinstance(message, CancelRun) or summary is None:
            self.post(sender, CancelAnswer(correlation_id=cid, accepted=False, status=status))
        else:
            self.post(sender, snapshot_of(summary, steps))

    def _promote(self, cid: str) -> None:
        saga = self.to_recover.pop(cid, None)
        if saga is not None:
            self._launch(Rebuild(cid, saga))

    def _deliver(self, cid: str, message: Any, reply_to: Any) -> None:
        run = self.runs.get(cid)
        if run is None:
            child = self.process_runs.get(cid)
            if child is not None and child.address is not None and not isinstance(message, Tick):
                self.post(child.address, message)
            return
        if not run.mailbox:
            self.ready.append(run)
        run.mailbox.append((message, reply_to))

    def receive_Reply(self, message: Reply, sender: Any) -> None:
        self._deliver(message.headers.correlation_id, message, sender)

    def receive_ReplyBatch(self, message: ReplyBatch, sender: Any) -> None:
        for reply in message.replies:
            self._deliver(reply.headers.correlation_id, reply, sender)

    def receive_DirectoryUpdate(self, message: DirectoryUpdate, sender: Any) -> None:
        self._directory(message.name, message.address)

    # ----- operator actions --------------------------------------------------------------------

    def receive_RetryCompensation(self, message: RetryCompensation, sender: Any) -> None:
        summary = self._operable(message.correlation_id, sender)
        if summary is None:
            return
        if summary.status != "stuck":
            self._operator_answer(sender, summary.correlation_id, False, summary.status,
                                  "only a stuck run's compensations can be retried")
            return
        self._reopen(summary.correlation_id, summary.saga,
                     Operation("retry_compensations", sender, steps=tuple(message.steps)))

    def receive_ResumeRun(self, message: ResumeRun, sender: Any) -> None:
        summary = self._operable(message.correlation_id, sender)
        if summary is None:
            return
        cid, status = summary.correlation_id, summary.status
        if status == "halted":
            self._reopen(cid, summary.saga, Operation("resume", sender, from_step=message.from_step))
        elif status in ("failed", "cancelled") and summary.successor:
            self._operator_answer(sender, cid, False, status, f"already resumed as {summary.successor}",
                                  summary.successor)
        elif status in ("failed", "cancelled"):
            successor = successor_id(self.cfg.index, self.cfg.count)
            self._launch(Successor(successor, summary.saga, cid, message.from_step, sender))
        elif status == "needs_operator":
            self._reopen(cid, summary.saga, None)
            self._operator_answer(sender, cid, True, "running", "recovery is tried again")
        else:
            self._operator_answer(sender, cid, False, status, f"a {status} run cannot be resumed")

    def _operable(self, cid: str, sender: Any) -> Any:
        """The journal's summary of a run an operator may act on; None after answering a refusal."""
        if not self.durable:
            self._operator_answer(sender, cid, False, "unknown", "this tree keeps no durable journal")
            return None
        summary = self.journal.store.find(cid)[0]
        if summary is None:
            self._operator_answer(sender, cid, False, "unknown", "no such run")
        elif self._known(cid) or any(r.successor and r.successor.predecessor == cid for r in self.runs.values()):
            self._operator_answer(sender, cid, False, summary.status, "the run is in progress")
        elif summary.saga not in self.cfg.sagas():
            self._operator_answer(sender, cid, False, summary.status, f"saga {summary.saga!r} is not in the catalog")
        else:
            return summary
        return None

    def _reopen(self, cid: str, saga: str, operation: Operation | None) -> None:
        self.finished.pop(cid, None)
        self.deaths.pop(cid, None)
        self._launch(Rebuild(cid, saga, operation))

    def _operator_answer(self, to: Any, cid: str, accepted: bool, status: str, text: str,
                         successor: str | None = None) -> None:
        self.post(to, OperatorAnswer(correlation_id=cid, accepted=accepted, status=status, message=text,
                                     successor=successor))

    # ----- the registry partition and the directory ----------------------------------------------

    def receive_Lookup(self, message: Lookup, sender: Any) -> None:
        entry = self._table().get(message.key)
        self.post(sender, Entries(entries=() if entry is None else (
            Entry(key=entry.key, holder=entry.holder, value=entry.value),)))

    def receive_Select(self, message: Select, sender: Any) -> None:
        table = self._table()
        found = table.select(message.key_prefix, message.key_pattern,
                             [(c.path, c.op, c.operand) for c in message.where], message.holder, message.limit)
        self.post(sender, Entries(entries=tuple(Entry(key=e.key, holder=e.holder, value=e.value) for e in found)))

    def receive_Count(self, message: Count, sender: Any) -> None:
        self.post(sender, CountResult(count=self._table().count(message.key_prefix)))

    def _table(self) -> RegistryTable:
        """This host's partition of the registry: one ``saga:<id>`` entry per run it holds."""
        table = RegistryTable()
        for cid, run in self.runs.items():
            table.register(TableEntry(run_key(cid), self.myAddress, {"saga": run.saga}))
        for cid, child in self.process_runs.items():
            if child.address is not None:
                table.register(TableEntry(run_key(cid), child.address, {"saga": _saga_of(child)}))
        return table

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        for entry in message.entries:
            self._registry_entry(entry.key, entry.holder)
        if self.waiting_for_directory:  # the domain actors are known: recovery may re-send to them
            self.waiting_for_directory = False
            self._find_unfinished()
            held, self.held = self.held, []
            for routed in held:
                self.deliver(routed.request, routed.reply_to)

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        self._registry_entry(message.key, message.holder if message.kind == "registered" else None)

    def receive_Subscribed(self, message: Any, sender: Any) -> None:
        pass

    def _registry_entry(self, key: str, holder: Any) -> None:
        if key.startswith("domain:"):
            self._directory(key[len("domain:"):], holder)

    def _directory(self, name: str, address: Any) -> None:
        if address is None:
            self.directory.pop(name, None)
        else:
            self.directory[name] = address
        for child in self.process_runs.values():
            if child.address is not None:
                self.post(child.address, DirectoryUpdate(name=name, address=address))

    # ----- stats and the end -----------------------------------------------------------------------

    def receive_GetHostStats(self, message: GetHostStats, sender: Any) -> None:
        j = self.journal
        self.post(sender, HostStats(index=self.cfg.index, runs=len(self.runs), process_runs=len(self.process_runs),
                                    recovering=len(self.to_recover), commits=j.commits, writes=j.writes,
                                    largest_batch=j.largest, commit_failures=j.failures,
                                    envelopes=self.outbox.envelopes, items=self.outbox.items,
                                    storage_fault=self.storage_fault))

    def on_terminate(self, reason: Any) -> None:
        journal = getattr(self, "journal", None)
        if journal is None:
            return
        try:
            if journal.pending and not journal.muted:
                for run, then in journal.flush(time.time()):
                    pass  # durable now; what follows happens after the restart
        except Exception as exc:
            _log.warning("host: final journal write failed: %s", exc)
        try:
            journal.store.close()
        except Exception:
            _log.exception("host: closing the journal failed")
        outbox = getattr(self, "outbox", None)
        if outbox:
            outbox.flush()


def _saga_of(child: Child | None) -> str:
    launch = (child.spec.args.get("launch") or {}) if child is not None else {}
    return launch.get("saga", "") if isinstance(launch, dict) else getattr(launch, "saga", "")
