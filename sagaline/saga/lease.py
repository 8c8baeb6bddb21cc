"""PURE. Leases: who owns a set of runs for now, and the fencing token that refuses a stale owner.

When several daemons share one journal (PostgreSQL), each saga host
partition (``partition:<index>/<count>``) is owned by one host at a time
through a :class:`Lease` kept in the journal: an owner, an expiry, and a
fencing token. The owner renews it well before it expires; when the owner
dies (or is cut off), the lease expires and another host takes it over,
recovering the partition's unfinished runs from the journal.

Decisions (:func:`claim`), given the lease as stored (or None) and ``now``:

=======================  ==========================  ===================================
stored lease             claimant                    outcome
=======================  ==========================  ===================================
none                     anyone                      ``acquired``: token 1
held by the claimant     (expired or not)            ``renewed``: new expiry, same token
held by another, live    anyone else                 ``refused``: the holder keeps it
held by another, expired anyone else                 ``stolen``: new owner, token + 1
=======================  ==========================  ===================================

The **fencing token** is what makes a late write harmless: every journal
write of an owner carries the token it was granted, and the write's own
transaction checks it against the stored lease (:func:`may_write`). An
owner that paused past its expiry (a long GC, a cut-off network) and was
replaced finds a higher token there and its write is refused, so it cannot
record anything over the new owner's runs. The token grows only when the
owner changes, so renewing never invalidates an owner's own writes.

Time is the hosts' wall clock (``time.time()``): hosts sharing a journal
need clocks in step (NTP) to well under the lease time; a lease time of
seconds tolerates the usual tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Lease", "Claim", "claim", "may_write", "renew_every", "partition_resource"]

Outcome = Literal["acquired", "renewed", "stolen", "refused"]


@dataclass(frozen=True)
class Lease:
    """Ownership of ``resource`` by ``owner`` until ``expires_at``, granted with fencing ``token``."""

    resource: str
    """What is leased (``partition:0/2``)."""
    owner: str
    """Who holds it (a host's unique name)."""
    expires_at: float
    """Wall-clock seconds after which another claimant may take it."""
    token: int
    """The fencing token: 1 for the first owner, one more at every change of owner."""

    def live(self, now: float) -> bool:
        """True until ``expires_at``."""
        return now < self.expires_at


@dataclass(frozen=True)
class Claim:
    """A claim's outcome and the lease after it (for ``refused``, the holder's)."""

    outcome: Outcome
    """``acquired``, ``renewed``, ``stolen`` or ``refused``."""
    lease: Lease
    """The lease as it stands after the claim."""

    @property
    def granted(self) -> bool:
        """True when the claimant holds the lease now."""
        return self.outcome != "refused"


def claim(current: Lease | None, resource: str, claimant: str, now: float, duration: float) -> Claim:
    """Decide a claim of ``resource`` by ``claimant`` at ``now`` for ``duration`` seconds (see the table).

    Raises:
        ValueError: ``duration`` is not positive, or ``current`` is another resource's lease.
    """
    if duration <= 0:
        raise ValueError(f"a lease lasts a positive time, not {duration}")
    if current is None:
        return Claim("acquired", Lease(resource, claimant, now + duration, 1))
    if current.resource != resource:
        raise ValueError(f"lease of {current.resource!r} given for {resource!r}")
    if current.owner == claimant:
        return Claim("renewed", Lease(resource, claimant, max(current.expires_at, now + duration), current.token))
    if current.live(now):
        return Claim("refused", current)
    return Claim("stolen", Lease(resource, claimant, now + duration, current.token + 1))


def may_write(current: Lease | None, owner: str, token: int) -> bool:
    """True when ``owner``, granted ``token``, still holds the lease as stored (its write may commit).

    An expired lease nobody took over still lets its owner write: no one
    else can have written over its runs.
    """
    return current is not None and current.owner == owner and current.token == token


def renew_every(duration: float) -> float:
    """How often an owner renews: a third of the lease, so two renewals may fail before it expires."""
    return duration / 3


def partition_resource(index: int, count: int) -> str:
    """The lease name of saga-host partition ``index`` of ``count`` (daemons sharing a journal agree on ``count``)."""
    return f"partition:{index}/{count}"
