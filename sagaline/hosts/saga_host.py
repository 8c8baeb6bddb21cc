"""The saga host: one actor (one OS process on multiprocTCPBase) running many saga runs.

Like a BEAM scheduler running many Erlang processes, a host carries many
lightweight run actors (:class:`~sagaline.hosts.saga_run.SagaRun`), each
with its own mailbox, state, timers and registry entry ``saga:<correlation
id>``. The saga supervisor supervises a fixed set of hosts (one per core by
default) and routes every request about a run to the host of its
**partition** (:func:`~sagaline.saga.placement.partition_of` its
correlation id): nobody looks a run up to find it. A host is the authority
for its partition: it admits starts (one run per correlation id, checked in
memory and in the journal), holds the waiters of its runs
(:class:`~sagaline.hosts.run_book.RunBook`), answers their status, and is
the registry partition of their keys.

**One pump for what gathered.** After the messages it has received (it
sends itself a :class:`~sagaline.messages.batch.Pump`, which queues behind
them), the host lets every run with mail handle it, writes every journal
record those runs made in **one** transaction (group commit:
:class:`~sagaline.saga.journal.GroupCommit`), then carries out what follows
from them (write-ahead), and sends what the runs sent, one envelope per
destination (:class:`~sagaline.hosts.host_io.Outbox`: commands for one
domain actor travel as one batch). Timers of all runs share one heap and
one Thespian wakeup (:class:`~sagaline.hosts.host_io.RunTimers`).

**Isolation.** An exception in one run's code ends that run only, as a
crash ends an Erlang process: the run is rebuilt from the journal; other
runs never notice. A host that dies (SIGKILL, OOM) is restarted by the saga
supervisor and rebuilds every unfinished run of its partition from the
journal, once it knows the domain actors (so a re-send never fails for want
of an address).

**Collaborators**, each with a Protocol naming what it needs of the host
(the actor keeps its ``receive_<Class>`` methods and delegates):

* :mod:`~sagaline.hosts.host_admission`: starts (one run per correlation id);
* :mod:`~sagaline.hosts.host_run_requests`: wait, cancel, status, operator actions;
* :mod:`~sagaline.hosts.host_recovery`: unfinished runs, the partition's
  lease, runs whose actor died (``max_deaths``, ``needs_operator``);
* :mod:`~sagaline.hosts.host_journal_faults`: storage faults -- runs pause,
  writes are retried with backoff (up to :data:`MAX_RETRY_S`), starts not
  yet written are refused ``storage_unavailable`` (never half-accepted);
* :mod:`~sagaline.hosts.host_process_runs`: sagas declared
  ``isolation="process"``, each in a single-run child host;
* :mod:`~sagaline.hosts.host_registry`: the registry partition of the runs'
  keys and the directory of domain actors;
* :mod:`~sagaline.hosts.host_desk` (admin requests sent straight here),
  :mod:`~sagaline.hosts.host_forward` (requests about runs of a partition
  another daemon's host holds by lease), :mod:`~sagaline.hosts.host_io`
  (outbox, run timers), :mod:`~sagaline.hosts.host_storage` (the storage
  guard behind ``HostStats`` and the storage alerts).

Args: see :class:`~sagaline.hosts.host_args.HostArgs`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from sagaline.hosts.host_admission import Admission
from sagaline.hosts.host_args import HostArgs, Launch, NewRun, Rebuild
from sagaline.hosts.host_desk import DeskTicket, HostDesk
from sagaline.hosts.host_forward import forward_on
from sagaline.hosts.host_io import Outbox, RunTimers
from sagaline.hosts.host_journal_faults import JournalFaults
from sagaline.hosts.host_lease import PartitionLease
from sagaline.hosts.host_process_runs import ProcessRuns
from sagaline.hosts.host_recovery import Recovery
from sagaline.hosts.host_registry import HostRegistry, run_key
from sagaline.hosts.host_run_requests import RunRequests
from sagaline.hosts.host_storage import StorageGuard
from sagaline.hosts.run_book import RunBook
from sagaline.hosts.saga_run import SagaRun, Tick
from sagaline.messages.base import Reply
from sagaline.messages.batch import Forwarded, Pump, ReplyBatch, Routed
from sagaline.messages.registry import Count, Entries, Lookup, RegistryEvent, Select, Subscribe
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    CancelRun,
    DirectoryUpdate,
    GetHostStats,
    HostStats,
    ResumeRun,
    RetryCompensation,
    RunBegun,
    RunEnded,
    RunOutcome,
    RunSnapshot,
    RunStatus,
    RunWithdrawn,
    SagaRefused,
    StartSaga,
)
from sagaline.messages.supervision import ExitReason
from sagaline.runtime.addresses import tcp_endpoint
from sagaline.saga import Executor
from sagaline.saga.journal import GroupCommit, Halted, MemoryJournal
from sagaline.sagas.storage import CHECK_EVERY_S, MAX_RETRY_S
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.location import is_postgres
from sagaline.storage.sqlite import SqliteOptions
from sagaline.supervisors.api import WhichChildren
from sagaline.supervisors.children import Child, ChildKeeper
from sagaline.supervisors.spec import class_path

__all__ = ["SagaHost", "run_key", "MAX_RETRY_S"]

_log = logging.getLogger("sagaline.saga")
#: Rounds of (runs handle mail -> commit -> continue) one pump may take before it yields.
_MAX_ROUNDS = 64
#: The run-timer key of the desk's request deadlines (no run id looks like it).
_DESK = "desk:"


class SagaHost(ChildKeeper):
    """Runs many saga runs (see the module docstring)."""

    # ----- start ---------------------------------------------------------------------------

    def on_start(self, args: dict[str, Any]) -> None:
        self.cfg = HostArgs.parse(args)
        self.book = RunBook(self.cfg.finished_cache)
        self.respawn: list[tuple[str, str]] = []
        self.ready: deque[SagaRun] = deque()
        self.outbox = Outbox(self.send)
        self.run_timers = RunTimers()
        self.armed_at: float | None = None
        self.release_at: float | None = None
        self.pump_due = False
        self.directory: dict[str, Any] = dict(self.cfg.directory)
        self.apps = self.cfg.catalog()
        self.sagas = self.apps.saga_factories()
        self.executors: dict[str, Executor] = {}
        self.definitions: dict[str, Any] = dict(self.apps.sagas)
        self.journal: GroupCommit[tuple[SagaRun, Any]] = GroupCommit(self._open_store(), self.cfg.halt_rule())
        self.storage = StorageGuard(self.cfg.index, self.cfg.journal_path, self._to_bus)
        if self.durable and self.cfg.launch is None and self.storage.local:
            self.timers.start("storage", CHECK_EVERY_S)
        self.lease = (
            PartitionLease(
                self.journal.store,
                self.cfg.index,
                self.cfg.count,
                self.cfg.lease_s,
                member=self.cfg.member,
                endpoint=tcp_endpoint(self.myAddress),
                share=self.cfg.lease_share,
                settle_s=self.cfg.settle_s,
                now=time.time(),
            )
            if self.cfg.lease_s and self.durable and self.cfg.launch is None
            else None
        )
        self.held: list[Routed | tuple[bytes, Any]] = []
        self.desk = HostDesk(self, self.cfg.index, self.cfg.count) if self.cfg.launch is None else None
        self.requests = RunRequests(self)
        self.admission = Admission(self)
        self.processes = ProcessRuns(self, class_path(SagaHost))
        self.recovery = Recovery(self)
        self.faults = JournalFaults(self)
        self.registry_view = HostRegistry(self)
        self.waiting_for_directory = self.registry is not None and self.cfg.launch is None
        if self.waiting_for_directory:
            self.post(self.registry, Subscribe(key_prefix="domain:"))
            self.post(self.registry, Select(key_prefix="domain:"))
        if self.cfg.launch is not None:
            self._launch_local(self.cfg.launch)
        elif not self.waiting_for_directory:
            self.recovery.find_unfinished()
        self._pump()

    def _open_store(self) -> Any:
        if not self.durable:
            return MemoryJournal()
        location = self.cfg.journal_path
        if not is_postgres(location):
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        return SqliteJournal.open(location, SqliteOptions(synchronous=self.cfg.synchronous))

    @property
    def durable(self) -> bool:
        return self.cfg.journal == "sqlite"

    def lost(self, cid: str, saga: str, reason: ExitReason) -> None:
        self.recovery.lost(cid, saga, reason)

    # ----- the pump ------------------------------------------------------------------------

    def after_message(self) -> None:
        if self.pump_due:
            return  # the pump sends and arms at its end
        writable = self.storage.may_write(time.time())
        if self.ready or self.outbox or (writable and (self.journal.pending or self.respawn or self.book.to_recover)):
            self.pump_due = True
            self.send(self.myAddress, Pump())
        else:
            self._arm()  # a timer set outside a pump (a rebuilt run waiting to retry) needs its wakeup

    def receive_Pump(self, message: Pump, sender: Any) -> None:
        self.pump_due = False
        self._pump()

    def _pump(self) -> None:
        """Runs handle their mail, the journal commits, continuations run; then send, then re-arm."""
        if self.book.to_recover and self.storage.may_write(time.time()):
            self.recovery.recover_more()
        for _ in range(_MAX_ROUNDS):
            while self.ready:
                run = self.ready.popleft()
                self._guarded(run, run.process)
            if not self.storage.may_write(time.time()) or not self._commit():
                break
            respawn, self.respawn = self.respawn, []
            for cid, saga in respawn:
                self.launch(Rebuild(cid, saga))
            if not self.ready and not self.journal.pending:
                break
        self.release_at = self.outbox.flush(time.time())
        self._arm()

    def _commit(self) -> bool:
        """Write the queued records; run their continuations. False when storage failed."""
        try:
            thens = self.journal.flush(time.time())
        except StorageError as exc:
            self.faults.failed(exc)
            return False
        except Halted as halted:
            self.faults.halted(halted.rule)
            return False
        self.storage.wrote(time.time())
        for run, then in thens:
            if self.book.live.get(run.run_id) is run:
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
            self.recovery.run_died(run, ExitReason(kind="error", error_type=type(exc).__name__, detail=str(exc)[:2000]))

    def _to_bus(self, command: Any) -> None:
        """Post a bus command (a storage alert) to the event bus, if the host knows it."""
        flow = self.directory.get("flow")
        if flow is not None:
            self.post(flow, command)

    def _arm(self) -> None:
        at = min((t for t in (self.run_timers.next_at(), self.release_at) if t is not None), default=None)
        if at is None or (self.armed_at is not None and self.armed_at <= at):
            return
        self.armed_at = at
        self.timers.start("runs", max(0.0, at - time.time()))

    def on_timer(self, name: str, data: Any) -> None:
        if name == "runs":
            self.armed_at = None
            now = time.time()
            for (cid, timer), payload in self.run_timers.due(now + 0.0005):
                if cid == _DESK:
                    if self.desk is not None:  # only a host with a desk sets desk timers
                        self.desk.expire(timer)
                else:
                    self.deliver_to_run(cid, Tick(timer, payload), None)
            if self.release_at is not None and self.release_at <= now + 0.0005:
                # Commands held by the window leave now, or with the pump that is coming: a wakeup
                # re-armed for a past release would fire before the pump is read, again and again
                # (Thespian serves due wakeups before its queue), and the host would spin.
                self.release_at = None if (self.ready or self.pump_due) else self.outbox.flush(now)
            self._arm()  # what is not due yet (a wakeup may come a little early) needs a wakeup of its own
        elif name == "journal":
            self.faults.retry_timer()
        elif name == "storage":
            self.faults.check_timer()
        elif name == "lease":
            if self.lease is not None and self.lease.held is not None:
                self.recovery.hold_lease()
            elif not self.waiting_for_directory:
                self.recovery.find_unfinished()  # takes the partition over once the holder's lease expired
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
        """Send ``message`` at the end of this pump, gathered with others bound for ``address``
        (an answer to a desk's ticket goes to the desk)."""
        if type(address) is DeskTicket:
            if self.desk is not None:  # only a host with a desk hands out tickets
                self.desk.answer(address, message)
            return
        self.outbox.put(address, message)

    # ----- DeskHost (what the desk calls) ----------------------------------------------------

    def desk_timer(self, ticket: int, seconds: float) -> None:
        self.run_timers.start((_DESK, ticket), time.time() + seconds)

    def cancel_desk_timer(self, ticket: int) -> None:
        self.run_timers.cancel((_DESK, ticket))

    def begun(self, run: SagaRun) -> None:
        if self.cfg.launch is not None:
            self.post(self.parent, RunBegun(correlation_id=run.run_id))
            return
        self.answer_all(self.book.begun(run.run_id, run.saga, self.myAddress))

    def ended(self, run: SagaRun, result: RunOutcome) -> None:
        run.done = True
        self.run_timers.cancel_all(lambda key: key[0] == run.run_id)
        if self.cfg.launch is not None:
            self.post(self.parent, RunEnded(outcome=result))
            self.stop("normal")
            return
        if self.book.live.get(run.run_id) is run:
            self.run_over(result)

    def run_over(self, result: RunOutcome) -> None:
        """Remember how a run ended and tell everyone waiting for it."""
        self.answer_all(self.book.over(result))

    def answer_all(self, answers: list[tuple[Any, Any]]) -> None:
        for who, message in answers:
            self.post(who, message)

    # ----- launching runs --------------------------------------------------------------------

    def launch(self, launch: Launch) -> None:
        """Start, rebuild or succeed a run here or, for a process saga, in a single-run child host."""
        if self.cfg.isolation_of(launch.saga, self._definition(launch.saga)) == "process":
            self.processes.spawn(launch)
        else:
            self._launch_local(launch)

    def _launch_local(self, launch: Launch) -> None:
        run = SagaRun(self, launch.run_id, launch.saga, self.executor(launch.saga))
        self.book.live[launch.run_id] = run
        if isinstance(launch, NewRun):
            self._guarded(run, run.begin, launch.start)
        elif isinstance(launch, Rebuild):
            history = self.journal.store.load(launch.run_id) if self.durable else None
            self._guarded(run, run.rebuild, history, launch.operation)
        else:
            history = self.journal.store.load(launch.predecessor) if self.durable else None
            self._guarded(run, run.succeed, history, launch.from_step, launch.reply_to)

    def executor(self, saga: str) -> Executor:
        if saga not in self.executors:
            self.executors[saga] = Executor(self._definition(saga))
        return self.executors[saga]

    def _definition(self, saga: str) -> Any:
        return self.apps.definition(saga)

    # ----- process runs (children) -------------------------------------------------------------

    def find_child(self, child_id: str) -> Child | None:
        return self.processes.find_child(child_id)

    def all_children(self) -> list[Child]:
        return self.processes.all_children()

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        self.child_died(child, reason)

    def child_died(self, child: Child, reason: ExitReason) -> None:
        self.processes.child_died(child, reason)

    def receive_RunBegun(self, message: RunBegun, sender: Any) -> None:
        self.processes.run_begun(message, sender)

    def receive_RunWithdrawn(self, message: RunWithdrawn, sender: Any) -> None:
        self.processes.run_withdrawn(message)

    def receive_RunEnded(self, message: RunEnded, sender: Any) -> None:
        self.processes.run_ended(message)

    def receive_WhichChildren(self, message: WhichChildren, sender: Any) -> None:
        self.post(sender, self.processes.which_children())

    def answer_ended(self, message: Any, sender: Any) -> None:
        self.requests.answer_ended(message, sender)

    # ----- requests ----------------------------------------------------------------------------

    def receive_Routed(self, message: Routed, sender: Any) -> None:
        if self.waiting_for_directory:
            self.held.append(message)  # until the domain actors are known (moments after start)
            return
        self.deliver(message.request, message.reply_to)

    def receive_bytes(self, message: bytes, sender: Any) -> None:
        """An admin request a client sent straight here (see :mod:`sagaline.hosts.host_desk`)."""
        if sender is None or self.desk is None:
            return
        if self.waiting_for_directory:
            self.held.append((message, sender))
            return
        self.desk.receive(message, sender)

    def receive_StartSaga(self, message: StartSaga, sender: Any) -> None:
        self.admission.start(message, sender)

    def forwarded_elsewhere(self, message: Any, sender: Any) -> bool:
        """Sent on to the daemon whose host holds this partition (:mod:`sagaline.hosts.host_forward`)?"""
        return forward_on(self.lease, message, sender, self.post, isinstance(sender, DeskTicket))

    def receive_Forwarded(self, message: Forwarded, sender: Any) -> None:
        """A request another daemon's host sent on: answered here if this host holds the partition."""
        if self.waiting_for_directory:
            self.held.append(Routed(request=message, reply_to=sender))
            return
        refused = self.standing_by()
        if refused is not None:
            self.post(message.reply_to, refused)
        else:
            self.deliver(message.request, message.reply_to)

    def stands_by(self) -> bool:
        """True while another daemon's host holds this partition (its desk sends clients to a worker)."""
        return self.lease is not None and self.lease.held is None

    def standing_by(self) -> SagaRefused | None:
        """The refusal of a request about a run while another daemon's host holds this partition."""
        if self.lease is not None and self.lease.held is None:
            return SagaRefused(code="unavailable", message=self.lease.refusal())
        return None

    @property
    def exiting(self) -> bool:
        """True once the host has begun to exit."""
        return self._exiting

    # ----- requests about one run (RunRequests) ------------------------------------------------

    def receive_AwaitRun(self, message: AwaitRun, sender: Any) -> None:
        self.requests.await_run(message, sender)

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        self.requests.to_run(message, sender)

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self.requests.to_run(message, sender)

    def receive_CancelAnswer(self, message: CancelAnswer, sender: Any) -> None:
        self.requests.relayed_answer(message.correlation_id, message)

    def receive_RunSnapshot(self, message: RunSnapshot, sender: Any) -> None:
        self.requests.relayed_answer(message.correlation_id, message)

    def receive_RetryCompensation(self, message: RetryCompensation, sender: Any) -> None:
        self.requests.retry_compensation(message, sender)

    def receive_ResumeRun(self, message: ResumeRun, sender: Any) -> None:
        self.requests.resume(message, sender)

    def deliver_to_run(self, cid: str, message: Any, reply_to: Any) -> None:
        run = self.book.live.get(cid)
        if run is None:
            child = self.book.processes.get(cid)
            if child is not None and child.address is not None and not isinstance(message, Tick):
                self.post(child.address, message)
            return
        if not run.mailbox:
            self.ready.append(run)
        run.mailbox.append((message, reply_to))

    def receive_Reply(self, message: Reply, sender: Any) -> None:
        self.outbox.answered(message.headers.idempotency_key)
        self.deliver_to_run(message.headers.correlation_id, message, sender)

    def receive_ReplyBatch(self, message: ReplyBatch, sender: Any) -> None:
        for reply in message.replies:
            self.outbox.answered(reply.headers.idempotency_key)
            self.deliver_to_run(reply.headers.correlation_id, reply, sender)

    def receive_DirectoryUpdate(self, message: DirectoryUpdate, sender: Any) -> None:
        self.registry_view.directory(message.name, message.address)

    # ----- the registry partition and the directory (HostRegistry) -------------------------------

    def receive_Lookup(self, message: Lookup, sender: Any) -> None:
        self.post(sender, self.registry_view.lookup(message))

    def receive_Select(self, message: Select, sender: Any) -> None:
        self.post(sender, self.registry_view.select(message))

    def receive_Count(self, message: Count, sender: Any) -> None:
        self.post(sender, self.registry_view.count(message))

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        for entry in message.entries:
            self.registry_view.registry_entry(entry.key, entry.holder)
        if self.waiting_for_directory:  # the domain actors are known: recovery may re-send to them
            self.waiting_for_directory = False
            self.recovery.find_unfinished()
            held, self.held = self.held, []
            for routed in held:
                if isinstance(routed, Routed):
                    self.deliver(routed.request, routed.reply_to)
                else:
                    self.receive_bytes(*routed)

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        self.registry_view.registry_entry(message.key, message.holder if message.kind == "registered" else None)

    def receive_Subscribed(self, message: Any, sender: Any) -> None:
        pass

    # ----- stats and the end -----------------------------------------------------------------------

    def receive_GetHostStats(self, message: GetHostStats, sender: Any) -> None:
        j = self.journal
        self.post(
            sender,
            HostStats(
                index=self.cfg.index,
                runs=len(self.book.live),
                process_runs=len(self.book.processes),
                recovering=len(self.book.to_recover),
                commits=j.commits,
                writes=j.writes,
                largest_batch=j.largest,
                commit_failures=j.failures,
                envelopes=self.outbox.envelopes,
                items=self.outbox.items,
                storage_fault=self.storage.fault,
                desk_served=self.desk.served if self.desk is not None else 0,
            ),
        )

    def on_terminate(self, reason: Any) -> None:
        journal = getattr(self, "journal", None)
        if journal is None:
            return
        try:
            if journal.pending and not journal.muted:
                journal.flush(time.time())  # durable now; what follows happens after the restart
        except Exception as exc:
            _log.warning("host: final journal write failed: %s", exc)
        try:
            lease = getattr(self, "lease", None)
            if lease is not None:
                lease.release()
        except Exception as exc:
            _log.warning("host: releasing the partition's lease failed: %s", exc)
        try:
            journal.store.close()
        except Exception:
            _log.exception("host: closing the journal failed")
        self.outbox.flush(float("inf"))  # nothing is held any more
