"""A saga host's recovery: its partition's unfinished runs, the lease that gates them, runs whose actor died.

A host that starts (or takes a partition over) queues every unfinished run
of its partition found in the journal and rebuilds ``recovery_concurrency``
of them per pump; a run whose saga is no longer in the catalog is marked
``needs_operator`` (``unknown_saga``). With ``lease_s``, it does so only
once it holds the partition's lease (:mod:`sagaline.hosts.host_lease`),
claimed and renewed on a timer; a standby host takes a dead daemon's
partition over once its lease expires.

**Isolation.** An exception in one run's code ends that run only: the run
is rebuilt from the journal, and after ``max_deaths`` deaths it is marked
``needs_operator`` (``saga_actor_died``). Without a durable journal, such a
run ends ``stuck``, announced to its waiters. A single-run host whose run
died raises, so that its parent rebuilds the run.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from sagaline.hosts.host_args import Launch, Rebuild
from sagaline.hosts.run_book import RunBook
from sagaline.hosts.saga_run import SagaRun
from sagaline.hosts.saga_support import operator_outcome
from sagaline.messages.saga import RunOutcome
from sagaline.messages.supervision import ExitReason
from sagaline.saga.journal import Finish
from sagaline.saga.placement import partition_of
from sagaline.storage.errors import StorageError
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["Recovery", "RecoveringHost"]

_log = logging.getLogger("sagaline.saga")


class RecoveringHost(Protocol):
    """What :class:`Recovery` needs from its host."""

    book: RunBook
    cfg: Any
    journal: Any
    sagas: Any
    lease: Any
    timers: Any
    run_timers: Any
    respawn: list[tuple[str, str]]

    @property
    def durable(self) -> bool:
        """True when the host keeps a durable journal."""

    def launch(self, launch: Launch) -> None:
        """Start, rebuild or succeed a run."""

    def run_over(self, result: RunOutcome) -> None:
        """Remember how a run ended and tell everyone waiting for it."""


class Recovery:
    """Recovers a host's unfinished runs and the runs whose actor died (see the module docstring)."""

    def __init__(self, host: RecoveringHost) -> None:
        self.host = host

    def find_unfinished(self) -> None:
        """Queue every unfinished run of this partition for recovery (``recovery_concurrency`` per pump);
        with leases, only once this host holds its partition's lease."""
        host = self.host
        if not host.durable or (host.lease is not None and not self.hold_lease()):
            return
        for run in host.journal.store.unfinished():
            if partition_of(run.run_id, host.cfg.count) != host.cfg.index:
                continue
            if run.saga in host.sagas:
                host.book.to_recover[run.run_id] = run.saga
            else:
                self._mark_needs_operator(
                    run.run_id, run.saga, "unknown_saga", f"no saga named {run.saga!r} in the catalog"
                )
        if host.book.to_recover:
            _log.info("host %d: recovering %d unfinished runs", host.cfg.index, len(host.book.to_recover))

    def hold_lease(self) -> bool:
        """Claim or renew the partition's lease and schedule the next claim; True while held."""
        host = self.host
        assert host.lease is not None
        had = host.lease.held is not None
        try:
            held = host.lease.hold(time.time())
        except StorageError as exc:  # a renewal that fails is retried; a write after a takeover is fenced
            _log.warning("host %d: lease claim failed (%s)", host.cfg.index, exc)
            held = had
        if held and not had and host.lease.held is not None:
            _log.info("host %d: holds %s (token %d)", host.cfg.index, host.lease.resource, host.lease.held.token)
        host.timers.start("lease", host.lease.next_claim_in(time.time()))
        return held

    def recover_more(self) -> None:
        """Rebuild the next ``recovery_concurrency`` unfinished runs (one batch per pump, whether or not
        the runs rebuilt before have ended: a run may wait in flight for hours)."""
        host = self.host
        rebuild = host.book.to_rebuild(host.cfg.recovery_concurrency)
        for cid, saga in rebuild:
            host.launch(Rebuild(cid, saga))
        if rebuild:
            telemetry.execute(tn.SAGA_BACKLOG, {"depth": len(host.book.to_recover)}, {"host": host.cfg.index})

    def run_died(self, run: SagaRun, reason: ExitReason) -> None:
        """A run's actor died before its end was recorded: rebuild it, or give up after ``max_deaths``."""
        host = self.host
        run.done = True
        if host.book.live.get(run.run_id) is run:
            del host.book.live[run.run_id]
        host.run_timers.cancel_all(lambda key: key[0] == run.run_id)
        self.lost(run.run_id, run.saga, reason)

    def lost(self, cid: str, saga: str, reason: ExitReason) -> None:
        """Run ``cid``'s actor (or its single-run host) died: rebuild it, give up, or end it ``stuck``."""
        host = self.host
        if host.cfg.launch is not None:
            raise RuntimeError(f"the run died: {reason.error_type}: {reason.detail}")  # the parent rebuilds it
        if not host.durable:
            out = operator_outcome(cid, saga, "saga_actor_died", f"{reason.kind}: {reason.detail or ''}", time.time())
            host.run_over(out.model_copy(update={"status": "stuck"}))
            return
        deaths = host.book.died(cid)
        if deaths >= host.cfg.max_deaths:
            self._mark_needs_operator(
                cid,
                saga,
                "saga_actor_died",
                f"its actor died {deaths} times (last: {reason.kind} {reason.detail or ''})",
            )
            return
        _log.warning("the actor of run %s died (%s); rebuilding it from the journal", cid, reason.kind)
        host.respawn.append((cid, saga))

    def _mark_needs_operator(self, cid: str, saga: str, code: str, message: str) -> None:
        host = self.host
        _log.warning("run %s needs an operator: %s: %s", cid, code, message)
        out = operator_outcome(cid, saga, code, message, time.time())
        host.journal.add(Finish(cid, "needs_operator", out))
        host.run_over(out)
