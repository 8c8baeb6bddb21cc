"""The real daemon on PostgreSQL (``--storage-url`` / ``SAGALINE_STORAGE_URL``): runs complete, survive a
SIGKILL of the daemon, live in the database (one schema per store, no SQLite file), and a bad URL or a
database newer than the code is refused with a clear message."""

from __future__ import annotations

import signal

import psycopg
import pytest

from sagaline.messages.ids import uuid7
from sagaline.testing.daemon import CliRunner, DaemonProcess, DaemonStartFailed
from tests.e2e.conftest import BASE_CONFIG

pytestmark = pytest.mark.multiproc
#: Two hosts: enough to share the journal between processes, few enough for two cores.
FLAGS = ["--hosts", "2"]


def _daemon(directory, url: str, through: str = "flag", config: dict | None = None) -> DaemonProcess:
    flags = [*FLAGS, "--storage-url", url] if through == "flag" else FLAGS
    env = {"SAGALINE_STORAGE_URL": url} if through == "env" else None
    return DaemonProcess(directory, {**BASE_CONFIG, **(config or {})}, flags, env)


def _stopped_cleanly(daemon: DaemonProcess) -> None:
    result = daemon.stop()
    assert (result.exit_code, sorted(result.leftovers)) == (0, []), daemon.stderr()[-3000:]


def test_runs_complete_on_postgres_and_live_in_one_schema_per_store(tmp_path, postgres_url):
    daemon = _daemon(tmp_path / "d", postgres_url).start()
    try:
        cli = CliRunner(daemon)
        out = cli.json("sagas", "start", "user_provisioning", "email=ada@example.com", "--wait")
        listed = cli.json("sagas", "list", "--status", "completed")
        events = cli.json("events", "tail", "--cid", out["correlation_id"])["events"]
    finally:
        _stopped_cleanly(daemon)
    assert out["status"] == "completed"
    assert [r["correlation_id"] for r in listed["runs"]] == [out["correlation_id"]]
    assert [e["name"] for e in events] == ["user.onboarding.complete", "reactor.saga.complete"]
    with psycopg.connect(postgres_url) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
        users = conn.execute("SELECT email, correlation_id FROM gate.users").fetchall()
        status = conn.execute("SELECT status FROM journal.runs").fetchall()
    assert {"journal", "flow", "gate", "block", "link"} <= schemas
    assert users == [("ada@example.com", out["correlation_id"])] and status == [("completed",)]
    assert not list(daemon.data_dir.glob("*.sqlite"))


def test_a_run_in_flight_when_the_daemon_is_killed_completes_after_a_restart_from_postgres(tmp_path, postgres_url):
    slow = {"faults": {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 3.0}]}}
    first = _daemon(tmp_path / "d", postgres_url, "env", slow).start()
    cid = uuid7()
    try:
        started = CliRunner(first)("sagas", "start", "user_provisioning", "email=bo@example.com", "--id", cid)
        assert started.exit_code == 0, started.stderr
    finally:
        killed = first.stop(signal.SIGKILL)
    assert killed.exit_code == -signal.SIGKILL
    second = _daemon(tmp_path / "d", postgres_url, "env").start()
    try:
        out = CliRunner(second).json("sagas", "wait", cid)
    finally:
        _stopped_cleanly(second)
    assert out["status"] == "completed"
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM block.vaults WHERE correlation_id = %s", (cid,)).fetchone() == (1,)


def test_a_storage_url_that_is_not_postgres_is_one_config_error(tmp_path):
    result = CliRunner(directory=tmp_path)(
        "run", "--data-dir", str(tmp_path / "d"), "--admin-port", "0", "--storage-url", "mysql://db/app", timeout=60
    )
    assert result.exit_code == 2 and "storage.url" in result.stderr and "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_newer_than_the_code_stops_the_start_naming_the_schema(tmp_path, postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA journal")
        conn.execute("CREATE TABLE journal.sagaline_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO journal.sagaline_schema VALUES (99)")
    daemon = _daemon(tmp_path / "d", postgres_url)
    with pytest.raises(DaemonStartFailed):
        daemon.start()
    assert "schema version 99" in daemon.stderr() and "#journal" in daemon.stderr()
    assert daemon.stop().leftovers == frozenset()
