"""Realistic events, as the three sagas and the runtime will emit them.

Imported by the event tests (pytest puts this folder on ``sys.path``); the
name is unique so it cannot clash with other test folders' helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sagaline.events import Event, new_event
from sagaline.messages.ids import uuid7

#: A fixed clock reading; tests pass it as ``now`` instead of sleeping or
#: reading the wall clock.
NOW = datetime(2025, 10, 27, 14, 30, 5, 123000, tzinfo=UTC)

#: name -> (source, payload) of every event the sagas and runtime emit.
SAGA_EMISSIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "user.onboarding.complete": (
        "gate",
        {
            "user_id": "0199f2a4-7c1e-7a3b-9d2e-5b8c1f0a6e42",
            "email": "ada.lovelace@example.org",
            "vault_id": "0199f2a4-7d03-7c51-8e6f-2a9b4c7d1e08",
        },
    ),
    "ai.upm.snapshot.activated": (
        "bolt",
        {
            "snapshot_id": "upm-snap-2025-10-27-03",
            "activated_at": NOW,
            "adapter_count": 4,
        },
    ),
    "ml.run.completed": (
        "bolt",
        {
            "run_id": "run-8842",
            "best_model_id": "artifact-8842-2",
            "best_score": 0.9412,
            "model": "model-version-8842-2",
            "duration_ms": 61_250,
        },
    ),
    "ml.trial.completed": (
        "bolt",
        {
            "run_id": "run-8842",
            "trial_id": "cerebros-job-7f3a",
            "accuracy": 0.9012,
            "param_count": 1_480_000,
            "completed_trials": 2,
            "total_trials": 3,
        },
    ),
    "flow.reactor.retry": (
        "flow",
        {
            "reactor": "UserProvisioning",
            "step": "send_magic_link",
            "attempt": 2,
            "reason": "magic_link_send_failed",
        },
    ),
    "reactor.saga.complete": ("flow", {"saga": "UserProvisioning"}),
    "reactor.saga.fail": (
        "flow",
        {
            "saga": "CerebrosNAS",
            "failed_step": "await_completion",
            "reason": "training_deadline_exceeded",
            "compensated_steps": ["dispatch_training", "create_model_run"],
        },
    ),
    "reactor.saga.stuck": (
        "flow",
        {
            "saga": "UPMActivation",
            "failed_step": "sync_adapters",
            "reason": "adapter_sync_failed",
            "failed_compensations": ["activate_snapshot", "deactivate_previous"],
        },
    ),
    "audit.event_drop": (
        "flow",
        {
            "dropped_name": "User.Onboarding",
            "reason": "name_format",
            "detail": "want two or more [a-z][a-z0-9_]* segments joined by dots",
        },
    ),
    "system.storage.fault": (
        "flow",
        {
            "host": 0,
            "path": "/var/lib/sagaline/journal.sqlite",
            "reason": "disk full: /var/lib/sagaline has 0 bytes free of 8388608 (less than 1048576)",
        },
    ),
    "system.storage.recovered": ("flow", {"host": 0, "path": "/var/lib/sagaline/journal.sqlite", "faulted_s": 12.5}),
}


def emitted(name: str, correlation_id: str | None = None, **overrides: Any) -> Event:
    """Build the sample event ``name`` at :data:`NOW`, with optional overrides."""
    source, payload = SAGA_EMISSIONS[name]
    arguments: dict[str, Any] = {"source": source, "payload": payload, "now": NOW}
    arguments.update(overrides)
    return new_event(
        name,
        arguments.pop("source"),
        arguments.pop("payload"),
        correlation_id or uuid7(),
        **arguments,
    )


def event_fields(sample: str = "reactor.saga.complete", /, **overrides: Any) -> dict[str, Any]:
    """Return the field map of the valid sample event ``sample``, with some fields replaced."""
    fields = dict(emitted(sample).__dict__)
    fields.update(overrides)
    return fields
