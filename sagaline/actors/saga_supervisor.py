"""The saga supervisor: a dynamic supervisor with one saga actor per run.

It is the front door for runs (``StartSaga``, ``AwaitRun``, ``CancelRun``,
``RunStatus``, and the operator actions ``ListRuns``, ``RetryCompensation``,
``ResumeRun``; see :mod:`sagaline.messages.saga`) and keeps these promises:

* **One run per correlation id, across restarts.** A start whose id is
  running, starting or finished answers with that run (``existing=True``);
  nothing new starts. With the durable journal an id unknown in memory is
  looked up there first, so a restart does not forget runs (until retention
  prunes them). Each run's saga actor is registered as ``saga:<correlation id>``
  while it runs.
* **Accepted means durable.** ``SagaAccepted`` is sent once the saga actor
  reports its start recorded (:class:`~sagaline.messages.saga.RunBegun`).
* **Bad starts are refused at once** (:func:`~sagaline.sagas.admission.admit`).
* **Fast starts from a warm pool** of ``pool_size`` idle saga actors; when it
  is empty, starts wait in a backlog for the actors spawned for them.
* **Recovery** (:mod:`sagaline.actors.saga_recovery`): at start every
  unfinished run in the journal is respawned, at most
  ``recovery_concurrency`` at a time; requests wait until that list is read.
  A saga actor that dies mid-run is respawned from the journal the same way
  (after ``max_deaths`` deaths the run is marked ``needs_operator``).
  Without a durable journal (``journal="memory"``) such a run ends
  ``stuck`` (``saga_actor_died``), announced to its waiters: never lost.

It learns domain actors' addresses from the registry (keys ``domain:<name>``)
and the journal's (key ``journal``), subscribed, so restarted actors' new
addresses reach running saga actors through ``DirectoryUpdate``.

Args: ``flags`` (DynamicFlags), ``pool_size`` (4), ``saga_args``,
``finished_cache`` (10,000 ended runs remembered in memory), ``journal``
(``"sqlite"``: use the journal actor; ``"memory"``), ``recovery_concurrency``
(32), ``max_deaths`` (3).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from sagaline.actors.saga_recovery import JournalFront
from sagaline.messages.registry import (AlreadyRegistered, Entries, Register, Registered, RegistryEvent,
                                        Select, Subscribe, Subscribed, Unregister, Unregistered)
from sagaline.messages.saga import (JOURNAL_NAME, AwaitRun, BeginRun, CancelAnswer, CancelRun, DirectoryUpdate,
                                    RunBegun, RunFinished, RunOutcome, RunSnapshot, RunStatus, SagaAccepted,
                                    SagaRefused, StartSaga)
from sagaline.messages.supervision import ExitReason
from sagaline.apps import load_apps
from sagaline.sagas.admission import Admitted, admit
from sagaline.supervisors.children import Child
from sagaline.supervisors.dynamic import DynamicSupervisor
from sagaline.supervisors.spec import child_spec
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["SagaSupervisor", "SAGA_ACTOR", "DOMAIN_PREFIX", "run_key"]

_log = logging.getLogger("sagaline.saga")
SAGA_ACTOR = "sagaline.actors.saga_actor.SagaActor"
DOMAIN_PREFIX = "domain:"


def run_key(correlation_id: str) -> str:
    """The registry key of a run's saga actor."""
    return f"saga:{correlation_id}"


