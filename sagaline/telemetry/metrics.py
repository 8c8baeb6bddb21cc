"""The OpenTelemetry metrics bridge: telemetry handlers feeding SDK instruments.

Instruments (meter ``sagaline``; durations in seconds):

==================================== ============== ===================================================
name                                 type           attributes
==================================== ============== ===================================================
``sagaline.saga.runs.started``       counter        saga
``sagaline.saga.runs.completed``     counter        saga, status
``sagaline.saga.runs.failed``        counter        saga, status (failed | halted)
``sagaline.saga.runs.stuck``         counter        saga, status
``sagaline.saga.runs.cancelled``     counter        saga, status
``sagaline.saga.runs.active``        up-down        saga (runs started and not yet ended)
``sagaline.saga.run.duration``       histogram (s)  saga, status
``sagaline.saga.step.duration``      histogram (s)  saga, step, outcome (ok | fail | retry | ...)
``sagaline.saga.compensations``      counter        saga, step, kind (compensate | undo)
``sagaline.saga.compensation.duration`` histogram   saga, step, kind, outcome (when emitted)
``sagaline.saga.backlog``            gauge          (runs waiting for a saga actor, when emitted)
``sagaline.saga.storage.faulted``    gauge          host (1 while its journal cannot be written, else 0)
``sagaline.domain.commands``        counter        domain, command, outcome (the reply's type | ok |
                                                    error | exit); durations are in the spans
``sagaline.supervisor.restarts``     counter        supervisor, child
``sagaline.supervisor.escalations``  counter        supervisor
``sagaline.registry.changes``        counter        change (register | unregister), prefix, reason
``sagaline.events.validated``        counter        name, accepted, pipeline
``sagaline.events.enqueued``         counter        name, reliability
``sagaline.events.published``        counter        name
``sagaline.events.dropped``          counter        name, rule (the rule the event broke)
``sagaline.bridge.trials``           counter        outcome (start | stop | cancelled)
``sagaline.telemetry.handler.failures`` counter     handler_id
==================================== ============== ===================================================

Counters are :class:`Tally` objects (a dict update per event, read by the
SDK as observable counters at collection); histograms are SDK histograms.
Instruments are created on first use, so a process registers (and
collects) only what it records.
Attribute values are bounded sets (saga, step, domain, command and event
names; a dynamic child's spec id, never its per-incarnation id; a
registry key's prefix, never the key). Values are per process; with the
JSON-lines exporter they are deltas, so summing lines gives totals
(:func:`sagaline.telemetry.timeline.metric_totals`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider

from sagaline.telemetry import names as tn
from sagaline.telemetry.core import EventName, Telemetry
from sagaline.telemetry.core import telemetry as default_telemetry
from sagaline.telemetry.otel import HANDLER_PREFIX

__all__ = ["MetricsBridge", "Tally", "INSTRUMENTS", "DURATION_BOUNDS_S"]

#: Histogram bucket bounds in seconds: 1 ms .. 2 min (the SDK's defaults are for milliseconds).
DURATION_BOUNDS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_RUN_END: dict[EventName, str] = {
    tn.SAGA_COMPLETE: "completed",
    tn.SAGA_FAIL: "failed",
    tn.SAGA_STUCK: "stuck",
    tn.SAGA_CANCELLED: "cancelled",
}
_FLOW: dict[EventName, str] = {
    tn.EVENT_VALIDATED: "validated",
    tn.EVENT_ENQUEUE: "enqueued",
    tn.EVENT_PUBLISH: "published",
    tn.EVENT_DROPPED: "dropped",
}
_TRIALS: dict[EventName, str] = {
    tn.BRIDGE_TRIAL_START: "start",
    tn.BRIDGE_TRIAL_STOP: "stop",
    tn.BRIDGE_TRIAL_CANCELLED: "cancelled",
}
#: Every instrument: name -> (kind, description); kinds: counter, up_down (both
#: :class:`Tally`), histogram (seconds), gauge.
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "sagaline.saga.runs.started": ("counter", "saga runs started"),
    **{f"sagaline.saga.runs.{status}": ("counter", f"saga runs {status}") for status in _RUN_END.values()},
    "sagaline.saga.runs.active": ("up_down", "runs in progress"),
    "sagaline.saga.run.duration": ("histogram", "saga run duration"),
    "sagaline.saga.step.duration": ("histogram", "step invocation duration"),
    "sagaline.saga.compensations": ("counter", "compensate and undo invocations"),
    "sagaline.saga.compensation.duration": ("histogram", "compensate/undo duration"),
    "sagaline.saga.backlog": ("gauge", "runs waiting for a saga actor"),
    "sagaline.saga.storage.faulted": ("gauge", "1 while a saga host cannot write its journal"),
    "sagaline.domain.commands": ("counter", "domain commands handled"),
    "sagaline.supervisor.restarts": ("counter", "child restarts"),
    "sagaline.supervisor.escalations": ("counter", "restart intensity exceeded"),
    "sagaline.registry.changes": ("counter", "registry registrations and removals"),
    **{f"sagaline.events.{what}": ("counter", f"bus events {what}") for what in _FLOW.values()},
    "sagaline.bridge.trials": ("counter", "bridge trial lifecycle"),
    "sagaline.telemetry.handler.failures": ("counter", "telemetry handlers detached"),
}


def _rule(reason: Any) -> str:
    """The rule named in a drop reason (``"<event>: <rule>: <detail>"``, the validator's wording)."""
    parts = str(reason).split(": ")
    return parts[1] if len(parts) >= 3 else "unknown"


def _prefix(key: Any) -> str:
    return str(key).split(":", 1)[0]


class Tally:
    """A counter kept in a plain dict and read by the SDK at collection time
    (an observable counter): an event costs a dict update, not an SDK call.

    Args:
        meter: where to register the observable instrument.
        name, description: the instrument's.
        up_down: an up-down counter (may decrease) instead of a monotonic one.
    """

    def __init__(self, meter: Any, name: str, description: str, up_down: bool = False) -> None:
        self.values: dict[tuple, float] = {}
        make = meter.create_observable_up_down_counter if up_down else meter.create_observable_counter
        make(name, callbacks=[self._observe], unit="1", description=description)

    def add(self, amount: float, attributes: dict) -> None:
        """Add ``amount`` for ``attributes``."""
        key = tuple(attributes.items())
        self.values[key] = self.values.get(key, 0) + amount

    def _observe(self, options: Any) -> list[Observation]:
        return [Observation(value, dict(key)) for key, value in list(self.values.items())]


class MetricsBridge:
    """Telemetry handlers recording into a meter provider's instruments (module docstring).

    Args:
        provider: the process's meter provider.
        source: the telemetry to attach to.
        after_event: called after each handled event (the process setup uses
            it to export at most every interval, without a thread).
    """

    def __init__(
        self,
        provider: MeterProvider,
        source: Telemetry = default_telemetry,
        after_event: Callable[[], None] | None = None,
    ) -> None:
        self.source, self.after_event = source, after_event
        self.meter = provider.get_meter("sagaline")
        self._instruments: dict[str, Any] = {}

    def instrument(self, name: str) -> Any:
        """The instrument ``name`` (of :data:`INSTRUMENTS`), created on first use: an
        actor process registers only what it records (a saga actor's process is one run)."""
        found = self._instruments.get(name)
        if found is None:
            kind, description = INSTRUMENTS[name]
            if kind in ("counter", "up_down"):
                found = Tally(self.meter, name, description, up_down=kind == "up_down")
            elif kind == "histogram":
                found = self.meter.create_histogram(
                    name, "s", description, explicit_bucket_boundaries_advisory=DURATION_BOUNDS_S
                )
            else:
                found = self.meter.create_gauge(name, "1", description)
            self._instruments[name] = found
        return found

    def _add(self, name: str, amount: float, attributes: dict) -> None:
        self.instrument(name).add(amount, attributes)

    def _record(self, name: str, nanoseconds: Any, attributes: dict) -> None:
        self.instrument(name).record(max(0, nanoseconds or 0) * 1e-9, attributes)

    # ----- attach / detach ---------------------------------------------------------------

    def handlers(self) -> dict[str, tuple[tuple[EventName, ...], Any]]:
        """Handler id -> (events, function), one id per concern."""
        domain = tuple(tn.DOMAIN_COMMAND + (s,) for s in ("stop", "exception"))
        return {
            HANDLER_PREFIX + "metrics.runs": (
                (tn.SAGA_START, *_RUN_END, tn.SAGA_BACKLOG, tn.SAGA_STORAGE_FAULT),
                self._on_run,
            ),
            HANDLER_PREFIX + "metrics.steps": (
                (tn.STEP_STOP, tn.STEP_EXCEPTION, tn.COMPENSATE, tn.UNDO, tn.COMPENSATE_STOP, tn.UNDO_STOP),
                self._on_step,
            ),
            HANDLER_PREFIX + "metrics.domain": (domain, self._on_domain),
            HANDLER_PREFIX + "metrics.runtime": (
                (
                    tn.SUPERVISOR_RESTART,
                    tn.SUPERVISOR_ESCALATE,
                    tn.REGISTRY_REGISTER,
                    tn.REGISTRY_UNREGISTER,
                    tn.HANDLER_FAILURE,
                    *_TRIALS,
                ),
                self._on_runtime,
            ),
            HANDLER_PREFIX + "metrics.flow": (tuple(_FLOW), self._on_flow),
        }

    def attach(self) -> MetricsBridge:
        """Attach the handlers; returns self."""
        for handler_id, (events, fn) in self.handlers().items():
            self.source.attach_many(handler_id, events, self._then_tick(fn))
        return self

    def detach(self) -> None:
        """Detach the handlers."""
        for handler_id in self.handlers():
            self.source.detach(handler_id)

    def _then_tick(self, fn: Callable) -> Callable:
        def handler(event: EventName, measurements: dict, metadata: dict, config: Any) -> None:
            fn(event, measurements, metadata)
            if self.after_event is not None:
                self.after_event()

        return handler

    # ----- handlers ------------------------------------------------------------------------

    def _on_run(self, event: EventName, measurements: dict, metadata: dict) -> None:
        if event == tn.SAGA_BACKLOG:
            self.instrument("sagaline.saga.backlog").set(measurements.get("depth", 0))
            return
        if event == tn.SAGA_STORAGE_FAULT:
            self.instrument("sagaline.saga.storage.faulted").set(
                measurements.get("count", 0), {"host": metadata.get("host", -1)}
            )
            return
        saga = {"saga": metadata.get("saga", "")}
        if event == tn.SAGA_START:
            self._add("sagaline.saga.runs.started", 1, saga)
            self._add("sagaline.saga.runs.active", 1, saga)
            return
        status = {**saga, "status": metadata.get("status", _RUN_END[event])}
        self._add(f"sagaline.saga.runs.{_RUN_END[event]}", 1, status)
        self._add("sagaline.saga.runs.active", -1, saga)
        self._record("sagaline.saga.run.duration", measurements.get("duration"), status)

    def _on_step(self, event: EventName, measurements: dict, metadata: dict) -> None:
        where = {"saga": metadata.get("saga", ""), "step": metadata.get("step", "")}
        if event == tn.STEP_STOP:
            self._record("sagaline.saga.step.duration", measurements.get("duration"), {**where, "outcome": "ok"})
        elif event == tn.STEP_EXCEPTION:
            self._record(
                "sagaline.saga.step.duration",
                measurements.get("duration"),
                {**where, "outcome": metadata.get("kind", "error")},
            )
        elif event in (tn.COMPENSATE, tn.UNDO):
            self._add("sagaline.saga.compensations", 1, {**where, "kind": event[-1]})
        else:
            self._record(
                "sagaline.saga.compensation.duration",
                measurements.get("duration"),
                {**where, "kind": event[-2], "outcome": metadata.get("outcome", "ok")},
            )

    def _on_domain(self, event: EventName, measurements: dict, metadata: dict) -> None:
        outcome = metadata.get("reply") or "ok" if event[-1] == "stop" else metadata.get("kind", "error")
        self._add(
            "sagaline.domain.commands",
            1,
            {"domain": metadata.get("domain", ""), "command": metadata.get("command", ""), "outcome": outcome},
        )

    def _on_runtime(self, event: EventName, measurements: dict, metadata: dict) -> None:
        if event == tn.SUPERVISOR_RESTART:
            self._add(
                "sagaline.supervisor.restarts",
                measurements.get("count", 1),
                {"supervisor": str(metadata.get("supervisor")), "child": str(metadata.get("child", ""))},
            )
        elif event == tn.SUPERVISOR_ESCALATE:
            self._add("sagaline.supervisor.escalations", 1, {"supervisor": str(metadata.get("supervisor"))})
        elif event in (tn.REGISTRY_REGISTER, tn.REGISTRY_UNREGISTER):
            self._add(
                "sagaline.registry.changes",
                1,
                {
                    "change": event[-1],
                    "prefix": _prefix(metadata.get("key", "")),
                    "reason": str(metadata.get("reason", "")),
                },
            )
        elif event == tn.HANDLER_FAILURE:
            self._add("sagaline.telemetry.handler.failures", 1, {"handler_id": str(metadata.get("handler_id", ""))})
        else:
            self._add("sagaline.bridge.trials", 1, {"outcome": _TRIALS[event]})

    def _on_flow(self, event: EventName, measurements: dict, metadata: dict) -> None:
        what = _FLOW[event]
        attrs: dict[str, Any] = {"name": str(metadata.get("name", ""))}
        if what == "validated":
            attrs.update(accepted=bool(metadata.get("accepted", True)), pipeline=str(metadata.get("pipeline", "")))
        elif what == "enqueued":
            attrs["reliability"] = str(metadata.get("reliability", ""))
        elif what == "dropped":
            attrs["rule"] = _rule(metadata.get("reason", ""))
        self._add(f"sagaline.events.{what}", 1, attrs)
