"""The dynamic supervisor: empty start, max_children, start under a name, restarts, concurrent stop."""

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.messages.supervision import Stop
from sagaline.registry.client import RegistryClient
from sagaline.supervisors.api import (
    ChildStarted,
    ChildTerminated,
    StartChild,
    SupervisorError,
    TerminateChildAt,
    WhichChildren,
)
from sagaline.supervisors.spec import DynamicFlags
from sagaline.supervisors.supervisor_args import DynamicSupervisorArgs
from tests.support.actors import ProbeCrash
from tests.support.tree import DYNAMIC, events, start_probe, start_registry, wait_until, worker

pytestmark = pytest.mark.timeout(60)


def start_dynamic(handle, registry=None, parent=None, **flags):
    return start_actor(
        handle,
        DYNAMIC,
        DynamicSupervisorArgs(flags=DynamicFlags(**flags)).model_dump(),
        registry=registry,
        parent=parent,
        child_id="dyn",
    )


def rows(handle, dyn):
    return handle.ask(dyn, WhichChildren()).children


def test_it_starts_empty_and_refuses_beyond_max_children(actor_system):
    h = actor_system
    probe = start_probe(h)
    dyn = start_dynamic(h, max_children=2)
    assert rows(h, dyn) == ()
    for i in range(2):
        assert isinstance(h.ask(dyn, StartChild(spec=worker(f"w{i}", probe))), ChildStarted)
    refused = h.ask(dyn, StartChild(spec=worker("w3", probe)))
    assert isinstance(refused, SupervisorError) and refused.code == "max_children"


def test_start_under_a_taken_name_returns_the_existing_address(actor_system):
    h = actor_system
    probe = start_probe(h)
    registry = start_registry(h)
    dyn = start_dynamic(h, registry=registry)
    other = start_dynamic(h, registry=registry)
    first = h.ask(dyn, StartChild(spec=worker("saga", probe, name="saga:42")))
    assert isinstance(first, ChildStarted)
    for supervisor in (dyn, other):  # own table, then the registry's word
        again = h.ask(supervisor, StartChild(spec=worker("saga", probe, name="saga:42")))
        assert isinstance(again, SupervisorError) and again.code == "already_started"
        assert again.address == first.address
    assert RegistryClient(h, registry).whereis("saga:42") == first.address
    assert len(rows(h, dyn)) == 1 and rows(h, other) == ()


def test_a_crashed_named_child_is_restarted_and_re_registered(actor_system):
    h = actor_system
    probe = start_probe(h)
    registry = start_registry(h)
    client = RegistryClient(h, registry)
    dyn = start_dynamic(h, registry=registry)
    first = h.ask(dyn, StartChild(spec=worker("saga", probe, name="saga:7"))).address
    h.tell(first, ProbeCrash())
    # By the restart count, not by a new address: on multiprocTCPBase the new child may get the old port.
    row = wait_until(lambda: next((r for r in rows(h, dyn) if r.restarts == 1 and r.address is not None), None))
    assert wait_until(lambda: client.whereis("saga:7") == row.address)


def test_terminate_child_at_forgets_it_and_stop_ends_all_children(actor_system):
    h = actor_system
    probe = start_probe(h)
    dyn = start_dynamic(h, parent=probe)
    addresses = [h.ask(dyn, StartChild(spec=worker(f"w{i}", probe))).address for i in range(3)]
    assert isinstance(h.ask(dyn, TerminateChildAt(address=addresses[0])), ChildTerminated)
    assert h.ask(dyn, TerminateChildAt(address=addresses[0])).code == "not_found"
    assert len(rows(h, dyn)) == 2
    h.tell(dyn, Stop())
    wait_until(lambda: ("dyn", "shutdown") in events(h, probe, "notice"))
    assert sorted(events(h, probe, "stopped")) == [("w0", "shutdown"), ("w1", "shutdown"), ("w2", "shutdown")]


def test_the_fourth_restart_in_the_window_ends_the_dynamic_supervisor(actor_system):
    h = actor_system
    probe = start_probe(h)
    dyn = start_dynamic(h, parent=probe)
    h.ask(dyn, StartChild(spec=worker("w", probe)))
    for restarts in range(1, 5):
        h.tell(rows(h, dyn)[0].address, ProbeCrash())
        if restarts < 4:
            wait_until(
                lambda restarts=restarts: rows(h, dyn)[0].restarts == restarts and rows(h, dyn)[0].status == "running"
            )
    wait_until(lambda: ("dyn", "shutdown") in events(h, probe, "notice"))
