"""The host's storage guard: real measurements of a directory, and one alert per edge."""

from __future__ import annotations

from sagaline.hosts.host_storage import StorageGuard, measure
from sagaline.sagas.storage_alerts import FAULT_EVENT, RECOVERED_EVENT
from sagaline.storage.errors import StorageError
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry


def test_a_writable_directory_with_room_is_fit_and_the_test_write_leaves_nothing_behind(tmp_path):
    assert measure(tmp_path) is None
    assert measure(tmp_path, ".probe") is None
    assert list(tmp_path.iterdir()) == []


def test_a_directory_that_is_gone_is_unreachable(tmp_path):
    assert measure(tmp_path / "gone").startswith(f"storage unreachable: {tmp_path / 'gone'}: ")


def test_a_fault_and_its_recovery_each_alert_once_in_the_log_telemetry_and_on_the_bus(tmp_path, caplog):
    sent, seen = [], []
    telemetry.attach("test-storage-guard", tn.SAGA_STORAGE_FAULT, lambda e, m, md, c: seen.append((m, md)))
    try:
        guard = StorageGuard(3, str(tmp_path / "journal.sqlite"), sent.append)
        full = StorageError("database or disk is full", reason="disk_full", path="j", retryable=True)
        delays = [guard.write_failed(full, 10.0 + i, pending=2) for i in range(3)]
        assert delays == [0.05, 0.1, 0.2] and guard.fault == "disk_full: database or disk is full"
        guard.wrote(14.5)
        guard.wrote(15.0)
    finally:
        telemetry.detach("test-storage-guard")
    assert [c.event.name for c in sent] == [FAULT_EVENT, RECOVERED_EVENT]
    assert sent[0].event.payload == {
        "host": 3,
        "path": str(tmp_path / "journal.sqlite"),
        "reason": "disk_full: database or disk is full",
    }
    assert sent[1].event.payload["faulted_s"] == 4.5
    assert sent[0].event.correlation_id == sent[1].event.correlation_id
    assert [m["count"] for m, _ in seen] == [1, 0] and seen[0][1]["host"] == 3
    lines = [
        r.getMessage()
        for r in caplog.records
        if "cannot be written" in r.getMessage() or "is written again" in r.getMessage()
    ]
    assert len(lines) == 2


def test_a_check_of_a_fit_directory_while_faulted_with_nothing_queued_recovers(tmp_path):
    sent = []
    guard = StorageGuard(0, str(tmp_path / "journal.sqlite"), sent.append)
    guard.write_failed(StorageError("disk I/O error", reason="io_error", path="j", retryable=True), 1.0, 0)
    guard.check(2.0, pending=0)
    assert guard.fault is None and [c.event.name for c in sent] == [FAULT_EVENT, RECOVERED_EVENT]
    assert list(tmp_path.iterdir()) == []  # the test write was removed


def test_a_symlinked_journal_is_measured_where_its_target_lives(tmp_path):
    real = tmp_path / "volume"
    real.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "journal.sqlite").symlink_to(real / "journal.sqlite")
    guard = StorageGuard(0, str(tmp_path / "data" / "journal.sqlite"), lambda command: None)
    assert guard.directory == real.resolve()


def test_a_postgresql_journal_is_not_measured_here_and_its_password_never_reaches_an_alert():
    sent: list = []
    guard = StorageGuard(0, "postgresql://sagaline:s3cret@db.example/sagaline#journal", sent.append)
    assert not guard.local
    guard.check(1.0, pending=0)  # no local filesystem to measure: nothing happens
    assert guard.fault is None and sent == []
    down = StorageError("server closed the connection", reason="connection", path="j", retryable=True)
    assert guard.write_failed(down, 2.0, pending=1) == 0.05  # found by the failed write, retried with backoff
    assert "s3cret" not in sent[0].event.payload["path"] and "db.example" in sent[0].event.payload["path"]
