"""Who emits what: supervisors, the registry and the event bus emit their fixed events
(in-process, where a collector in the test sees them), and emitters never import OpenTelemetry."""

import ast
import pathlib

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.events import new_event
from sagaline.events.flow import EventPublished, PublishEvent
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from sagaline.supervisors.api import StartChild, WhichChildren
from sagaline.supervisors.spec import DynamicFlags
from sagaline.telemetry import Collector
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry
from tests.support.actors import ProbeCrash, ProbeExit
from tests.support.tree import (
    DYNAMIC,
    children,
    events,
    running_address,
    start_probe,
    start_registry,
    start_supervisor,
    wait_until,
    worker,
)
from thunderline.testing import tree_config

pytestmark = pytest.mark.timeout(60)
ROOT = pathlib.Path(__file__).resolve().parents[2] / "sagaline"
EMITTERS = ["actors", "supervisors", "registry"]


@pytest.fixture
def collected():
    collector = Collector()
    telemetry.attach_many("test-emissions", tn.ALL_EVENTS, collector)
    yield collector
    telemetry.detach("test-emissions")


def test_a_restart_decision_is_reported_with_supervisor_child_and_reason(simple_actor_system, collected):
    h = simple_actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("a", probe), worker("b", probe)])
    first = running_address(h, sup, "b")
    h.tell(first, ProbeCrash())
    wait_until(lambda: children(h, sup)["b"].restarts == 1 and children(h, sup)["b"].status == "running")
    [(measurements, metadata)] = collected.named(tn.SUPERVISOR_RESTART)
    assert measurements["count"] == 1
    assert (metadata["supervisor"], metadata["child"], metadata["reason"], metadata["restarted"]) == (
        "top",
        "b",
        "error",
        ["b"],
    )
    assert collected.named(tn.SUPERVISOR_ESCALATE) == []


def test_a_normal_exit_of_a_transient_child_is_no_restart(simple_actor_system, collected):
    h = simple_actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("t", probe, restart="transient")])
    h.tell(running_address(h, sup, "t"), ProbeExit(kind="normal"))
    wait_until(lambda: children(h, sup)["t"].status == "undefined")
    assert collected.named(tn.SUPERVISOR_RESTART) == []


def test_the_restart_that_exceeds_the_intensity_is_reported_as_an_escalation(simple_actor_system, collected):
    h = simple_actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("b", probe)], parent=probe)
    for restarts in range(1, 5):
        h.tell(running_address(h, sup, "b"), ProbeCrash())
        if restarts < 4:
            wait_until(
                lambda restarts=restarts: (
                    children(h, sup)["b"].restarts == restarts and children(h, sup)["b"].status == "running"
                )
            )
    wait_until(lambda: ("top", "shutdown") in events(h, probe, "notice"))
    assert len(collected.named(tn.SUPERVISOR_RESTART)) == 3
    [(_, metadata)] = collected.named(tn.SUPERVISOR_ESCALATE)
    assert metadata["supervisor"] == "top" and metadata["child"] == "b"


def test_a_dynamic_supervisor_reports_restarts_by_spec_id(simple_actor_system, collected):
    h = simple_actor_system
    probe = start_probe(h)
    dyn = start_actor(h, DYNAMIC, {"flags": DynamicFlags().model_dump()}, child_id="dyn")
    h.ask(dyn, StartChild(spec=worker("w", probe)))
    h.tell(h.ask(dyn, WhichChildren()).children[0].address, ProbeCrash())
    wait_until(lambda: h.ask(dyn, WhichChildren()).children[0].restarts == 1)
    [(_, metadata)] = collected.named(tn.SUPERVISOR_RESTART)
    assert (metadata["supervisor"], metadata["child"], metadata["child_id"]) == ("dyn", "w", "w-1")


