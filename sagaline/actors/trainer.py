"""The trainer actor: one NAS trial, in its own process on multiprocess bases.

The bridge creates one trainer per trial as its child, sends it
:class:`~sagaline.messages.supervision.InitActor` and then
:class:`~sagaline.messages.bridge.TrainTrial`. The trainer trains in its
handler (:func:`sagaline.domains.training.train_trial`), which blocks its
thread: that is why a trial is a process of its own, and why cancelling it
means the bridge kills that process (SIGKILL by the pid the trainer reported
in ``Started``), not a message the busy trainer would read too late.

By message, to its parent (the bridge): :class:`TrialProgress` after epochs
(at most every :data:`PROGRESS_INTERVAL_S`, and after the last), then one
:class:`TrialReport` (succeeded with the artifact's path, size, SHA-256 and
accuracy, or failed with the reason); then it exits normally.

If the bridge's process dies, the trainer notices between epochs (its parent
pid changed) and exits instead of training for nobody. scikit-learn is
imported only when a trial is trained.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.domains import training
from sagaline.messages.bridge import TrainTrial, TrialProgress, TrialReport, TrialResult

__all__ = ["TrainerActor", "PROGRESS_INTERVAL_S", "artifact_path"]

#: Least seconds between two progress messages (bounds the bridge's mail).
PROGRESS_INTERVAL_S = 0.25


def artifact_path(artifacts_dir: str, run_id: str, trial_id: str) -> Path:
    """Where a trial's model file goes: ``<artifacts_dir>/<run_id>/<trial_id>.npz``."""
    return Path(artifacts_dir) / run_id / f"{trial_id}.npz"


class TrainerActor(BaseActor):
    """Trains one trial and reports it; see the module docstring."""

    def on_start(self, args: dict[str, Any]) -> None:
        self._parent_pid = os.getppid()
        self._last_progress = 0.0

    def receive_TrainTrial(self, msg: TrainTrial, sender: Any) -> None:
        report_to = self.parent or sender
        result = self._train(msg, report_to)
        if result is None:
            os._exit(0)  # orphaned: nobody is waiting for this trial
        self.send(report_to, TrialReport(result=result))
        self.stop("normal")

    def _train(self, msg: TrainTrial, report_to: Any) -> TrialResult | None:
        base = {"trial_id": msg.trial_id, "run_id": msg.run_id, "architecture": msg.architecture}
        try:
            model = training.train_trial(
                msg.dataset, msg.architecture, seed=msg.seed,
                out_path=artifact_path(msg.artifacts_dir, msg.run_id, msg.trial_id),
                on_epoch=lambda epoch, epochs, loss: self._progress(report_to, msg.trial_id, epoch, epochs, loss),
                should_stop=self._orphaned)
        except training.TrainingStopped:
            return None
        except Exception as exc:  # a failed trial is an outcome to report, not a crash
            return TrialResult(**base, state="failed", reason=f"{type(exc).__name__}: {exc}"[:2000])
        return TrialResult(**base, state="succeeded", accuracy=model.accuracy, artifact_path=model.path,
                           size_bytes=model.size_bytes, sha256=model.sha256, duration_s=model.duration_s)

    def _progress(self, report_to: Any, trial_id: str, epoch: int, epochs: int, loss: float) -> None:
        now = time.monotonic()
        if epoch < epochs and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        self.send(report_to, TrialProgress(trial_id=trial_id, epoch=epoch, epochs=epochs, loss=loss))

    def _orphaned(self) -> bool:
        return os.getppid() != self._parent_pid
