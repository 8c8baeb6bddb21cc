"""PURE. What a saga run announces about itself on the bus: ``reactor.saga.*`` and ``flow.reactor.retry``.

The original's saga base published ``reactor.saga.complete`` and
``reactor.saga.fail`` when a run ended (behind its ``reactor_events`` flag,
and from bolt, so its own validator refused them); its registry also held
``flow.reactor.retry``. Ours registers all of them (:mod:`sagaline.events.known`,
source flow) and the run publishes them at their moment:

=========================  ===========================================  ================================
moment                     event (payload)                              built by
=========================  ===========================================  ================================
run completed              ``reactor.saga.complete`` {saga}             :func:`finish_announcement`
run failed or cancelled    ``reactor.saga.fail`` {saga, failed_step,    :func:`finish_announcement`
(rolled back)              reason, compensated_steps}
run stuck                  ``reactor.saga.stuck`` {saga, failed_step,   :func:`finish_announcement`
                           reason, failed_compensations}
a step's attempt failed    ``flow.reactor.retry`` {reactor, step,       :func:`retry_announcement`
and another is scheduled   attempt, reason}
=========================  ===========================================  ================================

A halted run announces nothing (it may resume). The finish announcements
are persistent: the run publishes one and waits for the bus to confirm it
(or a timeout) before it records its finish, as it already does for
``reactor.saga.stuck``; its idempotency key names the run and its journal
position, so a run rebuilt after a crash between the two announces the same
end once. Their correlation id is the run's and their causation id what
caused the run, so a subscriber that starts the next saga of a business
transaction on ``reactor.saga.complete`` starts it with ``causation_id`` =
the event's correlation id (one run per correlation id: the next saga gets
its own). The retry announcement is transient (best effort: send, do not wait).

Only the standard library and the pure packages; no I/O (an event's time
is given, or the wall clock's).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sagaline.events.envelope import new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.base import Headers
from sagaline.messages.saga import RunOutcome
from sagaline.saga.state import RunState

__all__ = [
    "COMPLETE_EVENT",
    "FAIL_EVENT",
    "STUCK_EVENT",
    "RETRY_EVENT",
    "finish_announcement",
    "retry_announcement",
    "compensated_steps",
]

COMPLETE_EVENT = "reactor.saga.complete"
FAIL_EVENT = "reactor.saga.fail"
STUCK_EVENT = "reactor.saga.stuck"
RETRY_EVENT = "flow.reactor.retry"


def finish_announcement(
    state: RunState, outcome: RunOutcome, seq: int, now: datetime | None = None, traceparent: str | None = None
) -> PublishEvent | None:
    """The bus command announcing how ``state``'s run ended; None for a run that did not end (halted).

    Args:
        state: the run's final state.
        outcome: its outcome (:func:`sagaline.saga.shell.outcome`).
        seq: the run's journal position when it ended (part of the idempotency key).
        now: the event's time (the wall clock when None).
        traceparent: the run's trace context for the command's headers (the run's root span).
    """
    payload = _finish_payload(state, outcome)
    if payload is None:
        return None
    name, data = payload
    event = new_event(name, "flow", data, state.run_id, state.causation_id, now=now)
    headers = Headers(
        correlation_id=state.run_id,
        causation_id=state.causation_id,
        idempotency_key=f"{state.run_id}:{name}:{seq}",
        traceparent=traceparent,
    )
    return PublishEvent(headers=headers, event=event)


def _finish_payload(state: RunState, outcome: RunOutcome) -> tuple[str, dict[str, Any]] | None:
    error: Mapping[str, Any] = outcome.error or {}
    reason = str(error.get("code") or outcome.status)
    if outcome.status == "completed":
        return COMPLETE_EVENT, {"saga": state.saga}
    if outcome.status in ("failed", "cancelled"):
        return FAIL_EVENT, {
            "saga": state.saga,
            "failed_step": outcome.failed_step,
            "reason": reason,
            "compensated_steps": compensated_steps(state),
        }
    if outcome.status == "stuck":
        return STUCK_EVENT, {
            "saga": state.saga,
            "failed_step": outcome.failed_step,
            "reason": reason,
            "failed_compensations": list(outcome.failed_compensations),
        }
    return None


def compensated_steps(state: RunState) -> list[str]:
    """Steps of ``state`` that were undone, in the order they were undone (last completed first)."""
    undone = [s for s in state.steps.values() if s.status == "undone"]
    return [s.name for s in sorted(undone, key=lambda s: s.completed_seq or 0, reverse=True)]


def retry_announcement(
    state: RunState, step: str, attempt: int, reason: str, now: datetime | None = None, traceparent: str | None = None
) -> PublishEvent:
    """The bus command announcing that ``step`` failed and its attempt number ``attempt`` is scheduled.

    Args:
        state: the run.
        step: the step to be tried again.
        attempt: the number of the attempt about to start (the first retry is 2).
        reason: why the previous attempt failed (its error code; ``failed`` when it had none).
        now: the event's time (the wall clock when None).
        traceparent: the trace context for the command's headers (the failed attempt's span).
    """
    payload = {"reactor": state.saga, "step": step, "attempt": attempt, "reason": reason or "failed"}
    event = new_event(RETRY_EVENT, "flow", payload, state.run_id, state.causation_id, now=now)
    headers = Headers(
        correlation_id=state.run_id,
        causation_id=state.causation_id,
        idempotency_key=f"{state.run_id}:{RETRY_EVENT}:{step}:{attempt}",
        traceparent=traceparent,
    )
    return PublishEvent(headers=headers, event=event)
