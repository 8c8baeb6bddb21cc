"""Hosts of several daemons on one journal: a share of the free partitions, and requests forwarded to the
holder's host (on a journal double, no actors)."""

from __future__ import annotations

import time

from sagaline.hosts.host_forward import forward_on
from sagaline.hosts.host_lease import PartitionLease
from sagaline.messages.batch import Forwarded
from sagaline.messages.saga import RunStatus
from sagaline.runtime.addresses import tcp_endpoint
from sagaline.saga.lease import Lease, claim
from sagaline.storage.errors import StorageError

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


class SharedJournal:
    """Leases in a dict, claims decided by the pure rules, as the SQL store does."""

    def __init__(self) -> None:
        self.table: dict[str, Lease] = {}
        self.fence: Lease | None = None
        self.broken = False

    def claim(self, resource, owner, now, duration):
        out = claim(self.table.get(resource), resource, owner, now, duration)
        self.table[resource] = out.lease
        return out

    def leases(self):
        return list(self.table.values())

    def lease(self, resource):
        if self.broken:
            raise StorageError("the journal cannot be read", reason="io_error", path="journal", retryable=True)
        return self.table.get(resource)


def _host(journal, member: str, index: int, share: int | None, port: int, now: float = 100.0) -> PartitionLease:
    return PartitionLease(
        journal, index, 4, 6.0, member=member, endpoint=("127.0.0.1", port), share=share, settle_s=30.0, now=now
    )


def test_a_daemon_takes_its_share_of_free_partitions_and_the_next_daemon_the_rest():
    journal = SharedJournal()
    a = [_host(journal, "a:1", i, 2, 5000 + i) for i in range(4)]
    assert [h.hold(100.0) for h in a] == [True, True, False, False]
    assert a[2].next_claim_in(100.0) == 1.0  # it looks again within the standby poll
    b = [_host(journal, "b:2", i, 2, 6000 + i) for i in range(4)]
    assert [h.hold(101.0) for h in b] == [False, False, True, True]
    assert [h.hold(102.0) for h in a[2:]] == [False, False] and a[2].holder_address(102.0) == ("127.0.0.1", 6002)


def test_a_dead_daemons_partitions_are_taken_over_beyond_the_share_once_its_leases_expire():
    journal = SharedJournal()
    a = [_host(journal, "a:1", i, 2, 5000 + i) for i in range(4)]
    b = [_host(journal, "b:2", i, 2, 6000 + i) for i in range(4)]
    [h.hold(100.0) for h in a], [h.hold(100.0) for h in b]
    assert not a[3].hold(105.0) and a[3].holder_address(105.0) == ("127.0.0.1", 6003)
    assert a[3].hold(106.5) and journal.table["partition:3/4"].token == 2 and a[3].holder_address(106.5) is None


def _owner_and_standby(journal: SharedJournal) -> tuple[PartitionLease, PartitionLease]:
    now = time.time()  # forward_on reads the wall clock, as the host does
    owner, standby = _host(journal, "a:1", 0, None, 5000, now), _host(journal, "b:2", 0, None, 6000, now)
    assert owner.hold(now) and not standby.hold(now)
    return owner, standby


def test_a_host_that_does_not_hold_its_partition_forwards_to_the_holder_and_answers_itself_otherwise():
    owner, standby = _owner_and_standby(SharedJournal())
    sent: list = []
    post = lambda address, message: sent.append((address, message))  # noqa: E731
    request = RunStatus(correlation_id=CID)
    assert forward_on(standby, request, "requester", post, from_desk=False)
    ((address, message),) = sent
    assert tcp_endpoint(address) == ("127.0.0.1", 5000)
    assert isinstance(message, Forwarded) and message.request == request and message.reply_to == "requester"
    assert not forward_on(standby, request, "ticket", post, from_desk=True)
    assert not forward_on(owner, request, "requester", post, from_desk=False)
    assert not forward_on(None, request, "requester", post, from_desk=False)
    assert len(sent) == 1


def test_no_forward_once_the_holders_lease_ended_or_when_the_journal_cannot_be_read():
    journal = SharedJournal()
    _owner, standby = _owner_and_standby(journal)
    sent: list = []
    post = lambda address, message: sent.append(message)  # noqa: E731
    ended = journal.table["partition:0/4"]
    journal.table["partition:0/4"] = Lease(ended.resource, ended.owner, 0.0, ended.token)  # released
    standby.holder = journal.table["partition:0/4"]
    assert not forward_on(standby, RunStatus(correlation_id=CID), "r", post, from_desk=False)
    journal.broken = True
    assert not forward_on(standby, RunStatus(correlation_id=CID), "r", post, from_desk=False)
    assert sent == []


def test_a_daemon_with_another_partition_count_than_the_journals_live_leases_takes_none_and_says_why():
    journal = SharedJournal()
    assert _host(journal, "a:1", 0, None, 5000).hold(100.0)
    other = PartitionLease(journal, 0, 2, 6.0, member="b:2", endpoint=("127.0.0.1", 6000), now=100.0)
    assert not other.hold(101.0) and other.mismatch == {4} and "partition:0/2" not in journal.table
    assert "same runs.hosts" in other.refusal() and other.next_claim_in(101.0) == 1.0  # the standby poll
    assert other.hold(200.0) and journal.table["partition:0/2"].owner == other.owner  # the others' leases ended


def test_other_counts_sees_only_live_partition_leases_of_another_count():
    from sagaline.saga.lease import other_counts

    leases = [
        Lease("partition:0/4", "a", 10.0, 1),
        Lease("partition:1/2", "b", 10.0, 1),
        Lease("partition:0/3", "c", 1.0, 1),
        Lease("other:thing", "d", 10.0, 1),
    ]
    assert other_counts(4, leases, now=5.0) == {2} and other_counts(2, leases, now=5.0) == {4}
    assert other_counts(4, leases, now=20.0) == set()
