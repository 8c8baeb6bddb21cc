"""Thread-free span processor and metric reader: safe in processes that fork.

Every sagaline actor process that starts children forks them (Thespian's
multiprocess bases), and a forked child inherits its parent's telemetry
objects. The SDK's ``BatchSpanProcessor`` and ``PeriodicExportingMetricReader``
register ``os.register_at_fork`` hooks that restart their worker threads in
the child, where they would export the parent's inherited metrics a second
time. These two classes own no thread: they export in the calling thread,
when a batch fills, when ``max_delay_s`` has passed since the first
buffered span (checked on the next span or event), and on
``force_flush``/``shutdown``,
which the base actor triggers while it handles its ``ActorExitRequest``,
before the process ``os._exit``s. A copy inherited by a child does nothing
until someone calls it, and the child's own setup replaces it.

:class:`ForkQuietMeterProvider` exists for the same reason: the SDK's
``MeterProvider`` re-detects its resource in every forked child (an entry
point scan and a thread pool, for every provider alive in the parent: a
few milliseconds per actor process, measured as a 30 % throughput loss on
multiprocTCPBase). The inherited copy is never used in the child, so it
only renews its locks.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["FlushingSpanProcessor", "OnDemandMetricReader", "ForkQuietMeterProvider"]

_log = logging.getLogger("sagaline.telemetry")


class FlushingSpanProcessor(SpanProcessor):
    """Hands ended spans to ``exporter`` in the ending thread.

    Args:
        exporter: where spans go.
        batch_size: spans per export; 1 writes each span as it ends.
        max_delay_s: a partial batch older than this goes out with the next span.

    The span bridge also flushes it whenever no span is left open in the
    process (:class:`~sagaline.telemetry.otel.SpanBridge`, ``flush_when_idle``),
    so an idle process holds nothing back: a saga actor writes its run's
    spans in one ``write`` when the run ends, a domain actor each command's
    span when it is answered.
    """

    def __init__(self, exporter: SpanExporter, batch_size: int = 64, max_delay_s: float = 1.0) -> None:
        self.exporter = exporter
        self.batch_size = max(1, batch_size)
        self.max_delay_s = max_delay_s
        self._buffer: list[ReadableSpan] = []
        self._oldest = 0.0
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Buffer ``span``; export the buffer when full or old."""
        with self._lock:
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.append(span)
            due = len(self._buffer) >= self.batch_size or time.monotonic() - self._oldest >= self.max_delay_s
            batch = self._take() if due else []
        self._export(batch)

    def _take(self) -> list[ReadableSpan]:
        batch, self._buffer = self._buffer, []
        return batch

    def _export(self, batch: list[ReadableSpan]) -> None:
        if not batch:
            return
        try:
            self.exporter.export(batch)
        except Exception:  # an exporter must never break the actor that ended the span
            _log.exception("exporting %d span(s) failed", len(batch))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export whatever is buffered."""
        with self._lock:
            batch = self._take()
        self._export(batch)
        return True

    def shutdown(self) -> None:
        """Flush, then shut the exporter down."""
        self.force_flush()
        try:
            self.exporter.shutdown()
        except Exception:
            _log.exception("shutting the span exporter down failed")


class OnDemandMetricReader(MetricReader):
    """Collects and exports when asked: :meth:`maybe_collect` (at most every
    ``interval_s``), ``collect``/``force_flush``, and ``shutdown``.

    Args:
        exporter: where the points go (its preferred temporality is used).
        interval_s: least seconds between two exports by :meth:`maybe_collect`.
    """

    def __init__(self, exporter: MetricExporter, interval_s: float = 60.0) -> None:
        super().__init__(
            preferred_temporality=exporter._preferred_temporality, preferred_aggregation=exporter._preferred_aggregation
        )
        self.exporter = exporter
        self.interval_s = interval_s
        self._last = time.monotonic()

    def maybe_collect(self) -> None:
        """Collect and export if ``interval_s`` has passed since the last export."""
        if time.monotonic() - self._last >= self.interval_s:
            self.collect()

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._last = time.monotonic()
        if metrics_data is None or not metrics_data.resource_metrics:
            return
        try:
            self.exporter.export(metrics_data, timeout_millis=timeout_millis)
        except Exception:
            _log.exception("exporting metrics failed")

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Export the last points, then shut the exporter down."""
        try:
            self.collect(timeout_millis=timeout_millis)
            self.exporter.shutdown(timeout_millis=timeout_millis)
        except Exception:
            _log.exception("shutting the metric exporter down failed")


class ForkQuietMeterProvider(MeterProvider):
    """A ``MeterProvider`` whose copy in a forked child does no resource detection
    (see the module docstring); otherwise the SDK's."""

    def _handle_fork(self) -> None:
        self._lock = threading.Lock()
        self._meter_lock = threading.Lock()