class SagaSupervisor(JournalFront, DynamicSupervisor):
    """See the module docstring."""

    def on_start(self, args: dict[str, Any]) -> None:
        super().on_start(args)
        self.pool_size = int(args.get("pool_size", 4))
        self.cache_size = int(args.get("finished_cache", 10_000))
        self.saga_spec = child_spec("saga", SAGA_ACTOR, dict(args.get("saga_args") or {}), restart="temporary")
        self.sagas = load_apps(args.get("apps") or (), entry_points=False).saga_factories()
        self.definitions: dict[str, Any] = {}
        self.idle: list[Child] = []
        self.spawning = 0
        self.backlog: list[BeginRun] = []
        self.queued: set[str] = set()
        self.runs: dict[str, Child] = {}
        self.run_saga: dict[str, str] = {}
        self.run_of: dict[str, str] = {}
        self.waiters: dict[str, list[Any]] = {}
        self.accepting: dict[str, list[Any]] = {}
        self.relays: dict[str, list[Any]] = {}
        self.finished: OrderedDict[str, RunOutcome] = OrderedDict()
        self.directory: dict[str, Any] = {}
        self.start_journal(args)
        if self.registry is not None:
            for prefix in (DOMAIN_PREFIX, JOURNAL_NAME):
                self.send(self.registry, Subscribe(key_prefix=prefix))
                self.send(self.registry, Select(key_prefix=prefix))
        self._fill_pool()

    # ----- starting runs --------------------------------------------------------------

    def receive_StartSaga(self, message: StartSaga, sender: Any) -> None:
        if self.hold(message, sender):
            return
        verdict = admit(message, self.sagas, self.definitions)
        if isinstance(verdict, SagaRefused):
            self.send(sender, verdict)
            return
        cid = verdict.correlation_id
        if self._answer_existing(message, cid, sender):
            return
        if self.stopping is not None:
            self.send(sender, SagaRefused(code="unavailable", message="the saga supervisor is shutting down"))
            return
        if message.correlation_id and self.durable:
            self.check_then_start(message, sender, verdict)  # known to the journal from an earlier life?
            return
        self.begin_new(message, sender, verdict)

    def _answer_existing(self, message: StartSaga, cid: str, sender: Any) -> bool:
        if cid in self.finished:
            done = self.finished[cid]
            self.send(sender, done if message.wait else
                      SagaAccepted(correlation_id=cid, saga=done.saga, existing=True))
            return True
        if not self.known(cid):
            return False
        if message.wait:
            self.waiters.setdefault(cid, []).append(sender)
        else:
            child = self.runs.get(cid)
            self.send(sender, SagaAccepted(correlation_id=cid, saga=message.saga, existing=True,
                                           address=child.address if child else None))
        return True

    def known(self, cid: str) -> bool:
        """True while ``cid`` is running, starting, queued or waiting to be recovered."""
        return cid in self.runs or cid in self.queued or self.pending_recovery(cid)

    def begin_new(self, message: StartSaga, sender: Any, verdict: Admitted) -> None:
        """Start a new run for an admitted ``message``; ``sender`` hears once it is durable."""
        limit = self.flags.max_children
        if limit is not None and len(self.runs) + len(self.backlog) >= limit:
            self.send(sender, SagaRefused(code="max_children", message=f"{limit} runs already in progress"))
            return
        cid = verdict.correlation_id
        (self.waiters if message.wait else self.accepting).setdefault(cid, []).append(sender)
        self.launch_run(BeginRun(saga=message.saga, correlation_id=cid, inputs=dict(message.inputs),
                                 causation_id=message.causation_id))

    def launch_run(self, begin: BeginRun) -> None:
        """Hand ``begin`` to an idle saga actor (or queue it until one is up)."""
        cid = begin.correlation_id
        self.run_saga[cid] = begin.saga
        if not self.idle:
            self.backlog.append(begin)
            self.queued.add(cid)
            self._backlog_changed()
            self._fill_pool(extra=len(self.backlog))
            return
        child = self.idle.pop()
        self.runs[cid] = child
        self.run_of[child.id] = cid
        if self.registry is not None:
            self.send(self.registry, Register(key=run_key(cid), holder=child.address,
                                              lineage=self.lineage + (self.myAddress,),
                                              value={"saga": begin.saga}))
        self.send(child.address, begin.model_copy(update={"directory": dict(self.directory),
                                                          "journal": self.journal}))
        for request in self.held_relays.pop(cid, []):
            self.send(child.address, request)
        self._fill_pool()

    def receive_RunBegun(self, message: RunBegun, sender: Any) -> None:
        cid = message.correlation_id
        child = self.runs.get(cid)
        for waiter in self.accepting.pop(cid, []):
            self.send(waiter, SagaAccepted(correlation_id=cid, saga=self.run_saga.get(cid, ""), existing=False,
                                           address=child.address if child else None))
        self.successor_begun(cid)

    def _fill_pool(self, extra: int = 0) -> None:
        """Spawn idle saga actors until the pool (plus backlog) is covered."""
        want = self.pool_size + extra
        limit = self.flags.max_children
        while len(self.idle) + self.spawning < want:
            if limit is not None and len(self.children) >= limit:
                return
            child = self.add_child(self.saga_spec)
            self.starters[child.id] = [None]
            self.spawning += 1
            self.spawn(child)

    def child_up(self, child: Child) -> None:
        if child.id in self.run_of:
            return
        self.starters.pop(child.id, None)
        self.spawning -= 1
        self.idle.append(child)
        if self.backlog:
            begin = self.backlog.pop(0)
            self.queued.discard(begin.correlation_id)
            self._backlog_changed()
            self.launch_run(begin)

    def _backlog_changed(self) -> None:
        """Report how many runs wait for a saga actor (the queue-depth gauge)."""
        telemetry.execute(tn.SAGA_BACKLOG, {"depth": len(self.backlog)}, {"supervisor": self.child_id})

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        self.spawning = max(0, self.spawning - 1)
        _log.warning("saga actor %s failed to start: %s", child.id, reason)
        self.starters.pop(child.id, None)
        self.forget(child)

    # ----- ends of runs -----------------------------------------------------------------

    def receive_RunFinished(self, message: RunFinished, sender: Any) -> None:
        self.ended(message.outcome)

    def drop_run(self, cid: str) -> Child | None:
        """Forget ``cid``'s saga actor (unregistering it); its waiters stay."""
        child = self.runs.pop(cid, None)
        if child is not None:
            self.run_of.pop(child.id, None)
            if self.registry is not None:
                self.send(self.registry, Unregister(key=run_key(cid), holder=child.address))
        return child

    def ended(self, result: RunOutcome) -> None:
        """Run ``result.correlation_id`` ended: remember it, answer everyone waiting."""
        cid = result.correlation_id
        self.drop_run(cid)
        self.run_saga.pop(cid, None)
        self.remember(result)
        for waiter in self.waiters.pop(cid, []):
            self.send(waiter, result)
        for waiter in self.accepting.pop(cid, []):
            self.send(waiter, SagaAccepted(correlation_id=cid, saga=result.saga, existing=False))
        for waiter in self.relays.pop(cid, []):
            self.send(waiter, CancelAnswer(correlation_id=cid, accepted=False, status=result.status))
        self.run_ended(cid, result)

    def remember(self, result: RunOutcome) -> None:
        """Keep ``result`` in the bounded cache of ended runs."""
        self.finished[result.correlation_id] = result
        self.finished.move_to_end(result.correlation_id)
        while len(self.finished) > self.cache_size:
            self.finished.popitem(last=False)

    def child_died(self, child: Child, reason: ExitReason) -> None:
        self.idle = [c for c in self.idle if c is not child]
        cid = self.run_of.pop(child.id, None)
        if cid is not None and cid in self.runs:
            self.run_died(cid, reason)
        super().child_died(child, reason)
        if self.stopping is None:
            self._fill_pool()

    # ----- queries and signals ----------------------------------------------------------

    def receive_AwaitRun(self, message: AwaitRun, sender: Any) -> None:
        if self.hold(message, sender):
            return
        cid = message.correlation_id
        if cid in self.finished:
            self.send(sender, self.finished[cid])
        elif self.known(cid):
            self.waiters.setdefault(cid, []).append(sender)
        elif self.durable:
            self.await_from_journal(cid, sender)
        else:
            self.send(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        self._relay(message, sender)

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self._relay(message, sender)

    def _relay(self, message: CancelRun | RunStatus, sender: Any) -> None:
        if self.hold(message, sender):
            return
        cid = message.correlation_id
        self.promote(cid)  # a run waiting to be recovered is recovered now
        child = self.runs.get(cid)
        if child is not None or cid in self.queued:
            self.relays.setdefault(cid, []).append(sender)
            if child is not None:
                self.send(child.address, message)
            else:
                self.held_relays.setdefault(cid, []).append(message)
        elif cid in self.finished and (isinstance(message, CancelRun) or not self.durable):
            self.send(sender, CancelAnswer(correlation_id=cid, accepted=False, status=self.finished[cid].status))
        elif self.durable:
            self.status_from_journal(message, sender)
        else:
            self.send(sender, SagaRefused(code="unknown_run", message=f"no running run {cid!r:.80}"))

    def receive_CancelAnswer(self, message: CancelAnswer, sender: Any) -> None:
        self._answer_relay(message.correlation_id, message)

    def receive_RunSnapshot(self, message: RunSnapshot, sender: Any) -> None:
        self._answer_relay(message.correlation_id, message)

    def _answer_relay(self, cid: str, message: Any) -> None:
        waiting = self.relays.get(cid)
        if waiting:
            self.send(waiting.pop(0), message)
            if not waiting:
                del self.relays[cid]

    # ----- directory (domain actors and the journal) ---------------------------------------

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        for entry in message.entries:
            self._registry_entry(entry.key, entry.holder)

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        self._registry_entry(message.key, message.holder if message.kind == "registered" else None)

    def _registry_entry(self, key: str, holder: Any) -> None:
        if key.startswith(DOMAIN_PREFIX):
            self._directory(key[len(DOMAIN_PREFIX):], holder)
        elif key == JOURNAL_NAME:
            self.journal_moved(holder)
            self._broadcast(DirectoryUpdate(name=JOURNAL_NAME, address=holder))

    def _directory(self, name: str, address: Any) -> None:
        if address is None:
            self.directory.pop(name, None)
        else:
            self.directory[name] = address
        self._broadcast(DirectoryUpdate(name=name, address=address))

    def _broadcast(self, update: DirectoryUpdate) -> None:
        for child in self.runs.values():
            if child.address is not None:
                self.send(child.address, update)

    def receive_Subscribed(self, message: Subscribed, sender: Any) -> None:
        pass

    def receive_Registered(self, message: Registered, sender: Any) -> None:
        pass

    def receive_Unregistered(self, message: Unregistered, sender: Any) -> None:
        pass

    def receive_AlreadyRegistered(self, message: AlreadyRegistered, sender: Any) -> None:
        _log.warning("run key %s is already held by another actor", message.key)
