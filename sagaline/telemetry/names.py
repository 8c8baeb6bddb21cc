"""The fixed list of telemetry event names sagaline emits (as Reactor's
middleware has a fixed list), each a tuple of atoms like ``:telemetry``'s.

Names follow the original system where it had them (thunderline-sagas.md,
"Telemetry names the original used"); the rest extend them in the same style.
"""

from __future__ import annotations

__all__ = [
    "SAGA_START", "SAGA_COMPLETE", "SAGA_FAIL", "SAGA_STUCK", "SAGA_CANCELLED",
    "STEP_START", "STEP_STOP", "STEP_EXCEPTION", "COMPENSATE", "UNDO",
    "SUPERVISOR_RESTART", "SUPERVISOR_ESCALATE", "REGISTRY_REGISTER", "REGISTRY_UNREGISTER",
    "EVENT_VALIDATED", "EVENT_ENQUEUE", "EVENT_PUBLISH", "EVENT_DROPPED",
    "BRIDGE_TRIAL_START", "BRIDGE_TRIAL_STOP", "BRIDGE_TRIAL_CANCELLED",
    "DOMAIN_COMMAND", "HANDLER_FAILURE", "ALL_EVENTS",
]

SAGA_START = ("reactor", "saga", "start")
SAGA_COMPLETE = ("reactor", "saga", "complete")
SAGA_FAIL = ("reactor", "saga", "fail")
SAGA_STUCK = ("reactor", "saga", "stuck")
SAGA_CANCELLED = ("reactor", "saga", "cancelled")
STEP_START = ("reactor", "saga", "step", "start")
STEP_STOP = ("reactor", "saga", "step", "stop")
STEP_EXCEPTION = ("reactor", "saga", "step", "exception")
COMPENSATE = ("reactor", "saga", "compensate")
UNDO = ("reactor", "saga", "undo")
SUPERVISOR_RESTART = ("sagaline", "supervisor", "restart")
SUPERVISOR_ESCALATE = ("sagaline", "supervisor", "escalate")
REGISTRY_REGISTER = ("sagaline", "registry", "register")
REGISTRY_UNREGISTER = ("sagaline", "registry", "unregister")
EVENT_VALIDATED = ("thunderline", "event", "validated")
EVENT_ENQUEUE = ("thunderline", "event", "enqueue")
EVENT_PUBLISH = ("thunderline", "event", "publish")
EVENT_DROPPED = ("thunderline", "event", "dropped")
BRIDGE_TRIAL_START = ("sagaline", "bridge", "trial", "start")
BRIDGE_TRIAL_STOP = ("sagaline", "bridge", "trial", "stop")
BRIDGE_TRIAL_CANCELLED = ("sagaline", "bridge", "trial", "cancelled")
DOMAIN_COMMAND = ("sagaline", "domain", "command")  # a span prefix: + start/stop/exception
HANDLER_FAILURE = ("telemetry", "handler", "failure")

ALL_EVENTS: tuple[tuple[str, ...], ...] = (
    SAGA_START, SAGA_COMPLETE, SAGA_FAIL, SAGA_STUCK, SAGA_CANCELLED, STEP_START, STEP_STOP,
    STEP_EXCEPTION, COMPENSATE, UNDO, SUPERVISOR_RESTART, SUPERVISOR_ESCALATE, REGISTRY_REGISTER,
    REGISTRY_UNREGISTER, EVENT_VALIDATED, EVENT_ENQUEUE, EVENT_PUBLISH, EVENT_DROPPED,
    BRIDGE_TRIAL_START, BRIDGE_TRIAL_STOP, BRIDGE_TRIAL_CANCELLED, HANDLER_FAILURE,
    DOMAIN_COMMAND + ("start",), DOMAIN_COMMAND + ("stop",), DOMAIN_COMMAND + ("exception",),
)
