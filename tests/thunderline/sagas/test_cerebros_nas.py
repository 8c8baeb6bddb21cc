"""CerebrosNAS driven in-process: real bolt and flow services (SQLite) and the real bridge
actor, whose trials train real models on the digits data in trainer actors.

Failures after dispatch are injected at the bridge and at bolt; on
multiprocTCPBase every trainer's process is checked gone by pid.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.domains.faults import FaultPlan
from sagaline.domains.flow import FlowConfig, FlowService
from sagaline.events import validate
from sagaline.events.flow import PublishEvent
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.saga import Driver
from sagaline.storage.aio import AsyncRunner
from sagaline.storage.flow_store import FlowStore
from tests.support.tree import pid_alive, wait_until
from thunderline.domains import pareto
from thunderline.domains.bolt import BoltService
from thunderline.domains.training import sha256_of
from thunderline.messages import bolt_models as m
from thunderline.messages.bridge import AwaitTrials, ListTrials
from thunderline.sagas import cerebros_nas
from thunderline.storage.bolt_store import BoltStore

SPACE = {
    "hidden_layers": [1],
    "widths": [4, 8, 16, 32],
    "activations": ["relu"],
    "learning_rates": [0.01],
    "batch_sizes": [128],
    "epochs": 4,
}
ENDLESS = dict(SPACE, epochs=1_000_000)  # trains until cancelled
BRIDGE = "thunderline.actors.bridge.BridgeActor"


class Lab:
    """bolt and flow services on a private loop; the bridge actor on the test's actor system."""

    def __init__(self, handle, tmp_path, bridge_faults=()) -> None:
        self.handle = handle
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.runner = AsyncRunner("test-nas")
        clock = lambda: datetime.now(UTC)  # noqa: E731
        self.bolt_store = self.run(BoltStore.open(tmp_path / "bolt.db"))
        self.flow_store = self.run(FlowStore.open(tmp_path / "flow.db"))
        self.services = {
            "bolt": BoltService(self.bolt_store, clock),
            "flow": FlowService(self.flow_store, clock, FlowConfig(mode="raise")),
        }
        for service in self.services.values():
            self.run(service.start())
        self.bridge = start_actor(
            handle, BRIDGE, {"config": {"artifacts_dir": str(tmp_path / "artifacts")}, "faults": list(bridge_faults)}
        )
        self.faults: dict[str, FaultPlan] = {}
        self.events: list = []

    def run(self, coro):
        return self.runner.run(coro, 60)

    def dispatch(self, target: str, command):
        fault = self.faults.get(target, FaultPlan()).check(command)
        if fault is not None:
            return CommandFailed(headers=command.headers, code=fault.rule.code, message="injected")
        if target == "bridge":
            timeout = cerebros_nas.MAX_DEADLINE_S if isinstance(command, AwaitTrials) else 30
            return self.handle.ask(self.bridge, command, timeout)
        if isinstance(command, PublishEvent):
            self.events.append(command.event)
        return self.run(self.services[target].handle(command))

    def search(self, **inputs):
        inputs = {"dataset_id": "digits", "search_space": SPACE, **inputs}
        return Driver(cerebros_nas.definition(), dispatch=self.dispatch).run(inputs)

    def bolt(self, command_type, **fields):
        headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
        return self.run(self.services["bolt"].handle(command_type(headers=headers, **fields)))

    def only_run(self) -> m.ModelRunShown:
        [run] = self.bolt(m.ListModelRuns).runs
        return self.bolt(m.ShowModelRun, run_id=run.run_id)

    def trainer_pids(self) -> set[int] | None:
        """Pids of every trial that got a trainer; None while one of them has not told its pid."""
        trials = self.handle.ask(self.bridge, ListTrials(headers=Headers(correlation_id=uuid7())), 10).trials
        started = [t for t in trials if t.trainer]
        return {t.pid for t in started} if started and all(t.pid for t in started) else None

    def close(self) -> None:
        for store in (self.bolt_store, self.flow_store):
            self.run(store.close())
        self.runner.close()


