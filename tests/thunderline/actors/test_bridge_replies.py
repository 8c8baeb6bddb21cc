"""What the bridge says, built from its state records: pure, no actor system."""

from __future__ import annotations

from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from thunderline.actors.bridge_replies import TRIAL_EVENT, failed, run_outcome, trial_announcement, trial_info
from thunderline.actors.bridge_support import TrainingRun, Trial
from thunderline.messages import bridge as b

CID = uuid7()
DIGITS = b.TrainingDataset(
    dataset_id="digits", name="digits", kind="builtin", feature_count=64, class_count=10, sample_count=1797
)
ARCH = b.Architecture(
    layers=[8], activation="relu", learning_rate=0.01, alpha=1e-4, batch_size=128, epochs=3, param_count=610
)


def a_run(correlation_id: str | None = CID, ended: str | None = None) -> TrainingRun:
    run = TrainingRun("run-1", DIGITS, 7, 30.0, ["t1", "t2"], correlation_id)
    run.ended = ended
    return run


def test_a_trial_row_carries_its_state_trainer_member_and_progress():
    trial = Trial("t1", "run-1", ARCH, state="running", pid=42, member="m1", spawned=True, epoch=2, reason="")
    info = trial_info(trial)
    assert (info.trial_id, info.run_id, info.state, info.trainer) == ("t1", "run-1", "running", True)
    assert (info.pid, info.member, info.epoch, info.epochs) == (42, "m1", 2, 3)


def test_a_finished_run_answers_with_every_trial_result_in_order():
    headers = Headers(correlation_id=CID)
    results = [
        b.TrialResult(trial_id=t, run_id="run-1", state=s, architecture=ARCH, reason="")
        for t, s in (("t1", "succeeded"), ("t2", "failed"))
    ]
    outcome = run_outcome(a_run(), results, headers)
    assert isinstance(outcome, b.TrialsFinished)
    assert [t.trial_id for t in outcome.trials] == ["t1", "t2"] and outcome.headers == headers


def test_a_run_cut_short_answers_why_with_its_code():
    headers = Headers(correlation_id=CID)
    deadline = run_outcome(a_run(ended="deadline"), [], headers)
    cancelled = run_outcome(a_run(ended="cancelled"), [], headers)
    assert isinstance(deadline, CommandFailed) and deadline.code == "training_deadline_exceeded"
    assert "30 s" in deadline.message
    assert isinstance(cancelled, CommandFailed) and cancelled.code == "training_cancelled"


def test_a_trained_trial_is_announced_once_per_trial_in_the_saga_correlation_id():
    trial = Trial("t1", "run-1", ARCH)
    publish = trial_announcement(a_run(), trial, 0.93, ended=1)
    assert publish is not None
    assert publish.event.name == TRIAL_EVENT and publish.event.correlation_id == CID
    assert publish.headers.idempotency_key == f"t1:{TRIAL_EVENT}"
    assert publish.event.payload == {
        "run_id": "run-1",
        "trial_id": "t1",
        "accuracy": 0.93,
        "param_count": 610,
        "completed_trials": 1,
        "total_trials": 2,
    }


def test_a_run_no_saga_started_is_not_announced():
    assert trial_announcement(a_run(correlation_id=None), Trial("t1", "run-1", ARCH), 0.9, ended=1) is None


def test_a_refusal_names_the_code_and_keeps_the_command_headers():
    command = b.CancelTrials(headers=Headers(correlation_id=uuid7(), idempotency_key="k"), run_id="run-1")
    refusal = failed(command, "unknown_run", "no such run")
    assert (refusal.code, refusal.message, refusal.headers) == ("unknown_run", "no such run", command.headers)
