"""Telemetry: ``:telemetry``-style events and spans (core), with fixed names.

The OpenTelemetry bridge attaches handlers here; emitters never import it.
"""

from sagaline.telemetry.core import AlreadyAttached, Collector, Telemetry, telemetry

__all__ = ["AlreadyAttached", "Collector", "Telemetry", "telemetry"]
