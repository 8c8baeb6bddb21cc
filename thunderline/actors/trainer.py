"""The trainer actor: one NAS trial, in its own process on multiprocess bases.

The bridge creates one trainer per trial as its child, sends it
:class:`~sagaline.messages.supervision.InitActor` and then
:class:`~thunderline.messages.bridge.TrainTrial`. Training
(:func:`thunderline.domains.training.train_trial`) runs in a thread of the
trainer's process, so the actor's own thread stays free: Thespian transmits
what an actor sends only between messages, so a handler that trained in
place could not report progress until it was done, nor hear a stop.

Every :data:`PROGRESS_INTERVAL_S` a timer of the actor's own reads the
training thread's latest epoch and sends it to the bridge as
:class:`TrialProgress` (the last one again every :data:`HEARTBEAT_S` when
no epoch ended, so a bridge on another machine knows it lives); when the thread ends, the actor sends one
:class:`TrialReport` (succeeded with the artifact's path, size, SHA-256 and
accuracy, or failed with the reason) and exits normally. (The timer polls
a variable in its own process; the bridge hears everything by message.)

Stopping: an ``ActorExitRequest``/``Stop`` sets the thread's stop flag,
honoured after the current epoch (that is how an in-process trial is
cancelled). On multiprocess bases the bridge does not wait for that: it
kills the trainer's process. If the bridge's process dies, the thread sees
its parent pid change and stops, and the trainer exits. scikit-learn is
imported only when a trial is trained.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from sagaline.actors.base import BaseActor
from thunderline.domains import training
from thunderline.domains.trainer_places import satisfies
from thunderline.messages.bridge import TrainTrial, TrialProgress, TrialReport, TrialResult

__all__ = ["TrainerActor", "PROGRESS_INTERVAL_S", "HEARTBEAT_S", "artifact_path"]

#: Seconds between two looks at the training thread (progress, end, orphaning).
PROGRESS_INTERVAL_S = 0.1
#: Seconds between two progress messages at most: the repeat tells a bridge on another machine that the trainer
#: and its machine live (a vanished machine sends no ``ChildActorExited``).
HEARTBEAT_S = 1.0
#: Seconds a stopping trainer waits for its thread to finish the current epoch.
JOIN_SECONDS = 2.0


def artifact_path(artifacts_dir: str, run_id: str, trial_id: str) -> Path:
    """Where a trial's model file goes: ``<artifacts_dir>/<run_id>/<trial_id>.npz``."""
    return Path(artifacts_dir) / run_id / f"{trial_id}.npz"


class TrainerActor(BaseActor):
    """Trains one trial and reports it; see the module docstring."""

    @staticmethod
    def actorSystemCapabilityCheck(capabilities: dict[str, Any], requirements: dict[str, Any]) -> bool:
        """Thespian's placement hook: only where ``trainer`` is declared, on the member the bridge named
        (:mod:`thunderline.domains.trainer_places`)."""
        return satisfies(capabilities, requirements)

    def on_start(self, args: dict[str, Any]) -> None:
        self._parent_pid = os.getppid()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._epoch: tuple[int, int, float] | None = None
        self._reported_epoch = 0
        self._sent_at = time.monotonic()
        self._result: TrialResult | None = None
        self._thread: threading.Thread | None = None
        self._report_to: Any = None
        self._trial: TrainTrial | None = None

    def receive_TrainTrial(self, msg: TrainTrial, sender: Any) -> None:
        if self._thread is not None:
            return  # one trial per trainer
        self._trial, self._report_to = msg, self.parent or sender
        self._thread = threading.Thread(target=self._train, args=(msg,), name=f"trial-{msg.trial_id}", daemon=True)
        self._thread.start()
        self.timers.start("tick", PROGRESS_INTERVAL_S)

    def on_timer(self, name: str, data: Any) -> None:
        self._send_progress()
        with self._lock:
            result = self._result
        if result is not None:
            self.send(self._report_to, TrialReport(result=result))
            self.stop("normal")
        elif self._orphaned():
            self._stop.set()
            self.stop("normal")
        else:
            self.timers.start("tick", PROGRESS_INTERVAL_S)

    def on_terminate(self, reason: Any) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_SECONDS)

    def _send_progress(self) -> None:
        with self._lock:
            latest = self._epoch
        if self._trial is None:
            return
        fresh = latest is not None and latest[0] > self._reported_epoch
        if fresh or time.monotonic() - self._sent_at >= HEARTBEAT_S:
            epoch, epochs, loss = latest or (0, self._trial.architecture.epochs, math.nan)
            self._reported_epoch, self._sent_at = epoch, time.monotonic()
            self.send(
                self._report_to, TrialProgress(trial_id=self._trial.trial_id, epoch=epoch, epochs=epochs, loss=loss)
            )

    def _train(self, msg: TrainTrial) -> None:
        """The training thread: never sends (Thespian's send is not thread-safe)."""
        base = {"trial_id": msg.trial_id, "run_id": msg.run_id, "architecture": msg.architecture}
        try:
            model = training.train_trial(
                msg.dataset,
                msg.architecture,
                seed=msg.seed,
                out_path=artifact_path(msg.artifacts_dir, msg.run_id, msg.trial_id),
                on_epoch=self._note_epoch,
                should_stop=self._stop.is_set,
            )
            result = TrialResult(
                **base,
                state="succeeded",
                accuracy=model.accuracy,
                artifact_path=model.path,
                size_bytes=model.size_bytes,
                sha256=model.sha256,
                duration_s=model.duration_s,
            )
        except training.TrainingStopped as exc:
            result = TrialResult(**base, state="cancelled", reason=str(exc))
        except Exception as exc:  # a failed trial is an outcome to report, not a crash
            result = TrialResult(**base, state="failed", reason=f"{type(exc).__name__}: {exc}"[:2000])
        with self._lock:
            self._result = result

    def _note_epoch(self, epoch: int, epochs: int, loss: float) -> None:
        with self._lock:
            self._epoch = (epoch, epochs, loss)

    def _orphaned(self) -> bool:
        return os.getppid() != self._parent_pid
