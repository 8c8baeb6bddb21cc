"""The fixed list of telemetry event names sagaline emits (as Reactor's
middleware has a fixed list), each a tuple of atoms like ``:telemetry``'s.

Names follow the original system where it had them (thunderline-sagas.md,
"Telemetry names the original used"); the rest extend them in the same style.

Who emits what (metadata keys; measurements in parentheses):

* saga actor: SAGA_START (saga, correlation_id, trace_id, span_id, recovered;
  system_time, monotonic_time; a new run's once its start is durable, so a
  start refused or taken back on a storage fault emits none), STEP_START / COMPENSATE / UNDO (step, kind,
  attempt, idempotency_key, span_id, parent_span_id; monotonic_time),
  STEP_STOP / STEP_EXCEPTION (step, idempotency_key, kind and reason on an
  exception; duration), COMPENSATE_STOP / UNDO_STOP (step, kind,
  idempotency_key, outcome, reason; duration), SAGA_COMPLETE / FAIL / STUCK / CANCELLED (status,
  error, failed_compensations; duration);
* domain actors: the DOMAIN_COMMAND span (domain, command, correlation_id,
  idempotency_key, traceparent; reply on stop);
* supervisors: SUPERVISOR_RESTART / ESCALATE (supervisor, child, reason,
  error_type, strategy, restarted; count);
* registry: REGISTRY_REGISTER / UNREGISTER (key, reason; count);
* flow actor: EVENT_VALIDATED / DROPPED / ENQUEUE / PUBLISH (name,
  correlation_id, pipeline, accepted, reason, reliability; count, delivered);
* convention watch (the leader): CONVENTION_MEMBER_LOST (member, admin; leases = how many of
  its leases it expired);
* bridge: BRIDGE_TRIAL_* (its own); the telemetry core: HANDLER_FAILURE.

Durations are monotonic nanoseconds.
"""

from __future__ import annotations

__all__ = [
    "SAGA_START",
    "SAGA_COMPLETE",
    "SAGA_FAIL",
    "SAGA_STUCK",
    "SAGA_CANCELLED",
    "STEP_START",
    "STEP_STOP",
    "STEP_EXCEPTION",
    "COMPENSATE",
    "UNDO",
    "COMPENSATE_STOP",
    "UNDO_STOP",
    "SAGA_BACKLOG",
    "SAGA_STORAGE_FAULT",
    "SUPERVISOR_RESTART",
    "SUPERVISOR_ESCALATE",
    "REGISTRY_REGISTER",
    "REGISTRY_UNREGISTER",
    "EVENT_VALIDATED",
    "EVENT_ENQUEUE",
    "EVENT_PUBLISH",
    "EVENT_DROPPED",
    "CONVENTION_MEMBER_LOST",
    "BRIDGE_TRIAL_START",
    "BRIDGE_TRIAL_STOP",
    "BRIDGE_TRIAL_CANCELLED",
    "DOMAIN_COMMAND",
    "HANDLER_FAILURE",
    "ALL_EVENTS",
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
#: The end of a compensate / undo invocation (metadata: step, idempotency_key,
#: kind, outcome = ok | continue | fail | retry | ..., reason; measurements:
#: duration since its COMPENSATE / UNDO), emitted by the run when the invocation's outcome is
#: applied. The OpenTelemetry bridge ends those spans on it (and, for a run that ends with one
#: still open, at the run's end).
COMPENSATE_STOP = ("reactor", "saga", "compensate", "stop")
UNDO_STOP = ("reactor", "saga", "undo", "stop")
#: Unfinished runs of a saga host still waiting to be rebuilt (measurements: depth; metadata: host).
SAGA_BACKLOG = ("sagaline", "saga", "backlog")
#: A saga host cannot write its journal (measurements: count = 1 when the fault begins, 0 when it
#: ends; metadata: host, fault = the reason or None): runs pause, new starts are refused.
SAGA_STORAGE_FAULT = ("sagaline", "saga", "storage_fault")
SUPERVISOR_RESTART = ("sagaline", "supervisor", "restart")
SUPERVISOR_ESCALATE = ("sagaline", "supervisor", "escalate")
REGISTRY_REGISTER = ("sagaline", "registry", "register")
REGISTRY_UNREGISTER = ("sagaline", "registry", "unregister")
EVENT_VALIDATED = ("thunderline", "event", "validated")
EVENT_ENQUEUE = ("thunderline", "event", "enqueue")
EVENT_PUBLISH = ("thunderline", "event", "publish")
EVENT_DROPPED = ("thunderline", "event", "dropped")
#: The convention's leader heard from Thespian that a member is gone, and expired its leases.
CONVENTION_MEMBER_LOST = ("sagaline", "convention", "member_lost")
BRIDGE_TRIAL_START = ("sagaline", "bridge", "trial", "start")
BRIDGE_TRIAL_STOP = ("sagaline", "bridge", "trial", "stop")
BRIDGE_TRIAL_CANCELLED = ("sagaline", "bridge", "trial", "cancelled")
DOMAIN_COMMAND = ("sagaline", "domain", "command")  # a span prefix: + start/stop/exception
HANDLER_FAILURE = ("telemetry", "handler", "failure")

ALL_EVENTS: tuple[tuple[str, ...], ...] = (
    SAGA_START,
    SAGA_COMPLETE,
    SAGA_FAIL,
    SAGA_STUCK,
    SAGA_CANCELLED,
    STEP_START,
    STEP_STOP,
    STEP_EXCEPTION,
    COMPENSATE,
    UNDO,
    COMPENSATE_STOP,
    UNDO_STOP,
    SAGA_BACKLOG,
    SAGA_STORAGE_FAULT,
    SUPERVISOR_RESTART,
    SUPERVISOR_ESCALATE,
    REGISTRY_REGISTER,
    REGISTRY_UNREGISTER,
    EVENT_VALIDATED,
    EVENT_ENQUEUE,
    EVENT_PUBLISH,
    EVENT_DROPPED,
    CONVENTION_MEMBER_LOST,
    BRIDGE_TRIAL_START,
    BRIDGE_TRIAL_STOP,
    BRIDGE_TRIAL_CANCELLED,
    HANDLER_FAILURE,
    DOMAIN_COMMAND + ("start",),
    DOMAIN_COMMAND + ("stop",),
    DOMAIN_COMMAND + ("exception",),
)
