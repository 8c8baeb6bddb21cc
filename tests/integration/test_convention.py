"""Three daemons in one convention on one PostgreSQL journal, each bound to its own loopback address: a
leader running the domains, two members running the saga hosts, each taking its share of the partitions.
Runs started through one member spread over both (a start for the other's partition is forwarded to its
host); SIGKILL that other member while its runs wait on a slow domain, and the survivor takes its
partitions over within twice the lease and finishes every run, each effect applied once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from sagaline.client import Client
from sagaline.runtime.procs import kill_all
from sagaline.saga.lease import owner_member
from sagaline.saga.placement import partition_of
from sagaline.testing.daemon import CliRunner, DaemonProcess, DaemonStartFailed
from tests.integration.conftest import Databases
from tests.integration.convention_support import convention_config, member
from tests.integration.crash.support import MARKER, SAGA, JournalView, effect_counts, keys_applied_more_than_once, sweep
from tests.support.tree import wait_until

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(300)]
LEASE_S = 2.0
PARTITIONS = 4
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
DOMAINS = ["gate", "block", "link"]


def _config(url: str, bind: str = "127.0.0.1", **cluster: object) -> dict:
    return convention_config(url, bind, partitions=PARTITIONS, lease_s=LEASE_S, **cluster)


def _owners(journal: JournalView) -> dict[str, str]:
    return {resource: owner_member(owner) for resource, owner in journal.rows("SELECT resource, owner FROM leases")}


def test_runs_spread_over_two_members_and_a_killed_members_runs_finish_on_the_other(tmp_path: Path, postgres_url):
    marker = str(uuid.uuid4())
    env = {MARKER: marker}
    journal, db = JournalView(tmp_path, postgres_url), Databases(tmp_path, postgres_url)
    # Three loopback addresses: each daemon's listeners on its own, as on three machines (no --allow-remote
    # needed inside 127.0.0.0/8).
    leader_config = _config(postgres_url, "127.0.0.2", capabilities={"saga_host": False, "domains": DOMAINS})
    leader_config["faults"] = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.25}]}
    leader = DaemonProcess(tmp_path / "leader", leader_config, env=env)
    members: list[DaemonProcess] = []
    client = None
    try:
        leader.start()
        # a on 127.0.0.1: this test process joins it (a process's Thespian endpoint binds one address)
        for name, bind in (("a", "127.0.0.1"), ("b", "127.0.0.3")):
            config = _config(
                postgres_url,
                bind,
                settle_s=600.0,
                capabilities={"saga_host": True, "cores": PARTITIONS // 2, "domains": []},
            )
            members.append(member(tmp_path / name, leader, config, env=env).start())
        a, b = members
        owners = wait_until(lambda: len(o := _owners(journal)) == PARTITIONS and o, timeout=30)
        names = {f"{os.uname().nodename}:{m.admin_port}": m for m in members}
        assert set(owners.values()) == set(names), owners  # each member took its share: two partitions each
        cli = CliRunner(leader)
        seen = cli.json("members")
        from_a = cli.json("members", "--host", "127.0.0.1", "--admin-port", str(a.admin_port))
        human = cli("members")
        client = Client(leader.data_dir, address=f"127.0.0.1:{a.admin_port}")
        started = [client.start(SAGA, {"email": f"u{i}@example.com"}).correlation_id for i in range(8)]
        on = {cid: names[owners[f"partition:{partition_of(cid, PARTITIONS)}/{PARTITIONS}"]] for cid in started}
        assert {id(m) for m in on.values()} == {id(a), id(b)}  # runs on both members' hosts
        time.sleep(0.3)  # b's runs wait on the slow block domain
        b_name = next(n for n, m in names.items() if m is b)
        os.kill(b.process.pid, signal.SIGKILL)
        kill_all(b.info.tag)
        killed_at = time.monotonic()
        after = wait_until(
            lambda: (o := _owners(journal)) and b_name not in o.values() and o, timeout=4 * LEASE_S, interval=0.02
        )
        took_over_s = time.monotonic() - killed_at
        outcomes = {cid: client.wait(cid, timeout=90).status for cid in started}
    finally:
        if client is not None:
            client.close()
        for daemon in [*members, leader]:
            daemon.stop(timeout=30)
        sweep(marker)
    assert seen["self"]["role"] == "leader" and from_a["self"]["role"] == "member"
    assert sorted(m["role"] for m in seen["members"]) == ["member", "member"]
    assert [(m["role"], m["capabilities"]["domains"]) for m in from_a["members"]] == [("leader", DOMAINS)]
    assert {m["capabilities"]["cores"] for m in seen["members"]} == {PARTITIONS // 2}
    assert {row["resource"]: row["member"] for row in seen["leases"]} == owners
    assert {row["host"].partition(":")[0] for row in seen["leases"]} == {"127.0.0.1", "127.0.0.3"}
    assert human.exit_code == 0 and "PARTITION" in human.stdout and "member" in human.stdout
    print(f"the dead member's partitions were taken over in {took_over_s:.2f} s (lease {LEASE_S} s)")
    assert took_over_s <= 2 * LEASE_S, f"took {took_over_s:.2f} s for a {LEASE_S} s lease"
    assert set(after.values()) == {next(n for n, m in names.items() if m is a)}
    assert set(outcomes.values()) == {"completed"}, outcomes
    assert all(effect_counts(db, cid) == EVERYTHING for cid in started)
    assert keys_applied_more_than_once(db) == {}
    assert journal.rows("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL") == [(0,)]


def test_a_member_declaring_a_domain_the_leader_runs_or_lacking_the_secret_is_refused(tmp_path: Path, postgres_url):
    leader = DaemonProcess(tmp_path / "leader", _config(postgres_url, capabilities={"domains": DOMAINS}))
    conflict = no_secret = None
    try:
        leader.start()
        join = f"127.0.0.1:{leader.admin_port}"
        twice = _config(postgres_url, join=join, capabilities={"domains": ["gate"]})
        twice["security"] = {"secret_file": str(leader.data_dir / "secret.key")}
        conflict = DaemonProcess(tmp_path / "twice", twice)
        with pytest.raises(DaemonStartFailed) as refused:
            conflict.start(timeout=60)
        no_secret = DaemonProcess(tmp_path / "stranger", _config(postgres_url, join=join))
        with pytest.raises(DaemonStartFailed) as stranger:
            no_secret.start(timeout=60)
    finally:
        for daemon in (leader, conflict, no_secret):
            if daemon is not None:
                daemon.stop(timeout=30)
    assert conflict.process.returncode == 2 and "domain:gate already run(s) in the convention" in str(refused.value)
    assert no_secret.process.returncode == 2 and "no installation secret" in str(stranger.value)
    assert not conflict.result.leftovers and not no_secret.result.leftovers
