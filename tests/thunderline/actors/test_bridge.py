"""The cerebros bridge on both bases: proposals, trials as trainer actors, completion by
message, and real cancellation (the trainer's process ends, checked by pid, on multiproc)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.messages.supervision import Stop
from tests.support.tree import pid_alive, wait_until
from thunderline.actors.bridge_args import BridgeArgs, BridgeSettings
from thunderline.domains.training import sha256_of
from thunderline.messages import bridge as b

BRIDGE = "thunderline.actors.bridge.BridgeActor"

DIGITS = b.TrainingDataset(
    dataset_id="digits", name="digits", kind="builtin", feature_count=64, class_count=10, sample_count=1797
)
#: Training that outlasts any test: it only ends by cancellation.
ENDLESS = 10_000_000


def arch(width: int = 8, epochs: int = 3) -> b.Architecture:
    return b.Architecture(
        layers=[width],
        activation="relu",
        learning_rate=0.01,
        alpha=1e-4,
        batch_size=128,
        epochs=epochs,
        param_count=64 * width + width + width * 10 + 10,
    )


def headers() -> Headers:
    return Headers(correlation_id=uuid7(), idempotency_key=uuid7())


def settings(**config: Any) -> dict[str, Any]:
    """A bridge's args with ``config``, built from its model (a misspelt setting fails here)."""
    return BridgeArgs(config=BridgeSettings(**config)).model_dump()


@pytest.fixture
def bridge(actor_system, tmp_path):
    return start_actor(actor_system, BRIDGE, settings(artifacts_dir=str(tmp_path / "artifacts"), max_parallel=2))


def ask(handle, bridge, command_type, timeout=60.0, **fields):
    return handle.ask(bridge, command_type(headers=headers(), **fields), timeout)


def dispatch(handle, bridge, archs, deadline_s=300.0, run_id=None):
    run_id = run_id or uuid7()
    reply = ask(
        handle, bridge, b.DispatchTraining, run_id=run_id, dataset=DIGITS, proposals=archs, deadline_s=deadline_s
    )
    assert isinstance(reply, b.TrainingDispatched), reply
    return run_id, reply.trial_ids


def trials(handle, bridge, run_id) -> dict[str, b.TrialInfo]:
    return {t.trial_id: t for t in ask(handle, bridge, b.ListTrials, run_id=run_id).trials}


def test_proposals_are_reproducible_and_never_exceed_max_params(actor_system, bridge):
    space = {"hidden_layers": [1, 2], "widths": [8, 16, 256], "epochs": 2}
    first, again, other = (
        ask(
            actor_system,
            bridge,
            b.ProposeArchitectures,
            run_id="r",
            search_space=space,
            count=4,
            seed=seed,
            feature_count=64,
            class_count=10,
            max_params=5000,
        ).proposals
        for seed in (7, 7, 8)
    )
    assert first == again and first != other
    assert len(first) == 4 and all(p.param_count <= 5000 for p in first)


@pytest.mark.parametrize(
    "space, code",
    [
        ({"widths": [0]}, "invalid_search_space"),
        ({"shapes": [3]}, "invalid_search_space"),
        ({"widths": [4096]}, "no_viable_architecture"),
    ],
)
def test_a_bad_or_impossible_search_space_is_refused_with_a_reason(actor_system, bridge, space, code):
    reply = ask(
        actor_system,
        bridge,
        b.ProposeArchitectures,
        run_id="r",
        search_space=space,
        feature_count=64,
        class_count=10,
        max_params=1000,
    )
    assert isinstance(reply, CommandFailed) and reply.code == code and reply.message


def test_every_trial_trains_a_real_model_and_the_run_is_answered_when_all_have_ended(actor_system, bridge):
    run_id, trial_ids = dispatch(actor_system, bridge, [arch(8), arch(16), arch(4)])

    finished = ask(actor_system, bridge, b.AwaitTrials, run_id=run_id)

    assert isinstance(finished, b.TrialsFinished), finished
    assert [t.trial_id for t in finished.trials] == trial_ids
    for trial in finished.trials:
        assert trial.state == "succeeded", trial.reason
        assert 0.3 < trial.accuracy <= 1.0
        assert os.path.getsize(trial.artifact_path) == trial.size_bytes
        assert sha256_of(trial.artifact_path) == trial.sha256
    assert {t.state for t in trials(actor_system, bridge, run_id).values()} == {"succeeded"}
    again = ask(actor_system, bridge, b.AwaitTrials, run_id=run_id)  # an ended run answers at once
    assert again.trials == finished.trials


def test_by_default_models_go_to_the_data_dirs_artifacts_whatever_the_store_location(actor_system, tmp_path):
    args = BridgeArgs(db_path="postgresql://u@127.0.0.1:5432/db#bridge", data_dir=str(tmp_path)).model_dump()
    bridge = start_actor(actor_system, BRIDGE, args)
    run_id, _ = dispatch(actor_system, bridge, [arch(4, epochs=1)])

    finished = ask(actor_system, bridge, b.AwaitTrials, run_id=run_id)

    assert isinstance(finished, b.TrialsFinished), finished
    path = finished.trials[0].artifact_path
    assert path.startswith(str(tmp_path / "artifacts" / run_id)) and os.path.getsize(path) > 0


