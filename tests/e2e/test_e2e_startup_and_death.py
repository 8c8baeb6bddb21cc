"""Clients at the edges of a daemon's life: clients that arrive while it starts never break the start, and
clients that join while it dies never leave an actor system behind."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from sagaline.client import Client, DaemonStarting, DaemonUnreachable
from sagaline.runtime.procs import pids_with_tag
from sagaline.runtime.system import free_port
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import BASE_CONFIG, wait_until

pytestmark = pytest.mark.multiproc


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Hammer:
    """Threads calling ``call`` in a loop until stopped; records what each call ended with."""

    def __init__(self, call, threads: int = 4) -> None:
        self.call, self.seen, self.stopping = call, [], threading.Event()
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.seen.append(self.call())
            except Exception as exc:
                self.seen.append(exc)
            time.sleep(0.01)

    def __enter__(self) -> Hammer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)


def test_clients_that_arrive_while_the_daemon_starts_are_told_to_retry_and_the_start_completes(tmp_path):
    port = free_port()

    def health() -> str:
        with Client(address=f"127.0.0.1:{port}", data_dir=daemon.data_dir) as client:
            return client.health().status

    daemon = DaemonProcess(tmp_path, BASE_CONFIG, ["--admin-port", str(port)])
    with Hammer(health) as hammer:
        daemon.start()
        time.sleep(1.0)
    try:
        kinds = {type(seen).__name__ if isinstance(seen, Exception) else seen for seen in hammer.seen}
        assert "ok" in kinds and kinds <= {"ok", "DaemonUnreachable", "DaemonStarting"}, kinds
        assert any(isinstance(seen, (DaemonUnreachable, DaemonStarting)) for seen in hammer.seen)
        assert CliRunner(daemon).json("health")["status"] == "ok"
    finally:
        result = daemon.stop()
    assert (result.exit_code, sorted(result.leftovers)) == (0, [])


def test_cli_calls_joining_while_the_daemon_is_killed_leave_no_actor_system_and_the_next_daemon_starts(tmp_path):
    port = free_port()
    daemon = DaemonProcess(tmp_path / "first", BASE_CONFIG, ["--admin-port", str(port)]).start()
    cli = CliRunner(daemon)
    with Hammer(lambda: cli("health", "--admin-port", str(port), timeout=60).exit_code, threads=3) as hammer:
        wait_until(lambda: 0 in hammer.seen, timeout=60)  # CLIs are answered; now kill it under them
        time.sleep(0.3)
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait(10)
        time.sleep(4.0)  # its admin endpoint notices within a second and ends the actor system
    assert 0 in hammer.seen and set(hammer.seen) <= {0, 3, 4}, hammer.seen
    assert not pids_with_tag(daemon.info.tag)
    assert not accepts(port)  # no client started an actor system on the port
    again = DaemonProcess(tmp_path / "second", BASE_CONFIG, ["--admin-port", str(port)]).start()
    try:
        assert CliRunner(again).json("health")["status"] == "ok"
    finally:
        result = again.stop()
    assert (result.exit_code, sorted(result.leftovers)) == (0, [])