def test_the_registry_reports_each_registration_and_removal(simple_actor_system, collected):
    h = simple_actor_system
    probe = start_probe(h)
    registry = start_registry(h)
    sup = start_supervisor(h, [worker("named", probe, name="svc:one")], registry=registry)
    h.tell(running_address(h, sup, "named"), ProbeCrash())
    wait_until(lambda: children(h, sup)["named"].restarts == 1 and children(h, sup)["named"].status == "running")
    wait_until(lambda: h.ask(registry, Lookup(key="svc:one")).entries)
    changes = [
        (e[-1], md["key"], md["reason"])
        for e, _, md in collected.events
        if e in (tn.REGISTRY_REGISTER, tn.REGISTRY_UNREGISTER)
    ]
    # the old holder's entry goes (its exit, or replaced by its successor), the new one registers
    assert changes[0] == changes[-1] == ("register", "svc:one", "request") and len(changes) == 3
    assert changes[1][:2] == ("unregister", "svc:one") and changes[1][2] in ("exit", "replaced")


def test_the_bus_reports_validated_enqueue_and_publish_and_a_drop(simple_actor_system, collected, tmp_path):
    h = simple_actor_system
    tree = start_tree(h, tree_config(tmp_path, "gate", domain_config={"flow": {"mode": "drop"}}))
    flow = h.ask(tree.registry, Lookup(key="domain:flow")).entries[0].holder
    cid = uuid7()
    good = new_event("user.onboarding.complete", "gate", {"user_id": "u", "email": "a@b.c", "vault_id": "v"}, cid)
    bad = new_event("user.onboarding.complete", "gate", {"user_id": "u"}, cid)
    for key, event in (("k1", good), ("k2", bad)):
        reply = h.ask(flow, PublishEvent(headers=Headers(correlation_id=cid, idempotency_key=key), event=event))
        assert isinstance(reply, EventPublished)
    validated = [md["accepted"] for _, md in collected.named(tn.EVENT_VALIDATED)]
    assert validated == [True, False]
    [(_, dropped)] = collected.named(tn.EVENT_DROPPED)
    assert dropped["name"] == "user.onboarding.complete" and dropped["correlation_id"] == cid and dropped["reason"]
    assert [md["reliability"] for _, md in collected.named(tn.EVENT_ENQUEUE)] == ["persistent", "persistent"]
    assert [m["delivered"] for m, _ in collected.named(tn.EVENT_PUBLISH)] == [0, 0]


def test_a_rolled_back_run_ends_every_compensate_and_undo_it_began_with_its_stop_event(
    simple_actor_system, collected, tmp_path
):
    """What ``names.COMPENSATE_STOP`` / ``UNDO_STOP`` say: the saga actor emits them (they were once
    documented as "not emitted yet")."""
    tree = start_tree(simple_actor_system, tree_config(tmp_path, faults={"link": [{"command": "JoinCommunity"}]}))
    outcome = SagaClient(simple_actor_system, tree.sagas).run("user_provisioning", {"email": "ada@example.com"})
    assert outcome.status == "failed"
    for began, ended in ((tn.COMPENSATE, tn.COMPENSATE_STOP), (tn.UNDO, tn.UNDO_STOP)):
        starts = [md["idempotency_key"] for _, md in collected.named(began)]
        stops = [(md["idempotency_key"], md["outcome"]) for _, md in collected.named(ended)]
        assert starts and sorted(stops) == sorted((key, "ok") for key in starts)
    assert sorted(md["step"] for _, md in collected.named(tn.UNDO_STOP)) == [
        "create_user",
        "generate_token",
        "provision_vault",
    ]


def _imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("package", EMITTERS)
def test_emitters_never_import_opentelemetry_or_the_bridge(package):
    bad = [
        (f.relative_to(ROOT), name)
        for f in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(f)
        if name.split(".")[0] == "opentelemetry"
        or name.startswith(("sagaline.telemetry.otel", "sagaline.telemetry.metrics", "sagaline.telemetry.exporters"))
    ]
    assert bad == []


def test_the_process_setup_and_the_timeline_import_no_opentelemetry_at_module_level():
    for module in ("setup.py", "timeline.py", "core.py", "context.py", "names.py"):
        top = ast.parse((ROOT / "telemetry" / module).read_text()).body
        names = [
            n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
            for n in top
            if isinstance(n, (ast.Import, ast.ImportFrom))
        ]
        assert not [n for n in names if n and n.startswith("opentelemetry")], module
