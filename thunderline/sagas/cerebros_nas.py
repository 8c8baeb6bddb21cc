"""CerebrosNAS: neural architecture search, dataset to versioned model (bolt <-> bridge).

As in the reference (thunderline-sagas.md), every gap closed::

    prepare_dataset -> create_model_run -> generate_proposals -> dispatch_training
        -> await_completion -> collect_artifacts -> analyze_pareto -> persist_version
        -> emit_completion_event

* ``prepare_dataset``: bolt must know the dataset (``dataset_not_found``).
* ``create_model_run``: a run record, initialized -> running; a search
  space that does not fit :class:`~thunderline.domains.nas.SearchSpace`
  fails with ``invalid_search_space``, any other refusal with
  ``run_creation_failed`` (bolt's code in ``details.cause``). Undo: the run
  ends ``failed`` with the noted reason (below), or ``cancelled`` when the
  saga was cancelled or no reason was noted.
* ``generate_proposals``: the bridge proposes ``max_trials`` architectures
  from ``search_space`` (seeded; none over ``max_params``).
* ``dispatch_training``: one trial per proposal, each its own trainer
  actor. Undo: **every trial still running is cancelled** (its trainer
  process killed).
* ``await_completion``: **event-driven**: the bridge answers when every
  trial has ended, or fails at the run's deadline (``deadline_s`` after
  dispatch; unfinished trials are cancelled) with
  ``training_deadline_exceeded``. The step's timeout
  (:data:`AWAIT_TIMEOUT_S`) exceeds the largest deadline allowed. No trial
  succeeded: ``no_successful_trials``.
* ``collect_artifacts``: bolt records each successful trial's model file,
  verifying its size and SHA-256.
* ``analyze_pareto``: bolt computes the true Pareto frontier (accuracy up,
  parameters down; :mod:`thunderline.domains.pareto`) and chooses the most
  accurate frontier model within ``max_params`` (``no_viable_model``).
* ``persist_version``: a ModelVersion of the chosen model with its metrics
  and the frontier; the run becomes ``succeeded``. Undo: the version is deleted.
* ``emit_completion_event`` publishes ``ml.run.completed`` {run_id,
  best_model_id (the chosen artifact's id, as in the original), best_score
  (its accuracy), model (the ModelVersion's id), duration_ms (from the
  model run's creation to its version)} from bolt; it never fails the saga.

When a step after ``create_model_run`` fails, its compensation notes the
failure on the run in bolt (``RecordRunFailure``: step, code, message), then
the completed steps are undone last first: the version deleted, every trial
still running cancelled, and the run marked ``failed`` with that reason.
(Undo callbacks do not see the run's error, so the failing step hands it
to bolt itself.) A step that timed out and has an undo is compensated with
its undo instead (its effect may exist); the run then ends ``cancelled``, as
it does when the saga is cancelled or the trials were
(``training_cancelled`` is not noted as a failure).

Cancelling the saga (or a failure elsewhere) while ``await_completion`` is
in flight: the stopping run *interrupts* the await, which sends
``CancelTrials`` to the bridge; the bridge kills the trainers and answers
the await with ``training_cancelled``, so the run drains at once and rolls
back (it does not wait for the deadline).

Inputs: ``dataset_id``; ``search_space`` (a map, default
:data:`~thunderline.domains.nas.DEFAULT_SEARCH_SPACE`'s shape); ``max_trials``
(default 3, the original's requested_trials); ``max_params`` (default
2,000,000); ``seed`` (0); ``deadline_s`` (default 300, at most
:data:`MAX_DEADLINE_S`). Result: ``{"run_id", "version", "best_model_id",
"best_score", "frontier", "event_id"}`` (``best_model_id`` the artifact's
id, ``version`` the ModelVersion). Error codes: ``dataset_not_found``,
``run_creation_failed``, ``invalid_search_space``,
``no_viable_architecture``, ``training_dispatch_failed``,
``training_deadline_exceeded``, ``training_cancelled``, ``unknown_run``,
``no_successful_trials``, ``artifact_collection_failed``,
``no_viable_model``, ``model_version_failed``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sagaline.events.envelope import new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.base import Reply
from sagaline.messages.common import CommandFailed
from sagaline.saga import CommandStep, Continue, Fail, Ok, Saga, SagaDefinition, StepError, input_, result
from sagaline.saga.steps import reply_outcome
from thunderline.messages import bolt_models as m
from thunderline.messages.bridge import (
    Architecture,
    ArchitecturesProposed,
    AwaitTrials,
    CancelTrials,
    DispatchTraining,
    ProposeArchitectures,
    TrainingDataset,
    TrainingDispatched,
    TrialResult,
    TrialsFinished,
)
from thunderline.sagas.notes_failure import NotesFailure

__all__ = [
    "NAME",
    "COMMAND_TIMEOUT_S",
    "DEFAULT_DEADLINE_S",
    "MAX_DEADLINE_S",
    "AWAIT_TIMEOUT_S",
    "DEFAULT_MAX_TRIALS",
    "DEFAULT_MAX_PARAMS",
    "definition",
]

NAME = "cerebros_nas"
#: Seconds a domain command may take before it is re-sent with the same key.
COMMAND_TIMEOUT_S = 10.0
#: The original polled for at most 300 s.
DEFAULT_DEADLINE_S = 300.0
#: The original's requested_trials default.
DEFAULT_MAX_TRIALS = 3
#: The original's max_params default.
DEFAULT_MAX_PARAMS = 2_000_000
#: Largest ``deadline_s`` a run may ask for.
MAX_DEADLINE_S = 3600.0
#: await_completion's timeout: past any deadline, so the bridge's answer always comes first.
AWAIT_TIMEOUT_S = MAX_DEADLINE_S + 60.0


#: Typed inputs (checked at admission, shown by ``sagas catalog cerebros_nas``).
PositiveInt = Annotated[int, Field(ge=1)]
Deadline = Annotated[float, Field(gt=0, le=MAX_DEADLINE_S)]


def _field(reply_type: type[Reply], name: str):
    """Parse a reply of ``reply_type`` into its field ``name`` (as plain data)."""

    def parse(reply: Any, args) -> Any:
        if isinstance(reply, reply_type):
            return Ok(reply.model_dump(exclude={"headers"})[name])
        return reply_outcome(reply)

    return parse


def _run_created(reply: Any, args) -> Any:
    """The run record; a bad search space is ``invalid_search_space``, any other refusal ``run_creation_failed``."""
    if isinstance(reply, m.ModelRunCreated):
        return Ok(reply.run.model_dump())
    if isinstance(reply, CommandFailed):
        code = "invalid_search_space" if reply.code == "invalid_search_space" else "run_creation_failed"
        return Fail(StepError(code, reply.message, retryable=reply.retryable, details={"cause": reply.code}))
    return reply_outcome(reply)


def _finished(reply: Any, args) -> Any:
    if not isinstance(reply, TrialsFinished):
        return reply_outcome(reply)
    trials = [t.model_dump() for t in reply.trials]
    if not any(t["state"] == "succeeded" for t in trials):
        reasons = "; ".join(f"{t['trial_id']}: {t['state']} {t['reason']}".strip() for t in trials)
        return Fail(StepError("no_successful_trials", f"no trial succeeded ({reasons})"[:2000]))
    return Ok(trials)


def _dispatch(a, ctx) -> DispatchTraining:
    return DispatchTraining(
        headers=ctx.headers(),
        run_id=a["run_id"],
        dataset=TrainingDataset(**a["dataset"]),
        proposals=[Architecture(**p) for p in a["proposals"][: a["max_trials"]]],
        seed=a["seed"],
        deadline_s=a["deadline_s"],
    )


def _event(a, ctx) -> PublishEvent:
    version, run = a["version"], a["run"]
    took = (version["created_at"] - run["created_at"]).total_seconds()
    event = new_event(
        "ml.run.completed",
        "bolt",
        {
            "run_id": run["run_id"],
            "best_model_id": version["artifact_id"],
            "best_score": float(version["metrics"]["accuracy"]),
            "model": version["version_id"],
            "duration_ms": max(0, round(took * 1000)),
        },
        ctx.run_id,
        ctx.causation_id,
    )
    return PublishEvent(headers=ctx.headers(), event=event)


def _done(reply: Any, a) -> Ok:
    """Emission never fails the saga: whatever the bus answered, the version exists."""
    event_id = None if isinstance(reply, CommandFailed) else getattr(reply, "event_id", None)
    version = a["version"]
    return Ok(
        {
            "run_id": a["run"]["run_id"],
            "version": version,
            "best_model_id": version["artifact_id"],
            "best_score": version["metrics"]["accuracy"],
            "frontier": version["frontier"],
            "event_id": event_id,
        }
    )


def definition(command_timeout: float = COMMAND_TIMEOUT_S) -> SagaDefinition:
    """Build the CerebrosNAS saga definition."""
    s = Saga(
        NAME, description="NAS: dataset, run, proposals, trials, Pareto frontier, model version, event", announce=True
    )  # the original published reactor.saga.* (its reactor_events flag)
    s.input("dataset_id", str, description="the dataset, by id or name (`sagaline app run list_datasets`)")
    s.input(
        "search_space",
        dict,
        default={},
        description="layers, units, activations, epochs, learning rates to search (default: the built-in space)",
    )
    s.input("max_trials", PositiveInt, default=DEFAULT_MAX_TRIALS, description="architectures to train")
    s.input("max_params", PositiveInt, default=DEFAULT_MAX_PARAMS, description="largest model allowed, in parameters")
    s.input("seed", int, default=0, description="seed of the proposals and the training")
    s.input("deadline_s", Deadline, default=DEFAULT_DEADLINE_S, description="seconds the trials may take in all")
    run_id = result("create_model_run", "run_id")
    dataset = result("prepare_dataset")
    s.step(
        "prepare_dataset",
        CommandStep(
            "bolt",
            build=lambda a, ctx: m.GetDataset(headers=ctx.headers(), dataset=a["dataset_id"]),
            parse=_field(m.DatasetFound, "dataset"),
        ),
        args={"dataset_id": input_("dataset_id")},
        timeout=command_timeout,
    )
    s.step(
        "create_model_run",
        CommandStep(
            "bolt",
            build=lambda a, ctx: m.CreateModelRun(
                headers=ctx.headers(),
                dataset_id=a["dataset"]["dataset_id"],
                requested_trials=a["max_trials"],
                max_params=a["max_params"],
                search_space=a["search_space"],
            ),
            parse=_run_created,
            build_undo=lambda v, a, ctx: m.AbortModelRun(headers=ctx.headers(), effect_key=ctx.run_key),
        ),
        args={
            "dataset": dataset,
            "max_trials": input_("max_trials"),
            "max_params": input_("max_params"),
            "search_space": input_("search_space"),
        },
        timeout=command_timeout,
    )
    s.step(
        "generate_proposals",
        NotesFailure(
            CommandStep(
                "bridge",
                build=lambda a, ctx: ProposeArchitectures(
                    headers=ctx.headers(),
                    run_id=a["run_id"],
                    search_space=a["search_space"],
                    count=a["max_trials"],
                    seed=a["seed"],
                    feature_count=a["dataset"]["feature_count"],
                    class_count=a["dataset"]["class_count"],
                    max_params=a["max_params"],
                ),
                parse=_field(ArchitecturesProposed, "proposals"),
            )
        ),
        args={
            "run_id": run_id,
            "dataset": dataset,
            "search_space": input_("search_space"),
            "max_trials": input_("max_trials"),
            "seed": input_("seed"),
            "max_params": input_("max_params"),
        },
        timeout=command_timeout,
    )
    s.step(
        "dispatch_training",
        NotesFailure(
            CommandStep(
                "bridge",
                build=_dispatch,
                parse=_field(TrainingDispatched, "trial_ids"),
                build_undo=lambda v, a, ctx: CancelTrials(
                    headers=ctx.headers(), run_id=a["run_id"], reason="the saga run rolled back"
                ),
                failure_code="training_dispatch_failed",
            )
        ),
        args={
            "run_id": run_id,
            "dataset": dataset,
            "proposals": result("generate_proposals"),
            "max_trials": input_("max_trials"),
            "seed": input_("seed"),
            "deadline_s": input_("deadline_s"),
        },
        timeout=command_timeout,
    )
    s.step(
        "await_completion",
        NotesFailure(
            CommandStep(
                "bridge",
                build=lambda a, ctx: AwaitTrials(headers=ctx.headers(), run_id=a["run_id"]),
                parse=_finished,
                build_interrupt=lambda a, ctx: CancelTrials(
                    headers=ctx.headers(), run_id=a["run_id"], reason="the saga stopped"
                ),
            )
        ),
        args={"run_id": run_id},
        wait_for=["dispatch_training"],
        timeout=AWAIT_TIMEOUT_S,
        max_retries=1,
    )
    s.step(
        "collect_artifacts",
        NotesFailure(
            CommandStep(
                "bolt",
                build=lambda a, ctx: m.RecordArtifacts(
                    headers=ctx.headers(), run_id=a["run_id"], trials=[TrialResult(**t) for t in a["trials"]]
                ),
                parse=_field(m.ArtifactsRecorded, "artifacts"),
                failure_code="artifact_collection_failed",
            )
        ),
        args={"run_id": run_id, "trials": result("await_completion")},
        timeout=command_timeout,
    )
    s.step(
        "analyze_pareto",
        NotesFailure(
            CommandStep(
                "bolt",
                build=lambda a, ctx: m.AnalyzeFrontier(
                    headers=ctx.headers(), run_id=a["run_id"], max_params=a["max_params"]
                ),
            )
        ),
        args={"run_id": run_id, "max_params": input_("max_params")},
        wait_for=["collect_artifacts"],
        timeout=command_timeout,
    )
    s.step(
        "persist_version",
        NotesFailure(
            CommandStep(
                "bolt",
                build=lambda a, ctx: m.CreateModelVersion(
                    headers=ctx.headers(),
                    run_id=a["run_id"],
                    artifact_id=a["analysis"]["chosen"]["artifact_id"],
                    frontier=[m.FrontierPoint(**p) for p in a["analysis"]["frontier"]],
                ),
                parse=_field(m.ModelVersionCreated, "version"),
                build_undo=lambda v, a, ctx: m.DeleteModelVersion(headers=ctx.headers(), effect_key=ctx.run_key),
                failure_code="model_version_failed",
            )
        ),
        args={"run_id": run_id, "analysis": result("analyze_pareto")},
        timeout=command_timeout,
    )
    s.step(
        "emit_completion_event",
        CommandStep(
            "flow", build=_event, parse=_done, build_compensate=lambda reason, a, ctx: Continue(_done(None, a).value)
        ),
        args={"run": result("create_model_run"), "version": result("persist_version")},
        timeout=command_timeout,
    )
    s.returns("emit_completion_event")
    return s.build()
