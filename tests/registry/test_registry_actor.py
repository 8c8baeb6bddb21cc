"""The registry actor on both bases: holder named on conflict, removal however the holder exits,
queries and listeners."""

import time

import pytest

from sagaline.actors.spawn import ActorStartFailed, start_actor
from sagaline.messages.registry import Condition, Register, Registered, Renew, Subscribe
from sagaline.registry.client import RegistryClient, RegistryRefused
from tests.support.actors import ProbeCrash, ProbeExit
from tests.support.tree import (
    WORKER,
    events,
    kill,
    start_probe,
    start_registry,
    start_supervisor,
    wait_until,
    worker,
)

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("kind", ["normal", "error", "killed"])
def test_an_entry_is_removed_when_its_holder_exits(actor_system, kind):
    h = actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    start_supervisor(h, [worker("w", probe, name="svc:w", restart="temporary")], registry=registry)
    holder = client.whereis("svc:w")
    assert client.keys_of(holder) == ["svc:w"]
    if kind == "normal":
        h.tell(holder, ProbeExit(kind="normal"))
    elif kind == "error":
        h.tell(holder, ProbeCrash())
    else:
        kill(h, holder)
    wait_until(lambda: client.lookup("svc:w") == [])
    assert client.keys_of(holder) == []


def test_already_registered_names_the_holder(actor_system):
    h = actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    client.register("only", probe, {"role": "probe"})
    with pytest.raises(RegistryRefused) as caught:
        client.register("only", registry)
    assert caught.value.code == "already_registered" and caught.value.holder == probe
    with pytest.raises(ActorStartFailed) as started:
        start_actor(h, WORKER, {"label": "dup"}, registry=registry, name="only")
    assert started.value.reason.error_type == "already_started" and started.value.holder == probe


def test_queries_and_value_updates(actor_system):
    h = actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    for i in range(4):
        client.register(f"saga:{i}", probe, {"status": "running" if i % 2 else "halted"})
    client.update_value("saga:0", {"status": "running"}, probe)
    with pytest.raises(RegistryRefused):
        client.update_value("saga:1", {}, registry)
    running = client.select("saga:", where=(Condition(path=("status",), op="eq", operand="running"),))
    assert [key for key, _, _ in running] == ["saga:0", "saga:1", "saga:3"]
    assert client.count("saga:") == 4 and client.lookup("saga:2") == [(probe, {"status": "halted"})]
    assert client.unregister("saga:2", probe) and client.count() == 3


def test_listeners_hear_of_registrations_and_exits(actor_system):
    h = actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    h.ask(registry, Subscribe(listener=probe, key_prefix="svc:"))
    start_supervisor(h, [worker("w", probe, name="svc:w", restart="temporary")], registry=registry)
    client.register("other", probe)
    h.tell(client.whereis("svc:w"), ProbeCrash())
    wait_until(lambda: ("unregistered", "svc:w", "exit") in events(h, probe))
    assert ("registered", "svc:w", "request") in events(h, probe)
    assert not [e for e in events(h, probe) if e[1] == "other"]


def test_an_entry_registered_with_a_ttl_lives_while_renewed_and_expires_when_not(actor_system):
    h = actor_system
    probe, registry = start_probe(h), start_registry(h)
    client = RegistryClient(h, registry)
    h.ask(registry, Subscribe(listener=probe, key_prefix="domain:"))
    assert isinstance(h.ask(registry, Register(key="domain:kept", holder=probe, ttl_s=0.5), 5), Registered)
    assert isinstance(h.ask(registry, Register(key="domain:left", holder=probe, ttl_s=0.5), 5), Registered)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # three times the ttl, renewing one of the two
        assert isinstance(h.ask(registry, Renew(key="domain:kept", holder=probe), 5), Registered)
        time.sleep(0.1)
    assert client.lookup("domain:left") == [] and client.lookup("domain:kept") == [(probe, None)]
    assert ("unregistered", "domain:left", "expired") in events(h, probe)
    assert h.ask(registry, Renew(key="domain:left", holder=probe), 5).code == "not_found"
    wait_until(lambda: client.lookup("domain:kept") == [])  # no longer renewed
