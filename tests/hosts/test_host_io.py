"""A saga host's plumbing, without actors or a clock: run timers on one heap, sends gathered per actor."""

from __future__ import annotations

from sagaline.hosts.host_io import Outbox, RunTimers
from sagaline.messages.base import Headers
from sagaline.messages.batch import CommandBatch
from sagaline.messages.ids import uuid7
from sagaline.messages.saga import AwaitRun


def test_timers_fire_in_deadline_order_and_only_when_due():
    timers = RunTimers()
    timers.start(("a", "t1"), 5.0, "late")
    timers.start(("b", "t1"), 2.0, "early")
    assert timers.next_at() == 2.0
    assert timers.due(1.0) == []
    assert timers.due(5.0) == [(("b", "t1"), "early"), (("a", "t1"), "late")]
    assert timers.next_at() is None and len(timers) == 0


def test_a_restarted_timer_fires_once_at_its_new_time_and_a_cancelled_one_never():
    timers = RunTimers()
    timers.start(("a", "t"), 1.0, "first")
    timers.start(("a", "t"), 3.0, "second")
    timers.start(("b", "t"), 2.0, "gone")
    timers.cancel(("b", "t"))
    assert timers.next_at() == 3.0  # stale heads are skipped
    assert timers.due(10.0) == [(("a", "t"), "second")]


def test_cancelling_all_timers_of_a_run_leaves_the_others():
    timers = RunTimers()
    for run in ("a", "b"):
        for name in ("t1", "t2"):
            timers.start((run, name), 1.0, run + name)
    timers.cancel_all(lambda key: key[0] == "a")
    assert [data for _, data in timers.due(2.0)] == ["bt1", "bt2"]


class _Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[str, object]] = []

    def __call__(self, address, message) -> None:
        self.messages.append((address, message))


def _publish(n: int):
    """A command (any will do): publish an event."""
    from sagaline.events.envelope import new_event
    from sagaline.events.flow import PublishEvent

    cid = uuid7()
    payload = {"saga": "s", "failed_step": None, "reason": "x", "failed_compensations": []}
    return PublishEvent(
        headers=Headers(correlation_id=cid, idempotency_key=f"k{n}"),
        event=new_event("reactor.saga.stuck", "flow", payload, cid),
    )


def test_several_commands_for_one_actor_leave_as_one_batch_and_other_messages_alone():
    sent = _Sent()
    outbox = Outbox(sent)
    commands = [_publish(i) for i in range(3)]
    for command in commands:
        outbox.put("flow", command)
    outbox.put("client", AwaitRun(correlation_id=uuid7()))
    outbox.put("flow", AwaitRun(correlation_id=uuid7()))
    outbox.put("other", commands[0])
    assert outbox.flush(now=1.0) is None
    assert [(a, type(m).__name__) for a, m in sent.messages] == [
        ("flow", "CommandBatch"),
        ("flow", "AwaitRun"),
        ("client", "AwaitRun"),
        ("other", "PublishEvent"),
    ]
    assert isinstance(sent.messages[0][1], CommandBatch) and sent.messages[0][1].commands == commands
    assert (outbox.envelopes, outbox.items) == (4, 6)
    assert not outbox


def test_commands_wait_for_the_answers_to_the_envelope_before_them_then_leave_together():
    sent = _Sent()
    outbox = Outbox(sent, release_s=0.002)
    first, second, third = _publish(1), _publish(2), _publish(3)
    outbox.put("flow", first)
    outbox.flush(now=1.0)  # idle: it leaves at once
    outbox.put("flow", second)
    outbox.put("flow", third)
    outbox.put("client", AwaitRun(correlation_id=uuid7()))  # not a command: never held
    assert outbox.flush(now=1.0005) == 1.002  # held until then at the latest
    assert [type(m).__name__ for _, m in sent.messages] == ["PublishEvent", "AwaitRun"]
    assert not outbox  # nothing new since: no pump needed
    outbox.answered(first.headers.idempotency_key)
    assert outbox.flush(now=1.001) is None
    assert sent.messages[-1][1].commands == [second, third]


def test_held_commands_leave_when_the_release_time_passes_without_an_answer():
    sent = _Sent()
    outbox = Outbox(sent, release_s=0.002)
    slow, other = _publish(1), _publish(2)
    outbox.put("bridge", slow)
    outbox.flush(now=1.0)
    outbox.put("bridge", other)
    assert outbox.flush(now=1.001) == 1.002
    assert outbox.flush(now=1.002) is None
    assert sent.messages[-1][1] == other
