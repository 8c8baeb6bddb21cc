"""On multiprocTCPBase: SIGKILLed processes are replaced, re-registered, and leave no orphans."""

import os
import signal

import pytest

from sagaline.registry.client import RegistryClient
from sagaline.supervisors.spec import supervisor_spec
from tests.support.actors import ProbePing
from tests.support.tree import (
    children, pid_alive, running_address, start_probe, start_registry, start_supervisor, wait_until, worker,
)

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(60)]


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rpartition(")")[2].split()[1])


def changed(client, key, old):
    address = client.whereis(key)
    return address if address is not None and address != old else None


def test_a_sigkilled_worker_is_restarted_and_re_registered_under_its_name(multiproc_actor_system):
    h = multiproc_actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    sup = start_supervisor(h, [worker("w", probe, name="svc:w")], registry=registry)
    old = client.whereis("svc:w")
    old_pid = h.ask(old, ProbePing()).pid
    os.kill(old_pid, signal.SIGKILL)
    new = wait_until(lambda: changed(client, "svc:w", old))
    assert new == running_address(h, sup, "w")
    assert h.ask(new, ProbePing()).pid != old_pid
    assert children(h, sup)["w"].restarts == 1


def test_a_sigkilled_middle_supervisor_takes_its_whole_subtree_with_it(multiproc_actor_system):
    h = multiproc_actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    inner = supervisor_spec("inner", [worker("leaf", probe, name="svc:leaf")])
    middle = supervisor_spec("mid", [worker("w1", probe, name="svc:w1"), worker("w2", probe), inner])
    top = start_supervisor(h, [middle, worker("side", probe)], registry=registry)
    old_leaves = {key: client.whereis(key) for key in ("svc:w1", "svc:leaf")}
    w1_pid = h.ask(old_leaves["svc:w1"], ProbePing()).pid
    leaf_pid = h.ask(old_leaves["svc:leaf"], ProbePing()).pid
    middle_pid, inner_pid = parent_pid(w1_pid), parent_pid(leaf_pid)
    old_subtree = {middle_pid, inner_pid, w1_pid, leaf_pid} | {
        pid for pid in h.pids() if parent_pid(pid) in (middle_pid, inner_pid)}
    side_pid = h.ask(running_address(h, top, "side"), ProbePing()).pid

    os.kill(middle_pid, signal.SIGKILL)

    for key, old in old_leaves.items():
        wait_until(lambda: changed(client, key, old))
    wait_until(lambda: children(h, top)["mid"].restarts == 1 and running_address(h, top, "mid"))
    wait_until(lambda: not any(pid_alive(pid) for pid in old_subtree), timeout=5)
    assert old_subtree.isdisjoint(h.pids())
    assert pid_alive(side_pid) and children(h, top)["side"].restarts == 0
