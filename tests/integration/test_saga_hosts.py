"""Saga hosts: many runs per host, each its own actor; crashes end one run; routing by correlation id."""

from __future__ import annotations

import pytest

from sagaline.client import SagaClient, SagaRefusedError
from sagaline.daemon.tree import TreeConfig, start_tree
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Count, Lookup, Select
from sagaline.messages.saga import GetHostStats
from sagaline.saga.placement import partition_of
from sagaline.supervisors.api import WhichChildren

APP = "tests.support.hosts_app:app"


@pytest.fixture
def crash_dir(tmp_path):
    path = tmp_path / "crashes"
    path.mkdir()
    return path


def _tree(handle, tmp_path, **options):
    config = TreeConfig(data_dir=tmp_path / "data", apps=(APP,), hosts=2, **options)
    tree = start_tree(handle, config)
    return tree, SagaClient(handle, tree.sagas)


def test_a_run_whose_code_crashes_is_rebuilt_from_the_journal_and_the_other_runs_never_notice(
    actor_system, tmp_path, crash_dir
):
    tree, client = _tree(actor_system, tmp_path)
    crashed, calm = uuid7(), [uuid7() for _ in range(6)]
    (crash_dir / crashed).write_text("2")  # it dies twice, then its step succeeds
    outcomes = [client.run("crashy", {"marker": str(crash_dir / crashed)}, correlation_id=crashed, timeout=30)]
    outcomes += [client.run("calm", {"label": cid}, correlation_id=cid, timeout=30) for cid in calm]
    assert [o.status for o in outcomes] == ["completed"] * 7
    assert outcomes[0].result == {"fragile": {"survived": True}}
    assert (crash_dir / crashed).read_text() == "0"
    hosts = {row.id: row for row in actor_system.ask(tree.sagas, WhichChildren(), 10).children}
    assert all(row.restarts == 0 for row in hosts.values())  # the host never died


def test_a_run_that_keeps_crashing_needs_an_operator_and_is_never_dropped(actor_system, tmp_path, crash_dir):
    _, client = _tree(actor_system, tmp_path)
    cid = uuid7()
    (crash_dir / cid).write_text("100")
    out = client.run("crashy", {"marker": str(crash_dir / cid)}, correlation_id=cid, timeout=30)
    assert out.status == "needs_operator" and out.error["code"] == "saga_actor_died"
    assert "died 3 times" in out.error["message"]


def test_a_correlation_id_names_one_run_a_second_saga_under_it_is_refused_naming_the_holder(actor_system, tmp_path):
    _, client = _tree(actor_system, tmp_path)
    cid = uuid7()
    first = client.run("calm", {"label": "x"}, correlation_id=cid, timeout=30)
    again = client.start("calm", {"label": "x"}, correlation_id=cid)
    with pytest.raises(SagaRefusedError) as refused:
        client.start("crashy", {"marker": "/nonexistent"}, correlation_id=cid)
    assert first.status == "completed" and again.existing and again.saga == "calm"
    assert refused.value.code == "correlation_id_taken" and "'calm'" in str(refused.value)


def test_requests_about_a_run_go_to_the_host_of_its_partition_and_its_registry_key_is_found_through_the_registry(
    actor_system, tmp_path
):
    tree, client = _tree(actor_system, tmp_path, isolation="hosted")
    ids = [uuid7() for _ in range(8)]
    for cid in ids:
        client.run("calm", {}, correlation_id=cid, timeout=30)
    hosts = {row.id: row for row in actor_system.ask(tree.sagas, WhichChildren(), 10).children}
    stats = {i: actor_system.ask(hosts[f"host:{i}"].address, GetHostStats(), 10) for i in range(2)}
    expected = [sum(partition_of(cid, 2) == i for cid in ids) for i in range(2)]
    assert [stats[i].writes for i in range(2)] == [3 * n for n in expected]  # begin, event, finish per run
    ended = actor_system.ask(tree.registry, Lookup(key=f"saga:{ids[0]}"), 10)
    assert ended.entries == ()  # a run's key dies with its run
    assert actor_system.ask(tree.registry, Count(key_prefix="saga:"), 10).count == 0
    assert actor_system.ask(tree.registry, Select(key_prefix="saga:"), 10).entries == ()


