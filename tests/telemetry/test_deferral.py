"""Idle flushes inside an actor's message wait for its end: one flush per key per message."""

from sagaline.telemetry.deferral import deferring, flush_when_idle


def test_outside_a_message_a_flush_happens_at_once():
    done = []
    flush_when_idle("bridge", lambda: done.append(1))
    assert done == [1]


def test_inside_a_message_flushes_wait_for_its_end_and_happen_once_per_key():
    done = []
    with deferring():
        for _ in range(5):  # five commands answered in one message
            flush_when_idle("a", lambda: done.append("a"))
        flush_when_idle("b", lambda: done.append("b"))
        with deferring():  # re-entrant: only the outermost end flushes
            flush_when_idle("a", lambda: done.append("a"))
        assert done == []
    assert sorted(done) == ["a", "b"]


def test_a_handler_that_raises_still_flushes_what_came_due():
    done = []
    try:
        with deferring():
            flush_when_idle("a", lambda: done.append("a"))
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert done == ["a"]
    flush_when_idle("a", lambda: done.append("again"))
    assert done == ["a", "again"]


def test_a_child_forked_inside_a_message_starts_with_nothing_deferred():
    import os

    with deferring():
        pid = os.fork()
        if pid == 0:  # the child: a flush happens at once
            done = []
            flush_when_idle("a", lambda: done.append(1))
            os._exit(0 if done == [1] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
