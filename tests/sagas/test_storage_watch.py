"""Storage faults decided without a disk or a clock: the verdict on a filesystem, the retry backoff, the edges."""

from __future__ import annotations

import itertools

import pytest

from sagaline.sagas.storage import (
    FAULT,
    FIRST_RETRY_S,
    MAX_RETRY_S,
    MIN_FREE_BYTES,
    RECOVERED,
    Space,
    StorageWatch,
    judge,
)

ROOMY = Space(free_bytes=50 << 20, total_bytes=100 << 20, free_files=1000)


# ----- the verdict on a filesystem ----------------------------------------------------------------


def test_a_roomy_writable_filesystem_whose_test_write_worked_is_fit():
    assert judge("/j", ROOMY) is None


@pytest.mark.parametrize(
    "space, unreachable, probe, expected",
    [
        (None, "Input/output error", None, "storage unreachable: /j: Input/output error"),
        (Space(50 << 20, 100 << 20, read_only=True), None, None, "read-only filesystem: /j"),
        (Space(0, 8 << 20), None, None, "disk full: /j has 0 bytes free of 8388608 (less than 1048576)"),
        (Space(MIN_FREE_BYTES - 1, 8 << 20), None, None, "disk full: /j has 1048575 bytes free"),
        (Space(50 << 20, 100 << 20, free_files=0), None, None, "disk full: /j has no free inodes"),
        (ROOMY, None, "No space left on device", "test write failed: /j: No space left on device"),
    ],
)
def test_each_kind_of_unfit_filesystem_is_named_in_one_line(space, unreachable, probe, expected):
    assert judge("/j", space, unreachable, probe).startswith(expected)


def test_read_only_is_named_before_full_and_full_before_a_failed_test_write():
    both = Space(0, 8 << 20, read_only=True)
    assert judge("/j", both, probe_error="Read-only file system") == "read-only filesystem: /j"
    assert judge("/j", Space(0, 8 << 20), probe_error="x").startswith("disk full")


def test_a_filesystem_that_does_not_count_inodes_is_not_full_for_want_of_them():
    assert judge("/j", Space(50 << 20, 100 << 20, free_files=None)) is None


# ----- failed writes and the backoff ----------------------------------------------------------------


def test_the_retry_delay_doubles_from_the_first_up_to_the_largest_and_stays_there():
    watch, now, delays = StorageWatch(), 100.0, []
    for _ in range(12):
        watch.write_failed("disk_full: x", now)
        delays.append(watch.delay)
        assert not watch.may_write(now) and watch.may_write(watch.retry_at)
        now = watch.retry_at
    assert delays[:4] == [FIRST_RETRY_S, 0.1, 0.2, 0.4]
    assert delays[-1] == MAX_RETRY_S and max(delays) == MAX_RETRY_S
    assert all(b == min(MAX_RETRY_S, 2 * a) for a, b in itertools.pairwise(delays))


def test_a_fault_is_announced_once_however_often_the_write_fails_and_its_end_once():
    watch = StorageWatch()
    edges = [watch.write_failed("disk_full: x", 1.0 + i) for i in range(5)]
    assert edges == [FAULT, None, None, None, None] and watch.since == 1.0
    assert watch.wrote() == RECOVERED and watch.wrote() is None
    assert (watch.fault, watch.delay, watch.retry_at, watch.since) == (None, 0.0, None, None)


def test_after_a_recovery_the_next_fault_starts_the_backoff_again_from_the_first_delay():
    watch = StorageWatch()
    for i in range(4):
        watch.write_failed("io_error: x", float(i))
    watch.wrote()
    assert watch.write_failed("io_error: x", 10.0) == FAULT and watch.delay == FIRST_RETRY_S


def test_the_latest_reason_is_kept_while_a_fault_lasts():
    watch = StorageWatch()
    watch.write_failed("disk_full: database or disk is full", 1.0)
    assert watch.checked("disk full: /j has 0 bytes free", 1.5, pending=3) is None
    assert watch.fault == "disk full: /j has 0 bytes free"


# ----- the periodic check ----------------------------------------------------------------------------


def test_an_unfit_filesystem_found_while_idle_is_a_fault_and_writes_wait_until_a_check_finds_it_fit():
    watch = StorageWatch()
    assert watch.checked("read-only filesystem: /j", 5.0, pending=0) == FAULT
    assert not watch.may_write(5.0) and not watch.may_write(500.0)  # no timer lets writes through
    assert watch.checked("read-only filesystem: /j", 6.0, pending=0) is None


def test_with_nothing_queued_a_fit_check_whose_test_write_worked_ends_the_fault():
    watch = StorageWatch()
    watch.checked("disk full: /j", 5.0, pending=0)
    assert watch.checked(None, 6.0, pending=0) == RECOVERED and watch.fault is None


def test_with_records_queued_a_fit_check_lets_them_be_tried_at_once_and_only_their_write_ends_the_fault():
    watch = StorageWatch()
    watch.write_failed("disk_full: x", 5.0)
    for i in range(6):
        watch.write_failed("disk_full: x", 5.0 + i)  # the backoff grew to seconds
    watch.checked("disk full: /j", 11.0, pending=4)
    assert not watch.may_write(100.0)
    assert watch.checked(None, 12.0, pending=4) is None
    assert watch.may_write(12.0) and watch.fault is not None
    assert watch.wrote() == RECOVERED


def test_a_fit_check_does_not_cut_the_backoff_of_writes_that_fail_on_a_fit_filesystem():
    watch = StorageWatch()
    watch.write_failed("io_error: x", 5.0)
    watch.write_failed("io_error: x", 5.05)  # retry at 5.15
    assert watch.checked(None, 5.1, pending=2) is None
    assert not watch.may_write(5.1) and watch.may_write(5.15)


def test_a_healthy_check_with_no_fault_changes_nothing():
    watch = StorageWatch()
    assert watch.checked(None, 1.0, pending=7) is None and watch.may_write(1.0)
