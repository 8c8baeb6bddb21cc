"""The saga supervisor: supervises the saga hosts and routes every request about a run to its host.

::

    sagas (one_for_one, registered "sagas")
    +-- host:0   SagaHost, partition 0 of N   (permanent)
    +-- ...
    +-- host:N-1

It is a static :class:`~sagaline.supervisors.supervisor.Supervisor` of
``count`` :class:`~sagaline.hosts.saga_host.SagaHost` children (one per
core by default), and the front door for runs: ``StartSaga`` (a correlation
id is made here when none is given), ``AwaitRun``, ``CancelRun``,
``RunStatus``, ``RetryCompensation`` and ``ResumeRun`` go, wrapped in
:class:`~sagaline.messages.batch.Routed`, to the host of the run's
partition (:func:`~sagaline.saga.placement.partition_of`), which answers
the requester directly. A request for a host that is restarting waits here
until it is up again, and the requests sent to a host in its last
:data:`RESEND_WINDOW_S` seconds go again to its successor when it dies
(it may have died before reading them; every run request is idempotent,
so the worst case is a second answer). ``ListRuns`` is answered from the journal.

Registry queries about runs (keys ``saga:<id>``) arrive from the registry
(:class:`~sagaline.messages.registry.PartitionSelect`, ``PartitionCount``): a lookup goes to the
run's host; a select or count is asked of every host, and the parts are
merged with what the registry itself holds.

A host that dies is restarted (one_for_one) and rebuilds its partition's
unfinished runs from the journal; the other hosts' runs never notice.

Retention: every ``prune_every_s`` it deletes completed, failed and
cancelled runs finished more than ``retention_s`` ago (None: keep them);
stuck, halted and needs_operator runs are kept.

Args: :class:`~sagaline.hosts.saga_supervisor_args.SagaSupervisorArgs`: ``flags`` and
``children`` (as any supervisor), ``count`` (the hosts), ``journal`` and ``journal_path``
(to answer ``ListRuns``), ``retention_s``, ``prune_every_s``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict
from typing import Any

from sagaline.hosts.saga_host import SagaHost
from sagaline.hosts.saga_supervisor_args import SagaSupervisorArgs
from sagaline.messages.batch import Routed
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Count, CountResult, Entries, Lookup, PartitionCount, PartitionSelect
from sagaline.messages.saga import (
    AwaitRun,
    CancelRun,
    LeaseList,
    ListLeases,
    ListRuns,
    ResumeRun,
    RetryCompensation,
    RunStatus,
    SagaRefused,
    StartSaga,
)
from sagaline.messages.supervision import ExitReason
from sagaline.saga.placement import partition_of
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.supervisors.children import Child
from sagaline.supervisors.spec import class_path
from sagaline.supervisors.supervisor import Supervisor

__all__ = ["SagaSupervisor", "SAGA_HOST", "host_id", "GATHER_TIMEOUT_S"]

_log = logging.getLogger("sagaline.saga")
SAGA_HOST = class_path(SagaHost)
#: Seconds a registry select waits for every host's part before answering with what it has.
GATHER_TIMEOUT_S = 2.0
#: Requests routed to a host in the last this many seconds are routed again to its successor if it
#: dies: a SIGKILLed host loses what it had not read, and its supervisor hears of the death ms later.
RESEND_WINDOW_S = 5.0


def host_id(index: int) -> str:
    """The child id of host ``index``."""
    return f"host:{index}"


class _Gather:
    """One registry select/count across the hosts, answered when every host has."""

    def __init__(self, query: PartitionSelect | PartitionCount, hosts: list[Any]) -> None:
        self.query, self.waiting = query, list(hosts)
        local = query.local
        self.entries = list(local.entries) if isinstance(local, Entries) else []
        self.count = local.count if isinstance(local, CountResult) else 0

    def take(self, sender: Any, part: Any) -> bool:
        """Add a host's part; True when ``sender`` was awaited."""
        for i, host in enumerate(self.waiting):
            if host == sender:
                del self.waiting[i]
                if isinstance(part, Entries):
                    self.entries.extend(part.entries)
                elif isinstance(part, CountResult):
                    self.count += part.count
                return True
        return False

    def answer(self) -> Any:
        if isinstance(self.query.query, Count):
            return CountResult(count=self.count)
        limit = getattr(self.query.query, "limit", None)
        entries = sorted(self.entries, key=lambda e: e.key)
        return Entries(entries=tuple(entries[:limit] if limit else entries))


