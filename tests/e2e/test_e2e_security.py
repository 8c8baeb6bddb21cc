"""Issue 16 through the real daemon and CLI: malicious pickles on every port, port squatting,
a private data directory (finding 5), idle connections (finding 6), bad CLI input (finding 7)."""

from __future__ import annotations

import json
import os
import resource
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sagaline.runtime import load_or_create_secret
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import BASE_CONFIG, wait_until
from tests.support.wire import FakeListener, logger_pid, malicious_frame, own_listeners, send_and_read

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(180)]


@pytest.fixture
def new_daemon(tmp_path):
    started: list[DaemonProcess] = []

    def start(config: dict | None = None, env: dict | None = None, name: str = "d") -> DaemonProcess:
        daemon = DaemonProcess(tmp_path / name, {**BASE_CONFIG, **(config or {})}, env=env)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        result = daemon.stop()
        assert (result.exit_code, sorted(result.leftovers)) == (0, []), daemon.stderr()[-3000:]


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def admin_pid(daemon: DaemonProcess) -> int:
    return json.loads((daemon.data_dir / "logs" / "ready.json").read_text())["admin_pid"]


# ----- malicious pickles -------------------------------------------------------------------------


def test_a_malicious_pickle_runs_nowhere_and_the_daemon_keeps_serving(new_daemon, tmp_path):
    daemon = new_daemon()
    cli, logs, marker = CliRunner(daemon), daemon.data_dir / "logs", tmp_path / "pwned"
    pids = daemon.pids()
    admin, logger, me = admin_pid(daemon), logger_pid(pids, logs / "actors.log"), daemon.process.pid
    actor = max(pids - {admin, logger, me})
    targets = {
        "admin": daemon.admin_port,
        "logger": min(own_listeners(logger, pids)),
        "actor": min(own_listeners(actor, pids)),
    }
    for name, port in targets.items():
        assert send_and_read("127.0.0.1", port, malicious_frame(marker)) == b"", name  # closed, no ACK
    endpoint = min(own_listeners(me, pids))  # the daemon's own endpoint reads only while it talks
    with socket.create_connection(("127.0.0.1", endpoint)) as conn:
        conn.sendall(malicious_frame(marker))
    time.sleep(0.5)
    assert cli.json("sagas", "start", "user_provisioning", "email=mal@example.com", "--wait")["status"] == "completed"
    assert cli("health").exit_code == 0
    assert not marker.exists()
    thespian_log = read(logs / "thespian.log")
    for pid in (admin, actor):
        assert f"p{pid} Warn sagaline transport: refused a frame" in thespian_log
    assert "refused a frame" in wait_until(lambda: read(logs / "actors.log"))  # the logger's own line
    result = daemon.stop()
    assert (result.exit_code, sorted(result.leftovers)) == (0, [])
    assert not marker.exists()
    assert "sagaline.transport sagaline transport: refused a frame" in daemon.stderr()  # the endpoint, at stop


def test_a_cli_waiting_for_a_reply_refuses_a_malicious_frame_and_still_gets_its_answer(new_daemon, tmp_path):
    slow = {"faults": {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 4.0}]}}
    daemon = new_daemon(slow)
    marker, out, err = tmp_path / "pwned", tmp_path / "cli.out", tmp_path / "cli.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        waiting = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sagaline.cli.main",
                "sagas",
                "start",
                "user_provisioning",
                "email=wait@example.com",
                "--wait",
                "--json",
            ],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=CliRunner(daemon).env,
            cwd=tmp_path,
        )
    try:
        ports = wait_until(lambda: own_listeners(waiting.pid, daemon.pids()), timeout=15, interval=0.02)
        for port in ports:
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(malicious_frame(marker))
        assert waiting.wait(60) == 0, read(err)
    finally:
        waiting.kill()
        waiting.wait()
    assert json.loads(read(out))["status"] == "completed"
    assert "refused a frame" in read(err)
    assert not marker.exists()


# ----- port squatting ----------------------------------------------------------------------------


