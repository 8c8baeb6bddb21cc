"""Payload schemas of the runtime's known events, one frozen model per event.

An app's event payloads subclass :class:`Payload` too (the Thunderline
app's are in :mod:`thunderline.events`).

A payload travels in :attr:`Event.payload <sagaline.events.envelope.Event.payload>`
as a plain map (so the codec and the journal carry it as data); the
validator checks a known event's map against its model here. The models
are strict (``"3"`` is not an attempt number, an int is accepted where a
float is due) and forbid unknown keys, like every message.

A saga may also build its payload as one of these models and hand it to
:func:`~sagaline.events.envelope.new_event`, which turns it into the map.

The saga run an event belongs to is the envelope's ``correlation_id`` (one
run per correlation id), so no payload repeats it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt, StringConstraints

from sagaline.events.rules import Rule

__all__ = [
    "Payload",
    "NonEmptyStr",
    "FiniteFloat",
    "FlowReactorRetry",
    "SagaComplete",
    "SagaFail",
    "SagaStuck",
    "EventDrop",
    "StorageFault",
    "StorageRecovered",
]

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Payload(BaseModel):
    """Root of the payload schemas: frozen, strict, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True)


class FlowReactorRetry(Payload):
    """``flow.reactor.retry``: a saga step failed and will be tried again."""

    reactor: NonEmptyStr
    """Name of the saga (the original's Reactor) whose step is retried."""
    step: NonEmptyStr
    """Name of the step being retried."""
    attempt: PositiveInt
    """Number of the attempt about to start (the first retry is attempt 2)."""
    reason: NonEmptyStr
    """Why the previous attempt failed (an error code)."""


class SagaComplete(Payload):
    """``reactor.saga.complete``: a saga run succeeded."""

    saga: NonEmptyStr
    """Name of the saga definition that ran."""


class SagaFail(Payload):
    """``reactor.saga.fail``: a run failed and every completed step was undone."""

    saga: NonEmptyStr
    """Name of the saga definition that ran."""
    failed_step: NonEmptyStr | None
    """The step whose failure ended the run; None when no step was at fault
    (a deadline, a cancellation)."""
    reason: NonEmptyStr
    """The error the run failed with (e.g. ``invalid_email_format``)."""
    compensated_steps: list[NonEmptyStr]
    """Steps undone, in the order they were undone (last completed first)."""


class SagaStuck(Payload):
    """``reactor.saga.stuck``: a failed run could not be fully undone; an
    operator must finish the clean-up."""

    saga: NonEmptyStr
    """Name of the saga definition that ran."""
    failed_step: NonEmptyStr | None
    """The step whose failure started the rollback, if a step was at fault."""
    reason: NonEmptyStr
    """The error the run failed with."""
    failed_compensations: Annotated[list[NonEmptyStr], Field(min_length=1)]
    """Steps whose rollback failed (at least one), in the order tried."""


def _check_rule_name(value: str) -> str:
    if value not in {rule.value for rule in Rule}:
        raise ValueError(f"{value!r} is not a rule name")
    return value


class EventDrop(Payload):
    """``audit.event_drop``: the validator dropped an event (drop mode); the event travels with it."""

    dropped_name: str
    """Name of the dropped event as given (``<unnamed>`` when it had none)."""
    reason: Annotated[str, AfterValidator(_check_rule_name)]
    """The rule it broke: a :class:`~sagaline.events.rules.Rule` value."""
    detail: str
    """The validator's one-line explanation."""
    event: dict[str, Any] = Field(default_factory=dict)
    """The dropped event as given (its envelope fields and payload), as the original's drop event
    carried it; one over :data:`~sagaline.events.validator.MAX_DROPPED_BYTES` packed (or that the
    codec cannot carry) keeps only its scalar fields, texts clipped, with ``truncated: True``."""


class StorageFault(Payload):
    """``system.storage.fault``: a saga host cannot write its journal; its runs pause and new starts
    are refused with ``storage_unavailable`` (sent once per fault)."""

    host: Annotated[int, Field(ge=0)]
    """The saga host's partition."""
    path: NonEmptyStr
    """The journal's file."""
    reason: NonEmptyStr
    """Why it cannot be written (disk full, read-only, unreachable, the write's error)."""


class StorageRecovered(Payload):
    """``system.storage.recovered``: the host's journal is written again; its runs resume (sent once per
    fault; its correlation id is the fault's)."""

    host: Annotated[int, Field(ge=0)]
    """The saga host's partition."""
    path: NonEmptyStr
    """The journal's file."""
    faulted_s: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    """How long the fault lasted, in seconds."""
