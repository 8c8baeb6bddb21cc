"""The pure parts of a convention: placement by capabilities, partition shares, the registry mirror plan."""

from __future__ import annotations

import pytest

from sagaline.daemon.cluster import (
    DEFAULT_HEARTBEAT_S,
    Capabilities,
    ClusterSettings,
    parse_join,
    place,
    thespian_capabilities,
)
from sagaline.daemon.mirror import mirror_plan
from sagaline.saga.lease import Lease, claim_in, owner_endpoint, owner_member, owner_name, partition_resource

APP = {"gate": None, "block": None, "bridge": "trainer"}
PARTS = [partition_resource(i, 4) for i in range(4)]


def test_the_leader_runs_the_bus_and_every_domain_a_member_only_what_it_declares():
    leader = place(Capabilities(), "leader", APP)
    member = place(Capabilities(), "member", APP)
    assert leader.flow and leader.domains == ("gate", "block", "bridge") and leader.share is None
    assert not member.flow and member.domains == () and member.share is None


def test_a_member_declaring_domains_runs_them_once_and_a_trainer_domain_needs_the_trainer_capability():
    assert place(Capabilities(domains=["block"], cores=2), "member", APP).domains == ("block",)
    assert place(Capabilities(domains=["bridge"], trainer=True), "member", APP).domains == ("bridge",)
    with pytest.raises(ValueError, match="trainer"):
        place(Capabilities(domains=["bridge"]), "member", APP)
    with pytest.raises(ValueError, match="no domain"):
        place(Capabilities(domains=["nope"]), "member", APP)
    assert place(Capabilities(trainer=False), "leader", APP).domains == ("gate", "block")


def test_a_daemon_without_saga_host_takes_no_partition():
    assert place(Capabilities(saga_host=False, cores=3), "leader", APP).share == 0


def test_join_is_host_and_port_and_a_member_declares_its_capabilities_to_thespian():
    assert parse_join("10.0.0.5:7720") == ("10.0.0.5", 7720)
    for bad in ("10.0.0.5", ":7720", "h:0", "h:x"):
        with pytest.raises(ValueError):
            parse_join(bad)
    caps = thespian_capabilities(ClusterSettings(join="127.0.0.1:7720", capabilities=Capabilities(cores=2)))
    assert caps["Convention Address.IPv4"] == "127.0.0.1:7720" and caps["sagaline.cores"] == 2
    assert caps["sagaline.role"] == "member"
    assert "Convention Address.IPv4" not in thespian_capabilities(ClusterSettings())


def _lease(i: int, member: str, expires: float, token: int = 1) -> Lease:
    return Lease(PARTS[i], owner_name(member, i, "n", ("127.0.0.1", 4000 + i)), expires, token)


def test_a_daemon_takes_its_share_of_the_free_partitions_in_order_and_leaves_the_rest_until_settled():
    me = owner_name("a:1", 0, "x", None)
    assert claim_in(PARTS[0], PARTS, {}, me, 2, now=10, started_at=10, settle_s=30) == 0
    assert claim_in(PARTS[1], PARTS, {}, owner_name("a:1", 1, "y", None), 2, 10, 10, 30) == 0
    held = {PARTS[0]: _lease(0, "a:1", 50), PARTS[1]: _lease(1, "a:1", 50)}
    assert claim_in(PARTS[2], PARTS, held, owner_name("a:1", 2, "z", None), 2, 12, 10, 30) == 28
    assert claim_in(PARTS[2], PARTS, held, owner_name("b:2", 2, "w", None), 2, 12, 10, 30) == 0


def test_another_daemons_live_lease_is_waited_for_and_an_expired_one_taken_over_whatever_the_share():
    leases = {PARTS[2]: _lease(2, "b:2", 20)}
    me = owner_name("a:1", 2, "x", None)
    assert claim_in(PARTS[2], PARTS, leases, me, 0 + 1, now=15, started_at=0, settle_s=30) == 5
    full = {**leases, PARTS[0]: _lease(0, "a:1", 99)}
    assert claim_in(PARTS[2], PARTS, full, me, 1, now=21, started_at=21, settle_s=30) == 0
    assert claim_in(PARTS[2], PARTS, full, me, 0, now=21, started_at=21, settle_s=30) is None
    assert claim_in(PARTS[2], PARTS, full, me, None, now=15, started_at=0, settle_s=30) == 5


