"""One trace per saga run, end to end: in-process into the SDK's in-memory exporter, and on
multiprocTCPBase into the JSON-lines files, written by every actor process and read back."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.messages.ids import uuid7
from sagaline.runtime.system import MULTIPROC
from sagaline.telemetry import setup
from sagaline.telemetry.context import root_span_id, trace_id_for
from sagaline.telemetry.exporters import span_record
from sagaline.telemetry.timeline import load_trace, metric_totals, render_timeline
from sagaline.testing.plugin import running_system
from tests.support.tree import wait_until
from thunderline.testing import tree_config

pytestmark = pytest.mark.timeout(90)
SAGA = "user_provisioning"
JOIN_FAILS = {"link": [{"command": "JoinCommunity"}]}
#: What a run whose community join fails must show: each step it ran, its compensation, the
#: undo of every completed step with an effect, and each command a domain actor handled for them.
SAGA_SPANS = {
    "step validate_email",
    "step generate_token",
    "step send_magic_link",
    "step create_user",
    "step provision_vault",
    "step create_default_community",
    "compensate create_default_community",
    "undo provision_vault",
    "undo create_user",
    "undo generate_token",
}
COMMAND_SPANS = {
    "gate IssueToken",
    "gate SendMagicLink",
    "gate CreateUser",
    "block ProvisionVault",
    "link JoinCommunity",
    "block DeprovisionVault",
    "gate DeleteUser",
    "gate RevokeToken",
}


def check_one_trace(spans: list[dict], cid: str) -> dict[str, dict]:
    """Assert the shape every traced run has; return the spans by name (the last of a name)."""
    root_id = root_span_id(cid)
    assert {s["trace_id"] for s in spans} == {trace_id_for(cid)}
    ids = {s["span_id"] for s in spans}
    assert len(ids) == len(spans), "span ids are unique"
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert root["span_id"] == root_id and root["name"] == f"saga {SAGA}"
    assert all(s["parent_span_id"] in ids for s in spans if s is not root), "every parent is in the trace"
    for s in spans:
        assert s["attributes"]["sagaline.correlation_id"] == cid
        assert s["end_ns"] >= s["start_ns"]
        kind = s["name"].split(" ")[0]
        if kind in ("step", "compensate", "undo"):
            assert s["parent_span_id"] == root_id and s["attributes"]["sagaline.saga"] == SAGA
            assert s["attributes"]["sagaline.invocation.kind"] == kind
        elif s["name"] == "flow PublishEvent" and s["parent_span_id"] == root_id:
            pass  # the run's own announcement of how it ended (reactor.saga.*), published by the run itself
        else:
            assert s is root or by_id(spans, s["parent_span_id"])["name"].split(" ")[0] in (
                "step",
                "compensate",
                "undo",
            )
    return {s["name"]: s for s in sorted(spans, key=lambda s: s["start_ns"])}


def by_id(spans: list[dict], span_id: str) -> dict:
    return next(s for s in spans if s["span_id"] == span_id)


def check_failed_run(spans: list[dict], cid: str) -> dict[str, dict]:
    named = check_one_trace(spans, cid)
    assert set(named) >= SAGA_SPANS | COMMAND_SPANS
    root = named[f"saga {SAGA}"]
    assert root["status"] == "error" and root["attributes"]["sagaline.run.status"] == "failed"
    assert named["step create_default_community"]["status"] == "error"
    undone = sorted((s for s in spans if s["name"].startswith("undo ")), key=lambda s: s["start_ns"])
    assert [s["name"] for s in undone] == ["undo provision_vault", "undo create_user", "undo generate_token"]
    assert by_id(spans, named["gate DeleteUser"]["parent_span_id"])["name"] == "undo create_user"
    assert by_id(spans, named["link JoinCommunity"]["parent_span_id"])["name"] == "step create_default_community"
    return named


@pytest.fixture
def in_memory():
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    setup.install(spans, metric_reader=metrics)
    yield spans, metrics
    setup.reset()


def test_in_process_a_failed_run_is_one_trace_with_every_step_compensation_and_command(
    simple_actor_system, tmp_path, in_memory
):
    exporter, reader = in_memory
    tree = start_tree(simple_actor_system, tree_config(tmp_path / "data", faults=JOIN_FAILS))
    outcome = SagaClient(simple_actor_system, tree.sagas).run(
        SAGA, {"email": "ada@example.com"}, correlation_id=uuid7()
    )
    assert outcome.status == "failed"
    spans = [
        span_record(s)
        for s in exporter.get_finished_spans()
        if format(s.context.trace_id, "032x") == trace_id_for(outcome.correlation_id)
    ]
    check_failed_run(spans, outcome.correlation_id)
    started = [
        p.value
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "sagaline.saga.runs.started"
        for p in m.data.data_points
    ]
    assert started == [1]


def test_in_process_a_completed_run_has_every_step_ok_and_the_bus_publish_under_its_step(
    simple_actor_system, tmp_path, in_memory
):
    exporter, _ = in_memory
    tree = start_tree(simple_actor_system, tree_config(tmp_path / "data"))
    outcome = SagaClient(simple_actor_system, tree.sagas).run(SAGA, {"email": "bob@example.com"})
    assert outcome.status == "completed"
    spans = [
        span_record(s)
        for s in exporter.get_finished_spans()
        if format(s.context.trace_id, "032x") == trace_id_for(outcome.correlation_id)
    ]
    named = check_one_trace(spans, outcome.correlation_id)
    steps = [s for s in spans if s["name"].startswith("step ")]
    assert len(steps) == 7 and all(s["status"] == "ok" for s in steps)
    assert not any(s["name"].startswith(("undo ", "compensate ")) for s in spans)
    publishes = sorted((s for s in spans if s["name"] == "flow PublishEvent"), key=lambda s: s["start_ns"])
    assert [by_id(spans, p["parent_span_id"])["name"] for p in publishes] == [
        "step emit_onboarding_event",
        f"saga {SAGA}",
    ]  # the step's event, then the run's announcement
    assert named[f"saga {SAGA}"]["status"] == "ok"


@pytest.fixture
def traced_system(monkeypatch, tmp_path_factory):
    """A multiprocTCPBase system whose actor processes write JSON-lines telemetry: the
    variables are set before it starts (the launcher hands its environment to every actor)."""
    directory = tmp_path_factory.mktemp("telemetry")
    monkeypatch.setenv("SAGALINE_TELEMETRY_EXPORTER", "jsonl")
    monkeypatch.setenv("SAGALINE_TELEMETRY_DIR", str(directory))
    for handle in running_system(MULTIPROC, tmp_path_factory.mktemp("actors")):
        yield handle, directory


@pytest.mark.multiproc
def test_on_multiproc_a_run_is_one_trace_across_processes_flushed_before_they_exit(traced_system, tmp_path):
    handle, directory = traced_system
    tree = start_tree(handle, tree_config(tmp_path / "data", faults=JOIN_FAILS))
    client = SagaClient(handle, tree.sagas)
    failed = client.run(SAGA, {"email": "ada@example.com"}, correlation_id=uuid7(), timeout=60)
    assert failed.status == "failed"
    cid = failed.correlation_id
    loaded = wait_until(
        lambda: (lambda s: s if {x.name for x in s} >= SAGA_SPANS | COMMAND_SPANS else None)(
            load_trace(directory, cid)
        ),
        timeout=30,
    )
    raw = [dict(r.__dict__) for r in loaded]
    named = check_failed_run(raw, cid)
    saga_pid = named[f"saga {SAGA}"]["pid"]
    assert all(s["pid"] == saga_pid for s in raw if s["name"].split(" ")[0] in ("saga", "step", "compensate", "undo"))
    domain_pids = {named[n]["pid"] for n in ("gate CreateUser", "block ProvisionVault", "link JoinCommunity")}
    assert len(domain_pids) == 3 and saga_pid not in domain_pids
    assert len({s["pid"] for s in raw}) >= 4
    timeline = render_timeline(loaded, cid)
    assert "undo create_user" in timeline and "(rollback)" in timeline
    assert timeline.splitlines()[0].startswith(f"run {cid}  saga {SAGA}  failed")

    handle.shutdown()  # every actor flushes its metrics while it handles its exit request
    totals = metric_totals(directory)

    def total(name: str, **attributes: str) -> float:
        return totals.get((name, tuple(sorted({"saga": SAGA, **attributes}.items()))), 0)

    assert total("sagaline.saga.runs.started") == 1
    assert total("sagaline.saga.runs.failed", status="failed") == 1
    assert total("sagaline.saga.step.duration.count", step="create_user", outcome="ok") == 1
    assert sum(v for (name, _), v in totals.items() if name == "sagaline.domain.commands") >= len(COMMAND_SPANS)
    assert (
        sum(
            v
            for (name, attrs), v in totals.items()
            if name == "sagaline.registry.changes" and ("prefix", "domain") in attrs
        )
        >= 4
    )
