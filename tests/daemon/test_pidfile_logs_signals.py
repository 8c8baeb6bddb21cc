"""The data-directory lock, daemon.json, the one-line log, and stop signals."""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from sagaline.daemon.logs import LINE_FORMAT, CorrelationFilter, OneLineFormatter
from sagaline.daemon.signals import StopRequest
from sagaline.runtime.pidfile import DaemonInfo, DataDirBusy, DataDirLock, pid_alive, read_info, remove_info, write_info


def info(pid: int = 123, **fields) -> DaemonInfo:
    return DaemonInfo(
        **{
            "pid": pid,
            "admin_port": 7720,
            "bind_address": "127.0.0.1",
            "base": "multiprocTCPBase",
            "data_dir": "/d",
            "started_at": 1.0,
            "tag": "t",
            "version": "0.1.0",
            **fields,
        }
    )


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
    assert not pid_alive(2**22 + 12345)


def format_record(message: str, *args, exc_info=None, **extra) -> str:
    record = logging.LogRecord("sagaline.daemon", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    CorrelationFilter().filter(record)
    return OneLineFormatter(LINE_FORMAT).format(record)


def test_a_log_line_carries_the_correlation_id_when_there_is_one():
    assert format_record("run %s started", "x", correlation_id="0190").endswith(
        "INFO sagaline.daemon run x started cid=0190"
    )
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
        stop.close()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_signal_landing_inside_wait_never_deadlocks_the_waiter():
    """The handler must take no lock the interrupted wait may hold.

    With ``threading.Event`` this loop hung 5 times in 5 (3 daemons in 15
    hung on SIGTERM under CPU load); threads spinning on the GIL make the
    signal land at arbitrary bytecodes, inside the wait.
    """
    spinning = True

    def spin() -> None:
        while spinning:
            sum(range(100))

    spinners = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
    for spinner in spinners:
        spinner.start()
    try:
        for _ in range(60):
            stop = StopRequest()
            stop.install()
            try:
                sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM))
                sender.start()
                while not stop.wait(0):
                    pass
                sender.join()
                assert stop.requested and stop.signal_name == "SIGTERM"
            finally:
                stop.close()
    finally:
        spinning = False
        for spinner in spinners:
            spinner.join()


def test_a_request_wakes_a_waiter_in_another_thread_at_once():
    stop = StopRequest()
    try:
        woke: list[bool] = []
        waiter = threading.Thread(target=lambda: woke.append(stop.wait(30)))
        waiter.start()
        stop.request("test")
        waiter.join(10)
        assert woke == [True] and stop.signal_name == "test"
        stop.close()
        stop.close()
        assert stop.wait(0)
    finally:
        stop.close()
