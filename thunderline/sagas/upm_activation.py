"""UPMActivation: promote a shadow UPM snapshot to active (bolt <-> crown).

As in the reference (thunderline-sagas.md), every gap closed::

    load_snapshot -> validate_drift -> policy_check -> deactivate_previous
        -> activate_snapshot -> sync_adapters -> emit_activation_event

* ``load_snapshot``: the snapshot must exist and be in shadow mode
  (``snapshot_not_found`` / ``invalid_status``, bolt's codes).
* ``validate_drift``: the snapshot's latest drift window must score
  **strictly below** ``max_drift_score`` (equal fails:
  ``drift_threshold_exceeded``); no window at all: ``no_drift_data``.
* ``policy_check``: crown evaluates its policy for ``upm.activate`` over the
  snapshot, its drift and the run's ``max_drift_score`` (real rules,
  audited; the original always approved). A denial fails with
  ``policy_rejected`` (the original's code), the message joining the
  policy's reasons and ``details`` carrying ``reasons``, ``policy_id``,
  ``policy_version``, ``decision_id``, ``failed`` (the rule ids),
  ``drift_score`` and ``max_drift_score``. The policy is the operator's
  ceiling: the default one denies a drift of 0.2 or more whatever
  ``max_drift_score`` the run asked for, and then says so in the reason,
  the run's error and the audited decision (whose subject carries the
  asked threshold).
* ``deactivate_previous`` runs **before** ``activate_snapshot`` (the
  original let them race): the active snapshot, if any, is archived
  (``archive_failed``, the original's code, when bolt refuses); undo
  restores it to active exactly as it was.
* ``activate_snapshot``: active, ``activated_at`` = now; undo: back to
  shadow, ``activated_at`` as before (cleared for a first activation).
* ``sync_adapters``: every adapter points at the new snapshot, each one's
  previous pointer remembered; all or nothing (a pinned adapter fails it and
  the adapters already moved are put back); undo restores every adapter's
  snapshot, previous snapshot and sync time.
* ``emit_activation_event`` publishes ``ai.upm.snapshot.activated``
  {snapshot_id, activated_at, adapter_count} from bolt; it never fails the saga.

A failure at any step after ``deactivate_previous`` undoes the completed
steps last first: the adapters, then the activation, then the archive.

Inputs: ``snapshot_id``; ``max_drift_score`` (float > 0, default 0.15, the
original's docs). Result: ``{"snapshot": ..., "previous_snapshot_id": ...,
"adapters": [...], "decision": ..., "event_id": ...}``. Error codes:
``snapshot_not_found``, ``invalid_status``, ``no_drift_data``,
``drift_threshold_exceeded``, ``policy_rejected``, ``archive_failed``,
``activation_failed``, ``adapter_sync_failed`` (bolt's code in ``details.cause``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sagaline.events.envelope import new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.common import CommandFailed
from sagaline.saga import CommandStep, Continue, Fail, Ok, Saga, SagaDefinition, StepError, input_, result
from sagaline.saga.steps import reply_outcome
from thunderline.messages.bolt import (
    ActivateSnapshot,
    ArchiveActiveSnapshot,
    GetLatestDrift,
    LatestDrift,
    LoadSnapshot,
    RestoreAdapters,
    RestoreArchivedSnapshot,
    RevertActivation,
    SnapshotActivated,
    SnapshotLoaded,
    SyncAdapters,
)
from thunderline.messages.crown import EvaluatePolicy, PolicyDecided

__all__ = ["NAME", "ACTION", "DEFAULT_MAX_DRIFT", "COMMAND_TIMEOUT_S", "definition"]

NAME = "upm_activation"
#: The subject action crown's policies govern.
ACTION = "upm.activate"
#: The threshold the original's docs use.
DEFAULT_MAX_DRIFT = 0.15
#: Seconds a domain command may take before it is re-sent with the same key.
COMMAND_TIMEOUT_S = 5.0


#: A drift threshold: a finite number above 0.
Threshold = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _snapshot(reply: Any, args) -> Any:
    if isinstance(reply, (SnapshotLoaded, SnapshotActivated)):
        return Ok(reply.snapshot.model_dump())
    return reply_outcome(reply)


def _drift_verdict(reply: Any, args) -> Any:
    """Strictly below the threshold passes; equal or above fails; no window: no data."""
    if not isinstance(reply, LatestDrift):
        return reply_outcome(reply)
    window, bound = reply.window, args["max_drift_score"]
    if window is None:
        return Fail(StepError("no_drift_data", f"snapshot {args['snapshot_id']} has no drift window"))
    if not window.score < bound:
        return Fail(
            StepError(
                "drift_threshold_exceeded",
                f"latest drift score {window.score} is not below {bound}",
                details={"score": window.score, "max_drift_score": bound, "window_id": window.window_id},
            )
        )
    return Ok(window.model_dump())


def _subject(args) -> dict[str, Any]:
    snap, drift = args["snapshot"], args["drift"]
    return {
        "action": ACTION,
        "snapshot_id": snap["snapshot_id"],
        "version": snap["version"],
        "checksum": snap["checksum"],
        "trained_by": snap["trained_by"],
        "created_at": snap["created_at"],
        "drift_score": drift["score"],
        "sample_count": drift["sample_count"],
        "window_end": drift["window_end"],
        "max_drift_score": args["max_drift_score"],
    }


def _policy_verdict(reply: Any, args) -> Any:
    if not isinstance(reply, PolicyDecided):
        return reply_outcome(reply)
    decision = reply.model_dump(exclude={"headers"})
    if reply.effect == "allow":
        return Ok(decision)
    details = {k: decision[k] for k in ("reasons", "policy_id", "policy_version", "decision_id", "failed")}
    details.update(drift_score=args["drift"]["score"], max_drift_score=args["max_drift_score"])
    return Fail(StepError("policy_rejected", "; ".join(reply.reasons) or "denied", details=details))


def _event(args, ctx) -> PublishEvent:
    snap = args["snapshot"]
    event = new_event(
        "ai.upm.snapshot.activated",
        "bolt",
        {
            "snapshot_id": snap["snapshot_id"],
            "activated_at": snap["activated_at"],
            "adapter_count": len(args["adapters"]["adapters"]),
        },
        ctx.run_id,
        ctx.causation_id,
    )
    return PublishEvent(headers=ctx.headers(), event=event)


def _done(reply: Any, args) -> Ok:
    """Emission never fails the saga: whatever the bus answered, the snapshot is active."""
    event_id = None if isinstance(reply, CommandFailed) else getattr(reply, "event_id", None)
    return Ok(
        {
            "snapshot": args["snapshot"],
            "previous_snapshot_id": args["previous"],
            "adapters": args["adapters"]["adapters"],
            "decision": args["decision"],
            "event_id": event_id,
        }
    )


def definition(command_timeout: float = COMMAND_TIMEOUT_S) -> SagaDefinition:
    """Build the UPMActivation saga definition."""
    s = Saga(
        NAME, description="promote a shadow UPM snapshot to active: drift, policy, swap, adapters, event", announce=True
    )  # the original published reactor.saga.* (its reactor_events flag)
    s.input("snapshot_id", str, description="the shadow snapshot to activate (`sagaline app run list_snapshots`)")
    s.input(
        "max_drift_score",
        Threshold,
        default=DEFAULT_MAX_DRIFT,
        description="the latest drift window must score strictly below this",
    )
    sid = input_("snapshot_id")
    s.step(
        "load_snapshot",
        CommandStep(
            "bolt",
            build=lambda a, ctx: LoadSnapshot(headers=ctx.headers(), snapshot_id=a["snapshot_id"]),
            parse=_snapshot,
        ),
        args={"snapshot_id": sid},
        timeout=command_timeout,
    )
    s.step(
        "validate_drift",
        CommandStep(
            "bolt",
            build=lambda a, ctx: GetLatestDrift(headers=ctx.headers(), snapshot_id=a["snapshot_id"]),
            parse=_drift_verdict,
        ),
        args={"snapshot_id": sid, "max_drift_score": input_("max_drift_score")},
        wait_for=["load_snapshot"],
        timeout=command_timeout,
    )
    s.step(
        "policy_check",
        CommandStep(
            "crown",
            build=lambda a, ctx: EvaluatePolicy(headers=ctx.headers(), subject=_subject(a)),
            parse=_policy_verdict,
        ),
        args={
            "snapshot": result("load_snapshot"),
            "drift": result("validate_drift"),
            "max_drift_score": input_("max_drift_score"),
        },
        timeout=command_timeout,
    )
    s.step(
        "deactivate_previous",
        CommandStep(
            "bolt",
            build=lambda a, ctx: ArchiveActiveSnapshot(headers=ctx.headers(), keep_snapshot_id=a["snapshot_id"]),
            build_undo=lambda v, a, ctx: RestoreArchivedSnapshot(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="archive_failed",
        ),
        args={"snapshot_id": sid},
        wait_for=["policy_check"],
        timeout=command_timeout,
    )
    s.step(
        "activate_snapshot",
        CommandStep(
            "bolt",
            build=lambda a, ctx: ActivateSnapshot(headers=ctx.headers(), snapshot_id=a["snapshot_id"]),
            parse=_snapshot,
            build_undo=lambda v, a, ctx: RevertActivation(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="activation_failed",
        ),
        args={"snapshot_id": sid},
        wait_for=["deactivate_previous"],
        timeout=command_timeout,
    )
    s.step(
        "sync_adapters",
        CommandStep(
            "bolt",
            build=lambda a, ctx: SyncAdapters(headers=ctx.headers(), snapshot_id=a["snapshot_id"]),
            build_undo=lambda v, a, ctx: RestoreAdapters(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="adapter_sync_failed",
        ),
        args={"snapshot_id": sid},
        wait_for=["activate_snapshot"],
        timeout=command_timeout,
    )
    s.step(
        "emit_activation_event",
        CommandStep(
            "flow", build=_event, parse=_done, build_compensate=lambda reason, a, ctx: Continue(_done(None, a).value)
        ),
        args={
            "snapshot": result("activate_snapshot"),
            "adapters": result("sync_adapters"),
            "previous": result("deactivate_previous", "snapshot_id"),
            "decision": result("policy_check"),
        },
        timeout=command_timeout,
    )
    s.returns("emit_activation_event")
    return s.build()
