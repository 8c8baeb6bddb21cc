"""The NAS half of the bolt domain: datasets, model runs, artifacts, frontiers and versions.

:class:`ModelRunHandlers` answers the commands of
:mod:`thunderline.messages.bolt_models`. It is mixed into
:class:`~thunderline.domains.bolt.BoltService`, the one entry point
(``await service.handle(command)``, always with a Reply), which supplies the
store, the clock and the at-most-once plumbing. Outcomes (failures are
``CommandFailed`` with these codes), the CerebrosNAS saga's steps:

    ``GetDataset``: ``dataset_not_found``. ``CreateModelRun``: the run is
    created ``initialized`` and moved to ``running`` (both transitions
    recorded); ``dataset_not_found``, ``invalid_search_space`` (the search
    space does not fit :class:`~thunderline.domains.nas.SearchSpace`),
    ``invalid_run`` (trials or size bound below 1); undo ``AbortModelRun``
    ends a still-open run ``failed`` with the reason noted by
    ``RecordRunFailure`` (the first note wins), or ``cancelled`` when none was.
    ``RecordArtifacts``: each successful trial's file must exist with the
    reported size and SHA-256 (``artifact_invalid``); ``run_not_found``,
    ``no_successful_trials``. ``AnalyzeFrontier``: the Pareto frontier
    (accuracy up, parameters down) and the chosen model (``no_viable_model``
    when none fits ``max_params``). ``CreateModelVersion``: versions the
    chosen artifact and moves the run to ``succeeded`` (``run_not_found``,
    ``artifact_not_found``, ``illegal_transition``); undo
    ``DeleteModelVersion`` deletes it and puts the run back in the state it
    had. ``TransitionModelRun`` follows :data:`RUN_TRANSITIONS`
    (``run_not_found``, ``illegal_transition``). ``RegisterDataset``:
    ``dataset_name_taken``, ``invalid_dataset``. ``ShowModelRun``:
    ``run_not_found``; ``ListModelRuns`` and ``ListDatasets`` always answer.

Every command also has the outcomes common to all of bolt's, listed in
:mod:`thunderline.domains.bolt`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sagaline.messages.base import Command, Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure
from thunderline.domains import pareto, training
from thunderline.domains.nas import parse_space
from thunderline.messages import bolt_models as m
from thunderline.messages.bridge import TrainingDataset
from thunderline.storage.bolt_store import BoltStore

__all__ = ["ModelRunHandlers", "RUN_TRANSITIONS", "BUILTIN_DATASETS"]

#: Legal model-run moves (the original's state machine); terminal states have none.
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "initialized": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
}

#: Datasets bolt knows without a file: scikit-learn's bundled digits (8x8 images, 10 classes).
BUILTIN_DATASETS = {"digits": {"feature_count": 64, "class_count": 10, "sample_count": 1797}}


class ModelRunHandlers:
    """The NAS commands' handlers, mixed into :class:`~thunderline.domains.bolt.BoltService`.

    The host provides what they share with the UPM handlers: ``store``,
    ``_now()`` (the aware UTC time), ``_once(cmd, effect)`` (apply an effect
    at most once per idempotency key) and ``_forbid_if_none(conn, undo,
    found, command_tag)`` (an undo that finds nothing forbids its effect).
    """

    store: BoltStore
    _now: Callable[[], datetime]
    _once: Callable[[Command, Any], Awaitable[Reply]]
    _forbid_if_none: Callable[[Connection, Any, Any, str], Awaitable[None]]

    def _model_run_handlers(self) -> dict[type, Callable[[Any], Awaitable[Reply]]]:
        """Command class -> handler, for the host's dispatch table."""
        return {
            m.RegisterDataset: self._register_dataset,
            m.GetDataset: self._get_dataset,
            m.ListDatasets: self._list_datasets,
            m.CreateModelRun: self._create_run,
            m.TransitionModelRun: self._transition_run,
            m.RecordRunFailure: self._record_failure,
            m.AbortModelRun: self._abort_run,
            m.RecordArtifacts: self._record_artifacts,
            m.AnalyzeFrontier: self._analyze_frontier,
            m.CreateModelVersion: self._create_version,
            m.DeleteModelVersion: self._delete_version,
            m.ListModelRuns: self._list_runs,
            m.ShowModelRun: self._show_run,
        }

    async def _seed_builtin_datasets(self) -> None:
        """Register :data:`BUILTIN_DATASETS` that are not registered yet."""
        for name, shape in BUILTIN_DATASETS.items():
            async with self.store.db.transaction() as conn:
                if await self.store.dataset(name, conn) is None:
                    await self.store.insert_dataset(
                        conn,
                        TrainingDataset(dataset_id=name, name=name, kind="builtin", registered_at=self._now(), **shape),
                        None,
                    )

    async def _register_dataset(self, cmd: m.RegisterDataset) -> Reply:
        try:
            shape = await asyncio.to_thread(training.describe_dataset, cmd.kind, cmd.path, cmd.name)
        except training.DatasetError as exc:
            return failure(cmd, "invalid_dataset", str(exc))

        async def effect(conn: Connection) -> Reply:
            if await self.store.dataset(cmd.name, conn) is not None:
                return failure(cmd, "dataset_name_taken", f"a dataset is already called {cmd.name!r}")
            dataset = TrainingDataset(
                dataset_id=uuid7(), name=cmd.name, kind=cmd.kind, path=cmd.path, registered_at=self._now(), **shape
            )
            await self.store.insert_dataset(conn, dataset, _key(cmd))
            return m.DatasetRegistered(headers=cmd.headers, dataset=dataset)

        return await self._once(cmd, effect)

    async def _get_dataset(self, cmd: m.GetDataset) -> Reply:
        dataset = await self.store.dataset(cmd.dataset)
        if dataset is None:
            return failure(cmd, "dataset_not_found", f"no dataset {cmd.dataset!r}")
        return m.DatasetFound(headers=cmd.headers, dataset=dataset)

    async def _create_run(self, cmd: m.CreateModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.dataset(cmd.dataset_id, conn) is None:
                return failure(cmd, "dataset_not_found", f"no dataset {cmd.dataset_id!r}")
            code, problem = _run_problem(cmd)
            if problem:
                return failure(cmd, code, problem)
            now = self._now()
            run = m.ModelRunRecord(
                run_id=uuid7(),
                dataset_id=cmd.dataset_id,
                state="initialized",
                requested_trials=cmd.requested_trials,
                max_params=cmd.max_params,
                search_space=cmd.search_space,
                correlation_id=cmd.headers.correlation_id,
                created_at=now,
                updated_at=now,
            )
            await self.store.insert_run(conn, run, _key(cmd))
            await self.store.set_run_state(conn, run, "running", "", now)
            return m.ModelRunCreated(headers=cmd.headers, run=run.model_copy(update={"state": "running"}))

        return await self._once(cmd, effect)

    async def _transition_run(self, cmd: m.TransitionModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            if cmd.to_state not in RUN_TRANSITIONS.get(run.state, ()):
                return failure(cmd, "illegal_transition", f"run {run.run_id}: {run.state} -> {cmd.to_state}")
            await self.store.set_run_state(conn, run, cmd.to_state, cmd.reason, self._now())
            return m.ModelRunTransitioned(headers=cmd.headers, run=await self.store.run(run.run_id, conn))

        return await self._once(cmd, effect)

    async def _record_failure(self, cmd: m.RecordRunFailure) -> Reply:
        async def effect(conn: Connection) -> Reply:
            note = f"{cmd.step} failed: {cmd.code}" + (f": {cmd.message}" if cmd.message else "")
            recorded = await self.store.note_failure(conn, cmd.run_id, note[:2000])
            return m.RunFailureRecorded(headers=cmd.headers, run_id=cmd.run_id, recorded=recorded)

        return await self._once(cmd, effect)

    async def _abort_run(self, cmd: m.AbortModelRun) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run_made_by(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, run, "CreateModelRun")
            if run is None:
                return m.ModelRunAborted(headers=cmd.headers, run_id=None, state=None)
            if run.state in RUN_TRANSITIONS:
                note = await self.store.failure_note(conn, run.run_id)
                state, reason = ("failed", note) if note else ("cancelled", "its saga run was rolled back")
                await self.store.set_run_state(conn, run, state, reason, self._now())
                run = run.model_copy(update={"state": state})
            return m.ModelRunAborted(headers=cmd.headers, run_id=run.run_id, state=run.state)

        return await self._once(cmd, effect)

    async def _record_artifacts(self, cmd: m.RecordArtifacts) -> Reply:
        succeeded = [t for t in cmd.trials if t.state == "succeeded"]
        problems = await asyncio.to_thread(_artifact_problems, succeeded)

        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            if problems:
                return failure(cmd, "artifact_invalid", "; ".join(problems))
            if not succeeded:
                return failure(cmd, "no_successful_trials", f"none of {len(cmd.trials)} trial(s) succeeded")
            known = {a.trial_id for a in await self.store.artifacts(run.run_id, conn)}
            for trial in succeeded:
                if trial.trial_id not in known:
                    await self.store.insert_artifact(conn, _artifact(trial), self._now(), _key(cmd))
            return m.ArtifactsRecorded(
                headers=cmd.headers,
                artifacts=await self.store.artifacts(run.run_id, conn),
                failed_trials=[t.trial_id for t in cmd.trials if t.state != "succeeded"],
            )

        return await self._once(cmd, effect)

    async def _analyze_frontier(self, cmd: m.AnalyzeFrontier) -> Reply:
        artifacts = {a.artifact_id: a for a in await self.store.artifacts(cmd.run_id)}
        front = pareto.frontier(pareto.Candidate(a.artifact_id, a.accuracy, a.param_count) for a in artifacts.values())
        chosen = pareto.choose(front, cmd.max_params)
        if chosen is None:
            return failure(
                cmd,
                "no_viable_model",
                f"run {cmd.run_id}: no model of {len(artifacts)} within {cmd.max_params} parameters",
            )
        return m.FrontierAnalyzed(
            headers=cmd.headers, frontier=[_point(artifacts[c.id]) for c in front], chosen=_point(artifacts[chosen.id])
        )

    async def _create_version(self, cmd: m.CreateModelVersion) -> Reply:
        async def effect(conn: Connection) -> Reply:
            run = await self.store.run(cmd.run_id, conn)
            if run is None:
                return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
            chosen = next(
                (a for a in await self.store.artifacts(run.run_id, conn) if a.artifact_id == cmd.artifact_id), None
            )
            if chosen is None:
                return failure(cmd, "artifact_not_found", f"run {run.run_id} has no artifact {cmd.artifact_id}")
            if "succeeded" not in RUN_TRANSITIONS.get(run.state, ()):
                return failure(cmd, "illegal_transition", f"run {run.run_id}: {run.state} -> succeeded")
            version = m.ModelVersionRecord(
                version_id=uuid7(),
                number=0,
                run_id=run.run_id,
                artifact_id=chosen.artifact_id,
                metrics=_point(chosen).model_dump(exclude={"artifact_id"}),
                frontier=cmd.frontier,
                created_at=self._now(),
            )
            number = await self.store.insert_version(conn, version, run.state, _key(cmd))
            await self.store.set_run_state(conn, run, "succeeded", f"model version {number}", self._now())
            return m.ModelVersionCreated(headers=cmd.headers, version=version.model_copy(update={"number": number}))

        return await self._once(cmd, effect)

    async def _delete_version(self, cmd: m.DeleteModelVersion) -> Reply:
        async def effect(conn: Connection) -> Reply:
            deleted = await self.store.delete_version_by_key(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, deleted, "CreateModelVersion")
            if deleted is None:
                return m.ModelVersionDeleted(headers=cmd.headers, version_id=None)
            version_id, run_id, previous = deleted
            run = await self.store.run(run_id, conn)
            if run is not None and run.state == "succeeded":
                # An undo restores what the effect overwrote; it is not a forward move.
                await self.store.set_run_state(conn, run, previous, "model version withdrawn", self._now())
            return m.ModelVersionDeleted(headers=cmd.headers, version_id=version_id)

        return await self._once(cmd, effect)

    async def _list_datasets(self, cmd: m.ListDatasets) -> Reply:
        return m.DatasetsPage(headers=cmd.headers, datasets=await self.store.datasets())

    async def _list_runs(self, cmd: m.ListModelRuns) -> Reply:
        return m.ModelRunsPage(headers=cmd.headers, runs=await self.store.runs(cmd.state))

    async def _show_run(self, cmd: m.ShowModelRun) -> Reply:
        run = await self.store.run(cmd.run_id)
        if run is None:
            return failure(cmd, "run_not_found", f"no model run {cmd.run_id}")
        return m.ModelRunShown(
            headers=cmd.headers,
            run=run,
            transitions=await self.store.transitions(run.run_id),
            artifacts=await self.store.artifacts(run.run_id),
            versions=await self.store.versions(run.run_id),
        )


def _key(cmd: Any) -> str:
    return cmd.headers.idempotency_key  # apply_once has refused a command without one


def _run_problem(cmd: m.CreateModelRun) -> tuple[str, str | None]:
    """(code, problem) of a run that cannot be created; problem None when it can."""
    if cmd.requested_trials < 1 or cmd.max_params < 1:
        return "invalid_run", "requested_trials and max_params must be >= 1"
    try:
        parse_space(cmd.search_space)
    except ValueError as exc:
        return "invalid_search_space", str(exc)
    return "", None


def _artifact_problems(trials: list) -> list[str]:
    problems = []
    for trial in trials:
        problem = training.verify_artifact(trial.artifact_path or "", trial.size_bytes, trial.sha256)
        if problem:
            problems.append(f"trial {trial.trial_id}: {problem}")
    return problems


def _artifact(trial: Any) -> m.ModelArtifact:
    return m.ModelArtifact(
        artifact_id=uuid7(),
        run_id=trial.run_id,
        trial_id=trial.trial_id,
        path=trial.artifact_path,
        size_bytes=trial.size_bytes,
        sha256=trial.sha256,
        accuracy=trial.accuracy,
        param_count=trial.architecture.param_count,
        architecture=trial.architecture.model_dump(),
    )


def _point(a: m.ModelArtifact) -> m.FrontierPoint:
    return m.FrontierPoint(
        artifact_id=a.artifact_id, accuracy=a.accuracy, param_count=a.param_count, size_bytes=a.size_bytes
    )
