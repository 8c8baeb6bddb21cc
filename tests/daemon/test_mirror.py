"""The registry mirror between a member's registry and its leader's, on real registry actors: a member's
domains live in the leader's registry while its syncs renew them, and go when it dies without a clean stop."""

from __future__ import annotations

import time

import pytest

from sagaline.daemon.mirror import RegistryMirror
from sagaline.registry.client import RegistryClient
from tests.support.tree import start_probe, start_registry, wait_until

pytestmark = pytest.mark.timeout(60)

TTL_S = 0.5


def test_a_members_domains_stay_in_the_leaders_registry_while_it_syncs_and_leave_within_the_ttl_after(actor_system):
    h = actor_system
    leader, member_a, member_b = (start_registry(h) for _ in range(3))
    gate, bus = start_probe(h), start_probe(h)
    RegistryClient(h, member_a).register("domain:gate", gate)
    RegistryClient(h, leader).register("domain:flow", bus)
    a, b = RegistryMirror(h, member_a, leader, ttl_s=TTL_S), RegistryMirror(h, member_b, leader, ttl_s=TTL_S)
    assert a.sync() == () and b.sync() == ()
    to_leader, to_b = RegistryClient(h, leader), RegistryClient(h, member_b)
    assert to_leader.whereis("domain:gate") == gate and to_b.whereis("domain:gate") == gate
    assert RegistryClient(h, member_a).whereis("domain:flow") == bus

    deadline = time.monotonic() + 3 * TTL_S
    while time.monotonic() < deadline:  # both members sync, as their watch loops do
        a.sync()
        b.sync()
        time.sleep(0.1)
    assert to_leader.whereis("domain:gate") == gate

    # member a stops syncing without taking its entries back (SIGKILLed): the leader drops them
    wait_until(lambda: to_leader.lookup("domain:gate") == [], timeout=5 * TTL_S)
    b.sync()  # and the other member, on its next sync, drops its copy
    assert to_b.lookup("domain:gate") == [] and to_b.whereis("domain:flow") == bus


def test_a_member_that_could_not_sync_for_longer_than_the_ttl_shares_its_domains_again(actor_system):
    h = actor_system
    leader, member = start_registry(h), start_registry(h)
    gate = start_probe(h)
    RegistryClient(h, member).register("domain:gate", gate)
    mirror = RegistryMirror(h, member, leader, ttl_s=TTL_S)
    mirror.sync()
    to_leader = RegistryClient(h, leader)
    wait_until(lambda: to_leader.lookup("domain:gate") == [], timeout=5 * TTL_S)

    assert mirror.sync() == ()

    assert to_leader.whereis("domain:gate") == gate
