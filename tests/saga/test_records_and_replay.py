"""Run events survive a trip through plain data, and replay rebuilds the exact state."""

import pytest

from sagaline.messages.codec import pack_value, unpack_value
from sagaline.messages.saga import StartSaga
from sagaline.saga import (
    CancelRequested,
    Continue,
    Executor,
    Fail,
    Halt,
    InvocationResult,
    Ok,
    ResumeRequested,
    Retry,
    RetryCompensations,
    Saga,
    StepError,
    TimerFired,
    TimerToken,
    local,
    result,
)
from sagaline.saga.journal import Append, Begin, MemoryJournal, replay
from sagaline.saga.records import CorruptRecord, event_from_data, event_to_data

EVENTS = [
    InvocationResult("a", "run", "k", Ok({"id": 1, "tags": ["x"]})),
    InvocationResult("a", "compensate", "k", Continue(3)),
    InvocationResult("a", "undo", "k", Fail(StepError("c", "m", True, True, {"cause": "x"}))),
    InvocationResult("a", "run", "k", Retry("busy", 0.5)),
    InvocationResult("a", "run", "k", Halt("later")),
    TimerFired(TimerToken("a", "undo", "retry", 7)),
    CancelRequested("operator"),
    ResumeRequested(),
    RetryCompensations(("a", "b")),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_run_event_round_trips_through_plain_data_and_msgpack(event):
    assert event_from_data(unpack_value(pack_value(event_to_data(event)))) == event


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"e": "nope"},
        {"e": "result", "step": "a", "kind": "sideways", "key": "k", "outcome": {"t": "ok"}},
        {"e": "result", "step": 1, "kind": "run", "key": "k", "outcome": {"t": "ok"}},
        {"e": "result", "step": "a", "kind": "run", "key": "k", "outcome": {"t": "maybe"}},
        {"e": "timer", "step": "a", "kind": "run", "purpose": "timeout", "serial": "x"},
        {"e": "result", "step": "a", "kind": "run", "key": "k", "outcome": {"t": "fail", "error": 5}},
    ],
)
def test_a_malformed_record_is_a_corrupt_record_error(data):
    with pytest.raises(CorruptRecord):
        event_from_data(data)


def test_replaying_a_journaled_run_rebuilds_the_same_state(manual):
    s = Saga("replayed")
    s.step("a", local(lambda a, c: Ok(), undo=lambda v, a, c: Ok()), timeout=1.0)
    s.step("b", local(lambda a, c: Ok(), undo=lambda v, a, c: Ok()), args={"a": result("a")})
    definition = s.build()
    run = manual(definition)
    run.start()
    journal = MemoryJournal()
    journal.write([Begin(StartSaga(saga="replayed", correlation_id=run.state.run_id), 1, 0.0)], 0.0)
    seq = 0

    def feed(event):
        nonlocal seq
        seq += 1
        run.feed(event)
        journal.write([Append(run.state.run_id, seq, run.now, event_to_data(event), run.state.status)], run.now)

    run.now = 0.5
    feed(InvocationResult("a", "run", run.pending("a").key, Ok({"id": 1})))
    run.now = 0.7
    feed(InvocationResult("b", "run", run.pending("b").key, Fail(StepError("boom"))))
    rebuilt = replay(Executor(definition), journal.load(run.state.run_id))
    assert rebuilt == run.state
    assert rebuilt.status == "rolling_back"
    resume = Executor(definition).recover(rebuilt, now=10.0)
    assert [(c.step, c.kind, c.key) for c in resume if hasattr(c, "kind")] == [
        ("a", "undo", run.pending("a", "undo").key)
    ]