def test_an_owner_name_carries_its_daemon_and_its_hosts_address():
    name = owner_name("vm:7720", 3, "ab", ("127.0.0.1", 4567))
    assert owner_member(name) == "vm:7720" and owner_endpoint(name) == ("127.0.0.1", 4567)
    assert owner_endpoint(owner_name("vm:7720", 3, "ab", None)) is None and owner_endpoint("host:12:ab") is None


def test_the_mirror_copies_missing_entries_replaces_stale_copies_and_reports_a_domain_running_twice():
    plan = mirror_plan({"domain:gate": "g1", "domain:flow": "f1"}, {"domain:gate": "g1"}, {})
    assert plan.register == {"domain:flow": "f1"} and plan.unregister == {} and plan.conflicts == ()
    moved = mirror_plan(
        {"domain:gate": "g2"}, {"domain:gate": "g1", "domain:old": "o"}, {"domain:gate": "g1", "domain:old": "o"}
    )
    assert moved.unregister == {"domain:gate": "g1", "domain:old": "o"} and moved.register == {"domain:gate": "g2"}
    assert mirror_plan({"domain:gate": "g2"}, {"domain:gate": "mine"}, {}).conflicts == ("domain:gate",)


def test_a_member_without_a_shared_postgresql_journal_and_leases_is_refused_with_one_clear_error():
    from sagaline.daemon.config import ConfigError, load_config

    with pytest.raises(ConfigError) as refused:
        load_config({"cluster.join": "127.0.0.1:7720"}, environ={})
    assert refused.value.field == "cluster.join"
    assert "storage.url and runs.lease_s" in str(refused.value) and "SQLite cannot be shared" in str(refused.value)
    with pytest.raises(ConfigError, match=r"runs\.lease_s"):
        load_config({"cluster.join": "127.0.0.1:7720", "storage.url": "postgresql://u@h/db"}, environ={})
    member = load_config(
        {"storage.url": "postgresql://u@h/db", "runs.lease_s": 2.0}, environ={"SAGALINE_JOIN": "127.0.0.1:7720"}
    )
    assert member.cluster.role == "member" and member.cluster.join == "127.0.0.1:7720"


def test_a_bad_join_address_is_a_config_error_naming_the_field():
    from sagaline.daemon.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"cluster\.join: join must be HOST:PORT"):
        load_config({"cluster.join": "nowhere"}, environ={})


class _Mirror:
    def __init__(self, fail: bool = False) -> None:
        self.next_sync, self.calls, self.fail = 0.0, [], fail

    def sync(self, timeout: float):
        self.calls.append(timeout)
        if self.fail:
            raise TimeoutError("the leader did not answer")
        return ()


def test_the_watch_loop_syncs_the_mirror_once_a_second_with_short_asks_and_backs_off_after_a_failure():
    from sagaline.daemon.member import RETRY_AFTER_S, SYNC_ASK_TIMEOUT_S, SYNC_EVERY_S, share_domains

    mirror = _Mirror()
    for now in (100.0, 100.25, 100.5, 100.0 + SYNC_EVERY_S):
        share_domains(mirror, now)
    assert mirror.calls == [SYNC_ASK_TIMEOUT_S, SYNC_ASK_TIMEOUT_S]
    failing = _Mirror(fail=True)
    share_domains(failing, 100.0)
    share_domains(failing, 100.0 + SYNC_EVERY_S)
    assert len(failing.calls) == 1 and failing.next_sync == 100.0 + RETRY_AFTER_S
    share_domains(None, 100.0)  # the leader keeps no mirror


def test_a_daemon_declares_its_member_name_and_heartbeat_to_thespian():
    caps = thespian_capabilities(ClusterSettings(join="127.0.0.1:7720", heartbeat_s=1.5), "host-b:7722")
    assert caps["sagaline.member"] == "host-b:7722" and caps["sagaline.heartbeat_s"] == 1.5
    assert ClusterSettings().heartbeat_s == DEFAULT_HEARTBEAT_S


def test_a_heartbeat_out_of_range_is_refused():
    for bad in (0, -1, 0.1, 443):
        with pytest.raises(ValueError):
            ClusterSettings(heartbeat_s=bad)
