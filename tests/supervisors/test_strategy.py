"""Pure restart decisions and intensity, driven by a fake clock (no actors, no sleeps)."""

from typing import get_args

import pytest

from sagaline.messages.supervision import ExitReason
from sagaline.supervisors.spec import Strategy
from sagaline.supervisors.strategy import STRATEGIES, ChildView, Intensity, on_exit, should_restart

ABC = ["a", "b", "c"]


def views(restart="permanent", dead="b", temporary=()):
    return [ChildView(i, "temporary" if i in temporary else restart, i != dead) for i in ABC]


@pytest.mark.parametrize(
    "restart,kind,expected",
    [
        ("permanent", "normal", True),
        ("permanent", "shutdown", True),
        ("permanent", "error", True),
        ("permanent", "killed", True),
        ("transient", "normal", False),
        ("transient", "shutdown", False),
        ("transient", "error", True),
        ("transient", "killed", True),
        ("temporary", "normal", False),
        ("temporary", "shutdown", False),
        ("temporary", "error", False),
        ("temporary", "killed", False),
    ],
)
def test_restart_types_against_exit_reasons(restart, kind, expected):
    assert should_restart(restart, kind) is expected


def test_one_for_one_restarts_only_the_dead_child(fake_clock):
    decision, _ = on_exit("one_for_one", views(), "b", "error", Intensity(), fake_clock())
    assert (decision.terminate, decision.restart, decision.drop) == ((), ("b",), ())


def test_one_for_all_terminates_others_in_reverse_and_restarts_all_in_order(fake_clock):
    decision, _ = on_exit("one_for_all", views(), "b", "error", Intensity(), fake_clock())
    assert decision.terminate == ("c", "a")
    assert decision.restart == ("a", "b", "c")


def test_rest_for_one_restarts_the_dead_child_and_those_started_after_it(fake_clock):
    decision, _ = on_exit("rest_for_one", views(dead="a"), "a", "killed", Intensity(), fake_clock())
    assert decision.terminate == ("c", "b")
    assert decision.restart == ("a", "b", "c")


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_a_temporary_sibling_is_not_restarted_by_a_crash_and_its_spec_is_dropped(strategy, fake_clock):
    children = [
        ChildView("a", "permanent", False),
        ChildView("b", "temporary", True),
        ChildView("c", "transient", True),
    ]
    decision, _ = on_exit(strategy, children, "a", "error", Intensity(), fake_clock())
    assert decision.terminate == ("c", "b")
    assert decision.drop == ("b",)
    assert decision.restart == ("a", "c")


def test_a_temporary_child_that_exits_is_dropped_and_nothing_restarts(fake_clock):
    decision, intensity = on_exit("one_for_all", views(temporary=("b",)), "b", "error", Intensity(), fake_clock())
    assert decision.drop == ("b",) and not decision.restart and not decision.terminate
    assert intensity.stamps == ()


def test_a_transient_normal_exit_is_not_counted_against_intensity(fake_clock):
    decision, intensity = on_exit("one_for_one", views("transient"), "b", "normal", Intensity(), fake_clock())
    assert not decision.counted and intensity.stamps == ()


def test_the_fourth_restart_within_the_window_escalates(fake_clock):
    intensity = Intensity(max_restarts=3, max_seconds=5)
    for _ in range(3):
        decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
        assert not decision.escalate
        fake_clock.advance(1)
    decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
    assert decision.escalate
    assert decision.terminate == ("c", "a")  # every running child, reverse start order


def test_restarts_older_than_the_window_are_forgotten(fake_clock):
    intensity = Intensity(max_restarts=3, max_seconds=5)
    for _ in range(10):
        decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
        assert not decision.escalate
        fake_clock.advance(2)  # at most 3 restarts within any 5 s
    assert len(intensity.stamps) <= 3


def test_max_restarts_zero_gives_up_on_the_first_restartable_exit(fake_clock):
    decision, _ = on_exit("one_for_one", views(), "b", "killed", Intensity(max_restarts=0), fake_clock())
    assert decision.escalate


def test_a_restart_exactly_max_seconds_after_an_earlier_one_still_counts(fake_clock):
    # OTP's can_restart/2 keeps every restart >= Now - Period: the window is closed at both ends
    intensity = Intensity(max_restarts=1, max_seconds=5)
    decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
    fake_clock.advance(5)
    decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
    assert decision.escalate and len(intensity.stamps) == 2


def test_a_restart_just_past_the_window_is_forgotten(fake_clock):
    intensity = Intensity(max_restarts=1, max_seconds=5)
    decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
    fake_clock.advance(5.001)
    decision, intensity = on_exit("one_for_one", views(), "b", "error", intensity, fake_clock())
    assert not decision.escalate and intensity.stamps == (fake_clock(),)


def test_every_strategy_a_spec_accepts_has_its_own_clause():
    assert set(get_args(Strategy)) == set(STRATEGIES)


def test_an_unknown_strategy_is_refused_rather_than_run_as_another(fake_clock):
    with pytest.raises(ValueError, match=r"unknown restart strategy 'one_for_none'.*one_for_one"):
        on_exit("one_for_none", views(), "b", "error", Intensity(), fake_clock())


@pytest.mark.parametrize(
    "reason,restart,expected",
    [
        (ExitReason(kind="shutdown", term="rebalanced"), "transient", False),
        (ExitReason(kind="shutdown", term={"node": "n2"}), "transient", False),
        (ExitReason(kind="shutdown", term="rebalanced"), "permanent", True),
        (ExitReason(kind="error", error_type="ValueError"), "transient", True),
    ],
)
def test_a_shutdown_with_a_term_is_a_normal_exit_like_a_bare_shutdown(reason, restart, expected):
    assert should_restart(restart, reason.kind) is expected


def test_a_transient_child_ending_with_a_shutdown_term_is_not_counted(fake_clock):
    reason = ExitReason(kind="shutdown", term="rebalanced")
    decision, intensity = on_exit("one_for_all", views("transient"), "b", reason.kind, Intensity(), fake_clock())
    assert decision == decision.__class__() and intensity.stamps == ()


def test_fake_clock_never_goes_back(fake_clock):
    with pytest.raises(ValueError):
        fake_clock.advance(-1)
