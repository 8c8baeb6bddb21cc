"""The cerebros bridge: proposes architectures and runs each NAS trial as a trainer actor.

Registered as ``bridge`` (the tree registers domains as ``domain:bridge``).
Its commands and answers are in :mod:`thunderline.messages.bridge`. It never
trains in its own thread, so it stays responsive while trials run:

* ``DispatchTraining`` queues one trial per proposal, starts up to
  ``max_parallel`` trainer actors (children; each its own process on
  multiprocess bases), and sets the run's deadline timer. A run is
  dispatched once: a re-sent dispatch for it answers with the same trials.
* Trainers report progress and completion **by message**; when every trial
  of a run has ended, each pending ``AwaitTrials`` is answered (no polling).
* Cancelling (``CancelTrials``, or the deadline) marks every queued trial
  cancelled and kills every running trainer: SIGKILL of the pid it reported
  in ``Started`` (in-process bases: an ``ActorExitRequest``). A trainer
  killed before it reported its pid is killed as soon as it does. The
  trial is cancelled at once; the process is gone a few ms later, when
  Thespian's ``ChildActorExited`` arrives and its temporary files are removed.
* In a convention, each trainer goes to the least loaded member declaring
  ``trainer`` (:mod:`thunderline.domains.trainer_places` says how, and how a
  remote trainer is stopped and its death noticed).
* A trainer that exits without a report (crashed, killed by someone else)
  fails its trial with the exit reason. When the bridge stops, it kills
  every trainer still running: none outlives it.
* Each trial that trains a model is announced on the bus as
  ``ml.trial.completed`` (run, trial, accuracy, size, trials ended so far
  of how many) the moment its report arrives, in the saga run's correlation
  id. Its source is bolt: this bridge is bolt's Cerebros integration (the
  original's ``Thunderbolt.CerebrosBridge``), and ``ml.trial`` is bolt's
  category. The bus is found through the registry (``domain:flow``, followed
  when it restarts); without a registry (a bare bridge in tests) nothing is
  announced. Best effort: the bus stores each announcement once per trial
  (persistent), but one due while no bus is known is not made.

Args (child spec, :class:`BridgeArgs`): ``config`` (:class:`BridgeSettings`) with
``artifacts_dir`` (default: ``artifacts`` in the daemon's ``data_dir``),
``max_parallel`` (default 2: trials are CPU-bound),
``trainer`` (actor class path, default the :class:`TrainerActor`),
``preload_training`` (default False: import scikit-learn in the bridge at
start, so every forked trainer inherits it instead of importing it again,
about 1 s per trial here; costs the bridge process that import and its memory);
``faults`` (a :class:`~sagaline.domains.faults.FaultPlan` as data). Trial
state lives in memory: a restarted bridge knows no trials (their trainers
died with it), so a saga awaiting them gets ``unknown_run`` and rolls back.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thespian.actors import ActorExitRequest

from sagaline.actors.base import BaseActor
from sagaline.domains.faults import FaultPlan
from sagaline.events.flow import EventPublished
from sagaline.messages.base import Command
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Entries, Lookup, RegistryEvent, Subscribe, Subscribed
from sagaline.messages.supervision import ExitReason, InitFailed, Started
from sagaline.supervisors.children import resolve_actor_class
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry
from thunderline.actors.bridge_args import TRAINER, BridgeArgs, BridgeSettings
from thunderline.actors.bridge_replies import failed, run_outcome, trial_announcement, trial_info
from thunderline.actors.bridge_support import TrainingRun as _Run
from thunderline.actors.bridge_support import Trial as _Trial
from thunderline.actors.bridge_support import load_own_app, preload, remove_partial_files
from thunderline.actors.trainer import artifact_path
from thunderline.domains.nas import parse_space, propose
from thunderline.domains.trainer_places import choose_member, trainer_requirements
from thunderline.messages import bridge as b

__all__ = ["BridgeActor", "BridgeArgs", "BridgeSettings", "TRAINER"]

#: The bus's registry key.
FLOW_KEY = "domain:flow"

_ENDED = ("succeeded", "failed", "cancelled")
#: Seconds without a word (Started, progress, report) after which a trainer on another member counts as dead.
SILENT_S = 5.0


class BridgeActor(BaseActor):
    """NAS trials as child actors; see the module docstring."""

    def on_start(self, args: dict[str, Any]) -> None:
        # commands by class, as every domain service dispatches them (sagaline.domains.service.answer);
        # the other messages by receive_<Class>, as every actor
        self._commands: dict[type, Callable[[Any, Any], Any]] = {
            b.ProposeArchitectures: self._propose,
            b.DispatchTraining: self._dispatch_training,
            b.AwaitTrials: self._await_trials,
            b.CancelTrials: self._cancel_trials,
            b.ListTrials: self._list_trials,
        }
        cfg = BridgeArgs.parse(args)
        config = cfg.config
        self.artifacts_dir = config.artifacts_dir or str(Path(cfg.data_dir or ".") / "artifacts")
        self.max_parallel = max(1, config.max_parallel)
        self.trainer_class = resolve_actor_class(config.trainer)
        self.faults = FaultPlan(cfg.faults)
        if config.preload_training:
            preload()
        self.trials: dict[str, _Trial] = {}
        self.runs: dict[str, _Run] = {}
        self.queue: deque[str] = deque()
        self.flow: Any = None
        self.members: dict[str, dict[str, Any]] = {}  # trainer member's admin address -> its requirements
        try:
            self.notifyOnSystemRegistrationChanges(True)
        except Exception:  # an in-process base has no convention: trainers stay local
            pass
        if self.registry is not None:
            load_own_app()  # its events' taxonomy, as in every process that emits them
            self.send(self.registry, Subscribe(key_prefix=FLOW_KEY))
            self.send(self.registry, Lookup(key=FLOW_KEY))

    # ----- commands ---------------------------------------------------------------------------

    def receive_Command(self, cmd: Command, sender: Any) -> None:
        fault = self.faults.check(cmd)
        if fault is not None and fault.rule.action == "crash":
            raise RuntimeError(f"bridge: injected crash on {type(cmd).__name__}")
        if fault is not None and fault.rule.action == "fail":
            self.send(sender, fault.refusal(cmd))
            return
        if fault is not None:
            time.sleep(fault.rule.seconds)
        handler = self._commands.get(type(cmd))
        if handler is None:
            self.send(
                sender,
                CommandFailed(
                    headers=cmd.headers,
                    code="unsupported_command",
                    message=f"{type(cmd).__name__} is not handled by the bridge",
                ),
            )
            return
        reply = handler(cmd, sender)
        if reply is not None:
            self.send(sender, reply)

    def _propose(self, cmd: b.ProposeArchitectures, sender: Any) -> Any:
        try:
            space = parse_space(cmd.search_space)
            proposals = propose(
                space,
                cmd.count,
                seed=cmd.seed,
                n_features=cmd.feature_count,
                n_classes=cmd.class_count,
                max_params=cmd.max_params,
            )
        except ValueError as exc:
            return failed(cmd, "invalid_search_space", str(exc))
        if not proposals:
            return failed(
                cmd, "no_viable_architecture", f"no architecture of the space has at most {cmd.max_params} parameters"
            )
        archs = [b.Architecture(**p.model_dump(exclude={"layers"}), layers=list(p.layers)) for p in proposals]
        return b.ArchitecturesProposed(headers=cmd.headers, run_id=cmd.run_id, proposals=archs)

    def _dispatch_training(self, cmd: b.DispatchTraining, sender: Any) -> Any:
        run = self.runs.get(cmd.run_id)
        if run is None:
            if not cmd.proposals or not cmd.deadline_s > 0:
                return failed(cmd, "invalid_dispatch", "needs at least one proposal and a positive deadline")
            run = self._start_run(cmd)
        return b.TrainingDispatched(headers=cmd.headers, run_id=run.run_id, trial_ids=list(run.trial_ids))

    def _await_trials(self, cmd: b.AwaitTrials, sender: Any) -> Any:
        run = self.runs.get(cmd.run_id)
        if run is None:
            return failed(cmd, "unknown_run", f"the bridge knows no trials of run {cmd.run_id}")
        run.waiters.append((sender, cmd.headers))
        self._answer_waiters(run)
        return None

    def _cancel_trials(self, cmd: b.CancelTrials, sender: Any) -> Any:
        run = self.runs.get(cmd.run_id)
        cancelled = self._cancel_run(run, "cancelled", cmd.reason) if run is not None else []
        return b.TrialsCancelled(headers=cmd.headers, run_id=cmd.run_id, cancelled=cancelled)

    def _list_trials(self, cmd: b.ListTrials, sender: Any) -> Any:
        infos = [trial_info(t) for t in self.trials.values() if cmd.run_id in (None, t.run_id)]
        return b.TrialsPage(headers=cmd.headers, trials=infos)

    # ----- trials -----------------------------------------------------------------------------

    def _start_run(self, cmd: b.DispatchTraining) -> _Run:
        run = _Run(cmd.run_id, cmd.dataset, cmd.seed, cmd.deadline_s, [], cmd.headers.correlation_id)
        for arch in cmd.proposals:
            trial = _Trial(uuid7(), cmd.run_id, arch)
            self.trials[trial.trial_id] = trial
            run.trial_ids.append(trial.trial_id)
            self.queue.append(trial.trial_id)
        self.runs[run.run_id] = run
        self.timers.start(f"deadline:{run.run_id}", cmd.deadline_s, run.run_id)
        self._fill_slots()
        return run

    def _fill_slots(self) -> None:
        while self.queue and sum(t.state == "running" for t in self.trials.values()) < self.max_parallel:
            trial = self.trials[self.queue.popleft()]
            run = self.runs[trial.run_id]
            trial.member = choose_member(
                {m: sum(t.state == "running" and t.member == m for t in self.trials.values()) for m in self.members}
            )
            needs = self.members[trial.member] if trial.member is not None else None
            trial.state, trial.address = "running", self.createActor(self.trainer_class, targetActorRequirements=needs)
            trial.spawned, trial.started_ns = True, time.monotonic_ns()
            trial.heard_ns = trial.started_ns
            if trial.member is not None and not self.timers.active("liveness"):
                self.timers.start("liveness", SILENT_S / 5)
            telemetry.execute(
                tn.BRIDGE_TRIAL_START,
                {"monotonic_time": trial.started_ns},
                {"run_id": run.run_id, "trial_id": trial.trial_id},
            )
            init = self.child_init({}, child_id=trial.trial_id)
            # a remote trainer's process is no child of ours: no parent-pid orphan check (it watches its admin)
            self.send(trial.address, init if trial.member is None else init.model_copy(update={"parent_pid": None}))
            self.send(
                trial.address,
                b.TrainTrial(
                    trial_id=trial.trial_id,
                    run_id=run.run_id,
                    dataset=run.dataset,
                    architecture=trial.arch,
                    seed=run.seed,
                    artifacts_dir=self.artifacts_dir,
                ),
            )

    def receive_Started(self, msg: Started, sender: Any) -> None:
        trial = self.trials.get(msg.child_id or "")
        if trial is None:
            return
        trial.pid, trial.heard_ns = msg.pid, time.monotonic_ns()
        if trial.state == "cancelled":
            self._kill(trial)  # cancelled before it could say who it was

    def receive_InitFailed(self, msg: InitFailed, sender: Any) -> None:
        trial = self.trials.get(msg.child_id or "")
        if trial is not None and trial.state == "running":
            self._end(trial, "failed", f"trainer did not start: {msg.reason.detail or msg.reason.kind}")

    def receive_TrialProgress(self, msg: b.TrialProgress, sender: Any) -> None:
        trial = self.trials.get(msg.trial_id)
        if trial is not None and trial.state == "running":
            trial.epoch, trial.heard_ns = max(trial.epoch, msg.epoch), time.monotonic_ns()

    def receive_TrialReport(self, msg: b.TrialReport, sender: Any) -> None:
        trial = self.trials.get(msg.result.trial_id)
        if trial is None or trial.state == "cancelled":
            return  # finished as it was being cancelled: the cancellation stands
        trial.epoch = trial.arch.epochs if msg.result.state == "succeeded" else trial.epoch
        self._end(trial, msg.result.state, msg.result.reason, msg.result)
        if msg.result.state == "succeeded" and msg.result.accuracy is not None:
            self._announce(trial, msg.result.accuracy)

    def on_child_exit(self, address: Any, reason: ExitReason) -> None:
        trial = next((t for t in self.trials.values() if t.address == address), None)
        if trial is None:
            return
        trial.address = None
        if trial.state == "running":
            why = reason.kind + (f": {reason.error_type}: {reason.detail}" if reason.kind == "error" else "")
            self._end(trial, "failed", f"trainer exited without a report ({why})")
        if trial.state != "succeeded":
            remove_partial_files(artifact_path(self.artifacts_dir, trial.run_id, trial.trial_id))
        self._fill_slots()

    def receive_ActorSystemConventionUpdate(self, msg: Any, sender: Any) -> None:
        admin = str(msg.remoteAdminAddress)
        needs = trainer_requirements(dict(msg.remoteCapabilities or {})) if msg.remoteAdded else None
        if needs is not None:
            self.members[admin] = needs
            self._fill_slots()
            return
        self.members.pop(admin, None)
        if not msg.remoteAdded:  # its trainers died with it, and Thespian sends no ChildActorExited for them
            for trial in [t for t in self.trials.values() if t.member == admin and t.state == "running"]:
                trial.address = None
                self._end(trial, "failed", f"trainer's member {admin} left the convention")

    def on_timer(self, name: str, data: Any) -> None:
        if name == "liveness":
            self._check_remote_trainers()
            return
        run = self.runs.get(data)
        if name.startswith("deadline:") and run is not None:
            self._cancel_run(run, "deadline", f"deadline of {run.deadline_s:g} s exceeded")

    def _check_remote_trainers(self) -> None:
        now = time.monotonic_ns()
        for trial in [t for t in self.trials.values() if t.member is not None and t.state == "running"]:
            if now - trial.heard_ns > SILENT_S * 1e9:
                trial.address = None
                self._end(trial, "failed", f"trainer on {trial.member} silent for {SILENT_S:g} s (its process is gone)")
        if any(t.member is not None and t.state == "running" for t in self.trials.values()):
            self.timers.start("liveness", SILENT_S / 5)

    def _end(self, trial: _Trial, state: str, reason: str, result: b.TrialResult | None = None) -> None:
        trial.state, trial.reason = state, reason
        telemetry.execute(
            tn.BRIDGE_TRIAL_STOP,
            {"duration": _since(trial)},
            {"run_id": trial.run_id, "trial_id": trial.trial_id, "state": state, "reason": reason},
        )
        trial.result = result or b.TrialResult(
            trial_id=trial.trial_id, run_id=trial.run_id, state=state, architecture=trial.arch, reason=reason
        )
        run = self.runs[trial.run_id]
        self._answer_waiters(run)
        self._fill_slots()

    def _cancel_run(self, run: _Run, why: str, reason: str) -> list[str]:
        unfinished = [self.trials[t] for t in run.trial_ids if self.trials[t].state not in _ENDED]
        if unfinished and run.ended is None:
            run.ended = why
        running = [t for t in unfinished if t.state == "running"]
        for trial in unfinished:  # first, so no late report or exit reclassifies it
            if trial.trial_id in self.queue:
                self.queue.remove(trial.trial_id)
            trial.state, trial.reason = "cancelled", reason
            trial.result = b.TrialResult(
                trial_id=trial.trial_id, run_id=run.run_id, state="cancelled", architecture=trial.arch, reason=reason
            )
            telemetry.execute(
                tn.BRIDGE_TRIAL_CANCELLED,
                {"duration": _since(trial)},
                {"run_id": run.run_id, "trial_id": trial.trial_id, "reason": reason},
            )
        for trial in running:
            self._kill(trial)
        self._answer_waiters(run)
        self._fill_slots()
        return [t.trial_id for t in unfinished]

    def _kill(self, trial: _Trial) -> None:
        if trial.member is not None:
            if trial.address is not None:
                self.send(trial.address, ActorExitRequest())  # its pid is another machine's
        elif trial.pid is not None and trial.pid != os.getpid():
            try:
                os.kill(trial.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone; its ChildActorExited is on the way
        elif trial.address is not None and trial.pid is not None:
            self.send(trial.address, ActorExitRequest())  # in-process: cannot be mid-training

    def _answer_waiters(self, run: _Run) -> None:
        if not run.waiters or not (run.ended or all(self.trials[t].state in _ENDED for t in run.trial_ids)):
            return
        waiters, run.waiters = run.waiters, []
        for sender, headers in waiters:
            self.send(sender, run_outcome(run, [self.trials[t].result for t in run.trial_ids], headers))

    # ----- the bus -----------------------------------------------------------------------------

    def receive_Entries(self, msg: Entries, sender: Any) -> None:
        found = [e.holder for e in msg.entries if e.key == FLOW_KEY]
        self.flow = found[0] if found else self.flow

    def receive_RegistryEvent(self, msg: RegistryEvent, sender: Any) -> None:
        if msg.key == FLOW_KEY:
            self.flow = msg.holder if msg.kind == "registered" else None

    def receive_Subscribed(self, msg: Subscribed, sender: Any) -> None:
        pass

    def receive_EventPublished(self, msg: EventPublished, sender: Any) -> None:
        pass  # the bus stored (or dropped and audited) the announcement: nothing waits on it

    def _announce(self, trial: _Trial, accuracy: float) -> None:
        run = self.runs[trial.run_id]
        ended = sum(self.trials[t].state in _ENDED for t in run.trial_ids)
        announcement = trial_announcement(run, trial, accuracy, ended)
        if self.flow is not None and announcement is not None:
            self.send(self.flow, announcement)

    def on_terminate(self, reason: ExitReason) -> None:
        for trial in self.trials.values():
            if trial.state == "running":
                self._kill(trial)


def _since(trial: _Trial) -> int:
    """Nanoseconds since the trial started (0 for one that never started)."""
    return time.monotonic_ns() - trial.started_ns if trial.started_ns else 0
