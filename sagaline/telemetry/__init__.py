"""Telemetry: ``:telemetry``-style events and spans (core), with fixed names,
bridged to OpenTelemetry traces and metrics.

Layering (imports run one way; only the last four import OpenTelemetry, and
only when telemetry is on)::

    names.py      the fixed event names, and who emits what
    core.py       execute / attach / attach_many / detach / span
    context.py    W3C trace context derived from a run's correlation id
    timeline.py   a run's trace as text, from the JSON-lines files (the CLI)
    setup.py      per-process setup from the environment (the base actor's hooks)
    otel.py       the span bridge (telemetry handlers -> SDK spans)
    metrics.py    the metrics bridge (telemetry handlers -> SDK instruments)
    pipeline.py   thread-free, fork-safe span processor, metric reader, meter provider
    exporters.py  none | console | otlp | jsonl

Emitters use :data:`telemetry` and never import OpenTelemetry.
"""

from sagaline.telemetry.core import AlreadyAttached, Collector, Telemetry, telemetry

__all__ = ["AlreadyAttached", "Collector", "Telemetry", "telemetry"]
