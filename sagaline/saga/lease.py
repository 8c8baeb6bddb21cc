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

**Spreading partitions** over daemons (:func:`claim_in`): a daemon takes
at most its ``share`` of the partitions while they are free (the first
free ones in partition order), so a second daemon finds the rest free;
a partition beyond its share it takes over as soon as another daemon's
lease on it has expired (a dead or stopped daemon), and a never-held one
only once ``settle_s`` passed since its host started (nobody else came).
An owner's name (:func:`owner_name`) carries its daemon's name and the
host's address, so a host that does not own a partition can forward a
request to the one that does.

**A lost daemon's leases** (:func:`leases_of`): when the convention's
leader hears that a member is gone, it expires the member's live leases at
once (each only if its owner and token are still as read), so the other
daemons' standbys take those partitions at their next claim instead of
waiting out the lease. The fencing token keeps this safe when the member
was only cut off: a takeover raises the token and its later writes are
refused; a renewal that comes first keeps the lease, and nothing is lost.

Time is the hosts' wall clock (``time.time()``): hosts sharing a journal
need clocks in step (NTP) to well under the lease time; a lease time of
seconds tolerates the usual tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Lease",
    "Claim",
    "claim",
    "may_write",
    "renew_every",
    "partition_resource",
    "claim_in",
    "owner_name",
    "owner_member",
    "owner_endpoint",
    "other_counts",
    "leases_of",
]

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


def claim_in(
    resource: str,
    resources: list[str],
    leases: dict[str, Lease],
    me: str,
    share: int | None,
    now: float,
    started_at: float,
    settle_s: float,
) -> float | None:
    """Seconds until host ``me`` may claim ``resource`` (0: now; None: never), given every stored lease.

    Args:
        resource: the partition this host would hold.
        resources: every partition's resource, in partition order.
        leases: the stored leases by resource.
        me: this host's owner name (:func:`owner_name`).
        share: partitions this host's daemon takes while they are free; None: all; 0: never any.
        started_at: when this host started (never-held partitions beyond the share wait for ``settle_s``).
    """
    stored = leases.get(resource)
    if stored is not None and stored.owner == me:
        return 0.0
    if stored is not None and stored.live(now):
        return stored.expires_at - now
    if share is None:
        return 0.0
    if share == 0:
        return None
    member = owner_member(me)
    mine = sum(1 for lease in leases.values() if lease.live(now) and owner_member(lease.owner) == member)
    free = [r for r in resources if not (r in leases and leases[r].live(now))]
    if resource in free[: max(0, share - mine)] or stored is not None:
        return 0.0  # within the share, or another daemon's expired lease: take it over
    return max(0.0, started_at + settle_s - now)


def owner_name(member: str, index: int, nonce: str, endpoint: tuple[str, int] | None) -> str:
    """A host's owner name: ``<member>/h<index>/<nonce>@<ip>:<port>`` (no ``@...`` without an endpoint)."""
    base = f"{member}/h{index}/{nonce}"
    return base if endpoint is None else f"{base}@{endpoint[0]}:{endpoint[1]}"


def owner_member(owner: str) -> str:
    """The daemon part of an owner name (the whole name for one not made by :func:`owner_name`)."""
    return owner.partition("/")[0]


def owner_endpoint(owner: str) -> tuple[str, int] | None:
    """The host address in an owner name, or None."""
    _, at, tail = owner.rpartition("@")
    host, colon, port = tail.rpartition(":")
    if not at or not colon or not port.isdigit():
        return None
    return host, int(port)


def other_counts(count: int, leases: list[Lease], now: float) -> set[int]:
    """Partition counts of live leases other than ``count``: daemons sharing the journal with another
    ``runs.hosts`` would run the same runs under two partitionings, so a host that finds any never claims."""
    found = set()
    for lease in leases:
        head, _, tail = lease.resource.rpartition("/")
        if head.startswith("partition:") and tail.isdigit() and int(tail) != count and lease.live(now):
            found.add(int(tail))
    return found


def leases_of(member: str, leases: list[Lease], now: float) -> list[Lease]:
    """The live leases held by hosts of daemon ``member`` (:func:`owner_member` of their owners): what the
    convention's leader expires when it hears that daemon is lost. An empty ``member`` matches none."""
    if not member:
        return []
    return [lease for lease in leases if lease.live(now) and owner_member(lease.owner) == member]
