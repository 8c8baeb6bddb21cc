"""A saga host's hold on its partition when daemons share a journal: the shell around :mod:`sagaline.saga.lease`.

With ``lease_s`` set, a partition host (``host:<i>``) owns its partition
only while it holds the lease ``partition:<i>/<count>`` in the journal. It
claims it at start: granted, it recovers the partition's unfinished runs
and renews every third of the lease; refused (another daemon's host holds
it), it stands by, refuses starts (``unavailable``) and claims again as the
lease nears expiry, then takes the partition over and recovers its runs
from the journal. Every group commit carries the lease as its fence
(:attr:`~sagaline.storage.journal_sqlite.SqliteJournal.fence`): a host that
lost its lease has its next write refused (``fenced``) and, as when a
renewal finds the lease taken (:class:`LeaseLost`), it crashes, so its
supervisor restarts it as a standby with nothing in memory. A host that
stops cleanly releases its lease (it expires at once, the token kept), so
a standby, which looks at least every :data:`STANDBY_POLL_S`, takes over
without waiting out the lease.

Over a convention (:mod:`sagaline.daemon.cluster`) each host claims only
when :func:`~sagaline.saga.lease.claim_in` says so (its daemon's share of
the free partitions, a takeover, or after the settle time), and a host
that does not hold its partition forwards requests to the holder's host,
whose address is in the holder's owner name (:meth:`PartitionLease.holder_address`).
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from sagaline.errors import SagalineError
from sagaline.saga.lease import (
    Lease,
    claim_in,
    other_counts,
    owner_endpoint,
    owner_name,
    partition_resource,
    renew_every,
)

__all__ = ["PartitionLease", "LeaseLost", "STANDBY_POLL_S"]

#: The shortest wait between two claims (a lease about to expire is not polled in a busy loop).
_MIN_RETRY_S = 0.05
#: The longest a standby waits between two looks at the holder's lease: a lease released by a clean
#: stop is taken over within this, whatever the lease time (one indexed read per host and second).
STANDBY_POLL_S = 1.0


class LeaseLost(SagalineError):
    """Raised in a saga host whose renewal found its partition's lease held by another host.

    The host crashes on purpose (its runs may be recovered elsewhere now);
    its supervisor restarts it, and the new host stands by. Nobody catches it.
    """


class PartitionLease:
    """One host's claim on one partition: held or not, and when to claim next."""

    def __init__(
        self,
        store: Any,
        index: int,
        count: int,
        duration: float,
        *,
        member: str = "",
        endpoint: tuple[str, int] | None = None,
        share: int | None = None,
        settle_s: float = 30.0,
        now: float = 0.0,
    ) -> None:
        self.store = store
        """The journal (its ``claim`` writes the lease, its ``fence`` guards every write)."""
        self.resource = partition_resource(index, count)
        self.resources = [partition_resource(i, count) for i in range(count)]
        self.count = count
        self.mismatch: set[int] = set()
        """Other partition counts found in the journal's live leases (then this host never claims)."""
        self.duration = duration
        self.owner = owner_name(
            member or f"{socket.gethostname()}:{os.getpid()}", index, uuid.uuid4().hex[:8], endpoint
        )
        """This host's unique name in the lease table (its daemon, partition, and address)."""
        self.share, self.settle_s, self.started_at = share, settle_s, now
        self.wait: float | None = 0.0
        """Seconds until the next claim may be granted, as :func:`claim_in` last said (None: never)."""
        self.held: Lease | None = None
        """The lease while this host holds it."""
        self.holder: Lease | None = None
        """Another host's lease, while this one stands by."""

    def hold(self, now: float) -> bool:
        """Claim (or renew) the lease; True when this host holds it now.

        Raises:
            LeaseLost: this host held the lease and another host took it over.
            StorageError: the journal could not be read or written.
        """
        if self.held is None:
            stored = self.store.leases()
            self.mismatch = other_counts(self.count, stored, now)
            if self.mismatch:
                self.holder, self.wait = None, None
                return False
        if self.held is None and self.share is not None:
            leases = {lease.resource: lease for lease in stored}
            self.wait = claim_in(
                self.resource, self.resources, leases, self.owner, self.share, now, self.started_at, self.settle_s
            )
            if self.wait != 0.0:
                self.holder = leases.get(self.resource)
                return False
        out = self.store.claim(self.resource, self.owner, now, self.duration)
        if out.granted:
            self.held, self.holder = out.lease, None
            self.store.fence = out.lease
            return True
        if self.held is not None:
            raise LeaseLost(f"{self.owner} lost {self.resource} to {out.lease.owner} (token {out.lease.token})")
        self.holder = out.lease
        return False

    def release(self) -> None:
        """Give the lease up (a clean stop), so a standby need not wait for it to expire."""
        if self.held is not None:
            self.store.release(self.held)
            self.held = None

    def next_claim_in(self, now: float) -> float:
        """Seconds until the next claim: a renewal, or a try to take over as the holder's lease ends."""
        every = renew_every(self.duration)
        if self.held is not None:
            return every
        if self.holder is None or not self.holder.live(now):  # free: claimable within the share or after settling
            return max(_MIN_RETRY_S, min(every, STANDBY_POLL_S, self.wait if self.wait is not None else every))
        return max(_MIN_RETRY_S, min(every, STANDBY_POLL_S, self.holder.expires_at - now))

    def holder_address(self, now: float) -> tuple[str, int] | None:
        """The live holder's host address (to forward a request to), or None; read again from the
        journal when the one last seen is gone (another daemon took the partition since the last claim).

        Raises:
            StorageError: the journal could not be read.
        """
        if self.held is not None:
            return None
        if self.holder is None or not self.holder.live(now):
            self.holder = self.store.lease(self.resource)
        if self.holder is None or not self.holder.live(now):
            return None
        return owner_endpoint(self.holder.owner)

    def refusal(self) -> str:
        """Why a start is refused while standing by."""
        if self.mismatch:
            return (
                f"this daemon has {self.count} saga-host partitions but the journal's live leases are of "
                f"{', '.join(map(str, sorted(self.mismatch)))}: every daemon sharing a journal must use the same "
                "runs.hosts; this daemon's hosts take no partition"
            )
        holder = self.holder.owner if self.holder is not None else "another host"
        return (
            f"{holder} owns {self.resource} (this daemon's host stands by until its lease expires); "
            "start the run through that daemon, or retry"
        )
