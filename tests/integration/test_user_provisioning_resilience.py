"""UserProvisioning under stress: concurrency, a killed domain actor, telemetry."""

from __future__ import annotations

import os
import signal

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from sagaline.telemetry import Collector
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry
from tests.support.tree import children, wait_until

SAGA = "user_provisioning"


def _start_many(client, emails):
    return [client.start(SAGA, {"email": email}).correlation_id for email in emails]


def test_sixteen_concurrent_runs_all_complete_with_one_effect_each(make_tree):
    t = make_tree(hosts=2)
    ids = _start_many(t.client, [f"u{i}@example.com" for i in range(16)])
    outcomes = [t.client.wait(cid, timeout=60) for cid in ids]
    assert {o.status for o in outcomes} == {"completed"}
    assert t.db.effects() == {"users": 16, "live_tokens": 16, "vaults": 16, "memberships": 16}
    assert t.db.count("flow", "events", "name = ?", "user.onboarding.complete") == 16
    assert t.db.count("flow", "events", "name = ?", "reactor.saga.complete") == 16  # each run's announcement


@pytest.mark.multiproc
def test_a_killed_domain_actor_is_restarted_and_running_sagas_still_end_cleanly(multiproc_actor_system, tmp_path):
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import start_tree
    from tests.integration.conftest import Databases
    from thunderline.testing import tree_config

    # block answers slowly, so runs are in flight at block when it dies
    data = tmp_path / "data"
    tree = start_tree(
        multiproc_actor_system,
        tree_config(
            data,
            domain_config={"flow": {"mode": "raise"}},
            faults={"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.3}]},
        ),
    )
    client, db = SagaClient(multiproc_actor_system, tree.sagas), Databases(data)
    before = children(multiproc_actor_system, tree.root)["block"]
    ids = _start_many(client, [f"k{i}@example.com" for i in range(8)])
    wait_until(lambda: db.count("gate", "users") >= 2, timeout=20)
    os.kill(before.pid, signal.SIGKILL)
    after = wait_until(
        lambda: (
            (row := children(multiproc_actor_system, tree.root)["block"]).pid not in (None, before.pid)
            and row.status == "running"
            and row
        ),
        timeout=20,
    )
    assert after.restarts == before.restarts + 1
    entries = multiproc_actor_system.ask(tree.registry, Lookup(key="domain:block"), 5).entries
    assert entries and entries[0].holder == after.address
    outcomes = [client.wait(cid, timeout=90) for cid in ids]
    assert {o.status for o in outcomes} <= {"completed", "failed"}
    done = sum(o.status == "completed" for o in outcomes)
    # nothing orphaned: every user has a vault and a membership, every rolled-back run left nothing
    assert db.effects() == {"users": done, "live_tokens": done, "vaults": done, "memberships": done}
    users = {r[0] for r in db.rows("gate", "SELECT id FROM users")}
    assert users == {r[0] for r in db.rows("block", "SELECT user_id FROM vaults")}
    assert users == {r[0] for r in db.rows("link", "SELECT user_id FROM memberships")}


@pytest.mark.multiproc
def test_a_killed_saga_supervisor_is_restarted_its_runs_recover_and_no_name_outlives_them(
    multiproc_actor_system, tmp_path
):
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import start_tree
    from sagaline.hosts.saga_host import run_key
    from tests.integration.conftest import Databases
    from thunderline.testing import tree_config

    h, data = multiproc_actor_system, tmp_path / "data"
    tree = start_tree(
        h,
        tree_config(
            data,
            domain_config={"flow": {"mode": "raise"}},
            faults={"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.3}]},
        ),
    )
    db = Databases(data)
    before = children(h, tree.root)["sagas"]
    ids = _start_many(SagaClient(h, tree.sagas), [f"s{i}@example.com" for i in range(6)])
    wait_until(lambda: db.count("gate", "users") >= 2, timeout=20)
    os.kill(before.pid, signal.SIGKILL)
    after = wait_until(
        lambda: (
            (row := children(h, tree.root)["sagas"]).pid not in (None, before.pid) and row.status == "running" and row
        ),
        timeout=20,
    )
    client = SagaClient(h, after.address)
    outcomes = [client.wait(cid, timeout=90) for cid in ids]  # the new supervisor recovered them
    assert [o.status for o in outcomes] == ["completed"] * 6
    assert db.effects() == {"users": 6, "live_tokens": 6, "vaults": 6, "memberships": 6}
    for cid in ids:  # every run ended, so no name may still point at a saga actor
        wait_until(lambda cid=cid: not h.ask(tree.registry, Lookup(key=run_key(cid)), 5).entries, timeout=10)


def test_telemetry_reports_saga_and_step_lifecycles_with_the_reference_names(simple_actor_system, tmp_path):
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import start_tree
    from thunderline.testing import tree_config

    collector = Collector()
    telemetry.attach_many("test-collector", tn.ALL_EVENTS, collector)
    try:
        tree = start_tree(
            simple_actor_system, tree_config(tmp_path / "d", faults={"link": [{"command": "JoinCommunity"}]})
        )
        client = SagaClient(simple_actor_system, tree.sagas)
        ok = client.run(SAGA, {"email": "ok@example.com"}, correlation_id=uuid7())
    finally:
        telemetry.detach("test-collector")
    assert ok.status == "failed"
    names = collector.names()
    assert names.count(tn.SAGA_START) == 1 and names.count(tn.SAGA_FAIL) == 1
    steps = [md["step"] for _, md in collector.named(tn.STEP_START)]
    assert steps[:4] == ["validate_email", "generate_token", "send_magic_link", "create_user"]
    assert {md["step"] for _, md in collector.named(tn.STEP_EXCEPTION)} == {"create_default_community"}
    undone = [md["step"] for _, md in collector.named(tn.UNDO)]
    assert undone == ["provision_vault", "create_user", "generate_token"]
    assert all(
        md["correlation_id"] == ok.correlation_id and md["saga"] == SAGA for _, md in collector.named(tn.STEP_START)
    )
    assert all(m["duration"] >= 0 for m, _ in collector.named(tn.STEP_STOP))
    domain_spans = collector.named(tn.DOMAIN_COMMAND + ("stop",))
    assert domain_spans and all(
        md["traceparent"].split("-")[1] == ok.correlation_id.replace("-", "") for _, md in domain_spans
    )
