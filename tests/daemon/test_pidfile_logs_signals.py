"""The data-directory lock, daemon.json, the one-line log, and stop signals."""

from __future__ import annotations

import logging
import os
import signal

import pytest

from sagaline.daemon.logs import CorrelationFilter, LINE_FORMAT, OneLineFormatter
from sagaline.daemon.pidfile import (DaemonInfo, DataDirBusy, DataDirLock, pid_alive, read_info, remove_info,
                                     write_info)
from sagaline.daemon.signals import StopRequest


def info(pid: int = 123, **fields) -> DaemonInfo:
    return DaemonInfo(**{"pid": pid, "admin_port": 7720, "bind_address": "127.0.0.1", "base": "multiprocTCPBase",
                         "data_dir": "/d", "started_at": 1.0, "tag": "t", "version": "0.1.0", **fields})


def test_a_second_daemon_on_a_held_data_directory_is_refused_naming_the_holder(tmp_path):
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(DataDirBusy, match=f"pid {os.getpid()}"):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # free again once released
    second.release()
    second.release()  # idempotent


def test_daemon_json_round_trips_and_is_removed_only_by_its_own_daemon(tmp_path):
    write_info(tmp_path, info(pid=42))
    assert read_info(tmp_path) == info(pid=42)
    remove_info(tmp_path, pid=43)
    assert read_info(tmp_path) is not None
    remove_info(tmp_path, pid=42)
    assert read_info(tmp_path) is None


def test_an_unreadable_daemon_json_reads_as_absent(tmp_path):
    (tmp_path / "daemon.json").write_text("{not json")
    assert read_info(tmp_path) is None
    (tmp_path / "daemon.json").write_text('{"pid": 1}')
    assert read_info(tmp_path) is None


def test_pid_alive_knows_the_living_from_the_gone():
    assert pid_alive(os.getpid())
    assert not pid_alive(2 ** 22 + 12345)


def format_record(message: str, *args, exc_info=None, **extra) -> str:
    record = logging.LogRecord("sagaline.daemon", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    CorrelationFilter().filter(record)
    return OneLineFormatter(LINE_FORMAT).format(record)


def test_a_log_line_carries_the_correlation_id_when_there_is_one():
    assert format_record("run %s started", "x", correlation_id="0190").endswith(
        "INFO sagaline.daemon run x started cid=0190")
    assert format_record("ready").endswith("INFO sagaline.daemon ready")


def test_one_event_is_one_line_even_with_a_traceback():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        import sys

        line = format_record("failed", exc_info=sys.exc_info())
    assert "\n" not in line and "ValueError: boom\\nsecond line" in line


def test_the_first_signal_asks_to_stop_and_a_second_asks_to_hurry():
    before = signal.getsignal(signal.SIGINT)
    stop = StopRequest()
    stop.install()
    try:
        assert not stop.wait(0)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5) and stop.signal_name == "SIGTERM" and not stop.force
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.force and stop.signal_name == "SIGTERM"
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGINT) is before
