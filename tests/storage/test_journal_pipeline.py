"""The journal's group commit sends its rows together (one round trip on PostgreSQL): a failure among them
still fails the whole batch, which a retry then writes once."""

from __future__ import annotations

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.saga import StartSaga
from sagaline.saga.journal import Append, Begin
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.sqlite import SqliteOptions


def begin(cid: str) -> Begin:
    return Begin(StartSaga(saga="s", inputs={}, correlation_id=cid), 1, 100.0)


def append(cid: str, seq: int) -> Append:
    return Append(cid, seq, 100.0 + seq, {"e": "started"}, "running")


@pytest.fixture
def journal(store_location):
    store = SqliteJournal.open(store_location("journal"), SqliteOptions(synchronous="NORMAL", busy_timeout_ms=200))
    yield store
    store.close()


@pytest.fixture
def locker(store_location):
    """Another connection to the journal that can hold a lock on the ``runs`` row of a run (or the file)."""
    from sagaline.storage.backend import open_store_file

    other = open_store_file(store_location("journal"))
    yield other
    other.close()


def hold(locker, cid: str):
    """Lock what a write of ``cid`` needs: its ``runs`` row (PostgreSQL) or the write lock (SQLite)."""
    transaction = locker.transaction()
    transaction.__enter__()
    if locker.path.endswith(".sqlite"):
        locker.execute("UPDATE runs SET updated_at = updated_at WHERE correlation_id = ?", (cid,))
    else:
        locker.execute("SELECT correlation_id FROM runs WHERE correlation_id = ? FOR UPDATE", (cid,))
    return transaction


def test_a_statement_failing_among_the_batch_rows_fails_the_whole_batch_and_a_retry_writes_it_once(journal, locker):
    old, new = uuid7(), uuid7()
    journal.write([begin(old)], now=1.0)
    batch = [begin(new), append(new, 1), append(old, 1), append(old, 2)]
    held = hold(locker, old)
    try:
        with pytest.raises(StorageError) as failed:
            journal.write(batch, now=2.0)
    finally:
        held.__exit__(None, None, None)
    assert failed.value.retryable and failed.value.reason == "locked"
    assert journal.load(new) is None and journal.load(old).entries == []
    journal.write(batch, now=3.0)
    journal.write(batch, now=4.0)
    assert [e.seq for e in journal.load(old).entries] == [1, 2] and [e.seq for e in journal.load(new).entries] == [1]
    assert journal.counts() == {"runs": 2, "run_events": 3}
