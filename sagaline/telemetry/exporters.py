"""Where spans and metrics go: none, console, OTLP (optional extra), or JSON lines.

The default for an operator is the **JSON-lines files** under the telemetry
directory (``<data dir>/telemetry``), so traces exist without a collector:

* ``spans-YYYY-MM-DD.jsonl``: one finished span per line (UTC date of the write);
* ``metrics-YYYY-MM-DD.jsonl``: one metric data point per line, **delta**
  temporality, so the sum of a counter's lines is its total across every
  process and every export (points whose delta is 0 are not written).

**Many processes, one file.** Every actor process appends to the same
files. Each process opens them with ``O_APPEND`` and writes a whole batch of
lines with a single ``write(2)``: on a local Linux filesystem an
``O_APPEND`` write is positioned and copied under the file's lock, so lines
from different processes never interleave or overwrite each other (not
promised on NFS). One file per process was rejected: a saga run is a
process, so that would be a file per run. Nothing is buffered in user space,
so a process that ends with ``os._exit`` loses nothing already written.

Span line (``type`` = ``span``)::

    {"type": "span", "trace_id": "<32 hex>", "span_id": "<16 hex>",
     "parent_span_id": "<16 hex>" | null, "name": "step create_user",
     "kind": "internal" | "server" | ..., "start_ns": <unix ns>, "end_ns": <unix ns>,
     "duration_ns": <ns>, "status": "unset" | "ok" | "error", "status_message": str | null,
     "attributes": {...}, "events": [{"name", "time_ns", "attributes"}],
     "pid": <os pid of the process that ended the span>, "service": "sagaline"}

Metric line (``type`` = ``metric``)::

    {"type": "metric", "name": "sagaline.saga.runs.started", "unit": "1",
     "kind": "sum" | "histogram" | "gauge", "temporality": "delta" | "cumulative",
     "attributes": {...}, "start_ns": ..., "time_ns": ...,
     "value": <number>                                  (sum, gauge)
     "count", "sum", "min", "max", "bounds", "buckets"  (histogram)
     "pid": ..., "service": ...}

Console writes the SDK's own JSON to stdout (an actor's stdout is the
launcher's log file). OTLP needs the ``otlp`` extra
(``pip install 'sagaline[otlp]'``); without it :func:`span_exporter` raises
:class:`ExporterUnavailable`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter, ObservableUpDownCounter, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ConsoleMetricExporter,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from sagaline.errors import SagalineError

__all__ = [
    "JsonlFiles",
    "JsonlSpanExporter",
    "JsonlMetricExporter",
    "ExporterUnavailable",
    "span_record",
    "metric_records",
    "span_exporter",
    "metric_exporter",
    "DELTA",
    "EXPORTERS",
]

#: The exporter names accepted by configuration.
EXPORTERS = ("none", "console", "otlp", "jsonl")
#: Delta temporality for every instrument kind (what the JSON-lines metrics use).
DELTA: dict[type, AggregationTemporality] = {
    kind: AggregationTemporality.DELTA
    for kind in (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter)
}


class ExporterUnavailable(SagalineError):
    """The configured exporter cannot be built (raised by :func:`span_exporter` /
    :func:`metric_exporter`: the ``otlp`` extra is not installed). Install it or
    choose another exporter; process setup then runs without telemetry."""


class JsonlFiles:
    """Appends lines to ``<directory>/<stem>-<UTC date>.jsonl``, one ``write`` per batch.

    Args:
        directory: created on first write.
        stem: ``spans`` or ``metrics``.
    """

    def __init__(self, directory: str | os.PathLike, stem: str) -> None:
        self.directory = Path(directory)
        self.stem = stem
        self._fd: int | None = None
        self._day = ""
        self._lock = threading.Lock()

    def path_for(self, day: str) -> Path:
        """The file of UTC day ``day`` (``YYYY-MM-DD``)."""
        return self.directory / f"{self.stem}-{day}.jsonl"

    def append(self, records: Sequence[dict]) -> None:
        """Write ``records`` as JSON lines in one ``write`` (atomic among O_APPEND writers)."""
        if not records:
            return
        data = "".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in records).encode()
        with self._lock:
            fd = self._open(time.strftime("%Y-%m-%d", time.gmtime()))
            while data:
                data = data[os.write(fd, data) :]

    def _open(self, day: str) -> int:
        if self._fd is None or day != self._day:
            self.close()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path_for(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._day = day
        return self._fd

    def close(self) -> None:
        """Close the file (nothing is buffered, so nothing is lost)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                pass


_KINDS = {kind: kind.name.lower() for kind in SpanKind}
_STATUS = {code: code.name.lower() for code in StatusCode}


