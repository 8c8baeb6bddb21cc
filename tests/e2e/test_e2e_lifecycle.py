"""The daemon's life: it serves, stops on SIGTERM/SIGINT leaving nothing behind, binds only
loopback, refuses what it must, and takes its actor system with it when killed."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from sagaline.runtime.pidfile import read_info
from sagaline.runtime.procs import pids_with_tag
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import BASE_CONFIG, wait_until

pytestmark = pytest.mark.multiproc


@pytest.fixture
def new_daemon(tmp_path):
    started: list[DaemonProcess] = []

    def start(*flags: str, name: str = "d") -> DaemonProcess:
        daemon = DaemonProcess(tmp_path / name, BASE_CONFIG, list(flags))
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.stop(signal.SIGKILL)  # a test that forgot to stop it; no-op otherwise


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_tree_and_the_system_and_leaves_no_process(new_daemon, sig):
    daemon = new_daemon()
    cli = CliRunner(daemon)
    assert cli.json("sagas", "start", "user_provisioning", "email=ed@example.com", "--wait")["status"] == "completed"
    pids = daemon.pids()
    assert len(pids) > 10 and daemon.process.pid in pids
    result = daemon.stop(sig)
    assert (result.exit_code, sorted(result.leftovers)) == (0, [])
    assert not pids_with_tag(daemon.info.tag) and daemon.process.poll() is not None
    assert read_info(daemon.data_dir) is None and not accepts(daemon.admin_port)
    log = daemon.stderr()
    assert "stopped in" in log and "killed: 0" in log
    assert f"admin 127.0.0.1:{daemon.admin_port}" in (daemon.directory / "stdout.log").read_text()
    assert cli("health").exit_code == 3


def listening_sockets(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by one of ``pids``."""
    inodes: dict[str, tuple[str, int]] = {}
    for pid in pids:
        for table in ("tcp", "tcp6"):
            try:
                rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    inodes[fields[9]] = _address(fields[1])
    held = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = fd.readlink().as_posix() if fd.is_symlink() else ""
                if target.startswith("socket:["):
                    held.add(target[8:-1])
        except OSError:
            continue
    return sorted(inodes[inode] for inode in held if inode in inodes)


def _address(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    if len(host) == 8:
        octets = [str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0)]
        return ".".join(octets), int(port, 16)
    return f"ipv6:{host}", int(port, 16)


def test_every_listening_socket_of_the_daemon_and_its_actors_is_on_loopback(new_daemon):
    daemon = new_daemon()
    sockets = listening_sockets(daemon.pids())
    assert (("127.0.0.1", daemon.admin_port)) in sockets
    assert len(sockets) > 10  # the admin, the daemon's endpoint, and one per actor
    assert [s for s in sockets if not s[0].startswith("127.")] == []
    assert daemon.stop().exit_code == 0


def test_a_port_already_in_use_is_refused_instead_of_joined(new_daemon, tmp_path):
    first = new_daemon()
    second = CliRunner(directory=tmp_path)(
        "run", "--data-dir", str(tmp_path / "other"), "--admin-port", str(first.admin_port), timeout=60
    )
    assert second.exit_code == 3
    assert "never joins an actor system it did not start" in second.stderr
    assert CliRunner(first)("health").exit_code == 0  # the first one is untouched
    assert first.stop().exit_code == 0


def test_a_data_directory_in_use_is_refused(new_daemon, tmp_path):
    first = new_daemon()
    second = CliRunner(directory=tmp_path)("run", "--data-dir", str(first.data_dir), "--admin-port", "0", timeout=60)
    assert second.exit_code == 3 and f"another daemon (pid {first.process.pid})" in second.stderr
    assert read_info(first.data_dir).pid == first.process.pid
    assert first.stop().exit_code == 0


def test_every_interface_without_allow_remote_is_one_config_error(tmp_path):
    result = CliRunner(directory=tmp_path)(
        "run", "--data-dir", str(tmp_path / "d"), "--bind-address", "0.0.0.0", timeout=60
    )
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "bind_address" in line and "--allow-remote" in line and "Traceback" not in result.stderr


def test_when_the_daemon_is_killed_its_actor_system_ends_too(new_daemon):
    daemon = new_daemon()
    tag, port = daemon.info.tag, daemon.admin_port
    result = daemon.stop(signal.SIGKILL)
    assert result.exit_code == -signal.SIGKILL
    wait_until(lambda: not pids_with_tag(tag) and not accepts(port), timeout=30)


def test_an_in_process_daemon_serves_without_an_admin_port_and_stops(new_daemon):
    daemon = new_daemon("--base", "simpleSystemBase")
    assert daemon.info.admin_port is None and len(daemon.pids()) == 1
    health = CliRunner(daemon)("health")
    assert health.exit_code == 3 and "simpleSystemBase" in health.stderr
    assert daemon.stop().exit_code == 0


def test_admin_port_zero_picks_a_free_port_and_prints_it(new_daemon):
    daemon = new_daemon()
    ready = (daemon.directory / "stdout.log").read_text()
    assert daemon.admin_port > 0 and f"127.0.0.1:{daemon.admin_port}" in ready
    assert daemon.stop().exit_code == 0
