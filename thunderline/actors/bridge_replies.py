"""What the cerebros bridge says, built from its state records: pure, no actor here.

A trial's row for ``ListTrials``, a run's outcome for the sagas awaiting it
(finished, cut by its deadline, or cancelled), the bus announcement of a
trained trial, and a refusal. :class:`thunderline.actors.bridge.BridgeActor`
decides when each is sent.
"""

from __future__ import annotations

from typing import Any

from sagaline.events.envelope import new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.base import Command, Headers
from sagaline.messages.common import CommandFailed
from thunderline.actors.bridge_support import TrainingRun, Trial
from thunderline.messages import bridge as b

__all__ = ["TRIAL_EVENT", "failed", "trial_info", "run_outcome", "trial_announcement"]

#: The event announcing a trained trial.
TRIAL_EVENT = "ml.trial.completed"


def failed(cmd: Command, code: str, message: str) -> CommandFailed:
    """``cmd`` refused with ``code`` and ``message``."""
    return CommandFailed(headers=cmd.headers, code=code, message=message)


def trial_info(trial: Trial) -> b.TrialInfo:
    """``trial`` as a row of ``ListTrials``."""
    return b.TrialInfo(
        trial_id=trial.trial_id,
        run_id=trial.run_id,
        state=trial.state,
        trainer=trial.spawned,
        pid=trial.pid,
        member=trial.member,
        epoch=trial.epoch,
        epochs=trial.arch.epochs,
        reason=trial.reason,
    )


def run_outcome(run: TrainingRun, results: list[b.TrialResult | None], headers: Any) -> Any:
    """The answer to ``run``'s waiters once it ended: its trials' results, or why it was cut short."""
    if run.ended == "deadline":
        return CommandFailed(
            headers=headers,
            code="training_deadline_exceeded",
            message=f"run {run.run_id}: trials still running after {run.deadline_s:g} s were cancelled",
        )
    if run.ended == "cancelled":
        return CommandFailed(headers=headers, code="training_cancelled", message=f"run {run.run_id} was cancelled")
    return b.TrialsFinished(headers=headers, run_id=run.run_id, trials=results)


def trial_announcement(run: TrainingRun, trial: Trial, accuracy: float, ended: int) -> PublishEvent | None:
    """``ml.trial.completed`` for ``trial`` of ``run`` (``ended`` of its trials over), in the saga's correlation id.

    None for a run that no saga started (it has no correlation id). The idempotency key is the trial's,
    so the bus stores the announcement once however often it is sent.
    """
    if run.correlation_id is None:
        return None
    payload = {
        "run_id": run.run_id,
        "trial_id": trial.trial_id,
        "accuracy": accuracy,
        "param_count": trial.arch.param_count,
        "completed_trials": ended,
        "total_trials": len(run.trial_ids),
    }
    event = new_event(TRIAL_EVENT, "bolt", payload, run.correlation_id)
    headers = Headers(correlation_id=run.correlation_id, idempotency_key=f"{trial.trial_id}:{TRIAL_EVENT}")
    return PublishEvent(headers=headers, event=event)
