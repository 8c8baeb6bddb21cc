"""The saga supervisor: a dynamic supervisor with one saga actor per run.

It is the front door for runs (``StartSaga``, ``AwaitRun``, ``CancelRun``,
``RunStatus``; see :mod:`sagaline.messages.saga`) and keeps three promises:

* **One run per correlation id.** A start whose id is running, starting or
  recently finished answers with that run (``existing=True``); nothing new
  starts. Each run's saga actor is registered in the registry as
  ``saga:<correlation id>`` while it runs.
* **Bad starts are refused at once** (:func:`~sagaline.sagas.admission.admit`),
  before any actor is involved.
* **Fast starts from a warm pool.** Creating an actor process costs a few
  milliseconds on multiprocTCPBase, so ``pool_size`` idle saga actors are
  kept ready; a start hands one its run at once and a replacement is spawned
  behind it. When the pool is empty, starts wait in a backlog for the actors
  spawned for them.

It learns domain actors' addresses from the registry (keys ``domain:<name>``,
subscribed, so a restarted domain actor's new address reaches running saga
actors through ``DirectoryUpdate``).

A saga actor that dies before reporting its run's end leaves the run
``stuck`` (needs an operator), announced to its waiters: never silently lost.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from sagaline.messages.registry import (AlreadyRegistered, Entries, Register, Registered, RegistryEvent,
                                        Select, Subscribe, Subscribed, Unregister, Unregistered)
from sagaline.messages.saga import (AwaitRun, BeginRun, CancelAnswer, CancelRun, DirectoryUpdate,
                                    RunFinished, RunOutcome, RunSnapshot, RunStatus, SagaAccepted,
                                    SagaRefused, StartSaga)
from sagaline.messages.supervision import ExitReason
from sagaline.sagas import catalog
from sagaline.sagas.admission import Admitted, admit
from sagaline.supervisors.children import Child
from sagaline.supervisors.dynamic import DynamicSupervisor
from sagaline.supervisors.spec import child_spec

__all__ = ["SagaSupervisor", "SAGA_ACTOR", "DOMAIN_PREFIX", "run_key"]

_log = logging.getLogger("sagaline.saga")
SAGA_ACTOR = "sagaline.actors.saga_actor.SagaActor"
DOMAIN_PREFIX = "domain:"


def run_key(correlation_id: str) -> str:
    """The registry key of a run's saga actor."""
    return f"saga:{correlation_id}"


