"""The span bridge, fed synthetic events, into the SDK's InMemorySpanExporter."""

import time

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from sagaline.telemetry import Telemetry
from sagaline.telemetry import names as tn
from sagaline.telemetry.context import root_span_id, span_id_for, trace_id_for, traceparent
from sagaline.telemetry.otel import HANDLER_PREFIX, SpanBridge

CID = "0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b"
SAGA = "user_provisioning"
META = {"saga": SAGA, "correlation_id": CID, "trace_id": trace_id_for(CID)}


class Run:
    """Emits what the saga actor and a domain actor emit, on a private Telemetry."""

    def __init__(self, source: Telemetry) -> None:
        self.t = source

    def start(self) -> None:
        self.t.execute(
            tn.SAGA_START,
            {"system_time": time.time_ns(), "monotonic_time": time.monotonic_ns()},
            {**META, "span_id": root_span_id(CID)},
        )

    def invoke(self, step: str, kind: str = "run", attempt: int = 1, event=None) -> tuple[str, str]:
        key = f"{CID}:{step}:{kind}:0"
        span = span_id_for(key, kind, attempt)
        event = event or {"run": tn.STEP_START, "compensate": tn.COMPENSATE, "undo": tn.UNDO}[kind]
        self.t.execute(
            event,
            {"monotonic_time": time.monotonic_ns()},
            {
                **META,
                "step": step,
                "kind": kind,
                "attempt": attempt,
                "idempotency_key": key,
                "span_id": span,
                "parent_span_id": root_span_id(CID),
            },
        )
        return key, span

    def command(self, domain: str, command: str, key: str, span: str | None, fail: Exception | None = None):
        meta = {
            "domain": domain,
            "command": command,
            "correlation_id": CID,
            "idempotency_key": key,
            "traceparent": traceparent(CID, span) if span else None,
        }
        try:
            with self.t.span(tn.DOMAIN_COMMAND, meta) as stop:
                if fail is not None:
                    raise fail
                stop["reply"] = "Done"
        except Exception:
            pass

    def stop(self, step: str, key: str, duration: int = 1_000_000, error=None) -> None:
        if error is None:
            self.t.execute(tn.STEP_STOP, {"duration": duration}, {**META, "step": step, "idempotency_key": key})
        else:
            self.t.execute(
                tn.STEP_EXCEPTION,
                {"duration": duration},
                {**META, "step": step, "idempotency_key": key, "kind": "fail", "reason": error},
            )

    def finish(self, event=tn.SAGA_COMPLETE, status="completed", error=None) -> None:
        self.t.execute(
            event, {"duration": 5_000_000}, {**META, "status": status, "error": error, "failed_compensations": ()}
        )


@pytest.fixture
def traced():
    source, exporter = Telemetry(), InMemorySpanExporter()
    bridge = SpanBridge(SimpleSpanProcessor(exporter), Resource({"service.name": "test"}), source).attach()
    yield Run(source), exporter, bridge
    bridge.detach()


def by_name(exporter):
    return {s.name: s for s in exporter.get_finished_spans()}


def test_a_run_is_one_trace_whose_id_is_the_correlation_id_with_a_root_span_per_run(traced):
    run, exporter, _ = traced
    run.start()
    key, span = run.invoke("validate_email")
    run.stop("validate_email", key)
    run.finish()
    spans = by_name(exporter)
    root, step = spans[f"saga {SAGA}"], spans["step validate_email"]
    assert {s.context.trace_id for s in spans.values()} == {int(CID.replace("-", ""), 16)}
    assert root.parent is None and format(root.context.span_id, "016x") == root_span_id(CID)
    assert format(step.context.span_id, "016x") == span and step.parent.span_id == root.context.span_id
    assert root.status.status_code is StatusCode.OK and step.status.status_code is StatusCode.OK
    assert root.attributes["sagaline.correlation_id"] == CID and root.attributes["sagaline.saga"] == SAGA
    assert step.attributes["sagaline.correlation_id"] == CID and step.attributes["sagaline.step"] == "validate_email"


def test_a_span_lasts_exactly_the_duration_its_emitter_measured(traced):
    run, exporter, _ = traced
    run.start()
    key, _ = run.invoke("a")
    run.stop("a", key, duration=7_000_000)
    run.finish()
    spans = by_name(exporter)
    assert spans["step a"].end_time - spans["step a"].start_time == 7_000_000
    assert spans[f"saga {SAGA}"].end_time - spans[f"saga {SAGA}"].start_time == 5_000_000


def test_a_domain_command_span_is_a_server_child_of_the_invocation_named_by_its_traceparent(traced):
    run, exporter, _ = traced
    run.start()
    key, span = run.invoke("create_user")
    run.command("gate", "CreateUser", key, span)
    run.stop("create_user", key)
    command = by_name(exporter)["gate CreateUser"]
    assert command.kind is SpanKind.SERVER and command.parent.is_remote
    assert format(command.parent.span_id, "016x") == span
    assert command.context.trace_id == int(trace_id_for(CID), 16)
    assert command.attributes["sagaline.correlation_id"] == CID and command.attributes["sagaline.reply"] == "Done"


