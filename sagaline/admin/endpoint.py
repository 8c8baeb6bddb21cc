"""The daemon's admin endpoint: a fixed, supervised pool of admin workers.

::

    client --AdminConnect--> AdminDoor (global name, top level) --AdminForward--> AdminEndpoint
       ^                                                                            |
       +----------------------------AdminDirectory (the workers) -------------------+

    client --request (codec bytes)--> AdminWorker --asks--> sagas, hosts, registry, root, flow, app domains
       ^                                   |
       +----AdminResult | AdminError-------+

:class:`AdminEndpoint` is the root supervisor's last child (registered as
``admin``). It starts ``workers`` :class:`~sagaline.admin.worker.AdminWorker`
children and answers Started once they all have; it answers ``AdminConnect``
with their addresses, so a client talks to a worker directly: a start with
``wait`` costs the client's request, the worker's ask of the saga
supervisor, its answer and the worker's answer, two cross-process messages
more than asking the saga supervisor directly. No process is created per
request; at most ``workers`` requests are answered at once, the rest get
``busy``.

* A request sent to the endpoint (through the door, or directly) is handed
  to a worker, round robin; a busy worker bounces it back and the next is
  tried; when all are busy the requester gets ``busy``.
* A worker that ends (it retires after a request that left an ask
  unanswered, or crashed, or was killed) is replaced at once. Replacements
  that keep failing to start crash the endpoint, so its supervisor's
  restart intensity applies.
* **Reaping**: every :data:`REAP_EVERY_S` the endpoint pings each worker; one
  that has not answered the previous ping, or reports its request overdue
  by more than :data:`OVERDUE_GRACE_S` (its own deadline timer should have
  answered), is killed and replaced, so a slot is never held forever.
* A ``PoisonMessage`` for a forward is answered (another worker is tried).
* **Stack depth**: a worker whose message loop thrashes Python's frame stack
  (see :mod:`sagaline.admin.worker`) says so and retires; its
  replacement is forked from one frame deeper (:data:`MAX_PAD` tries).
* ``owner_pid``: when that process (the daemon) vanishes, e.g. SIGKILLed,
  the endpoint ends the whole actor system so no orphan keeps the ports.

* **The saga hosts**: the endpoint follows the registry's ``sagahost:<i>``
  entries and lists the hosts in the directory while all ``saga_hosts`` of
  them run, so a client sends its starts and waits straight to the host of
  the run (:mod:`sagaline.hosts.host_desk`): two cross-process messages
  instead of six.

Args: :class:`~sagaline.admin.admin_args.EndpointArgs`: ``facts`` (daemon facts, for health),
``owner_pid``, ``saga_hosts`` (how many), ``workers`` (pool size, default :data:`DEFAULT_WORKERS`),
``watch`` (name -> pid of the processes health checks; the endpoint adds the root's), ``heartbeat``.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from typing import Any

from sagaline.actors.base import DEFER_START, BaseActor
from sagaline.admin.admin_args import DEFAULT_WORKERS, EndpointArgs, WorkerArgs
from sagaline.admin.requests import is_reply, read_request, reply_form
from sagaline.admin.worker import AdminWorker
from sagaline.apps import load_apps
from sagaline.messages.admin import (
    AdminBounced,
    AdminConnect,
    AdminDirectory,
    AdminError,
    AdminForward,
    AdminWorkerPing,
    AdminWorkerState,
)
from sagaline.messages.registry import Entries, RegistryEvent, Select, Subscribe
from sagaline.messages.supervision import ExitReason, InitFailed, Started
from sagaline.runtime.pidfile import pid_alive
from sagaline.runtime.procs import TAG_VARIABLE, kill_all
from sagaline.saga.placement import HOST_KEY_PREFIX, host_index
from sagaline.supervisors.spec import class_path

__all__ = ["AdminEndpoint", "WORKER_CLASS", "DEFAULT_WORKERS"]

_log = logging.getLogger("sagaline.admin")
WORKER_CLASS = class_path(AdminWorker)
#: Seconds between two checks that the daemon process still lives.
OWNER_CHECK_S = 1.0
#: Seconds between two pings of the workers (a ping and its answer per worker).
REAP_EVERY_S = 5.0
#: Seconds a worker may stay past its request's deadline before it is killed.
OVERDUE_GRACE_S = 5.0
#: Worker starts that may fail in a row before the endpoint gives up (and crashes).
MAX_FAILED_STARTS = 3
#: Frames of padding tried, one more at each worker that reports stack thrash (then it stays).
MAX_PAD = 16


@dataclass
class _Slot:
    """One worker: its address (the real one once started), pid, and its last ping's fate."""

    address: Any
    pid: int | None = None
    up: bool = False
    pinged: bool = False


