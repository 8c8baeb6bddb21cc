"""Timers: uncancellable wakeups made cancellable by tokens (pure, no actor system)."""

from sagaline.actors.timers import Timers


def make():
    fired = []
    return Timers(lambda delay, payload: fired.append(payload)), fired


def test_a_live_timer_fires_once():
    timers, sent = make()
    timers.start("t", 1.0, "data")
    tick = timers.fire(sent[0])
    assert (tick.name, tick.data) == ("t", "data") and timers.fire(sent[0]) is None


def test_a_cancelled_or_restarted_timer_ignores_its_stale_wakeup():
    timers, sent = make()
    timers.start("t", 1.0)
    timers.cancel("t")
    assert timers.fire(sent[0]) is None
    timers.start("t", 1.0)
    timers.start("t", 2.0)
    assert timers.fire(sent[1]) is None and timers.fire(sent[2]).name == "t"
    assert timers.fire("not a tick") is None