@pytest.fixture
def lab(actor_system, tmp_path):
    made = []

    def make(**options):
        made.append(Lab(actor_system, tmp_path / f"lab{len(made)}", **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_a_nas_run_of_three_trials_on_digits_versions_a_model_chosen_from_a_true_pareto_frontier(lab):
    nas = lab()

    report = nas.search(max_trials=3, seed=1)

    assert report.status == "completed", report.finished.error
    shown = nas.only_run()
    assert shown.run.state == "succeeded"
    assert [(t.from_state, t.to_state) for t in shown.transitions] == [
        (None, "initialized"),
        ("initialized", "running"),
        ("running", "succeeded"),
    ]
    assert len(shown.artifacts) == 3
    for artifact in shown.artifacts:
        assert sha256_of(artifact.path) == artifact.sha256 and 0 < artifact.accuracy <= 1
    [version] = shown.versions
    models = {a.artifact_id: pareto.Candidate(a.artifact_id, a.accuracy, a.param_count) for a in shown.artifacts}
    front = [models[p.artifact_id] for p in version.frontier]
    assert front and not any(pareto.dominates(c, f) for f in front for c in models.values())
    assert all(any(pareto.dominates(f, c) for f in front) for c in models.values() if c not in front)
    assert version.artifact_id == max(front, key=lambda c: (c.accuracy, -c.size)).id
    result = report.finished.result
    assert (result["best_model_id"], result["best_score"]) == (version.artifact_id, version.metrics["accuracy"])
    assert result["version"]["version_id"] == version.version_id
    [event] = [e for e in nas.events if e.name == "ml.run.completed"]
    assert (event.source, event.payload["best_model_id"], event.payload["model"]) == (
        "bolt",
        version.artifact_id,
        version.version_id,
    )
    took = (version.created_at - shown.run.created_at).total_seconds() * 1000
    assert event.payload["duration_ms"] == max(0, round(took))
    validate(event, "raise")


def test_an_unknown_dataset_fails_before_any_run_is_created(lab):
    nas = lab()
    report = nas.search(dataset_id="no-such-data")
    assert report.finished.error.code == "dataset_not_found"
    assert nas.bolt(m.ListModelRuns).runs == []


@pytest.mark.parametrize(
    "domain, command, step, code",
    [
        ("bolt", "RecordArtifacts", "collect_artifacts", "artifact_collection_failed"),
        ("bolt", "CreateModelVersion", "persist_version", "model_version_failed"),
    ],
)
def test_a_failure_after_training_marks_the_run_failed_with_the_reason_and_versions_nothing(
    lab, domain, command, step, code
):
    nas = lab()
    nas.faults[domain] = FaultPlan.from_data([{"command": command, "code": "forced"}])

    report = nas.search(max_trials=2)

    assert (report.status, report.finished.error.code) == ("failed", code)
    shown = nas.only_run()
    assert shown.run.state == "failed"
    assert shown.run.reason.startswith(f"{step} failed: {code}")
    assert shown.versions == [] and nas.events == []


def assert_no_trainer_survives(nas: Lab, multiprocess: bool) -> None:
    """Every trainer's process is gone (a trainer cancelled before it reported its pid is
    killed as soon as it does: wait for every pid first)."""
    if multiprocess:
        pids = wait_until(nas.trainer_pids)
        wait_until(lambda: not any(pid_alive(p) for p in pids))


def test_a_failure_injected_after_dispatch_cancels_every_running_trial_and_fails_the_run(lab, actor_system):
    nas = lab(bridge_faults=[{"command": "AwaitTrials", "code": "forced"}])

    report = nas.search(search_space=ENDLESS, max_trials=3)

    assert (report.status, report.finished.error.code) == ("failed", "forced")
    assert report.state.failure[0] == "await_completion"
    undone = [e.step for e in report.timeline if e.what == "undo ok"]
    assert undone == ["dispatch_training", "create_model_run"]
    assert_no_trainer_survives(nas, actor_system.multiprocess)
    shown = nas.only_run()
    assert (shown.run.state, shown.run.reason) == (
        "failed",
        "await_completion failed: forced: injected fault on AwaitTrials",
    )
    assert shown.artifacts == [] and shown.versions == []


@pytest.mark.multiproc
def test_a_deadline_shorter_than_training_cancels_cleanly(multiproc_actor_system, tmp_path):
    nas = Lab(multiproc_actor_system, tmp_path)
    try:
        report = nas.search(search_space=ENDLESS, max_trials=2, deadline_s=2.0)

        assert (report.status, report.finished.error.code) == ("failed", "training_deadline_exceeded")
        assert_no_trainer_survives(nas, True)
        shown = nas.only_run()
        assert shown.run.state == "failed" and "training_deadline_exceeded" in shown.run.reason
        assert not list((tmp_path / "artifacts").rglob("*.npz*"))
    finally:
        nas.close()


@pytest.mark.parametrize(
    "inputs", [{"max_trials": 0}, {"deadline_s": 0}, {"deadline_s": 1e9}, {"search_space": [1]}, {"seed": "x"}]
)
def test_bad_inputs_are_refused_before_anything_runs(inputs):
    from sagaline.saga import InputError

    with pytest.raises(InputError):
        Driver(cerebros_nas.definition()).run({"dataset_id": "digits", **inputs})


@pytest.mark.parametrize(
    "space, field",
    [
        ({"widths": [0]}, "widths"),
        ({"depth": [1]}, "depth"),
        ({"widths": list(range(1, 200)), "hidden_layers": [3]}, "combinations"),
    ],
)
def test_a_search_space_that_does_not_fit_fails_as_invalid_search_space_and_leaves_no_run(lab, space, field):
    nas = lab()
    report = nas.search(search_space=space)
    error = report.finished.error
    assert (report.status, report.state.failure[0], error.code) == (
        "failed",
        "create_model_run",
        "invalid_search_space",
    )
    assert field in error.message and error.details["cause"] == "invalid_search_space"
    assert nas.bolt(m.ListModelRuns).runs == []
