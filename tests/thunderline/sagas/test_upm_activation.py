"""UPMActivation driven in-process against the real bolt, crown and flow services (SQLite).

The dispatch applies fault rules the way a domain actor does, so a failure
can be injected at any step; every rollback is checked field by field
against the snapshots and adapters as they were before the run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sagaline.domains.faults import FaultPlan
from sagaline.domains.flow import FlowConfig, FlowService
from sagaline.events import validate
from sagaline.events.flow import EventPublished, PublishEvent
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.saga import Driver
from sagaline.storage.aio import AsyncRunner
from sagaline.storage.flow_store import FlowStore
from thunderline.domains.bolt import BoltService
from thunderline.domains.crown import CrownService
from thunderline.messages import bolt as m
from thunderline.messages.crown import ListDecisions
from thunderline.sagas import upm_activation
from thunderline.storage.bolt_store import BoltStore
from thunderline.storage.crown_store import CrownStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class World:
    """bolt, crown and flow services on one private loop, with fault rules per target."""

    def __init__(self, tmp_path) -> None:
        self.runner = AsyncRunner("test-upm")
        self.now = NOW
        clock = lambda: self.now  # noqa: E731
        self.bolt_store = self.run(BoltStore.open(tmp_path / "bolt.db"))
        self.crown_store = self.run(CrownStore.open(tmp_path / "crown.db"))
        self.flow_store = self.run(FlowStore.open(tmp_path / "flow.db"))
        self.services = {
            "bolt": BoltService(self.bolt_store, clock),
            "crown": CrownService(self.crown_store, clock),
            "flow": FlowService(self.flow_store, clock, FlowConfig(mode="raise")),
        }
        for service in self.services.values():
            self.run(service.start())
        self.faults: dict[str, FaultPlan] = {}
        self.lost: set[str] = set()  # command names whose replies never arrive (the effect still happens)
        self.replies: list = []
        self.events: list = []  # every event a PublishEvent carried

    def run(self, coro):
        return self.runner.run(coro, 30)

    def dispatch(self, target: str, command):
        fault = self.faults.get(target, FaultPlan()).check(command)
        if fault is not None and fault.rule.action == "fail":
            return CommandFailed(headers=command.headers, code=fault.rule.code, message="injected")
        reply = self.run(self.services[target].handle(command))
        self.replies.append(reply)
        if isinstance(command, PublishEvent):
            self.events.append(command.event)
        if type(command).__name__ in self.lost:
            raise TimeoutError("reply lost")
        return reply

    def ask(self, target: str, command_type, **fields):
        headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
        return self.run(self.services[target].handle(command_type(headers=headers, **fields)))

    def snapshots(self) -> dict[str, m.UpmSnapshot]:
        return {s.snapshot_id: s for s in self.ask("bolt", m.ListSnapshots).snapshots}

    def adapters(self) -> dict[str, m.UpmAdapter]:
        return {a.name: a for a in self.ask("bolt", m.ListAdapters).adapters}

    def activate(self, inputs):
        return Driver(upm_activation.definition(), dispatch=self.dispatch).run(inputs)

    def close(self) -> None:
        for store in (self.bolt_store, self.crown_store, self.flow_store):
            self.run(store.close())
        self.runner.close()


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


def register(world: World, trained_by: str = "cerebros", version: int = 1) -> m.UpmSnapshot:
    return world.ask(
        "bolt", m.RegisterSnapshot, version=version, checksum=f"sha:{version}", trained_by=trained_by
    ).snapshot


def drift(world: World, snapshot_id: str, score: float, samples: int = 500, ended_hours_ago: float = 1.0):
    end = world.now - timedelta(hours=ended_hours_ago)
    reply = world.ask(
        "bolt",
        m.RecordDrift,
        snapshot_id=snapshot_id,
        score=score,
        sample_count=samples,
        window_start=end - timedelta(hours=1),
        window_end=end,
    )
    assert isinstance(reply, m.DriftRecorded), reply


@pytest.fixture
def fleet(world):
    """Snapshot A active (activated a day ago) with two adapters on it, one adapter on nothing,
    and snapshot B in shadow: the candidate."""
    world.now = NOW - timedelta(days=1)
    a = register(world, version=1)
    assert isinstance(world.ask("bolt", m.ActivateSnapshot, snapshot_id=a.snapshot_id), m.SnapshotActivated)
    for name in ("api", "batch"):
        world.ask("bolt", m.RegisterAdapter, name=name, snapshot_id=a.snapshot_id)
    world.ask("bolt", m.RegisterAdapter, name="fresh")
    world.now = NOW
    b = register(world, version=2)
    return world.snapshots()[a.snapshot_id], b


def test_a_snapshot_drifting_less_than_the_threshold_becomes_active_and_every_adapter_follows(world, fleet):
    a, b = fleet
    drift(world, b.snapshot_id, 0.10)
    before = world.adapters()

    report = world.activate({"snapshot_id": b.snapshot_id, "max_drift_score": 0.15})

    assert report.status == "completed", report.finished.error
    snaps = world.snapshots()
    assert (snaps[b.snapshot_id].mode, snaps[b.snapshot_id].activated_at) == ("active", NOW)
    assert (snaps[a.snapshot_id].mode, snaps[a.snapshot_id].archived_at) == ("archived", NOW)
    assert snaps[a.snapshot_id].activated_at == a.activated_at
    for name, adapter in world.adapters().items():
        assert adapter.snapshot_id == b.snapshot_id
        assert adapter.previous_snapshot_id == before[name].snapshot_id  # remembered for rollback
        assert adapter.synced_at == NOW
    result = report.finished.result
    assert result["previous_snapshot_id"] == a.snapshot_id and result["decision"]["effect"] == "allow"
    [event] = world.events
    assert (event.name, event.source, event.correlation_id) == (
        "ai.upm.snapshot.activated",
        "bolt",
        report.state.run_id,
    )
    assert event.payload == {"snapshot_id": b.snapshot_id, "activated_at": NOW, "adapter_count": 3}
    validate(event, "raise")
    assert [r.accepted for r in world.replies if isinstance(r, EventPublished)] == [True]


def test_a_drift_score_equal_to_the_threshold_is_rejected_and_nothing_changes(world, fleet):
    _a, b = fleet
    drift(world, b.snapshot_id, 0.15)
    before = (world.snapshots(), world.adapters())

    report = world.activate({"snapshot_id": b.snapshot_id, "max_drift_score": 0.15})

    assert report.status == "failed"
    assert report.finished.error.code == "drift_threshold_exceeded"
    assert (world.snapshots(), world.adapters()) == before


def test_only_the_latest_drift_window_counts(world, fleet):
    _a, b = fleet
    drift(world, b.snapshot_id, 0.01, ended_hours_ago=5)
    drift(world, b.snapshot_id, 0.40, ended_hours_ago=1)
    report = world.activate({"snapshot_id": b.snapshot_id})
    assert report.finished.error.code == "drift_threshold_exceeded"
    assert report.finished.error.details["score"] == 0.40


def test_a_snapshot_without_drift_data_is_refused(world, fleet):
    report = world.activate({"snapshot_id": fleet[1].snapshot_id})
    assert report.finished.error.code == "no_drift_data"


@pytest.mark.parametrize("which, code", [("missing", "snapshot_not_found"), ("active", "invalid_status")])
def test_only_an_existing_shadow_snapshot_can_be_activated(world, fleet, which, code):
    target = uuid7() if which == "missing" else fleet[0].snapshot_id
    report = world.activate({"snapshot_id": target})
    assert (report.status, report.finished.error.code) == ("failed", code)


def test_a_policy_denial_fails_with_the_policys_reasons_and_is_audited(world, fleet):
    _a, _ = fleet
    shady = register(world, trained_by="mallory", version=3)
    drift(world, shady.snapshot_id, 0.05, samples=12)
    before = (world.snapshots(), world.adapters())

    report = world.activate({"snapshot_id": shady.snapshot_id})

    error = report.finished.error
    assert (report.status, error.code) == ("failed", "policy_rejected")
    assert error.details["policy_id"] == "upm-activation"
    assert error.details["reasons"] == [
        "the latest drift window must cover at least 100 samples",
        "the snapshot must be trained by an allowed trainer (cerebros, bolt)",
    ]
    assert all(reason in error.message for reason in error.details["reasons"])
    assert (world.snapshots(), world.adapters()) == before
    [audit] = world.ask("crown", ListDecisions, correlation_id=report.state.run_id).decisions
    assert (audit.effect, audit.failed, audit.subject["trained_by"]) == (
        "deny",
        ["enough-samples", "trusted-trainer"],
        "mallory",
    )


def test_a_max_drift_score_above_the_policys_ceiling_is_overridden_and_the_run_and_the_audit_say_so(world, fleet):
    _, b = fleet
    drift(world, b.snapshot_id, 0.25)
    before = (world.snapshots(), world.adapters())

    report = world.activate({"snapshot_id": b.snapshot_id, "max_drift_score": 0.3})

    error = report.finished.error
    assert (report.status, report.state.failure[0], error.code) == ("failed", "policy_check", "policy_rejected")
    assert (error.details["failed"], error.details["drift_score"], error.details["max_drift_score"]) == (
        ["drift-below-bound"],
        0.25,
        0.3,
    )
    assert "below 0.2, the policy's ceiling, whatever max_drift_score the run asked for" in error.message
    assert (world.snapshots(), world.adapters()) == before
    [audit] = world.ask("crown", ListDecisions, correlation_id=report.state.run_id).decisions
    assert (audit.effect, audit.subject["max_drift_score"], audit.subject["drift_score"]) == ("deny", 0.3, 0.25)


def test_a_max_drift_score_below_the_policys_ceiling_is_honoured(world, fleet):
    _, b = fleet
    drift(world, b.snapshot_id, 0.12)
    report = world.activate({"snapshot_id": b.snapshot_id, "max_drift_score": 0.1})
    assert (report.status, report.finished.error.code) == ("failed", "drift_threshold_exceeded")
    assert report.finished.error.details["max_drift_score"] == 0.1


def test_an_archive_failure_fails_with_the_originals_code_and_changes_nothing(world, fleet):
    _, b = fleet
    drift(world, b.snapshot_id, 0.05)
    world.faults["bolt"] = FaultPlan.from_data([{"command": "ArchiveActiveSnapshot", "code": "forced"}])
    before = (world.snapshots(), world.adapters())
    report = world.activate({"snapshot_id": b.snapshot_id})
    assert (report.status, report.finished.error.code) == ("failed", "archive_failed")
    assert report.finished.error.details["cause"] == "forced"
    assert (world.snapshots(), world.adapters()) == before


def pin(world, name: str) -> None:
    """Register adapter ``name`` pinned where the others are (sorted last: moved last)."""
    current = world.adapters()["api"].snapshot_id
    world.ask("bolt", m.RegisterAdapter, name=name, snapshot_id=current, pinned=True)


@pytest.mark.parametrize(
    "failure, code",
    [
        ("fail ActivateSnapshot", "activation_failed"),
        ("fail SyncAdapters", "adapter_sync_failed"),
        ("pinned adapter", "adapter_sync_failed"),
        ("lose SyncAdapters replies", "timeout"),
    ],
)
def test_a_failure_after_deactivate_previous_restores_the_previous_active_snapshot_and_every_adapter(
    world, fleet, failure, code
):
    a, b = fleet
    drift(world, b.snapshot_id, 0.05)
    if failure == "pinned adapter":
        pin(world, "zz-pinned")
    elif failure.startswith("fail"):
        world.faults["bolt"] = FaultPlan.from_data([{"command": failure.split()[1], "code": "forced"}])
    else:
        world.lost.add("SyncAdapters")
    before_snapshots, before_adapters = world.snapshots(), world.adapters()

    report = world.activate({"snapshot_id": b.snapshot_id})

    assert report.status == "failed" and report.finished.error.code == code, report.finished
    assert report.finished.failed_compensations == ()
    after_snapshots, after_adapters = world.snapshots(), world.adapters()
    for sid, snap in before_snapshots.items():  # field by field, times included
        assert after_snapshots[sid].model_dump() == snap.model_dump()
    for name, adapter in before_adapters.items():
        assert after_adapters[name].model_dump() == adapter.model_dump()
    assert after_snapshots[a.snapshot_id].mode == "active" and after_snapshots[b.snapshot_id].mode == "shadow"
    assert after_snapshots[b.snapshot_id].activated_at is None
    undone = [e.step for e in report.timeline if e.what.startswith("undo") and e.what.endswith("ok")]
    assert undone[-1] == "deactivate_previous"


def test_an_activation_with_no_previous_active_snapshot_archives_nothing(world):
    first = register(world)
    drift(world, first.snapshot_id, 0.01)
    report = world.activate({"snapshot_id": first.snapshot_id})
    assert report.status == "completed"
    assert report.finished.result["previous_snapshot_id"] is None
    assert world.snapshots()[first.snapshot_id].mode == "active"


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), "0.2", True])
def test_a_bad_threshold_is_refused_before_anything_runs(world, bad):
    from sagaline.saga import InputError

    with pytest.raises(InputError):
        world.activate({"snapshot_id": uuid7(), "max_drift_score": bad})