class SagaSupervisor(DynamicSupervisor):
    """Args: ``flags`` (DynamicFlags), ``pool_size`` (default 4), ``saga_args``
    (handed to every saga actor), ``finished_cache`` (how many ended runs to
    remember for idempotent starts and late waiters; default 10,000)."""

    def on_start(self, args: dict[str, Any]) -> None:
        super().on_start(args)
        self.pool_size = int(args.get("pool_size", 4))
        self.cache_size = int(args.get("finished_cache", 10_000))
        self.saga_spec = child_spec("saga", SAGA_ACTOR, dict(args.get("saga_args") or {}), restart="temporary")
        self.sagas = catalog()
        self.definitions: dict[str, Any] = {}
        self.idle: list[Child] = []
        self.spawning = 0
        self.backlog: list[tuple[StartSaga, Any, Admitted]] = []
        self.runs: dict[str, Child] = {}
        self.run_saga: dict[str, str] = {}
        self.run_of: dict[str, str] = {}
        self.waiters: dict[str, list[Any]] = {}
        self.relays: dict[str, list[Any]] = {}
        self.finished: OrderedDict[str, RunOutcome] = OrderedDict()
        self.directory: dict[str, Any] = {}
        if self.registry is not None:
            self.send(self.registry, Subscribe(key_prefix=DOMAIN_PREFIX))
            self.send(self.registry, Select(key_prefix=DOMAIN_PREFIX))
        self._fill_pool()

    # ----- starting runs --------------------------------------------------------------

    def receive_StartSaga(self, message: StartSaga, sender: Any) -> None:
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
        limit = self.flags.max_children
        if limit is not None and len(self.runs) + len(self.backlog) >= limit:
            self.send(sender, SagaRefused(code="max_children", message=f"{limit} runs already in progress"))
            return
        self._begin(message, sender, verdict)

    def _answer_existing(self, message: StartSaga, cid: str, sender: Any) -> bool:
        if cid in self.finished:
            done = self.finished[cid]
            self.send(sender, done if message.wait else
                      SagaAccepted(correlation_id=cid, saga=done.saga, existing=True))
            return True
        child = self.runs.get(cid)
        queued = self._queued(cid)
        if child is None and not queued:
            return False
        if message.wait:
            self.waiters.setdefault(cid, []).append(sender)
        else:
            self.send(sender, SagaAccepted(correlation_id=cid, saga=message.saga, existing=True,
                                           address=child.address if child else None))
        return True

    def _queued(self, cid: str) -> bool:
        return any(v.correlation_id == cid for _, _, v in self.backlog)

    def _begin(self, message: StartSaga, sender: Any, verdict: Admitted) -> None:
        cid = verdict.correlation_id
        if not self.idle:
            self.backlog.append((message, sender, verdict))
            self._fill_pool(extra=len(self.backlog))
            return
        child = self.idle.pop()
        self.runs[cid] = child
        self.run_of[child.id] = cid
        self.run_saga[cid] = message.saga
        if self.registry is not None:
            self.send(self.registry, Register(key=run_key(cid), holder=child.address,
                                              lineage=self.lineage + (self.myAddress,),
                                              value={"saga": message.saga}))
        self.send(child.address, BeginRun(saga=message.saga, correlation_id=cid, inputs=dict(message.inputs),
                                          causation_id=message.causation_id, directory=dict(self.directory)))
        if message.wait:
            self.waiters.setdefault(cid, []).append(sender)
        else:
            self.send(sender, SagaAccepted(correlation_id=cid, saga=message.saga, existing=False,
                                           address=child.address))
        self._fill_pool()

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
            self._begin(*self.backlog.pop(0))

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        self.spawning = max(0, self.spawning - 1)
        _log.warning("saga actor %s failed to start: %s", child.id, reason)
        self.starters.pop(child.id, None)
        self.forget(child)

    # ----- ends of runs -----------------------------------------------------------------

    def receive_RunFinished(self, message: RunFinished, sender: Any) -> None:
        self._ended(message.outcome)

    def _ended(self, result: RunOutcome) -> None:
        cid = result.correlation_id
        child = self.runs.pop(cid, None)
        self.run_saga.pop(cid, None)
        if child is not None:
            self.run_of.pop(child.id, None)
            if self.registry is not None:
                self.send(self.registry, Unregister(key=run_key(cid), holder=child.address))
        self.finished[cid] = result
        while len(self.finished) > self.cache_size:
            self.finished.popitem(last=False)
        for waiter in self.waiters.pop(cid, []):
            self.send(waiter, result)
        for waiter in self.relays.pop(cid, []):
            self.send(waiter, CancelAnswer(correlation_id=cid, accepted=False, status=result.status))

    def child_died(self, child: Child, reason: ExitReason) -> None:
        self.idle = [c for c in self.idle if c is not child]
        cid = self.run_of.pop(child.id, None)
        if cid is not None and cid in self.runs:
            saga = self.run_saga.get(cid, "unknown")
            self._ended(RunOutcome(correlation_id=cid, saga=saga, status="stuck",
                                   error={"code": "saga_actor_died", "message": f"{reason.kind}: {reason.detail or ''}",
                                          "retryable": False, "indefinite": True, "details": {}}))
        super().child_died(child, reason)
        if self.stopping is None:
            self._fill_pool()

    # ----- queries and signals ----------------------------------------------------------

    def receive_AwaitRun(self, message: AwaitRun, sender: Any) -> None:
        cid = message.correlation_id
        if cid in self.finished:
            self.send(sender, self.finished[cid])
        elif cid in self.runs or self._queued(cid):
            self.waiters.setdefault(cid, []).append(sender)
        else:
            self.send(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        self._relay(message, sender)

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self._relay(message, sender)

    def _relay(self, message: CancelRun | RunStatus, sender: Any) -> None:
        cid = message.correlation_id
        child = self.runs.get(cid)
        if child is not None:
            self.relays.setdefault(cid, []).append(sender)
            self.send(child.address, message)
        elif cid in self.finished:
            self.send(sender, CancelAnswer(correlation_id=cid, accepted=False, status=self.finished[cid].status))
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

    # ----- domain directory ---------------------------------------------------------------

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        for entry in message.entries:
            if entry.key.startswith(DOMAIN_PREFIX):
                self._directory(entry.key[len(DOMAIN_PREFIX):], entry.holder)

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        if message.key.startswith(DOMAIN_PREFIX):
            holder = message.holder if message.kind == "registered" else None
            self._directory(message.key[len(DOMAIN_PREFIX):], holder)

    def _directory(self, name: str, address: Any) -> None:
        if address is None:
            self.directory.pop(name, None)
        else:
            self.directory[name] = address
        for child in self.runs.values():
            if child.address is not None:
                self.send(child.address, DirectoryUpdate(name=name, address=address))

    def receive_Subscribed(self, message: Subscribed, sender: Any) -> None:
        pass

    def receive_Registered(self, message: Registered, sender: Any) -> None:
        pass

    def receive_Unregistered(self, message: Unregistered, sender: Any) -> None:
        pass

    def receive_AlreadyRegistered(self, message: AlreadyRegistered, sender: Any) -> None:
        _log.warning("run key %s is already held by another actor", message.key)
