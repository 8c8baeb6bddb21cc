"""The metrics bridge, fed synthetic events, read through the SDK's InMemoryMetricReader."""

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from sagaline.telemetry import Telemetry
from sagaline.telemetry import names as tn
from sagaline.telemetry.metrics import DURATION_BOUNDS_S, MetricsBridge

SAGA = {"saga": "user_provisioning", "correlation_id": "0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b"}


@pytest.fixture
def metered():
    source, reader = Telemetry(), InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    ticks = []
    bridge = MetricsBridge(provider, source, after_event=lambda: ticks.append(1)).attach()
    yield source, reader, ticks
    bridge.detach()
    provider.shutdown()


def points(reader) -> dict:
    """name -> {frozenset(attributes): value or (count, sum)}."""
    out: dict = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    value = (p.count, p.sum) if hasattr(p, "bucket_counts") else p.value
                    out.setdefault(metric.name, {})[frozenset(p.attributes.items())] = value
    return out


def test_runs_are_counted_by_saga_and_outcome_and_active_runs_go_back_to_zero(metered):
    t, reader, _ = metered
    for _ in range(3):
        t.execute(tn.SAGA_START, {"system_time": 1}, SAGA)
    t.execute(tn.SAGA_COMPLETE, {"duration": 2_000_000}, {**SAGA, "status": "completed"})
    t.execute(tn.SAGA_FAIL, {"duration": 3_000_000}, {**SAGA, "status": "failed"})
    t.execute(tn.SAGA_STUCK, {"duration": 3_000_000}, {**SAGA, "status": "stuck"})
    got = points(reader)
    saga = frozenset({("saga", "user_provisioning")})
    assert got["sagaline.saga.runs.started"] == {saga: 3}
    assert got["sagaline.saga.runs.completed"] == {saga | {("status", "completed")}: 1}
    assert got["sagaline.saga.runs.failed"] == {saga | {("status", "failed")}: 1}
    assert got["sagaline.saga.runs.stuck"] == {saga | {("status", "stuck")}: 1}
    assert got["sagaline.saga.runs.active"] == {saga: 0}
    assert got["sagaline.saga.run.duration"][saga | {("status", "failed")}] == (1, pytest.approx(0.003))


def test_step_durations_are_a_histogram_in_seconds_by_step_and_outcome(metered):
    t, reader, _ = metered
    t.execute(tn.STEP_STOP, {"duration": 4_000_000}, {**SAGA, "step": "create_user"})
    t.execute(tn.STEP_STOP, {"duration": 6_000_000}, {**SAGA, "step": "create_user"})
    t.execute(tn.STEP_EXCEPTION, {"duration": 1_000_000}, {**SAGA, "step": "create_user", "kind": "fail"})
    got = points(reader)["sagaline.saga.step.duration"]
    where = {("saga", "user_provisioning"), ("step", "create_user")}
    assert got[frozenset(where | {("outcome", "ok")})] == (2, pytest.approx(0.010))
    assert got[frozenset(where | {("outcome", "fail")})] == (1, pytest.approx(0.001))
    assert DURATION_BOUNDS_S[0] == 0.001 and list(DURATION_BOUNDS_S) == sorted(DURATION_BOUNDS_S)


def test_compensations_restarts_escalations_and_registry_changes_are_counted(metered):
    t, reader, _ = metered
    t.execute(tn.UNDO, {}, {**SAGA, "step": "create_user"})
    t.execute(tn.COMPENSATE, {}, {**SAGA, "step": "create_default_community"})
    t.execute(tn.SUPERVISOR_RESTART, {"count": 2}, {"supervisor": "root", "child": "block"})
    t.execute(tn.SUPERVISOR_ESCALATE, {"count": 1}, {"supervisor": "root", "child": "block"})
    t.execute(tn.REGISTRY_REGISTER, {"count": 1}, {"key": "saga:0190f3a2", "reason": "request"})
    t.execute(tn.REGISTRY_UNREGISTER, {"count": 1}, {"key": "saga:0190f3a2", "reason": "exit"})
    got = points(reader)
    assert sum(got["sagaline.saga.compensations"].values()) == 2
    assert got["sagaline.supervisor.restarts"] == {frozenset({("supervisor", "root"), ("child", "block")}): 2}
    assert got["sagaline.supervisor.escalations"] == {frozenset({("supervisor", "root")}): 1}
    changes = got["sagaline.registry.changes"]
    assert changes[frozenset({("change", "register"), ("prefix", "saga"), ("reason", "request")})] == 1
    assert changes[frozenset({("change", "unregister"), ("prefix", "saga"), ("reason", "exit")})] == 1


def test_bus_events_are_counted_and_a_drop_names_the_broken_rule_not_the_whole_reason(metered):
    t, reader, _ = metered
    meta = {"name": "user.onboarding.complete", "pipeline": "general", "accepted": False}
    t.execute(tn.EVENT_VALIDATED, {"count": 1}, meta)
    t.execute(
        tn.EVENT_DROPPED,
        {"count": 1},
        {**meta, "reason": "user.onboarding.complete: payload_schema: missing vault_id (id 0190...)"},
    )
    t.execute(tn.EVENT_ENQUEUE, {"count": 1}, {**meta, "reliability": "persistent"})
    t.execute(tn.EVENT_PUBLISH, {"delivered": 0}, meta)
    got = points(reader)
    assert got["sagaline.events.dropped"] == {
        frozenset({("name", "user.onboarding.complete"), ("rule", "payload_schema")}): 1
    }
    assert sum(got["sagaline.events.validated"].values()) == 1
    assert sum(got["sagaline.events.enqueued"].values()) == 1
    assert sum(got["sagaline.events.published"].values()) == 1


def test_domain_commands_are_counted_by_reply_and_the_backlog_is_a_gauge(metered):
    t, reader, _ = metered
    t.execute(
        tn.DOMAIN_COMMAND + ("stop",),
        {"duration": 1},
        {"domain": "gate", "command": "CreateUser", "reply": "UserCreated"},
    )
    t.execute(
        tn.DOMAIN_COMMAND + ("exception",),
        {"duration": 1},
        {"domain": "gate", "command": "CreateUser", "kind": "error"},
    )
    t.execute(tn.SAGA_BACKLOG, {"depth": 7}, {})
    got = points(reader)
    outcomes = {dict(k)["outcome"]: v for k, v in got["sagaline.domain.commands"].items()}
    assert outcomes == {"UserCreated": 1, "error": 1}
    assert list(got["sagaline.saga.backlog"].values()) == [7]


def test_a_storage_fault_sets_the_hosts_faulted_gauge_to_one_and_its_recovery_back_to_zero(metered):
    t, reader, _ = metered
    t.execute(tn.SAGA_STORAGE_FAULT, {"count": 1}, {"host": 0, "fault": "disk full"})
    t.execute(tn.SAGA_STORAGE_FAULT, {"count": 1}, {"host": 1, "fault": "disk full"})
    assert points(reader)["sagaline.saga.storage.faulted"] == {frozenset({("host", 0)}): 1, frozenset({("host", 1)}): 1}
    t.execute(tn.SAGA_STORAGE_FAULT, {"count": 0}, {"host": 0, "fault": None})
    assert points(reader)["sagaline.saga.storage.faulted"][frozenset({("host", 0)})] == 0


def test_every_handled_event_gives_the_reader_a_chance_to_export(metered):
    t, _, ticks = metered
    t.execute(tn.SAGA_START, {}, SAGA)
    t.execute(tn.STEP_STOP, {"duration": 1}, {**SAGA, "step": "a"})
    assert len(ticks) == 2
