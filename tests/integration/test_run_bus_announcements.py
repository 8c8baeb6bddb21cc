"""A run announces its end and its retries on the bus (``reactor.saga.complete`` / ``fail``,
``flow.reactor.retry``), built by :mod:`sagaline.sagas.announcements`.

Expected to fail until the saga run publishes them (the lead wires the builders into the run
at merge, see the issue 20 report); ``reactor.saga.stuck`` is already published."""

from __future__ import annotations

from sagaline.events.flow import TailEvents
from sagaline.messages.registry import Lookup
from tests.support.tree import wait_until

SAGA = "user_provisioning"


def tail(t, cid: str, prefix: str):
    flow = t.handle.ask(t.tree.registry, Lookup(key="domain:flow"), 5).entries[0].holder
    return t.handle.ask(flow, TailEvents(name_prefix=prefix, correlation_id=cid), 5).events


def test_a_completed_run_announces_reactor_saga_complete(make_tree):
    t = make_tree()
    out = t.client.run(SAGA, {"email": "ada@example.com"})
    assert out.status == "completed"
    [event] = wait_until(lambda: tail(t, out.correlation_id, "reactor.saga."), timeout=2)
    assert (event.name, event.payload) == ("reactor.saga.complete", {"saga": SAGA})


def test_a_failed_run_announces_reactor_saga_fail_with_the_steps_it_undid(make_tree):
    t = make_tree(faults={"link": [{"command": "JoinCommunity"}]})
    out = t.client.run(SAGA, {"email": "ada@example.com"})
    assert out.status == "failed"
    [event] = wait_until(lambda: tail(t, out.correlation_id, "reactor.saga."), timeout=2)
    assert event.name == "reactor.saga.fail"
    assert event.payload == {
        "saga": SAGA,
        "failed_step": "create_default_community",
        "reason": "community_join_failed",
        "compensated_steps": ["provision_vault", "create_user", "generate_token"],
    }


def test_a_retried_step_is_announced_as_flow_reactor_retry(make_tree):
    t = make_tree(faults={"block": [{"command": "ProvisionVault", "code": "busy", "retryable": True, "times": 1}]})
    out = t.client.run(SAGA, {"email": "ada@example.com"})
    assert out.status == "completed"
    [event] = wait_until(lambda: tail(t, out.correlation_id, "flow.reactor."), timeout=2)
    assert event.payload["step"] == "provision_vault" and event.payload["attempt"] == 2
