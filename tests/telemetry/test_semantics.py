""":telemetry conformance beyond the basics (semantics page, ":telemetry"):
failure isolation, the failure event, spans that re-raise, monotonic durations."""

import time

import pytest

from sagaline.telemetry import Collector, Telemetry
from sagaline.telemetry import names as tn

EVENT = ("reactor", "saga", "start")
OTHER = ("reactor", "saga", "complete")


def test_attach_many_calls_one_handler_for_each_of_its_events_and_detach_removes_it_from_all():
    t, c = Telemetry(), Collector()
    t.attach_many("c", [EVENT, OTHER], c)
    t.execute(EVENT)
    t.execute(OTHER)
    assert t.detach("c") is True
    t.execute(EVENT)
    assert c.names() == [EVENT, OTHER]


def test_detaching_an_unknown_handler_says_so_and_changes_nothing():
    t, c = Telemetry(), Collector()
    t.attach("c", EVENT, c)
    assert t.detach("nope") is False
    t.execute(EVENT)
    assert t.handlers() == ["c"] and c.names() == [EVENT]


def test_a_detached_id_can_be_attached_again():
    t = Telemetry()
    t.attach("h", EVENT, lambda *a: None)
    t.detach("h")
    t.attach("h", EVENT, lambda *a: None)
    assert t.handlers() == ["h"]


def test_a_failing_handler_does_not_stop_the_other_handlers_of_the_same_event():
    t, c = Telemetry(), Collector()
    t.attach("bad", EVENT, lambda *a: 1 / 0)
    t.attach("good", EVENT, c)
    t.execute(EVENT, {"n": 1})
    assert c.named(EVENT) == [({"n": 1}, {})]


def test_a_handler_failing_on_one_of_its_events_is_detached_from_all_of_them():
    t, c = Telemetry(), Collector()

    def picky(event, measurements, metadata, config):
        if event == OTHER:
            raise ValueError("no")
        c(event, measurements, metadata, config)

    t.attach_many("picky", [EVENT, OTHER], picky)
    t.execute(OTHER)
    t.execute(EVENT)
    assert "picky" not in t.handlers() and c.events == []


def test_the_failure_event_names_the_handler_its_config_the_event_and_the_stacktrace():
    t, failures = Telemetry(), Collector()
    t.attach("failures", tn.HANDLER_FAILURE, failures)
    t.attach("bad", EVENT, lambda *a: {}["missing"], config={"why": "test"})
    t.execute(EVENT)
    [(measurements, metadata)] = failures.named(tn.HANDLER_FAILURE)
    assert metadata["handler_id"] == "bad" and metadata["handler_config"] == {"why": "test"}
    assert metadata["event_name"] == EVENT and metadata["kind"] == "error"
    assert isinstance(metadata["reason"], KeyError) and any("missing" in line for line in metadata["stacktrace"])
    assert measurements["monotonic_time"] > 0


def test_a_failing_failure_handler_is_detached_without_emitting_again():
    t = Telemetry()
    calls = []

    def bad_failure_handler(*args):
        calls.append(args)
        raise RuntimeError("also broken")

    t.attach("failures", tn.HANDLER_FAILURE, bad_failure_handler)
    t.attach("bad", EVENT, lambda *a: 1 / 0)
    t.execute(EVENT)
    assert len(calls) == 1 and t.handlers() == []


def test_execute_with_no_handler_is_a_no_op():
    Telemetry().execute(EVENT, None, None)


def test_a_span_re_raises_the_very_exception_of_the_block_after_the_exception_event():
    t, c = Telemetry(), Collector()
    t.attach_many("c", [("s", "start"), ("s", "exception")], c)
    error = LookupError("boom")
    with pytest.raises(LookupError) as raised, t.span(("s",), {"who": "me"}):
        raise error
    assert raised.value is error
    ((start_m, start_md),) = c.named(("s", "start"))
    ((m, md),) = c.named(("s", "exception"))
    assert md["reason"] is error and md["who"] == "me"
    assert md["telemetry_span_context"] == start_md["telemetry_span_context"]
    assert m["monotonic_time"] >= start_m["monotonic_time"]


def test_a_span_around_a_non_error_exit_reports_kind_exit_and_re_raises():
    t, c = Telemetry(), Collector()
    t.attach("c", ("s", "exception"), c)
    with pytest.raises(SystemExit), t.span(("s",)):
        raise SystemExit(3)
    ((_, md),) = c.named(("s", "exception"))
    assert md["kind"] == "exit"


def test_a_span_still_re_raises_when_its_exception_handler_fails():
    t = Telemetry()
    t.attach("bad", ("s", "exception"), lambda *a: 1 / 0)
    with pytest.raises(KeyError), t.span(("s",)):
        raise KeyError("x")
    assert t.handlers() == []


def test_a_span_whose_start_handler_fails_still_runs_its_block_and_emits_stop():
    t, c = Telemetry(), Collector()
    t.attach("bad", ("s", "start"), lambda *a: 1 / 0)
    t.attach("c", ("s", "stop"), c)
    ran = []
    with t.span(("s",)):
        ran.append(True)
    assert ran == [True] and len(c.named(("s", "stop"))) == 1


def test_span_durations_are_monotonic_nanoseconds_covering_the_block():
    t, c = Telemetry(), Collector()
    t.attach_many("c", [("s", "start"), ("s", "stop")], c)
    before = time.monotonic_ns()
    with t.span(("s",)):
        inner = time.monotonic_ns()
    after = time.monotonic_ns()
    ((start_m, _),) = c.named(("s", "start"))
    ((stop_m, _),) = c.named(("s", "stop"))
    assert before <= start_m["monotonic_time"] <= inner <= stop_m["monotonic_time"] <= after
    assert stop_m["duration"] == stop_m["monotonic_time"] - start_m["monotonic_time"]


def test_nested_spans_get_distinct_contexts():
    t, c = Telemetry(), Collector()
    t.attach("c", ("s", "start"), c)
    with t.span(("s",)), t.span(("s",)):
        pass
    contexts = [md["telemetry_span_context"] for _, md in c.named(("s", "start"))]
    assert len(set(contexts)) == 2


def test_every_fixed_event_name_is_a_tuple_of_strings_and_listed_once():
    assert len(set(tn.ALL_EVENTS)) == len(tn.ALL_EVENTS)
    assert all(isinstance(e, tuple) and all(isinstance(a, str) for a in e) for e in tn.ALL_EVENTS)
    for name in (
        "COMPENSATE_STOP",
        "UNDO_STOP",
        "SUPERVISOR_RESTART",
        "REGISTRY_REGISTER",
        "EVENT_DROPPED",
        "BRIDGE_TRIAL_CANCELLED",
        "SAGA_STUCK",
    ):
        assert getattr(tn, name) in tn.ALL_EVENTS
