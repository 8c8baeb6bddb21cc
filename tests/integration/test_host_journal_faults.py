"""A saga host whose journal cannot be written: starts refused, nothing half-accepted, runs paused, then resumed.

The journal's writes fail because the test makes :meth:`SqliteJournal.write` raise the ``StorageError`` a full
disk raises (in process: ``simpleSystemBase``); the filesystem itself stays fine, so the fault is found by
the failed writes, not by the host's check of the filesystem. The real full and read-only filesystems,
through the daemon, are in
``tests/daemon/test_storage_faults.py``.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from sagaline.client import SagaClient, SagaRefusedError
from sagaline.daemon.tree import TreeConfig, start_tree
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from sagaline.messages.saga import GetHostStats
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

APP = "tests.support.hosts_app:app"


class FailingJournal:
    """Makes every journal write fail as a full disk does while ``failing``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing, self.refused = False, 0
        real = SqliteJournal.write

        def write(journal: SqliteJournal, records, now):
            if self.failing:
                self.refused += 1
                raise StorageError("database or disk is full", reason="disk_full", path="journal", retryable=True)
            return real(journal, records, now)

        monkeypatch.setattr(SqliteJournal, "write", write)


@pytest.fixture
def hosted(simple_actor_system, tmp_path, monkeypatch):
    journal = FailingJournal(monkeypatch)
    tree = start_tree(simple_actor_system, TreeConfig(data_dir=tmp_path / "data", apps=(APP,), hosts=1))
    host = simple_actor_system.ask(tree.registry, Lookup(key="sagahost:0"), 10).entries[0].holder
    return simple_actor_system, SagaClient(simple_actor_system, tree.sagas), host, journal, tmp_path


def _stats(handle, host):
    return handle.ask(host, GetHostStats(), 10)


def _until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def _journal_row(tmp_path, cid: str):
    conn = sqlite3.connect(f"file:{tmp_path / 'data' / 'journal.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT status FROM runs WHERE correlation_id = ?", (cid,)).fetchone()
    finally:
        conn.close()


def test_a_start_whose_first_record_cannot_be_written_is_refused_and_never_half_accepted(hosted):
    handle, client, host, journal, tmp_path = hosted
    journal.failing = True
    cid = uuid7()
    started = []
    telemetry.attach("test-withdrawn-start", tn.SAGA_START, lambda e, m, md, c: started.append(md["correlation_id"]))
    try:
        with pytest.raises(SagaRefusedError) as refused:
            client.start("calm", {"label": "x"}, correlation_id=cid)
        assert cid not in started  # it never began: no reactor.saga.start, no run counted active
        _refused_then_fresh(handle, client, host, journal, tmp_path, cid, refused.value)
    finally:
        telemetry.detach("test-withdrawn-start")
    assert started.count(cid) == 1  # the fresh run's


def _refused_then_fresh(handle, client, host, journal, tmp_path, cid, refused):
    """The refusal named the fault; once writes succeed nothing of the refused start is there, and its id starts
    a fresh run."""
    assert refused.code == "storage_unavailable" and "disk is full" in str(refused)
    assert journal.refused >= 1 and _stats(handle, host).storage_fault.startswith("disk_full")
    journal.failing = False
    _until(lambda: _stats(handle, host).storage_fault is None)
    assert _journal_row(tmp_path, cid) is None  # nothing of it was written, not even later
    again = client.start("calm", {"label": "x"}, correlation_id=cid)
    assert again.existing is False  # the same id starts a fresh run: the refused one never was
    assert client.wait(cid, timeout=30).status == "completed"


def test_while_the_journal_fails_starts_are_refused_at_once_runs_pause_and_all_resume_when_it_is_back(hosted):
    handle, client, host, journal, tmp_path = hosted
    before = client.run("calm", {"label": "before"}, timeout=30)
    go = tmp_path / "go"
    in_flight = client.start("patient", {"go": str(go)}).correlation_id  # acknowledged: durable from here on
    journal.failing = True
    fault = _until(lambda: _stats(handle, host).storage_fault)  # its next retry's record fails
    assert fault.startswith("disk_full: database or disk is full")
    began = time.monotonic()
    with pytest.raises(SagaRefusedError) as refused:
        client.start("calm", {"label": "during"})
    assert refused.value.code == "storage_unavailable" and time.monotonic() - began < 2.0
    go.touch()  # the step would succeed now, but nothing follows from an unwritten record
    time.sleep(1.0)
    assert client.status(in_flight).status == "running"
    failures = _stats(handle, host).commit_failures
    time.sleep(1.0)
    assert _stats(handle, host).commit_failures - failures <= 3  # a backoff, not a busy loop
    journal.failing = False
    assert client.wait(in_flight, timeout=30).status == "completed"
    assert _stats(handle, host).storage_fault is None
    assert client.run("calm", {"label": "after"}, timeout=30).status == "completed"
    assert _journal_row(tmp_path, before.correlation_id) == ("completed",)
    assert _journal_row(tmp_path, in_flight) == ("completed",)


def test_a_process_run_whose_start_cannot_be_written_is_refused_through_its_parent_and_never_half_accepted(hosted):
    _handle, client, _host, journal, tmp_path = hosted
    journal.failing = True
    cid = uuid7()
    with pytest.raises(SagaRefusedError) as refused:
        client.start("apart", {"label": "x"}, correlation_id=cid)  # its own single-run host writes the start
    assert refused.value.code == "storage_unavailable" and "disk is full" in str(refused.value)
    journal.failing = False
    assert _journal_row(tmp_path, cid) is None
    assert client.start("apart", {"label": "x"}, correlation_id=cid).existing is False
    assert client.wait(cid, timeout=30).status == "completed"
