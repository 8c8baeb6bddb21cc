"""The daemon's composition, in-process: start, serve, stop in order, and what it refuses."""

from __future__ import annotations

import logging
import os
import socket

import pytest

from sagaline.daemon import ConfigError, Daemon, DaemonConfig, PortInUse
from sagaline.daemon.signals import StopRequest
from sagaline.messages import codec
from sagaline.messages.admin import AdminHealth, AdminTree
from sagaline.runtime.pidfile import DataDirBusy, DataDirLock, read_info

QUIET = {"exporter": "none"}


@pytest.fixture(autouse=True)
def restored_environment():
    """The daemon exports variables for its actors; keep them out of other tests."""
    before = dict(os.environ)
    yield
    for name in set(os.environ) - set(before):
        del os.environ[name]
    os.environ.update(before)


def simple_daemon(tmp_path, **fields) -> Daemon:
    return Daemon(DaemonConfig(data_dir=tmp_path / "data", base="simpleSystemBase", telemetry=QUIET, **fields))


def test_an_in_process_daemon_starts_its_tree_serves_admin_requests_and_stops_in_order(tmp_path):
    daemon = simple_daemon(tmp_path)
    info = daemon.start()
    try:
        assert read_info(tmp_path / "data") == info and info.admin_port is None and info.pid == os.getpid()
        health = codec.decode(daemon.handle.ask(daemon.door, codec.encode(AdminHealth()), 10))
        assert health.data["status"] == "ok" and health.data["daemon"]["base"] == "simpleSystemBase"
        ids = [c["id"] for c in daemon.handle.ask(daemon.door, AdminTree(), 10).data["tree"]["children"]]
        assert ids[-2:] == ["sagas", "admin"] and {"crown", "bolt", "bridge"} <= set(ids)
        assert os.environ["SAGALINE_DATA_DIR"] == str(tmp_path / "data")
        stop = StopRequest()
        stop.request("test")
        assert daemon.serve(stop) == "test"
    finally:
        report = daemon.stop()
    assert report.clean and read_info(tmp_path / "data") is None
    DataDirLock(tmp_path / "data").acquire()  # released


def test_a_taken_admin_port_is_refused_and_nothing_is_started(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        daemon = Daemon(DaemonConfig(data_dir=tmp_path / "data", admin_port=port, telemetry=QUIET))
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port}.*never joins an actor system it did not start"):
            daemon.start()
    assert daemon.handle is None and read_info(tmp_path / "data") is None
    DataDirLock(tmp_path / "data").acquire()


def test_a_data_directory_held_by_another_daemon_is_refused(tmp_path):
    (tmp_path / "data").mkdir(mode=0o700)
    holder = DataDirLock(tmp_path / "data")
    holder.acquire()
    try:
        with pytest.raises(DataDirBusy, match="another daemon"):
            simple_daemon(tmp_path).start()
    finally:
        holder.release()


def test_bad_telemetry_settings_refuse_the_start_before_any_actor_runs(tmp_path):
    pytest.importorskip("sagaline.telemetry.setup", reason="the telemetry settings are checked by issue 8's module")
    daemon = Daemon(
        DaemonConfig(data_dir=tmp_path / "data", base="simpleSystemBase", telemetry={"exporter": "carrier-pigeon"})
    )
    try:
        with pytest.raises(ConfigError, match="telemetry: SAGALINE_TELEMETRY_EXPORTER='carrier-pigeon'"):
            daemon.start()
        assert daemon.handle is None
    finally:
        daemon.stop()


def test_a_remote_bind_address_is_started_only_with_a_warning_saying_what_it_exposes(tmp_path, caplog):
    daemon = simple_daemon(tmp_path, bind_address="0.0.0.0", allow_remote=True)
    with caplog.at_level(logging.WARNING, logger="sagaline.daemon"):
        daemon.start()
    try:
        assert any("binding 0.0.0.0" in r.message and "run code" in r.message for r in caplog.records)
    finally:
        assert daemon.stop().clean
