"""How the CLI finds the daemon, and what it says (and does not do) when there is none."""

from __future__ import annotations

import os
import socket
import time

import pytest

from sagaline.client import Client, locate
from sagaline.client import DaemonUnreachable as NoDaemon
from sagaline.client.channel import ThespianChannel
from sagaline.runtime.pidfile import DaemonInfo, write_info
from sagaline.runtime.system import free_port
from sagaline.testing.daemon import CliRunner


def info(pid: int, port: int | None = 5555, base: str = "multiprocTCPBase") -> DaemonInfo:
    return DaemonInfo(
        pid=pid, admin_port=port, bind_address="127.0.0.1", base=base, data_dir="/d", started_at=time.time()
    )


def test_the_port_comes_from_the_flag_then_the_environment_then_daemon_json_then_the_default(tmp_path):
    write_info(tmp_path, info(os.getpid()))
    env = {"SAGALINE_DATA_DIR": str(tmp_path)}
    assert locate(1234, environ=env).port == 1234
    assert locate(environ={**env, "SAGALINE_ADMIN_PORT": "2345"}).port == 2345
    found = locate(environ=env)
    assert (found.port, found.info.pid) == (5555, os.getpid()) and "daemon.json" in found.source
    assert locate(data_dir=tmp_path / "empty", environ={}).port == 7720


def test_the_host_comes_from_the_flag_then_daemon_json_and_every_interface_means_this_host(tmp_path):
    write_info(
        tmp_path,
        DaemonInfo(
            pid=os.getpid(),
            admin_port=1,
            bind_address="0.0.0.0",
            base="multiprocTCPBase",
            data_dir="/d",
            started_at=0.0,
        ),
    )
    assert locate(data_dir=tmp_path, environ={}).host == "127.0.0.1"
    assert locate(host="127.0.0.5", data_dir=tmp_path, environ={}).host == "127.0.0.5"


def test_a_stale_daemon_json_says_the_daemon_is_gone(tmp_path):
    write_info(tmp_path, info(2**22 + 4321))
    with pytest.raises(NoDaemon, match="stale"):
        locate(data_dir=tmp_path, environ={})


def test_an_in_process_daemon_has_no_admin_port_for_the_cli(tmp_path):
    write_info(tmp_path, info(os.getpid(), port=None, base="simpleSystemBase"))
    with pytest.raises(NoDaemon, match="simpleSystemBase"):
        locate(data_dir=tmp_path, environ={})


def test_with_nothing_listening_the_client_refuses_before_joining_anything(tmp_path):
    port = free_port()
    channel = ThespianChannel(locate(port, environ={}))
    with pytest.raises(NoDaemon, match=f"no sagaline daemon is running on 127.0.0.1:{port}"):
        Client(channel=channel)
    assert channel.handle is None


@pytest.mark.parametrize("words", [["health"], ["sagas", "list", "--json"], ["shell"]])
def test_the_cli_with_no_daemon_exits_3_with_one_clear_line_and_starts_nothing(tmp_path, words):
    port = free_port()
    result = CliRunner(directory=tmp_path)(*words, "--admin-port", str(port), timeout=60)
    assert result.exit_code == 3, result
    assert result.stderr.strip().splitlines() == [
        f"error (unreachable): no sagaline daemon is running on 127.0.0.1:{port} (--admin-port); "
        "start one with `sagaline run` (or `make run`); if it runs elsewhere, point at it with --data-dir DIR "
        "(its daemon.json) or --admin-port PORT (or SAGALINE_DATA_DIR / SAGALINE_ADMIN_PORT)"
    ]
    with socket.socket() as probe:  # no actor system was started on that port
        assert probe.connect_ex(("127.0.0.1", port)) != 0
