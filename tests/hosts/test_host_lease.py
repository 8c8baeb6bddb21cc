"""A saga host's partition lease, on a journal double: holding sets the write fence, standing by polls
the holder's lease, losing a held lease is a crash, and a release lets the lease go at once."""

from __future__ import annotations

import pytest

from sagaline.hosts.host_lease import STANDBY_POLL_S, LeaseLost, PartitionLease
from sagaline.saga.lease import Lease, claim


class Journal:
    """Keeps leases in a dict, deciding claims with the pure rules (the SQL store's behaviour)."""

    def __init__(self) -> None:
        self.table: dict[str, Lease] = {}
        self.fence: Lease | None = None

    def claim(self, resource, owner, now, duration):
        out = claim(self.table.get(resource), resource, owner, now, duration)
        self.table[resource] = out.lease
        return out

    def release(self, lease):
        self.table[lease.resource] = Lease(lease.resource, lease.owner, 0.0, lease.token)
        return True

    def leases(self):
        return list(self.table.values())


def test_a_granted_claim_fences_the_journals_writes_and_renews_every_third_of_the_lease():
    journal = Journal()
    lease = PartitionLease(journal, 0, 2, 6.0)
    assert lease.hold(100.0) and journal.fence == lease.held == Lease("partition:0/2", lease.owner, 106.0, 1)
    assert lease.next_claim_in(100.0) == 2.0


def test_a_standby_is_refused_says_who_holds_it_and_looks_again_soon_or_as_the_lease_ends():
    journal = Journal()
    first, second = PartitionLease(journal, 0, 2, 6.0), PartitionLease(journal, 0, 2, 6.0)
    first.hold(100.0)
    assert not second.hold(101.0) and journal.fence.owner == first.owner
    assert first.owner in second.refusal()
    assert second.next_claim_in(101.0) == STANDBY_POLL_S
    assert second.next_claim_in(105.8) == pytest.approx(0.2)
    assert second.hold(106.0) and second.held.token == 2


def test_a_host_that_held_the_lease_and_finds_it_taken_crashes():
    journal = Journal()
    first, second = PartitionLease(journal, 1, 2, 3.0), PartitionLease(journal, 1, 2, 3.0)
    first.hold(100.0)
    second.hold(104.0)  # first paused past its expiry
    with pytest.raises(LeaseLost, match="lost partition:1/2"):
        first.hold(104.5)


def test_a_released_lease_is_taken_over_at_once():
    journal = Journal()
    first, second = PartitionLease(journal, 0, 1, 60.0), PartitionLease(journal, 0, 1, 60.0)
    first.hold(100.0)
    first.release()
    assert first.held is None and second.hold(100.5) and second.held.token == 2
