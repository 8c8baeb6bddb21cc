"""PURE. The Thunderline app's event taxonomy: its domains' categories and its known events.

Nothing is registered at import: the app declares these in its
:class:`~sagaline.apps.App` record (``event_domains``, ``events``) and
loading the app registers them (:mod:`sagaline.apps`), in every process
that loads it (the saga actors that emit them, the event bus that
validates them).

Domains and categories
    :data:`ORIGINAL_CATEGORIES` is the original system's domain ->
    categories map for its six domains, unchanged (the seventh, flow, is the
    runtime's: :data:`sagaline.events.taxonomy.RUNTIME_CATEGORIES`).
    :data:`ADDED_CATEGORIES` is what ours adds so that every event our
    sagas emit can pass: gate ``user``. One quirk of the original is kept
    as found: gate's ``presence`` category can never match, since
    ``presence`` is not a family (the original's presence events were
    ``system.presence.*``, which gate may emit through ``system``).

Resolving ``user.`` (and the other events the original refused)
    The original's ``user.onboarding.complete`` came from gate, whose
    categories (``ui.command system presence``) do not admit ``user.*``,
    and ``user`` was not a family at all. Two repairs were possible: let a
    registry entry override the map for its one name, or make ``user`` a
    family and a category of gate. Ours does the second, because the map
    must stay the single authority on who may say what: with a per-event
    override, gate could send ``user.onboarding.complete`` but not
    ``user.profile.updated``, and reading the map would no longer tell you
    what passes. Gate owns identity, so the ``user.*`` lifecycle is
    naturally its to announce. The saga runtime's ``reactor.saga.*`` and
    the validator's ``audit.*`` are settled the same way (categories of
    the runtime's flow).

Known events (version, sources, reliability, default pipeline and priority)::

    user.onboarding.complete    v1  gate  persistent  cross_domain  normal
    ai.upm.snapshot.activated   v1  bolt  transient   realtime      normal
    ml.run.completed            v1  bolt  persistent  cross_domain  normal
    ml.trial.completed          v1  bolt  persistent  realtime      normal

Defaults from the original where it had them (reference, seed inventory:
onboarding and ml.run cross_domain, snapshot activation realtime).
``ml.trial.completed`` has bolt as its source: bolt owns the model run and
has the ``ml.trial`` category. It is announced by the Cerebros bridge actor
(:mod:`thunderline.actors.bridge`), bolt's Cerebros integration (the
original's ``Thunderbolt.CerebrosBridge``), the moment a trial's report
arrives, for each trial that trained a model. It is persistent because a
lost trial result would silently skew anything that waits on or tallies
trials; at ``max_trials`` per run the cost is small.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated

from pydantic import AwareDatetime, Field, NonNegativeInt, PositiveInt, StringConstraints, model_validator

from sagaline.events import KnownEvent, Pipeline, Reliability
from sagaline.events.payloads import FiniteFloat, NonEmptyStr, Payload

__all__ = [
    "ORIGINAL_CATEGORIES",
    "ADDED_CATEGORIES",
    "EVENT_DOMAINS",
    "EVENTS",
    "UserOnboardingComplete",
    "UpmSnapshotActivated",
    "MlRunCompleted",
    "MlTrialCompleted",
]

# The saga's own check (reference, UserProvisioning validate_email).
EMAIL_PATTERN = r"^[^\s]+@[^\s]+\.[^\s]+$"

#: The original's domain -> categories map, as found (reference: "Events"), without flow.
ORIGINAL_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "gate": ("ui.command", "system", "presence"),
        "bolt": ("ml.run", "ml.trial", "system", "ai"),
        "link": ("ui.command", "system", "ai"),
        "crown": ("ai.intent", "system", "ai"),
        "block": ("system",),
        "bridge": ("system", "ui.command", "ai"),
    }
)

#: Categories ours adds: gate ``user`` (see the module docstring).
ADDED_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType({"gate": ("user",)})

#: What the app registers: original categories, then ours.
EVENT_DOMAINS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {domain: categories + ADDED_CATEGORIES.get(domain, ()) for domain, categories in ORIGINAL_CATEGORIES.items()}
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
    """``ml.run.completed``: a NAS run finished and its best model is versioned.

    The original had two shapes for this event: its saga sent
    ``{run_id, best_model_id, best_score}`` (as ``ml.run.complete``) and its
    taxonomy registered ``{run_id, model, duration_ms}``. Ours carries both,
    so a consumer written against either finds its keys with their meaning.
    """

    run_id: NonEmptyStr
    """Id of the model run."""
    best_model_id: NonEmptyStr
    """Id of the chosen model's artifact (the trained model file), as in the original's saga."""
    best_score: FiniteFloat
    """The chosen model's score (its accuracy on the run's dataset)."""
    model: NonEmptyStr
    """Id of the ModelVersion created for the chosen model (the taxonomy's ``model``)."""
    duration_ms: NonNegativeInt
    """Milliseconds from the model run's creation to its version (the taxonomy's ``duration_ms``)."""


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
    def _completed_within_total(self) -> MlTrialCompleted:
        if self.completed_trials > self.total_trials:
            raise ValueError("completed_trials exceeds total_trials")
        return self


def _known(name: str, payload: type[Payload], source: str, reliability: Reliability, pipeline: Pipeline) -> KnownEvent:
    description = (payload.__doc__ or "").strip().splitlines()[0]
    return KnownEvent(
        name=name,
        version=1,
        payload=payload,
        sources=frozenset({source}),
        reliability=reliability,
        pipeline=pipeline,
        description=description,
    )


#: The app's known events, registered when it loads.
EVENTS: tuple[KnownEvent, ...] = (
    _known("user.onboarding.complete", UserOnboardingComplete, "gate", "persistent", "cross_domain"),
    _known("ai.upm.snapshot.activated", UpmSnapshotActivated, "bolt", "transient", "realtime"),
    _known("ml.run.completed", MlRunCompleted, "bolt", "persistent", "cross_domain"),
    _known("ml.trial.completed", MlTrialCompleted, "bolt", "persistent", "realtime"),
)