def test_a_command_without_trace_context_hangs_under_the_run_root(traced):
    run, exporter, _ = traced
    run.command("flow", "PublishEvent", "k", None)
    command = by_name(exporter)["flow PublishEvent"]
    assert format(command.parent.span_id, "016x") == root_span_id(CID)


def test_a_command_that_raises_ends_its_span_in_error_with_an_exception_event(traced):
    run, exporter, _ = traced
    run.command("block", "ProvisionVault", "k", span_id_for("k", "run", 1), fail=RuntimeError("disk on fire"))
    span = by_name(exporter)["block ProvisionVault"]
    assert span.status.status_code is StatusCode.ERROR and "disk on fire" in span.status.description
    [event] = span.events
    assert event.name == "exception" and event.attributes["exception.type"] == "RuntimeError"
    assert "disk on fire" in event.attributes["exception.stacktrace"]


def test_a_failed_step_and_a_failed_run_end_in_error_with_the_reason(traced):
    run, exporter, _ = traced
    run.start()
    key, _ = run.invoke("create_default_community")
    run.stop("create_default_community", key, error={"code": "community_join_failed", "message": "no"})
    run.finish(tn.SAGA_FAIL, "failed", {"code": "community_join_failed", "message": "no"})
    spans = by_name(exporter)
    step, root = spans["step create_default_community"], spans[f"saga {SAGA}"]
    assert step.status.status_code is StatusCode.ERROR and step.status.description == "community_join_failed: no"
    assert step.attributes["sagaline.outcome"] == "fail"
    assert root.status.status_code is StatusCode.ERROR and root.attributes["sagaline.run.status"] == "failed"


def test_undo_spans_without_stop_events_end_when_the_next_one_starts_or_the_run_ends(traced):
    run, exporter, _ = traced
    run.start()
    run.invoke("provision_vault", "undo")
    assert exporter.get_finished_spans() == ()
    run.invoke("create_user", "undo")
    assert [s.name for s in exporter.get_finished_spans()] == ["undo provision_vault"]
    run.finish(tn.SAGA_FAIL, "failed")
    spans = by_name(exporter)
    assert spans["undo create_user"].attributes["sagaline.span.end"] == "inferred"
    assert spans["undo create_user"].attributes["sagaline.invocation.kind"] == "undo"
    assert spans["undo create_user"].end_time <= spans[f"saga {SAGA}"].end_time


def test_an_undo_stop_event_ends_its_span_with_the_measured_duration_and_outcome(traced):
    run, exporter, _ = traced
    run.start()
    key, _ = run.invoke("create_user", "undo")
    run.t.execute(
        tn.UNDO_STOP,
        {"duration": 3_000},
        {**META, "step": "create_user", "idempotency_key": key, "kind": "undo", "outcome": "ok"},
    )
    run.finish(tn.SAGA_FAIL, "failed")
    undo = by_name(exporter)["undo create_user"]
    assert undo.end_time - undo.start_time == 3_000 and "sagaline.span.end" not in undo.attributes
    assert undo.status.status_code is StatusCode.OK


def test_a_re_sent_invocation_supersedes_the_unanswered_one(traced):
    run, exporter, _ = traced
    run.start()
    key, first = run.invoke("provision_vault", attempt=1)
    _, second = run.invoke("provision_vault", attempt=2)
    run.stop("provision_vault", key)
    spans = [s for s in exporter.get_finished_spans() if s.name == "step provision_vault"]
    assert [format(s.context.span_id, "016x") for s in spans] == [first, second]
    assert spans[0].attributes["sagaline.span.end"] == "superseded"
    assert spans[0].status.status_code is StatusCode.ERROR and spans[1].status.status_code is StatusCode.OK


def test_a_stop_without_a_start_is_ignored(traced):
    run, exporter, bridge = traced
    run.stop("ghost", "no-such-key")
    run.finish()
    assert exporter.get_finished_spans() == () and len(bridge.handlers()) == 3


def test_the_bridge_flushes_its_processor_when_no_span_is_left_open():
    flushes = []

    class Counting(SpanProcessor):
        def on_end(self, span):
            pass

        def force_flush(self, timeout_millis=30000):
            flushes.append(True)
            return True

    source = Telemetry()
    bridge = SpanBridge(Counting(), Resource({}), source, flush_when_idle=True).attach()
    run = Run(source)
    run.start()
    key, _ = run.invoke("a")
    run.stop("a", key)
    assert flushes == []
    run.finish()
    assert flushes == [True]
    bridge.detach()


def test_the_bridge_attaches_one_handler_id_per_concern_and_detaches_them_all():
    source = Telemetry()
    bridge = SpanBridge(SimpleSpanProcessor(InMemorySpanExporter()), Resource({}), source).attach()
    assert sorted(source.handlers()) == sorted(bridge.handlers())
    assert all(h.startswith(HANDLER_PREFIX) for h in source.handlers())
    bridge.detach()
    assert source.handlers() == []