class SagaSupervisor(Supervisor):
    """See the module docstring."""

    ARGS = SagaSupervisorArgs

    def on_start(self, args: dict[str, Any]) -> Any:
        cfg = SagaSupervisorArgs.parse(args)
        self.count = cfg.count
        self.durable = cfg.journal == "sqlite"
        self.journal_path = cfg.journal_path
        self.reader: SqliteJournal | None = None
        self.retention = cfg.retention_s
        self.prune_every = cfg.prune_every_s
        if self.durable and self.retention is not None:
            self.timers.start("prune", self.prune_every)
        self.parked: dict[int, list[Routed]] = {}
        self.recent: dict[int, deque[tuple[float, Routed]]] = {}
        self.gathers: deque[_Gather] = deque()
        return super().on_start(args)

    # ----- routing ----------------------------------------------------------------------------

    def receive_StartSaga(self, message: StartSaga, sender: Any) -> None:
        cid = message.correlation_id or uuid7()
        if cid != message.correlation_id:
            message = message.model_copy(update={"correlation_id": cid})
        self._forward(cid, message, sender)

    def receive_AwaitRun(self, message: AwaitRun, sender: Any) -> None:
        self._forward(message.correlation_id, message, sender)

    def receive_CancelRun(self, message: CancelRun, sender: Any) -> None:
        self._forward(message.correlation_id, message, sender)

    def receive_RunStatus(self, message: RunStatus, sender: Any) -> None:
        self._forward(message.correlation_id, message, sender)

    def receive_RetryCompensation(self, message: RetryCompensation, sender: Any) -> None:
        self._forward(message.correlation_id, message, sender)

    def receive_ResumeRun(self, message: ResumeRun, sender: Any) -> None:
        self._forward(message.correlation_id, message, sender)

    def receive_Routed(self, message: Routed, sender: Any) -> None:
        """A request routed here on someone's behalf (the registry's lookup of ``saga:<id>``)."""
        request = message.request
        if isinstance(request, Lookup):
            self._forward(request.key.partition(":")[2], request, message.reply_to)
        else:
            self.deliver(request, message.reply_to)

    def _forward(self, run_id: str, request: Any, reply_to: Any) -> None:
        index = partition_of(str(run_id), self.count)
        routed = Routed(request=request, reply_to=reply_to)
        host = self.find_child(host_id(index))
        if host is not None and host.state == "running" and host.address is not None:
            self.send(host.address, routed)
            self._remember(index, routed)
        elif self.phase == "stopping" or self._exiting:
            self.send(reply_to, SagaRefused(code="unavailable", message="the saga supervisor is shutting down"))
        else:
            self.parked.setdefault(index, []).append(routed)

    def _remember(self, index: int, routed: Routed) -> None:
        """Keep what was sent to host ``index`` lately: a host killed with it unread loses it."""
        recent = self.recent.setdefault(index, deque())
        now = time.monotonic()
        recent.append((now, routed))
        while recent and recent[0][0] < now - RESEND_WINDOW_S:
            recent.popleft()

    def child_died(self, child: Child, reason: ExitReason) -> None:
        index = int(child.id.partition(":")[2])
        resent = [routed for _, routed in self.recent.pop(index, ())]
        _log.warning(
            "host %d died (%s %s); %d recent requests go to its successor",
            index,
            reason.kind,
            reason.detail or "",
            len(resent),
        )
        if resent:  # answered twice at worst: every run request is idempotent
            self.parked[index] = resent + self.parked.get(index, [])
        super().child_died(child, reason)

    def child_up(self, child: Child) -> None:
        super().child_up(child)
        index = int(child.id.partition(":")[2])
        for routed in self.parked.pop(index, []):
            self.send(child.address, routed)
            self._remember(index, routed)

    # ----- the journal ----------------------------------------------------------------------------

    def receive_ListRuns(self, message: ListRuns, sender: Any) -> None:
        if not self.durable:
            self.send(sender, SagaRefused(code="journal_unavailable", message="this tree keeps no durable journal"))
            return
        self.send(sender, self._journal().list_runs(message, time.time()))

    def receive_ListLeases(self, message: ListLeases, sender: Any) -> None:
        if not self.durable:
            self.send(sender, SagaRefused(code="journal_unavailable", message="this tree keeps no durable journal"))
            return
        self.send(sender, LeaseList(leases=[asdict(lease) for lease in self._journal().leases()]))

    def _journal(self) -> SqliteJournal:
        if self.reader is None:
            if self.journal_path is None:
                raise RuntimeError("this tree keeps no durable journal (receive_ListRuns checks durable first)")
            self.reader = SqliteJournal.open(self.journal_path)
        return self.reader

    def _prune(self) -> None:
        """Delete finished runs older than the retention (bounded per tick: a backlog takes several)."""
        if self.retention is None:
            return
        total = 0
        try:
            for _ in range(20):
                pruned = self._journal().prune(time.time() - self.retention)
                total += pruned
                if pruned < 5000:
                    break
        except StorageError as exc:
            _log.warning("journal retention failed: %s", exc)
        if total:
            _log.info("journal pruned %d finished runs older than %.0f s", total, self.retention)

    # ----- registry queries across the hosts ------------------------------------------------------

    def receive_PartitionSelect(self, message: PartitionSelect, sender: Any) -> None:
        self._gather(message)

    def receive_PartitionCount(self, message: PartitionCount, sender: Any) -> None:
        self._gather(message)

    def _gather(self, message: PartitionSelect | PartitionCount) -> None:
        hosts = [c.address for c in self.children if c.state == "running" and c.address is not None]
        gather = _Gather(message, hosts)
        self.gathers.append(gather)
        if len(self.gathers) == 1:
            self._ask_hosts(gather)

    def _ask_hosts(self, gather: _Gather) -> None:
        if not gather.waiting:
            self._answer_gather()
            return
        for host in gather.waiting:
            self.send(host, gather.query.query)
        self.timers.start("gather", GATHER_TIMEOUT_S, id(gather))

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        self._part(sender, message)

    def receive_CountResult(self, message: CountResult, sender: Any) -> None:
        self._part(sender, message)

    def _part(self, sender: Any, part: Any) -> None:
        if self.gathers and self.gathers[0].take(sender, part) and not self.gathers[0].waiting:
            self._answer_gather()

    def _answer_gather(self) -> None:
        gather = self.gathers.popleft()
        self.timers.cancel("gather")
        self.send(gather.query.reply_to, gather.answer())
        if self.gathers:
            self._ask_hosts(self.gathers[0])

    def on_timer(self, name: str, data: Any) -> None:
        if name == "prune":
            self._prune()
            self.timers.start("prune", self.prune_every)
            return
        if name == "gather":
            if self.gathers and id(self.gathers[0]) == data:
                _log.warning("registry query: %d host(s) did not answer", len(self.gathers[0].waiting))
                self._answer_gather()
            return
        super().on_timer(name, data)

    def on_terminate(self, reason: Any) -> None:
        reader = getattr(self, "reader", None)
        if reader is not None:
            reader.close()