def test_the_cli_refuses_a_fake_listener_on_the_admin_port_and_says_why(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    load_or_create_secret(data)
    marker = tmp_path / "pwned"
    squatter = FakeListener(answer=malicious_frame(marker))
    try:
        result = CliRunner(directory=tmp_path)("health", "--admin-port", str(squatter.port), "--data-dir", str(data))
    finally:
        squatter.close()
    assert result.exit_code == 3
    assert f"refusing to talk to 127.0.0.1:{squatter.port}" in result.stderr
    assert "did not prove that it knows this installation's secret" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # A plain connect (is anything there?), then one hello (33-byte body); no message, no pickle.
    assert [len(data) for data in squatter.received] == [0, 36]
    assert not marker.exists()


def test_a_cli_without_the_secret_says_where_it_looked(tmp_path):
    squatter = FakeListener(answer=b"")
    try:
        result = CliRunner(directory=tmp_path)(
            "health", "--admin-port", str(squatter.port), "--data-dir", str(tmp_path / "nowhere")
        )
    finally:
        squatter.close()
    assert result.exit_code == 3 and "no installation secret at" in result.stderr
    assert squatter.received == [b""]  # the plain probe only


# ----- finding 5: a private data directory --------------------------------------------------------


def test_everything_in_the_data_directory_is_private_after_a_run(new_daemon):
    daemon = new_daemon()
    assert (
        CliRunner(daemon).json("sagas", "start", "user_provisioning", "email=p@example.com", "--wait")["status"]
        == "completed"
    )
    seen = {}  # while it runs: the WALs (live magic-link tokens) exist only until the stop checkpoints them
    for path in [daemon.data_dir, *daemon.data_dir.rglob("*")]:
        seen[str(path.relative_to(daemon.data_dir))] = stat.S_IMODE(os.lstat(path).st_mode)
    assert {
        "gate.sqlite",
        "gate.sqlite-wal",
        "secret.key",
        "daemon.lock",
        "daemon.json",
        "logs/actors.log",
        "logs/launcher.log",
    } <= set(seen)
    assert {name: mode for name, mode in seen.items() if mode not in (0o600, 0o700)} == {}
    assert all(mode == 0o700 for name, mode in seen.items() if (daemon.data_dir / name).is_dir())


def run_refused(tmp_path: Path, data: Path) -> subprocess.CompletedProcess:
    """``sagaline run`` on ``data``, expected to refuse before any actor system starts."""
    with open(tmp_path / "run.out", "w") as out, open(tmp_path / "run.err", "w") as err:
        done = subprocess.run(
            [sys.executable, "-m", "sagaline.cli.main", "run", "--data-dir", str(data), "--admin-port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=60,
        )
    done.stderr = read(tmp_path / "run.err")
    return done


def test_a_pre_made_lock_symlink_stops_the_daemon_and_its_target_is_untouched(tmp_path):
    data, victim = tmp_path / "data", tmp_path / "victim"
    data.mkdir(mode=0o700)
    victim.write_text("precious")
    (data / "daemon.lock").symlink_to(victim)
    done = run_refused(tmp_path, data)
    assert done.returncode == 2 and "daemon.lock is a symbolic link" in done.stderr
    assert victim.read_text() == "precious"


def test_a_pre_made_json_tmp_symlink_is_removed_not_followed(new_daemon, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    data = tmp_path / "d" / "data"
    data.mkdir(parents=True, mode=0o700)
    (data / "daemon.json.tmp").symlink_to(victim)
    daemon = new_daemon()
    assert victim.read_text() == "precious"
    info = os.lstat(daemon.data_dir / "daemon.json")
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600


def test_a_data_directory_open_to_others_is_refused_with_the_fix(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)
    done = run_refused(tmp_path, data)
    assert done.returncode == 2
    assert "open to other users (mode 0755)" in done.stderr and f"chmod 700 {data}" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="a directory owned by another user needs root to make")
def test_a_data_directory_owned_by_someone_else_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    done = run_refused(tmp_path, data)
    assert done.returncode == 2 and "belongs to uid 65534" in done.stderr


# ----- finding 6: idle connections ---------------------------------------------------------------


def test_1073_idle_connections_under_a_1024_descriptor_limit_do_not_stop_the_daemon(new_daemon, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # the daemon and its actors inherit it
    try:
        daemon = new_daemon(env={"SAGALINE_FRAME_DEADLINE_S": "3"})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    admin = admin_pid(daemon)
    assert resource.prlimit(admin, resource.RLIMIT_NOFILE)[0] == 1024
    flood = [socket.create_connection(("127.0.0.1", daemon.admin_port), timeout=10) for _ in range(1073)]
    try:
        assert CliRunner(daemon)("health").exit_code == 0  # a real client gets through the flood
        began = time.monotonic()
        for conn in flood:
            conn.settimeout(max(0.1, 15 - (time.monotonic() - began)))
            assert conn.recv(1) == b""  # every idle connection was closed by the admin
    finally:
        for conn in flood:
            conn.close()
    assert admin in daemon.pids()
    log = read(daemon.data_dir / "logs" / "thespian.log")
    assert "closed the oldest unauthenticated connection" in log and "sent no whole frame within 3 s" in log
    assert CliRunner(daemon)("health").exit_code == 0


# ----- finding 7: bad input ----------------------------------------------------------------------


def one_line_refusal(result) -> str:
    assert result.exit_code == 2, result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_bad_cli_input_is_answered_with_exit_2_and_one_line(new_daemon, tmp_path):
    cli = CliRunner(new_daemon())
    assert "outside the 64-bit range" in one_line_refusal(
        cli("sagas", "start", "user_provisioning", f"email:={2**64 + 1}")
    )
    assert "is not valid UTF-8" in one_line_refusal(
        cli("sagas", "start", "user_provisioning", os.fsdecode(b"email=\xff@example.com"))
    )
    cli.env["SAGALINE_ADMIN_PORT"] = "abc"
    assert "SAGALINE_ADMIN_PORT='abc' is not a port number" in one_line_refusal(cli("health"))
    del cli.env["SAGALINE_ADMIN_PORT"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "daemon.json").write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "admin_port": "abc",
                "bind_address": "127.0.0.1",
                "base": "multiprocTCPBase",
                "data_dir": "x",
                "started_at": 0,
            }
        )
    )
    assert "admin_port 'abc' is not a port number" in one_line_refusal(cli("health", "--data-dir", str(broken)))
    assert cli("health").exit_code == 0