def span_record(span: ReadableSpan, service: str = "sagaline") -> dict:
    """The JSON-lines form of a finished span (module docstring)."""
    ctx, parent, start, end = span.context, span.parent, span.start_time or 0, span.end_time or 0
    return {
        "type": "span",
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "kind": _KINDS[span.kind],
        "start_ns": start,
        "end_ns": end,
        "duration_ns": end - start,
        "status": _STATUS[span.status.status_code],
        "status_message": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})} for e in span.events
        ],
        "service": service,
        "pid": os.getpid(),
    }


class JsonlSpanExporter(SpanExporter):
    """Writes spans to :class:`JsonlFiles` (``spans-*.jsonl``)."""

    def __init__(self, directory: str | os.PathLike, service: str = "sagaline") -> None:
        self.files = JsonlFiles(directory, "spans")
        self.service = service

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self.files.append([span_record(s, self.service) for s in spans])
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self.files.close()


def _point(metric: Any, point: Any) -> dict:
    base = {
        "type": "metric",
        "name": metric.name,
        "unit": metric.unit or "",
        "attributes": dict(point.attributes or {}),
        "start_ns": getattr(point, "start_time_unix_nano", None),
        "time_ns": point.time_unix_nano,
    }
    data = metric.data
    if isinstance(data, (Sum, Gauge)):
        temporality = getattr(data, "aggregation_temporality", None)
        return {
            **base,
            "kind": "sum" if isinstance(data, Sum) else "gauge",
            "temporality": temporality.name.lower() if temporality else None,
            "value": point.value,
        }
    return {
        **base,
        "kind": "histogram",
        "temporality": data.aggregation_temporality.name.lower(),
        "count": point.count,
        "sum": point.sum,
        "min": point.min,
        "max": point.max,
        "bounds": list(point.explicit_bounds),
        "buckets": list(point.bucket_counts),
    }


def metric_records(data: MetricsData, service: str = "sagaline") -> list[dict]:
    """One JSON-lines record per data point of ``data`` (module docstring)."""
    extra = {"service": service, "pid": os.getpid()}
    records = (
        {**_point(metric, point), **extra}
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    )
    return [r for r in records if not (r.get("temporality") == "delta" and r.get("value") == 0)]


class JsonlMetricExporter(MetricExporter):
    """Writes metric points to :class:`JsonlFiles` (``metrics-*.jsonl``), delta temporality."""

    def __init__(self, directory: str | os.PathLike, service: str = "sagaline") -> None:
        super().__init__(preferred_temporality=DELTA)
        self.files = JsonlFiles(directory, "metrics")
        self.service = service

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        try:
            self.files.append(metric_records(metrics_data, self.service))
        except OSError:
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.files.close()


def _otlp_url(endpoint: str | None, path: str) -> str | None:
    return None if not endpoint else endpoint.rstrip("/") + path


def span_exporter(
    kind: str,
    directory: str | os.PathLike | None = None,
    *,
    service: str = "sagaline",
    otlp_endpoint: str | None = None,
) -> SpanExporter | None:
    """The span exporter named ``kind`` (None for ``none``).

    Raises:
        ExporterUnavailable: ``otlp`` without the extra installed, or ``jsonl`` without a directory.
        ValueError: an unknown ``kind``.
    """
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter(service_name=service)
    if kind == "jsonl":
        if directory is None:
            raise ExporterUnavailable("the jsonl exporter needs a directory (SAGALINE_TELEMETRY_DIR)")
        return JsonlSpanExporter(directory, service)
    if kind == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ExporterUnavailable("the otlp exporter needs the extra: pip install 'sagaline[otlp]'") from exc
        return OTLPSpanExporter(endpoint=_otlp_url(otlp_endpoint, "/v1/traces"))
    raise ValueError(f"unknown telemetry exporter {kind!r} (one of {', '.join(EXPORTERS)})")


def metric_exporter(
    kind: str,
    directory: str | os.PathLike | None = None,
    *,
    service: str = "sagaline",
    otlp_endpoint: str | None = None,
) -> MetricExporter | None:
    """The metric exporter named ``kind`` (None for ``none``); raises as :func:`span_exporter`."""
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleMetricExporter(preferred_temporality=DELTA)
    if kind == "jsonl":
        if directory is None:
            raise ExporterUnavailable("the jsonl exporter needs a directory (SAGALINE_TELEMETRY_DIR)")
        return JsonlMetricExporter(directory, service)
    if kind == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        except ImportError as exc:
            raise ExporterUnavailable("the otlp exporter needs the extra: pip install 'sagaline[otlp]'") from exc
        return OTLPMetricExporter(endpoint=_otlp_url(otlp_endpoint, "/v1/metrics"))
    raise ValueError(f"unknown telemetry exporter {kind!r} (one of {', '.join(EXPORTERS)})")
