"""The bolt service: exactly-once effects, the one-active-snapshot rule, the model-run
state machine, artifact verification, the frontier, versions and their undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.storage.aio import AsyncRunner
from thunderline.domains.bolt import BoltService
from thunderline.domains.training import sha256_of
from thunderline.messages import bolt as m
from thunderline.messages import bolt_models as nas
from thunderline.messages.bridge import Architecture, TrialResult
from thunderline.storage.bolt_store import BoltStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RUN = uuid7()  # one saga run's correlation id for the whole module


class Bolt:
    def __init__(self, location: str) -> None:
        self.runner = AsyncRunner("test-bolt")
        self.store = self.runner.run(BoltStore.open(location), 10)
        self.service = BoltService(self.store, lambda: NOW)
        self.runner.run(self.service.start(), 10)

    def __call__(self, command_type, key: str | None = None, **fields):
        headers = Headers(correlation_id=RUN, idempotency_key=key or uuid7())
        return self.runner.run(self.service.handle(command_type(headers=headers, **fields)), 10)

    def close(self) -> None:
        self.runner.run(self.store.close(), 10)
        self.runner.close()


@pytest.fixture
def bolt(store_location):
    b = Bolt(store_location("bolt"))
    yield b
    b.close()


def failed(reply, code: str) -> bool:
    return isinstance(reply, CommandFailed) and reply.code == code


def test_a_resent_command_is_applied_once_and_answered_the_same(bolt):
    first = bolt(m.RegisterSnapshot, key="k1", version=1, checksum="c", trained_by="bolt")
    again = bolt(m.RegisterSnapshot, key="k1", version=1, checksum="c", trained_by="bolt")
    assert first == again and len(bolt(m.ListSnapshots).snapshots) == 1
    counts = bolt.runner.run(bolt.store.rows_per_key(), 10)
    assert max(n for table in counts.values() for n in table.values()) == 1


def test_at_most_one_snapshot_is_active(bolt):
    a, b = (bolt(m.RegisterSnapshot, version=v, checksum="c", trained_by="bolt").snapshot for v in (1, 2))
    assert isinstance(bolt(m.ActivateSnapshot, snapshot_id=a.snapshot_id), m.SnapshotActivated)
    assert failed(bolt(m.ActivateSnapshot, snapshot_id=b.snapshot_id), "another_snapshot_active")
    assert failed(bolt(m.ActivateSnapshot, snapshot_id=a.snapshot_id), "invalid_status")
    assert failed(bolt(m.LoadSnapshot, snapshot_id=a.snapshot_id), "invalid_status")
    assert failed(bolt(m.ShowSnapshot, snapshot_id=uuid7()), "snapshot_not_found")


def test_an_undo_that_finds_nothing_keeps_the_late_command_from_taking_effect(bolt):
    snap = bolt(m.RegisterSnapshot, version=1, checksum="c", trained_by="bolt").snapshot
    assert bolt(m.RevertActivation, effect_key="late").snapshot_id is None
    assert failed(bolt(m.ActivateSnapshot, key="late", snapshot_id=snap.snapshot_id), "undone_before_applied")
    assert bolt(m.ShowSnapshot, snapshot_id=snap.snapshot_id).snapshot.mode == "shadow"


@pytest.mark.parametrize(
    "change",
    [
        {"score": -0.1},
        {"sample_count": -1},
        {"window_end": NOW - timedelta(hours=3)},
        {"window_start": datetime(2026, 1, 1)},
    ],
)
def test_an_impossible_drift_window_is_refused(bolt, change):
    snap = bolt(m.RegisterSnapshot, version=1, checksum="c", trained_by="bolt").snapshot
    window = {"score": 0.1, "sample_count": 10, "window_start": NOW - timedelta(hours=2), "window_end": NOW}
    reply = bolt(m.RecordDrift, snapshot_id=snap.snapshot_id, **{**window, **change})
    assert failed(reply, "invalid_drift"), reply
    assert failed(bolt(m.RecordDrift, snapshot_id=uuid7(), **window), "unknown_snapshot")


def test_adapter_names_are_unique(bolt):
    assert isinstance(bolt(m.RegisterAdapter, name="api"), m.AdapterRegistered)
    assert failed(bolt(m.RegisterAdapter, name="api"), "adapter_name_taken")
    assert failed(bolt(m.RegisterAdapter, name="web", snapshot_id=uuid7()), "unknown_snapshot")


def make_run(bolt) -> nas.ModelRunRecord:
    return bolt(nas.CreateModelRun, dataset_id="digits").run


def test_a_model_run_starts_initialized_then_running_and_refuses_illegal_moves(bolt):
    run = make_run(bolt)
    assert run.state == "running"
    assert failed(bolt(nas.TransitionModelRun, run_id=run.run_id, to_state="initialized"), "illegal_transition")
    done = bolt(nas.TransitionModelRun, run_id=run.run_id, to_state="cancelled", reason="operator")
    assert (done.run.state, done.run.reason) == ("cancelled", "operator")
    for state in ("running", "succeeded", "failed"):
        assert failed(bolt(nas.TransitionModelRun, run_id=run.run_id, to_state=state), "illegal_transition")
    assert failed(bolt(nas.TransitionModelRun, run_id=uuid7(), to_state="failed"), "run_not_found")
    history = bolt(nas.ShowModelRun, run_id=run.run_id).transitions
    assert [(t.from_state, t.to_state) for t in history] == [
        (None, "initialized"),
        ("initialized", "running"),
        ("running", "cancelled"),
    ]


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"dataset_id": "nope"}, "dataset_not_found"),
        ({"requested_trials": 0}, "invalid_run"),
        ({"search_space": {"widths": [0]}}, "invalid_search_space"),
    ],
)
def test_a_run_needs_a_known_dataset_and_sane_settings(bolt, fields, code):
    assert failed(bolt(nas.CreateModelRun, **{"dataset_id": "digits", **fields}), code)


def test_aborting_a_run_fails_it_with_the_first_noted_reason_or_cancels_it(bolt):
    noted = bolt(nas.CreateModelRun, key="c1", dataset_id="digits").run
    assert bolt(nas.RecordRunFailure, run_id=noted.run_id, step="await_completion", code="late").recorded
    assert not bolt(nas.RecordRunFailure, run_id=noted.run_id, step="later", code="other").recorded
    assert bolt(nas.AbortModelRun, effect_key="c1").state == "failed"
    assert bolt(nas.ShowModelRun, run_id=noted.run_id).run.reason == "await_completion failed: late"
    bolt(nas.CreateModelRun, key="c2", dataset_id="digits")
    assert bolt(nas.AbortModelRun, effect_key="c2").state == "cancelled"
    assert bolt(nas.AbortModelRun, effect_key="c2").state == "cancelled"  # an ended run stays as it is


def trial(run_id: str, path: Path | None, accuracy: float, width: int, state: str = "succeeded") -> TrialResult:
    arch = Architecture(
        layers=[width],
        activation="relu",
        learning_rate=0.01,
        alpha=0.0,
        batch_size=8,
        epochs=1,
        param_count=width * 100,
    )
    if path is None:
        return TrialResult(trial_id=uuid7(), run_id=run_id, state=state, architecture=arch, reason="boom")
    path.write_bytes(bytes(width))
    return TrialResult(
        trial_id=uuid7(),
        run_id=run_id,
        state=state,
        architecture=arch,
        accuracy=accuracy,
        artifact_path=str(path),
        size_bytes=width,
        sha256=sha256_of(path),
    )


def test_artifacts_are_recorded_only_when_their_files_match_what_was_reported(bolt, tmp_path):
    run = make_run(bolt)
    good = trial(run.run_id, tmp_path / "a.npz", 0.9, 10)
    bad = trial(run.run_id, tmp_path / "b.npz", 0.8, 20)
    (tmp_path / "b.npz").write_bytes(b"tampered!" * 3)
    assert failed(bolt(nas.RecordArtifacts, run_id=run.run_id, trials=[good, bad]), "artifact_invalid")
    assert failed(
        bolt(nas.RecordArtifacts, run_id=run.run_id, trials=[trial(run.run_id, None, 0, 1, "failed")]),
        "no_successful_trials",
    )
    recorded = bolt(nas.RecordArtifacts, run_id=run.run_id, trials=[good, trial(run.run_id, None, 0, 1, "failed")])
    assert [a.trial_id for a in recorded.artifacts] == [good.trial_id] and len(recorded.failed_trials) == 1


def test_the_frontier_drops_dominated_models_and_the_version_takes_the_best_within_bounds(bolt, tmp_path):
    run = make_run(bolt)
    trials = [trial(run.run_id, tmp_path / f"{w}.npz", acc, w) for w, acc in [(10, 0.80), (20, 0.70), (30, 0.95)]]
    artifacts = {a.param_count: a for a in bolt(nas.RecordArtifacts, run_id=run.run_id, trials=trials).artifacts}
    analysis = bolt(nas.AnalyzeFrontier, run_id=run.run_id, max_params=2500)
    assert [p.param_count for p in analysis.frontier] == [1000, 3000]  # 2000 is dominated by 1000
    assert analysis.chosen.artifact_id == artifacts[1000].artifact_id
    assert failed(bolt(nas.AnalyzeFrontier, run_id=run.run_id, max_params=10), "no_viable_model")

    created = bolt(
        nas.CreateModelVersion,
        key="v1",
        run_id=run.run_id,
        artifact_id=analysis.chosen.artifact_id,
        frontier=analysis.frontier,
    )
    assert created.version.number == 1 and created.version.metrics["accuracy"] == 0.80
    assert bolt(nas.ShowModelRun, run_id=run.run_id).run.state == "succeeded"
    assert bolt(nas.DeleteModelVersion, effect_key="v1").version_id == created.version.version_id
    shown = bolt(nas.ShowModelRun, run_id=run.run_id)
    assert shown.versions == [] and shown.run.state == "running"


def test_datasets_come_built_in_or_registered_from_a_file(bolt, tmp_path):
    assert bolt(nas.GetDataset, dataset="digits").dataset.feature_count == 64
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 5)), y=np.arange(30) % 3)
    registered = bolt(nas.RegisterDataset, name="tiny", kind="npz", path=str(tmp_path / "d.npz")).dataset
    assert (registered.feature_count, registered.class_count, registered.sample_count) == (5, 3, 30)
    assert bolt(nas.GetDataset, dataset=registered.dataset_id).dataset == registered
    assert failed(
        bolt(nas.RegisterDataset, name="tiny", kind="npz", path=str(tmp_path / "d.npz")), "dataset_name_taken"
    )
    assert failed(bolt(nas.RegisterDataset, name="x", kind="csv", path=str(tmp_path / "none.csv")), "invalid_dataset")
    assert failed(bolt(nas.GetDataset, dataset="nope"), "dataset_not_found")