class AdminEndpoint(BaseActor):
    """Keeps the pool of admin workers and hands out requests (see the module docstring)."""

    def on_start(self, args: dict[str, Any]) -> Any:
        cfg = EndpointArgs.parse(args)
        self.facts = dict(cfg.facts)
        # The catalog and app commands need the apps; workers forked from here inherit them.
        load_apps(self.facts.get("apps") or (), entry_points=False)
        self.owner_pid = cfg.owner_pid
        watch = dict(cfg.watch)
        if self.parent_pid:
            watch["root"] = self.parent_pid  # the endpoint is the root supervisor's child
        self.worker_args = WorkerArgs(
            facts=self.facts, watch=watch, heartbeat=cfg.heartbeat, root=self.parent
        ).model_dump()
        self.saga_hosts = cfg.saga_hosts
        self.hosts: dict[int, Any] = {}
        if self.saga_hosts and self.registry is not None:
            self.send(self.registry, Subscribe(key_prefix=HOST_KEY_PREFIX))
            self.send(self.registry, Select(key_prefix=HOST_KEY_PREFIX))
        self.slots: list[_Slot] = []
        self.turn = 0
        self.pad = 0
        self.failed_starts = 0
        self.starting = True
        for _ in range(cfg.workers):
            self._spawn()
        if self.owner_pid and self.owner_pid != os.getpid():
            self.timers.start("owner", OWNER_CHECK_S)
        self.timers.start("reap", REAP_EVERY_S)
        if not self.slots:
            return None
        return DEFER_START

    def _spawn(self) -> None:
        address = _at_depth(self.pad, lambda: self.createActor(WORKER_CLASS))  # the child runs at this depth
        self.slots.append(_Slot(address))
        self.send(address, self.child_init(self.worker_args, child_id="admin-worker"))

    # ----- workers' lives -----------------------------------------------------------------

    def receive_Started(self, message: Started, sender: Any) -> None:
        slot = self._slot(sender)
        if slot is None:
            return
        slot.address, slot.pid, slot.up, self.failed_starts = sender, message.pid, True, 0
        if self.starting and all(s.up for s in self.slots):
            self.starting = False
            self.confirm_start()

    def receive_InitFailed(self, message: InitFailed, sender: Any) -> None:
        _log.warning("admin worker failed to start: %s", message.reason)
        self.failed_starts += 1
        if self.starting:
            self.fail_start(message.reason)
        elif self.failed_starts > MAX_FAILED_STARTS:
            raise RuntimeError(
                f"admin workers failed to start {self.failed_starts} times in a row: "
                f"{message.reason.detail or message.reason.kind}"
            )

    def on_child_exit(self, address: Any, reason: ExitReason) -> None:
        slot = self._slot(address)
        if slot is None:
            return
        self.slots.remove(slot)
        if reason.kind not in ("normal", "shutdown"):
            _log.warning("admin worker (pid %s) ended: %s %s", slot.pid, reason.kind, reason.detail or "")
        if not self._exiting:
            self._spawn()

    def _slot(self, address: Any) -> _Slot | None:
        return next((s for s in self.slots if s.address == address), None)

    # ----- requests -------------------------------------------------------------------------

    def receive_AdminForward(self, message: AdminForward, sender: Any) -> None:
        self._accept(message)

    def receive_AdminBounced(self, message: AdminBounced, sender: Any) -> None:
        forward = message.forward
        self._hand_out(forward.model_copy(update={"attempts": forward.attempts + 1}))

    def receive_AdminWorkerState(self, message: AdminWorkerState, sender: Any) -> None:
        slot = self._slot(sender)
        if slot is None:
            return
        slot.pinged = False
        if message.stack_thrash and self.pad < MAX_PAD:
            self.pad += 1
            _log.warning(
                "admin worker (pid %s) thrashed its frame stack; its replacement is forked %d frame(s) deeper",
                slot.pid,
                self.pad,
            )
        if message.overdue_s > OVERDUE_GRACE_S:
            self._kill(slot, f"its request is {message.overdue_s:.1f} s past its deadline")

    def receive_object(self, message: Any, sender: Any) -> None:
        """Anything else is a request sent straight to the endpoint."""
        if sender is None or is_reply(message) or self._slot(sender) is not None:
            return
        self._accept(AdminForward(payload=message, reply_to=sender))

    def _accept(self, forward: AdminForward) -> None:
        request = read_request(forward.payload) if _is_connect(forward.payload) else None
        if isinstance(request, AdminConnect):
            self._answer(forward, self.directory())
        else:
            self._hand_out(forward)

    def directory(self) -> AdminDirectory:
        """The workers a client may ask directly, and the saga hosts when all of them run."""
        hosts = [self.hosts.get(i) for i in range(self.saga_hosts)]
        return AdminDirectory(
            workers=[s.address for s in self.slots if s.up],
            version=str(self.facts.get("version", "")),
            daemon_pid=int(self.facts.get("pid") or 0),
            sagas=hosts if all(h is not None for h in hosts) else [],
        )

    # ----- the saga hosts -------------------------------------------------------------------

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        for entry in message.entries:
            index = host_index(entry.key)
            if index is not None:
                self.hosts[index] = entry.holder

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        index = host_index(message.key)
        if index is None:
            return
        if message.kind == "registered":
            self.hosts[index] = message.holder
        elif self.hosts.get(index) == message.holder:  # not a successor that registered first
            del self.hosts[index]

    def receive_Subscribed(self, message: Any, sender: Any) -> None:
        pass

    def _hand_out(self, forward: AdminForward) -> None:
        ready = [s for s in self.slots if s.up]
        if forward.attempts >= len(ready):
            self._answer(
                forward,
                AdminError(
                    code="busy", message=f"all {len(ready)} admin workers are answering other requests; try again"
                ),
            )
            return
        self.turn = (self.turn + 1) % len(ready)
        self.send(ready[self.turn].address, forward)

    def _answer(self, forward: AdminForward, answer: Any) -> None:
        self.send(forward.reply_to, reply_form(answer, isinstance(forward.payload, (bytes, bytearray, memoryview))))

    def on_poison(self, poison: Any) -> None:
        lost = poison.poisonMessage
        if isinstance(lost, AdminForward):  # that worker could not take it: try the next
            self._hand_out(lost.model_copy(update={"attempts": lost.attempts + 1}))
        else:
            super().on_poison(poison)

    # ----- timers ---------------------------------------------------------------------------

    def on_timer(self, name: str, data: Any) -> None:
        if name == "owner":
            self._check_owner()
        elif name == "reap":
            self._reap()
            self.timers.start("reap", REAP_EVERY_S)

    def _reap(self) -> None:
        for slot in list(self.slots):
            if not slot.up:
                continue
            if slot.pinged:
                self._kill(slot, f"it did not answer a ping within {REAP_EVERY_S:g} s")
                continue
            slot.pinged = True
            self.send(slot.address, AdminWorkerPing())

    def _kill(self, slot: _Slot, why: str) -> None:
        _log.error("killing admin worker (pid %s): %s", slot.pid, why)
        slot.up = False
        if slot.pid and slot.pid != os.getpid():
            try:
                os.kill(slot.pid, signal.SIGKILL)  # its exit reaches us as a kill; it is then replaced
            except ProcessLookupError:
                pass

    def _check_owner(self) -> None:
        if self.owner_pid is None or pid_alive(self.owner_pid):  # no owner named: nothing to watch
            self.timers.start("owner", OWNER_CHECK_S)
            return
        _log.error("the daemon (pid %s) is gone: ending its actor system", self.owner_pid)
        tag = os.environ.get(TAG_VARIABLE)
        if tag:
            kill_all(tag)
        os._exit(1)


def _at_depth(frames: int, call: Any) -> Any:
    """``call()`` from ``frames`` extra frames down (a forked child keeps its parent's stack)."""
    return _at_depth(frames - 1, call) if frames > 0 else call()


def _is_connect(payload: Any) -> bool:
    """Cheap check before decoding: only a connect is answered here (workers read the rest)."""
    if isinstance(payload, AdminConnect):
        return True
    return isinstance(payload, (bytes, bytearray, memoryview)) and b"AdminConnect" in bytes(payload[:32])