@pytest.mark.multiproc  # in-process, every ask runs the runs to their end: none stays in flight to look at
def test_a_running_run_is_registered_under_its_correlation_id_in_its_hosts_partition(multiproc_actor_system, tmp_path):
    from thunderline.testing import tree_config

    actor_system = multiproc_actor_system
    faults = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.5}]}
    tree = start_tree(actor_system, tree_config(tmp_path / "d", hosts=2, faults=faults))
    client = SagaClient(actor_system, tree.sagas)
    ids = [client.start("user_provisioning", {"email": f"r{i}@example.com"}).correlation_id for i in range(3)]
    entries = actor_system.ask(tree.registry, Select(key_prefix="saga:"), 10).entries
    found = actor_system.ask(tree.registry, Lookup(key=f"saga:{ids[0]}"), 10).entries
    count = actor_system.ask(tree.registry, Count(key_prefix="saga:"), 10).count
    outcomes = [client.wait(cid, timeout=30) for cid in ids]
    assert sorted(e.key for e in entries) == sorted(f"saga:{cid}" for cid in ids) and count == 3
    assert [e.value for e in found] == [{"saga": "user_provisioning"}]
    assert {o.status for o in outcomes} == {"completed"}


def test_a_saga_declared_process_runs_each_run_in_a_process_of_its_own_beside_hosted_runs(
    multiproc_actor_system, tmp_path
):
    tree, client = _tree(multiproc_actor_system, tmp_path)
    hosts = {row.pid for row in multiproc_actor_system.ask(tree.sagas, WhichChildren(), 10).children}
    apart = [client.run("apart", {"label": str(i)}, timeout=30) for i in range(2)]
    assert [o.status for o in apart] == ["completed", "completed"]
    pids = {o.result["easy"]["pid"] for o in apart}
    assert len(pids) == 2 and not pids & hosts  # each run had its own process, none of them a host
    assert client.run("calm", {"label": "x"}, timeout=30).status == "completed"
    stats = [
        multiproc_actor_system.ask(row.address, GetHostStats(), 10)
        for row in multiproc_actor_system.ask(tree.sagas, WhichChildren(), 10).children
    ]
    assert sum(s.process_runs for s in stats) == 0  # their processes ended with them


def test_an_unknown_isolation_is_refused_when_the_saga_is_built():
    from sagaline.saga import DefinitionError, Ok, Saga, local

    s = Saga("odd", isolation="thread")
    s.step("one", local(lambda a, c: Ok(None)))
    with pytest.raises(DefinitionError, match="isolation"):
        s.build()


@pytest.mark.multiproc
def test_a_killed_host_rebuilds_every_waiting_run_even_more_runs_than_it_rebuilds_at_once(
    multiproc_actor_system, tmp_path
):
    import os
    import signal

    from tests.support.holding_app import CountHolds, Holds
    from tests.support.tree import children, wait_until

    handle = multiproc_actor_system
    config = TreeConfig(
        data_dir=tmp_path / "data", apps=("tests.support.holding_app:app",), hosts=1, recovery_concurrency=2
    )
    tree = start_tree(handle, config)
    client = SagaClient(handle, tree.sagas)
    hold = handle.ask(tree.registry, Lookup(key="domain:hold"), 10).entries[0].holder

    def holds() -> Holds:
        return handle.ask(hold, CountHolds(headers=_headers()), 10)

    for _ in range(5):
        client.start("held", {})
    wait_until(lambda: holds().runs == 5, timeout=30)
    before = children(handle, tree.sagas)["host:0"]
    os.kill(before.pid, signal.SIGKILL)
    wait_until(lambda: holds().resent == 5, timeout=30)  # each of the 5 waiting runs rebuilt, 2 at a time
    after = children(handle, tree.sagas)["host:0"]
    stats = handle.ask(after.address, GetHostStats(), 10)
    assert (stats.runs, stats.recovering) == (5, 0)
    assert after.pid != before.pid


def _headers():
    from sagaline.messages.base import Headers

    return Headers(correlation_id=uuid7(), idempotency_key=uuid7())