def test_a_run_is_dispatched_once_however_often_the_dispatch_is_sent(actor_system, bridge):
    run_id, trial_ids = dispatch(actor_system, bridge, [arch()])
    assert dispatch(actor_system, bridge, [arch(), arch()], run_id=run_id)[1] == trial_ids
    assert ask(actor_system, bridge, b.AwaitTrials, run_id=run_id).trials[0].state == "succeeded"


def test_awaiting_a_run_the_bridge_never_saw_fails_at_once(actor_system, bridge):
    reply = ask(actor_system, bridge, b.AwaitTrials, run_id=uuid7())
    assert isinstance(reply, CommandFailed) and reply.code == "unknown_run"


def test_a_trial_that_cannot_load_its_data_fails_with_the_reason(actor_system, bridge, tmp_path):
    missing = DIGITS.model_copy(update={"kind": "csv", "path": str(tmp_path / "nope.csv"), "name": "nope"})
    run_id = uuid7()
    ask(actor_system, bridge, b.DispatchTraining, run_id=run_id, dataset=missing, proposals=[arch()])
    [trial] = ask(actor_system, bridge, b.AwaitTrials, run_id=run_id).trials
    assert trial.state == "failed" and "nope.csv" in trial.reason


@pytest.mark.multiproc
def test_each_trial_runs_in_its_own_process_which_ends_with_the_trial(multiproc_actor_system, tmp_path):
    handle = multiproc_actor_system
    bridge = start_actor(handle, BRIDGE, settings(artifacts_dir=str(tmp_path)))
    run_id, _ = dispatch(handle, bridge, [arch(), arch(12), arch(16)])
    ask(handle, bridge, b.AwaitTrials, run_id=run_id)
    pids = {t.pid for t in trials(handle, bridge, run_id).values()}
    assert len(pids) == 3 and None not in pids and os.getpid() not in pids
    wait_until(lambda: not any(pid_alive(p) for p in pids))


def running_with_progress(handle, bridge, run_id, count):
    """Wait until ``count`` trials run, each has told its pid and reported an epoch by message."""

    def ready():
        now = [t for t in trials(handle, bridge, run_id).values() if t.state == "running"]
        return now if len(now) == count and all(t.pid and t.epoch > 0 for t in now) else None

    return wait_until(ready, timeout=60)


@pytest.mark.multiproc
def test_cancelling_kills_every_running_trainer_and_drops_the_queued_trials(multiproc_actor_system, tmp_path):
    handle = multiproc_actor_system
    bridge = start_actor(handle, BRIDGE, settings(artifacts_dir=str(tmp_path), max_parallel=2))
    run_id, trial_ids = dispatch(handle, bridge, [arch(epochs=ENDLESS)] * 3)
    running = running_with_progress(handle, bridge, run_id, 2)

    reply = ask(handle, bridge, b.CancelTrials, run_id=run_id, reason="operator said so")

    assert sorted(reply.cancelled) == sorted(trial_ids)
    wait_until(lambda: not any(pid_alive(t.pid) for t in running))
    states = trials(handle, bridge, run_id)
    assert {t.state for t in states.values()} == {"cancelled"}
    assert {t.reason for t in states.values()} == {"operator said so"}
    assert ask(handle, bridge, b.AwaitTrials, run_id=run_id).code == "training_cancelled"
    assert not list(tmp_path.rglob("*.npz"))  # no model file, not even a partial one


@pytest.mark.multiproc
def test_a_deadline_shorter_than_training_cancels_the_trials_and_fails_the_await(multiproc_actor_system, tmp_path):
    handle = multiproc_actor_system
    bridge = start_actor(handle, BRIDGE, settings(artifacts_dir=str(tmp_path)))
    run_id, [endless, _] = dispatch(handle, bridge, [arch(epochs=ENDLESS), arch(epochs=1)], deadline_s=3.0)

    reply = ask(handle, bridge, b.AwaitTrials, run_id=run_id, timeout=60)

    assert isinstance(reply, CommandFailed) and reply.code == "training_deadline_exceeded"
    states = trials(handle, bridge, run_id)
    assert states[endless].state == "cancelled"  # the short one may or may not have made it
    assert {t.state for t in states.values()} <= {"cancelled", "succeeded"}
    started = wait_until(
        lambda: (now := trials(handle, bridge, run_id)) and all(t.pid for t in now.values() if t.trainer) and now
    )
    wait_until(lambda: not any(pid_alive(t.pid) for t in started.values() if t.pid))


@pytest.mark.multiproc
def test_a_stopping_bridge_takes_its_trainers_with_it(multiproc_actor_system, tmp_path):
    handle = multiproc_actor_system
    bridge = start_actor(handle, BRIDGE, settings(artifacts_dir=str(tmp_path)))
    run_id, _ = dispatch(handle, bridge, [arch(epochs=ENDLESS)])
    [trial] = running_with_progress(handle, bridge, run_id, 1)
    handle.tell(bridge, Stop())
    wait_until(lambda: not pid_alive(trial.pid))


def test_a_bridge_that_preloads_scikit_learn_still_trains_every_trial(actor_system, tmp_path):
    bridge = start_actor(actor_system, BRIDGE, settings(artifacts_dir=str(tmp_path), preload_training=True), timeout=30)
    run_id, _ = dispatch(actor_system, bridge, [arch(), arch(12)])
    finished = ask(actor_system, bridge, b.AwaitTrials, run_id=run_id)
    assert [t.state for t in finished.trials] == ["succeeded", "succeeded"]
