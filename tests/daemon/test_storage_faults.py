"""Storage faults answered, through the real daemon (issue 17's must-show): the journal on a small tmpfs that
fills up, and on an ext4 loop device that goes read-only.

Each test puts the journal (``storage.journal_path``) on a filesystem it mounts, as root, and always
unmounts and removes (:mod:`tests.support.small_fs`); elsewhere it is skipped with the reason. The rest
of the data directory stays on the test's own disk, so the daemon's logs and the bus keep working.

What must hold: ``health`` says degraded with the reason and ``health --exit-code`` exits 10; new starts
are refused at once with ``storage_unavailable``, and starts racing the fault are each either acknowledged
(and complete) or refused (and never written: nothing half-accepted); runs in flight pause; every
acknowledged run ends completed (nothing acknowledged is lost); an alert is on the bus and in the log,
once per fault and once per recovery; and service resumes: in place when space returns, after a restart on the repaired
filesystem when ext4 went read-only (such a filesystem takes no writes until it is unmounted).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sagaline.client import Client, NotFound, Refused
from sagaline.messages.ids import uuid7
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import BASE_CONFIG, wait_until
from tests.support.small_fs import ext4_loop, tmpfs

pytestmark = pytest.mark.multiproc

#: The hosts check the journal's filesystem every second; the daemon has this long to say so.
NOTICED_WITHIN_S = 10.0


def _config(journal: Path, synchronous: str = "NORMAL") -> dict:
    return {
        **BASE_CONFIG,
        "apps": ["tests.support.hosts_app:app"],
        "runs": {"hosts": 2},
        "storage": {"journal_path": str(journal), "synchronous": synchronous},
    }


def _acknowledged(client: Client, go: Path) -> tuple[list[str], list[str]]:
    """Runs that completed before the fault, and runs left in flight (waiting for ``go``)."""
    done = [client.start("calm", {"label": f"before{i}"}, wait=True).correlation_id for i in range(4)]
    waiting = [client.start("patient", {"go": str(go)}).correlation_id for _ in range(4)]
    return done, waiting


def _faulted(cli: CliRunner) -> dict:
    """Wait until health reports a storage fault; its data."""

    def seen() -> dict | None:
        data = cli.json("health", "--json")
        return data if not data.get("storage", {}).get("ok", True) else None

    return wait_until(seen, timeout=NOTICED_WITHIN_S)


def _assert_refused_at_once(client: Client, cli: CliRunner) -> None:
    began = time.monotonic()
    with pytest.raises(Refused) as refused:
        client.start("calm", {"label": "during"})
    assert refused.value.details.get("code") == "storage_unavailable", refused.value
    assert time.monotonic() - began < 3.0
    result = cli("sagas", "start", "calm", "label=cli")
    assert result.exit_code == 8 and "journal cannot be written" in result.stderr, result


def _assert_paused(client: Client, waiting: list[str]) -> None:
    time.sleep(1.5)  # the go file exists: only the storage holds them back
    assert {client.get(cid).status for cid in waiting} == {"running"}


def _journaled(journal: Path, ids: list[str]) -> int:
    """How many of ``ids`` the journal holds (read beside the daemon: WAL)."""
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=10)
    try:
        conn.execute("CREATE TEMP TABLE asked (id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO asked VALUES (?)", [(cid,) for cid in ids])
        return conn.execute("SELECT COUNT(*) FROM runs WHERE correlation_id IN (SELECT id FROM asked)").fetchone()[0]
    finally:
        conn.close()


def _alerts(cli: CliRunner) -> list[str]:
    events = cli.json("events", "tail", "--prefix", "system.storage", "--json")["events"]
    return [e["name"] for e in events]


def test_a_full_journal_disk_degrades_health_refuses_starts_pauses_runs_and_service_resumes_when_space_returns(
    tmp_path,
):
    go = tmp_path / "go"
    with tmpfs(tmp_path / "journal-fs", size="16m") as fs:
        daemon = DaemonProcess(tmp_path / "daemon", _config(fs.mount_point / "journal.sqlite")).start()
        try:
            cli = CliRunner(daemon)
            with Client(daemon.data_dir) as client:
                done, waiting = _acknowledged(client, go)
                fs.fill()
                health = _faulted(cli)
                assert (health["status"], health["live"], health["ready"]) == ("degraded", True, False)
                # the check's statvfs ("disk full: ... 0 bytes free") or a run's write ("database or disk is full")
                assert re.search(r"disk (is )?full", health["storage"]["reason"]), health["storage"]
                assert any(p.startswith("storage: host ") for p in health["problems"])
                assert cli("health", "--exit-code").exit_code == 10
                assert client.health().storage_ok is False
                _assert_refused_at_once(client, cli)
                go.touch()
                _assert_paused(client, waiting)

                fs.free()
                wait_until(lambda: cli.json("health", "--json")["status"] == "ok", timeout=NOTICED_WITHIN_S)
                outcomes = [client.wait(cid, timeout=60) for cid in done + waiting]
                assert [o.status for o in outcomes] == ["completed"] * 8  # nothing acknowledged was lost
                assert client.start("calm", {"label": "after"}, wait=True).outcome.status == "completed"
                assert cli("health", "--exit-code").exit_code == 0
            alerts = _alerts(cli)
            assert alerts.count("system.storage.fault") >= 1
            assert alerts.count("system.storage.fault") == alerts.count("system.storage.recovered") <= 2, alerts
            log = (daemon.data_dir / "logs" / "actors.log").read_text()
            assert "cannot be written" in log and "is written again" in log
        finally:
            result = daemon.stop()
        assert (result.exit_code, sorted(result.leftovers)) == (0, []), daemon.stderr()[-3000:]


def test_starts_racing_a_filling_disk_are_each_acknowledged_and_completed_or_refused_and_never_run(tmp_path):
    acknowledged, refused, other = [], [], []
    stop = threading.Event()

    def starter(client: Client) -> None:
        while not stop.is_set():
            cid = uuid7()
            try:
                client.start("calm", {"label": "race"}, correlation_id=cid)
                acknowledged.append(cid)
            except Refused as exc:
                (refused if exc.details.get("code") == "storage_unavailable" else other).append((cid, exc))
            except Exception as exc:  # an unknown outcome would be a half-answer: counted, then judged
                other.append((cid, exc))

    with tmpfs(tmp_path / "journal-fs", size="16m") as fs:
        daemon = DaemonProcess(tmp_path / "daemon", _config(fs.mount_point / "journal.sqlite")).start()
        try:
            cli = CliRunner(daemon)
            with Client(daemon.data_dir) as client:
                racers = [threading.Thread(target=starter, args=(client,)) for _ in range(4)]
                for racer in racers:
                    racer.start()
                try:
                    time.sleep(1.0)
                    fs.fill()
                    _faulted(cli)
                    time.sleep(1.0)
                finally:
                    stop.set()
                    for racer in racers:
                        racer.join(60)
                fs.free()
                wait_until(lambda: cli.json("health", "--json")["status"] == "ok", timeout=NOTICED_WITHIN_S)
                assert other == [] and acknowledged and refused, (len(acknowledged), len(refused), other[:3])
                assert {client.wait(cid, timeout=60).status for cid in acknowledged} == {"completed"}
                for cid, _ in refused[:20]:
                    with pytest.raises(NotFound):
                        client.get(cid)  # refused means never started
                journal = fs.mount_point / "journal.sqlite"
                assert _journaled(journal, [cid for cid, _ in refused]) == 0
                assert _journaled(journal, acknowledged) == len(acknowledged)
        finally:
            result = daemon.stop()
        assert (result.exit_code, sorted(result.leftovers)) == (0, []), daemon.stderr()[-3000:]


def test_a_journal_disk_gone_read_only_degrades_health_refuses_starts_and_a_restart_on_the_repaired_disk_recovers(
    tmp_path,
):
    go = tmp_path / "go"
    with ext4_loop(tmp_path / "journal-fs", tmp_path / "journal.img") as fs:
        journal = fs.mount_point / "journal.sqlite"
        # ext4 that aborts on an error drops what it had not yet written to disk, as a power loss does:
        # only FULL (an fsync per group commit) keeps every acknowledged commit (README, Durability)
        daemon = DaemonProcess(tmp_path / "daemon", _config(journal, "FULL")).start()
        try:
            cli = CliRunner(daemon)
            with Client(daemon.data_dir) as client:
                done, waiting = _acknowledged(client, go)
                fs.fail_read_only()
                health = _faulted(cli)
                assert (health["status"], health["ready"]) == ("degraded", False)
                reason = health["storage"]["reason"]
                assert "Read-only file system" in reason or "I/O error" in reason, reason
                assert cli("health", "--exit-code").exit_code == 10
                _assert_refused_at_once(client, cli)
                go.touch()
                _assert_paused(client, waiting)
            assert "system.storage.fault" in _alerts(cli)
        finally:
            stopped = daemon.stop()
        assert (stopped.exit_code, sorted(stopped.leftovers)) == (0, []), daemon.stderr()[-3000:]

        fs.remount()  # what an operator does: unmount, fsck, mount; the daemon's files had to be closed
        again = DaemonProcess(tmp_path / "daemon", _config(journal, "FULL")).start()
        try:
            with Client(again.data_dir) as client:
                outcomes = [client.wait(cid, timeout=60) for cid in done + waiting]
                assert [o.status for o in outcomes] == ["completed"] * 8  # nothing acknowledged was lost
                assert client.start("calm", {"label": "after"}, wait=True).outcome.status == "completed"
                assert client.health().storage_ok is True
        finally:
            result = again.stop()
        assert (result.exit_code, sorted(result.leftovers)) == (0, []), again.stderr()[-3000:]
