"""Exporters (JSON lines, the factory) and the thread-free processor and reader."""

import json
import os

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaline.telemetry import Telemetry
from sagaline.telemetry import names as tn
from sagaline.telemetry.exporters import (
    ExporterUnavailable,
    JsonlFiles,
    JsonlMetricExporter,
    JsonlSpanExporter,
    metric_exporter,
    span_exporter,
)
from sagaline.telemetry.metrics import MetricsBridge
from sagaline.telemetry.otel import SpanBridge
from sagaline.telemetry.pipeline import FlushingSpanProcessor, ForkQuietMeterProvider, OnDemandMetricReader
from sagaline.telemetry.timeline import read_records

CID = "0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b"


def emit_run(source: Telemetry) -> None:
    meta = {"saga": "s", "correlation_id": CID}
    source.execute(tn.SAGA_START, {"system_time": 1_000}, meta)
    with source.span(tn.DOMAIN_COMMAND, {"domain": "gate", "command": "CreateUser", "correlation_id": CID}):
        pass
    source.execute(tn.SAGA_COMPLETE, {"duration": 500}, {**meta, "status": "completed"})


def test_a_span_line_has_the_documented_fields(tmp_path):
    source = Telemetry()
    bridge = SpanBridge(FlushingSpanProcessor(JsonlSpanExporter(tmp_path, "svc"), 1), Resource({}), source).attach()
    emit_run(source)
    bridge.detach()
    lines = list(read_records(tmp_path))
    root = next(r for r in lines if r["name"] == "saga s")
    assert set(root) == {
        "type",
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "kind",
        "start_ns",
        "end_ns",
        "duration_ns",
        "status",
        "status_message",
        "attributes",
        "events",
        "pid",
        "service",
    }
    assert root["type"] == "span" and root["trace_id"] == CID.replace("-", "") and root["parent_span_id"] is None
    assert root["start_ns"] == 1_000 and root["duration_ns"] == 500 and root["status"] == "ok"
    assert root["pid"] == os.getpid() and root["service"] == "svc" and root["kind"] == "internal"
    assert root["attributes"] == {
        "sagaline.correlation_id": CID,
        "sagaline.saga": "s",
        "sagaline.recovered": False,
        "sagaline.run.status": "completed",
    }
    command = next(r for r in lines if r["name"] == "gate CreateUser")
    assert command["kind"] == "server" and command["parent_span_id"] == root["span_id"]


def test_metric_lines_are_delta_points_and_zero_deltas_are_not_written(tmp_path):
    source = Telemetry()
    reader = OnDemandMetricReader(JsonlMetricExporter(tmp_path), interval_s=3600)
    provider = ForkQuietMeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    bridge = MetricsBridge(provider, source).attach()
    source.execute(tn.SAGA_START, {}, {"saga": "s"})
    source.execute(tn.STEP_STOP, {"duration": 2_000_000}, {"saga": "s", "step": "a"})
    reader.collect()
    reader.collect()  # nothing new: no line
    source.execute(tn.SAGA_START, {}, {"saga": "s"})
    reader.collect()
    bridge.detach()
    lines = list(read_records(tmp_path, "metrics"))
    started = [r for r in lines if r["name"] == "sagaline.saga.runs.started"]
    assert [r["value"] for r in started] == [1, 1] and started[0]["temporality"] == "delta"
    [step] = [r for r in lines if r["name"] == "sagaline.saga.step.duration"]
    assert step["kind"] == "histogram" and step["count"] == 1 and step["sum"] == pytest.approx(0.002)
    assert step["attributes"] == {"saga": "s", "step": "a", "outcome": "ok"} and step["unit"] == "s"
    assert len(step["buckets"]) == len(step["bounds"]) + 1


def test_the_on_demand_reader_exports_only_when_its_interval_has_passed(tmp_path):
    exported = []

    class Capture(JsonlMetricExporter):
        def export(self, metrics_data, timeout_millis=10_000, **kwargs):
            exported.append(metrics_data)
            return super().export(metrics_data, timeout_millis)

    reader = OnDemandMetricReader(Capture(tmp_path), interval_s=3600)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    provider.get_meter("t").create_counter("c").add(1)
    reader.maybe_collect()
    assert exported == []
    reader.interval_s = 0
    reader.maybe_collect()
    assert len(exported) == 1
    provider.shutdown()


def test_the_flushing_processor_holds_a_partial_batch_until_flushed():
    exporter = InMemorySpanExporter()
    processor = FlushingSpanProcessor(exporter, batch_size=3, max_delay_s=3600)
    source = Telemetry()
    bridge = SpanBridge(processor, Resource({}), source).attach()
    emit_run(source)
    assert exporter.get_finished_spans() == ()
    processor.force_flush()
    assert len(exporter.get_finished_spans()) == 2
    bridge.detach()


def test_an_exporter_that_raises_never_reaches_the_emitter(caplog):
    class Broken(InMemorySpanExporter):
        def export(self, spans):
            raise OSError("disk full")

    source = Telemetry()
    bridge = SpanBridge(FlushingSpanProcessor(Broken(), 1), Resource({}), source).attach()
    emit_run(source)
    assert len(source.handlers()) == 3  # nothing was detached
    assert "exporting 1 span(s) failed" in caplog.text
    bridge.detach()


def test_lines_appended_by_many_processes_at_once_never_interleave(tmp_path):
    writers, per_writer = 6, 300
    pids = []
    for w in range(writers):
        pid = os.fork()
        if pid == 0:
            try:
                files = JsonlFiles(tmp_path, "spans")
                for i in range(per_writer):
                    files.append([{"type": "span", "w": w, "i": i, "pad": "x" * (100 + 37 * (i % 50))}] * 2)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("spans-*.jsonl"))
    records = [json.loads(line) for line in raw.splitlines()]
    assert len(records) == writers * per_writer * 2
    assert {(r["w"], r["i"]) for r in records} == {(w, i) for w in range(writers) for i in range(per_writer)}


def test_a_line_cut_short_is_skipped_by_the_reader(tmp_path):
    (tmp_path / "spans-2026-01-01.jsonl").write_text('{"type": "span", "a": 1}\n{"type": "sp')
    assert list(read_records(tmp_path)) == [{"type": "span", "a": 1}]


def test_the_factory_builds_each_configured_exporter(tmp_path):
    assert span_exporter("none") is None and metric_exporter("none") is None
    assert isinstance(span_exporter("jsonl", tmp_path), JsonlSpanExporter)
    assert isinstance(metric_exporter("jsonl", tmp_path), JsonlMetricExporter)
    assert span_exporter("console").export([]) is SpanExportResult.SUCCESS
    with pytest.raises(ExporterUnavailable):
        span_exporter("jsonl", None)
    with pytest.raises(ValueError):
        span_exporter("zipkin")


def test_otlp_without_the_extra_is_unavailable_with_a_hint():
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:
        with pytest.raises(ExporterUnavailable, match="sagaline\\[otlp\\]"):
            span_exporter("otlp")
        with pytest.raises(ExporterUnavailable):
            metric_exporter("otlp")
    else:
        assert span_exporter("otlp", otlp_endpoint="http://127.0.0.1:4318") is not None
