"""Payload schemas of the known events, one frozen model per event.

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

from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    model_validator,
)

from sagaline.events.rules import Rule

__all__ = [
    "Payload",
    "UserOnboardingComplete",
    "UpmSnapshotActivated",
    "MlRunCompleted",
    "MlTrialCompleted",
    "FlowReactorRetry",
    "SagaComplete",
    "SagaFail",
    "SagaStuck",
    "EventDrop",
]

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

# The saga's own check (reference, UserProvisioning validate_email).
EMAIL_PATTERN = r"^[^\s]+@[^\s]+\.[^\s]+$"


class Payload(BaseModel):
    """Root of the payload schemas: frozen, strict, no unknown keys."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True
    )


class UserOnboardingComplete(Payload):
    """``user.onboarding.complete``: a user, their vault and membership exist."""

    user_id: NonEmptyStr
    """Id of the user gate created."""
    email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)]
    """The address the magic link went to."""
    vault_id: NonEmptyStr
    """Id of the vault block provisioned for the user."""


class UpmSnapshotActivated(Payload):
    """``ai.upm.snapshot.activated``: a shadow snapshot is now the active one."""

    snapshot_id: NonEmptyStr
    """Id of the snapshot that became active."""
    activated_at: AwareDatetime
    """When it became active (the activate_snapshot step's ``now``)."""
    adapter_count: NonNegativeInt
    """How many adapters now point at it."""


class MlRunCompleted(Payload):
    """``ml.run.completed``: a NAS run finished and its best model is versioned."""

    run_id: NonEmptyStr
    """Id of the model run."""
    best_model_id: NonEmptyStr
    """Id of the ModelVersion created for the chosen model."""
    best_score: FiniteFloat
    """The chosen model's score (its accuracy on the run's dataset)."""


class MlTrialCompleted(Payload):
    """``ml.trial.completed``: one training job of a NAS run finished (progress)."""

    run_id: NonEmptyStr
    """Id of the model run the trial belongs to."""
    trial_id: NonEmptyStr
    """Id of the training job, as the bridge named it."""
    accuracy: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
    """Accuracy the trained model reached, 0..1 (Pareto axis, higher is better)."""
    param_count: NonNegativeInt
    """Model size in parameters (Pareto axis, lower is better)."""
    completed_trials: PositiveInt
    """Trials of this run finished so far, this one included."""
    total_trials: PositiveInt
    """Trials dispatched for this run (at most its ``max_trials``)."""

    @model_validator(mode="after")
    def _completed_within_total(self) -> "MlTrialCompleted":
        if self.completed_trials > self.total_trials:
            raise ValueError("completed_trials exceeds total_trials")
        return self


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
    """``audit.event_drop``: the validator dropped an event (drop mode)."""

    dropped_name: str
    """Name of the dropped event as given (``<unnamed>`` when it had none)."""
    reason: Annotated[str, AfterValidator(_check_rule_name)]
    """The rule it broke: a :class:`~sagaline.events.rules.Rule` value."""
    detail: str
    """The validator's one-line explanation."""
