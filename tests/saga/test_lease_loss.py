"""A lost daemon's leases, decided purely: which the convention's leader expires (:func:`leases_of`), and
what expiring them at once means for the survivors' claims and for the lost owner's later writes."""

from __future__ import annotations

from dataclasses import replace

from sagaline.saga.lease import Lease, claim, claim_in, leases_of, may_write, owner_name, partition_resource

NOW = 100.0
RESOURCES = [partition_resource(i, 4) for i in range(4)]
A, B = "host-a:7721", "host-b:7722"


def _owner(member: str, index: int) -> str:
    return owner_name(member, index, "n0", ("127.0.0.1", 9000 + index))


def _leases(lease_s: float = 20.0) -> dict[str, Lease]:
    """Partitions 0 and 1 held by A's hosts, 2 and 3 by B's, all live for ``lease_s`` more seconds."""
    return {r: Lease(r, _owner(A if i < 2 else B, i), NOW + lease_s, 3) for i, r in enumerate(RESOURCES)}


def test_the_leases_of_a_lost_member_are_its_hosts_live_leases_and_no_others():
    leases = _leases()
    assert leases_of(B, list(leases.values()), NOW) == [leases[RESOURCES[2]], leases[RESOURCES[3]]]


def test_a_member_whose_name_only_prefixes_another_ones_loses_nothing_of_the_other():
    held = Lease(RESOURCES[0], _owner("host-a:77", 0), NOW + 5, 1)
    assert leases_of("host-a:7", [held], NOW) == []
    assert leases_of("host-a:77", [held], NOW) == [held]


def test_leases_already_expired_are_left_as_they_are():
    old = Lease(RESOURCES[0], _owner(B, 0), NOW, 2)
    assert leases_of(B, [old], NOW) == []
    assert leases_of(B, [old], NOW - 0.001) == [old]


def test_an_unknown_member_name_matches_nothing():
    leases = list(_leases().values())
    assert leases_of("", leases, NOW) == []
    assert leases_of("elsewhere:1", leases, NOW) == []


def test_once_expired_a_lost_members_partitions_are_claimable_by_a_survivor_at_once_not_after_the_lease():
    leases = _leases(lease_s=20.0)
    survivor = _owner(A, 2)  # A's standby host for partition 2
    before = claim_in(RESOURCES[2], RESOURCES, leases, survivor, share=2, now=NOW, started_at=0.0, settle_s=600.0)
    assert before == 20.0
    expired = {
        **leases,
        **{lease.resource: replace(lease, expires_at=NOW) for lease in leases_of(B, list(leases.values()), NOW)},
    }
    now = NOW + 0.5
    assert claim_in(RESOURCES[2], RESOURCES, expired, survivor, share=2, now=now, started_at=0.0, settle_s=600.0) == 0.0
    taken = claim(expired[RESOURCES[2]], RESOURCES[2], survivor, now, 20.0)
    assert (taken.outcome, taken.lease.token) == ("stolen", 4)


def test_a_member_only_cut_off_cannot_write_after_the_takeover_but_keeps_its_lease_if_it_renews_first():
    held = _leases()[RESOURCES[2]]
    expired = replace(held, expires_at=NOW)
    renewed = claim(expired, held.resource, held.owner, NOW + 0.1, 20.0)
    assert renewed.outcome == "renewed" and may_write(renewed.lease, held.owner, held.token)
    stolen = claim(expired, held.resource, _owner(A, 2), NOW + 0.1, 20.0)
    assert not may_write(stolen.lease, held.owner, held.token)
    assert claim(stolen.lease, held.resource, held.owner, NOW + 0.2, 20.0).outcome == "refused"
