"""The :telemetry semantics: synchronous handlers, failure detaches, spans."""

import pytest

from sagaline.telemetry import AlreadyAttached, Collector, Telemetry
from sagaline.telemetry.names import HANDLER_FAILURE

EVENT = ("reactor", "saga", "start")


def test_handlers_run_synchronously_with_measurements_metadata_and_config():
    t, seen = Telemetry(), []
    t.attach("h", EVENT, lambda e, m, md, cfg: seen.append((e, m, md, cfg)), config="cfg")
    t.execute(EVENT, {"n": 1}, {"saga": "x"})
    assert seen == [(EVENT, {"n": 1}, {"saga": "x"}, "cfg")]


def test_attaching_a_taken_handler_id_fails():
    t = Telemetry()
    t.attach("h", EVENT, lambda *a: None)
    with pytest.raises(AlreadyAttached):
        t.attach("h", ("other",), lambda *a: None)


def test_a_failing_handler_is_detached_and_reported_and_the_emitter_never_fails():
    t, failures = Telemetry(), Collector()
    t.attach("failures", HANDLER_FAILURE, failures)
    t.attach("bad", EVENT, lambda *a: 1 / 0)
    t.execute(EVENT)
    t.execute(EVENT)
    assert "bad" not in t.handlers()
    [(_measurements, metadata)] = failures.named(HANDLER_FAILURE)
    assert metadata["handler_id"] == "bad" and isinstance(metadata["reason"], ZeroDivisionError)
    assert metadata["event_name"] == EVENT


def test_a_span_emits_start_and_stop_with_a_monotonic_duration_and_one_context():
    t, c = Telemetry(), Collector()
    t.attach_many("c", [("step", "start"), ("step", "stop")], c)
    with t.span(("step",), {"step": "a"}) as stop_meta:
        stop_meta["result"] = "ok"
    ((start_m, start_md),) = c.named(("step", "start"))
    ((stop_m, stop_md),) = c.named(("step", "stop"))
    assert stop_m["duration"] >= 0 and "monotonic_time" in start_m and "system_time" in start_m
    assert start_md["telemetry_span_context"] == stop_md["telemetry_span_context"]
    assert stop_md["result"] == "ok"


def test_a_span_around_an_exception_emits_exception_then_re_raises():
    t, c = Telemetry(), Collector()
    t.attach_many("c", [("step", "stop"), ("step", "exception")], c)
    with pytest.raises(KeyError), t.span(("step",), {}):
        raise KeyError("x")
    assert c.named(("step", "stop")) == []
    ((m, md),) = c.named(("step", "exception"))
    assert md["kind"] == "error" and isinstance(md["reason"], KeyError) and md["stacktrace"]
    assert m["duration"] >= 0
