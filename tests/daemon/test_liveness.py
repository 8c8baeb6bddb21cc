"""Liveness as in OTP: what the daemon watches, what it says, and its budget for restarting in place (pure)."""

from __future__ import annotations

from sagaline.daemon.liveness import WATCHED, Gone, first_gone, format_restarts, parse_restarts, why
from sagaline.supervisors.strategy import restart_allowed


def test_the_first_dead_process_is_reported_in_watch_order_and_unknown_pids_are_skipped():
    watch = {"admin": 10, "logger": None, "registry": 12, "root": 13, "door": 14}
    assert first_gone(watch, lambda pid: True) is None
    assert first_gone(watch, lambda pid: pid not in (13, 14)) == Gone("root", 13)
    assert WATCHED == ("admin", "logger", "registry", "root", "door")


def test_the_log_line_says_what_died_and_for_the_root_what_giving_up_means():
    assert why(Gone("door", 7), 3, 5.0) == "the admin door (pid 7) is gone; nothing inside the daemon can heal that"
    line = why(Gone("root", 8), 2, 10.0)
    assert "root supervisor (pid 8)" in line and "more than 2 times within 10 s" in line


def test_restarting_in_place_is_allowed_until_the_budget_is_spent_within_its_window():
    assert restart_allowed((), 100.0, 2, 60.0)
    assert restart_allowed((50.0,), 100.0, 2, 60.0)
    assert not restart_allowed((50.0, 90.0), 100.0, 2, 60.0)
    assert restart_allowed((10.0, 20.0), 100.0, 2, 60.0)  # both outside the window


def test_restart_times_travel_through_the_environment_and_junk_is_ignored():
    assert parse_restarts(format_restarts((1.5, 2.25))) == (1.5, 2.25)
    assert parse_restarts("x,3,") == (3.0,) and parse_restarts(None) == ()
