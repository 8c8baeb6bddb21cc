"""A trainer actor on its own: it reports by message to whoever sent the trial, and a stop
request ends its training thread (and, on multiproc, its process)."""

from __future__ import annotations

import threading

from sagaline.actors.spawn import start_actor
from sagaline.messages.supervision import Stop
from tests.support.tree import wait_until
from thunderline.messages import bridge as b

TRAINER = "thunderline.actors.trainer.TrainerActor"


def train(dataset: b.TrainingDataset, epochs: int, tmp_path) -> b.TrainTrial:
    arch = b.Architecture(
        layers=[4], activation="tanh", learning_rate=0.01, alpha=0.0, batch_size=256, epochs=epochs, param_count=310
    )
    return b.TrainTrial(trial_id="t1", run_id="r1", dataset=dataset, architecture=arch, artifacts_dir=str(tmp_path))


def test_a_trial_that_cannot_load_its_data_is_reported_failed_to_its_sender(actor_system, tmp_path):
    missing = b.TrainingDataset(
        dataset_id="x",
        name="x",
        kind="npz",
        path=str(tmp_path / "x.npz"),
        feature_count=1,
        class_count=2,
        sample_count=2,
    )
    trainer = start_actor(actor_system, TRAINER)
    report = actor_system.ask(trainer, train(missing, 1, tmp_path), 30)
    assert isinstance(report, b.TrialReport)
    assert report.result.state == "failed" and "x.npz" in report.result.reason


def test_a_stop_request_ends_the_training_and_the_trainer(actor_system, tmp_path):
    digits = b.TrainingDataset(
        dataset_id="digits", name="digits", kind="builtin", feature_count=64, class_count=10, sample_count=1797
    )
    trainer = start_actor(actor_system, TRAINER)
    progress = actor_system.ask(trainer, train(digits, 1_000_000, tmp_path), 30)
    assert isinstance(progress, b.TrialProgress) and progress.epoch >= 1  # sent while it trains
    before = actor_system.pids()
    actor_system.tell(trainer, Stop())
    if actor_system.multiprocess:  # the trainer's process is the one that goes
        wait_until(lambda: len(actor_system.pids()) == len(before) - 1)
    else:  # in-process: the thread saw the stop flag after its epoch
        wait_until(lambda: not any(t.name == "trial-t1" for t in threading.enumerate()))
    assert not list(tmp_path.rglob("*.npz"))
