"""Run events as plain data, for journals: to a dict of msgpack-able values and back.

A run is its inputs plus the ordered events the executor consumed (each with
the ``now`` it was applied at); replaying them through
:meth:`~sagaline.saga.executor.Executor.transition` rebuilds the exact state,
because the executor is pure. This module is the only place that knows the
shape of those records.

:func:`event_from_data` validates everything it reads; a row that is not a
well-formed event raises :class:`CorruptRecord` (the journal marks that run
as needing an operator instead of guessing).
"""

from __future__ import annotations

from typing import Any

from sagaline.saga.errors import SagaError
from sagaline.saga.outcomes import Continue, Fail, Halt, Ok, Outcome, Retry, StepError
from sagaline.saga.signals import (
    CancelRequested,
    InvocationResult,
    ResumeRequested,
    RetryCompensations,
    RunEvent,
    TimerFired,
    TimerToken,
)

__all__ = ["CorruptRecord", "event_to_data", "event_from_data", "error_to_data", "error_from_data"]

_KINDS = ("run", "compensate", "undo", "interrupt")


class CorruptRecord(SagaError):
    """A journal record cannot be turned back into a run event.

    Raised by :func:`event_from_data`; the caller marks the run as needing an
    operator and keeps the row for inspection.
    """


def error_to_data(error: StepError | None) -> dict[str, Any] | None:
    """A :class:`StepError` as plain data (None stays None)."""
    if error is None:
        return None
    return {
        "code": error.code,
        "message": error.message,
        "retryable": error.retryable,
        "indefinite": error.indefinite,
        "details": dict(error.details),
    }


def error_from_data(data: Any) -> StepError | None:
    """The inverse of :func:`error_to_data`.

    Raises:
        CorruptRecord: not the shape :func:`error_to_data` makes.
    """
    if data is None:
        return None
    try:
        return StepError(
            _str(data["code"]),
            _str(data.get("message", "")),
            bool(data.get("retryable")),
            bool(data.get("indefinite")),
            dict(data.get("details") or {}),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise CorruptRecord(f"bad error record {data!r:.200}: {exc}") from exc


def _outcome_to_data(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Fail):
        return {"t": "fail", "error": error_to_data(outcome.error)}
    if isinstance(outcome, Retry):
        return {"t": "retry", "reason": _plain_reason(outcome.reason), "delay": outcome.delay}
    if isinstance(outcome, Halt):
        return {"t": "halt", "reason": _plain_reason(outcome.reason)}
    tag = "continue" if isinstance(outcome, Continue) else "ok"
    return {"t": tag, "value": outcome.value}


def _plain_reason(reason: Any) -> Any:
    if isinstance(reason, StepError):
        return str(reason)
    return reason if reason is None or isinstance(reason, (str, int, float, bool)) else repr(reason)


def _outcome_from_data(data: Any) -> Outcome:
    tag = data["t"]
    if tag == "ok":
        return Ok(data.get("value"))
    if tag == "continue":
        return Continue(data.get("value"))
    if tag == "fail":
        error = error_from_data(data["error"])
        if error is None:
            raise CorruptRecord(f"a fail outcome without its error: {data!r:.200}")
        return Fail(error)
    if tag == "retry":
        delay = data.get("delay")
        return Retry(data.get("reason"), None if delay is None else float(delay))
    if tag == "halt":
        return Halt(data.get("reason"))
    raise CorruptRecord(f"unknown outcome tag {tag!r:.40}")


def event_to_data(event: RunEvent) -> dict[str, Any]:
    """A run event as a dict of plain values (the step results must be msgpack-able)."""
    if isinstance(event, InvocationResult):
        return {
            "e": "result",
            "step": event.step,
            "kind": event.kind,
            "key": event.key,
            "outcome": _outcome_to_data(event.outcome),
        }
    if isinstance(event, TimerFired):
        t = event.token
        return {"e": "timer", "step": t.step, "kind": t.kind, "purpose": t.purpose, "serial": t.serial}
    if isinstance(event, CancelRequested):
        return {"e": "cancel", "reason": event.reason}
    if isinstance(event, ResumeRequested):
        return {"e": "resume"}
    if isinstance(event, RetryCompensations):
        return {"e": "retry_compensations", "steps": list(event.steps)}
    raise TypeError(f"not a run event: {type(event).__name__}")


def event_from_data(data: Any) -> RunEvent:
    """The inverse of :func:`event_to_data`.

    Raises:
        CorruptRecord: the data is not a well-formed run event.
    """
    try:
        tag = data["e"]
        if tag == "result":
            kind = data["kind"]
            if kind not in _KINDS:
                raise ValueError(f"kind {kind!r}")
            return InvocationResult(_str(data["step"]), kind, _str(data["key"]), _outcome_from_data(data["outcome"]))
        if tag == "timer":
            if data["kind"] not in _KINDS or data["purpose"] not in ("timeout", "retry"):
                raise ValueError("bad timer kind/purpose")
            return TimerFired(TimerToken(_str(data["step"]), data["kind"], data["purpose"], int(data["serial"])))
        if tag == "cancel":
            return CancelRequested(_str(data.get("reason", "cancelled")))
        if tag == "resume":
            return ResumeRequested()
        if tag == "retry_compensations":
            return RetryCompensations(tuple(_str(s) for s in data.get("steps", ())))
        raise ValueError(f"unknown event tag {tag!r:.40}")
    except CorruptRecord:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptRecord(f"bad run event record {data!r:.200}: {exc}") from exc


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value
