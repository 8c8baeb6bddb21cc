"""The journal store, on SQLite and on PostgreSQL: batches in one transaction, idempotent writes, exact replay,
listing, retention, and corrupt rows reported rather than guessed."""

from __future__ import annotations

import pytest

from sagaline.messages.codec import pack_value
from sagaline.messages.ids import uuid7
from sagaline.messages.saga import ListRuns, RunOutcome, StartSaga
from sagaline.saga import Executor, Fail, InvocationResult, Ok, StepError
from sagaline.saga.journal import Append, Begin, Finish, append_of, replay
from sagaline.saga.lease import claim as decide
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.sqlite import SqliteOptions
from thunderline.testing import definition

SAGA = "user_provisioning"
EXECUTOR = Executor(definition(SAGA))


class Run:
    """A UserProvisioning run driven by hand; every transition becomes a journal record."""

    def __init__(self, started_at: float = 100.0, cid: str | None = None) -> None:
        self.cid = cid or uuid7()
        self.now, self.seq = started_at, 0
        self.state, self.commands = EXECUTOR.start(self.cid, {"email": "ada@example.com"}, started_at)
        start = StartSaga(saga=SAGA, inputs={"email": "ada@example.com"}, correlation_id=self.cid)
        self.ops = [Begin(start, 1, started_at, self.state.status)]

    def answer(self, step: str, outcome, kind: str = "run") -> Run:
        key = self.state.steps[step].inflight
        event = InvocationResult(step, kind, key, outcome)
        self.now += 1
        before = self.state
        self.state, commands = EXECUTOR.transition(before, event, self.now)
        self.commands += commands
        self.seq += 1
        self.ops.append(append_of(self.cid, self.seq, self.now, event, self.state))
        return self

    def finish(self, status: str | None = None) -> Run:
        status = status or self.state.status
        out = RunOutcome(
            correlation_id=self.cid,
            saga=SAGA,
            status=status,
            started_at=100.0,
            finished_at=self.now,
            failed_step=self.state.failure[0] if self.state.failure else None,
            error={"code": self.state.failure[1].code} if self.state.failure else None,
            failed_compensations=list(self.state.failed_compensations()),
        )
        self.ops.append(Finish(self.cid, status, out))
        return self


def _completed(started_at: float = 100.0) -> Run:
    run = Run(started_at).answer("validate_email", Ok("ada@example.com"))
    run.answer("generate_token", Ok({"token": "t"})).answer("send_magic_link", Ok({}))
    run.answer("create_user", Ok({"user_id": "u", "email": "ada@example.com"}))
    run.answer("provision_vault", Ok({"vault_id": "v"})).answer("create_default_community", Ok({"m": 1}))
    return run.answer("emit_onboarding_event", Ok({"user": {}, "vault": {}, "membership": {}})).finish()


@pytest.fixture
def journal(store_location):
    store = SqliteJournal.open(store_location("journal"), SqliteOptions(synchronous="FULL"))
    yield store
    store.close()


def test_a_batch_of_many_runs_is_one_transaction_and_replays_to_the_exact_state(journal):
    runs = [_completed(100.0 + i) for i in range(3)]
    interleaved = [op for group in zip(*(r.ops for r in runs), strict=False) for op in group]
    journal.write(interleaved, now=200.0)
    for r in runs:
        loaded = journal.load(r.cid)
        assert loaded is not None and loaded.finished and loaded.problem is None
        assert replay(EXECUTOR, loaded) == r.state
        assert loaded.outcome.status == "completed"
    assert journal.counts() == {"runs": 3, "run_events": 21}


def test_writes_are_idempotent_so_a_resent_batch_changes_nothing(journal):
    r = _completed()
    journal.write(r.ops, now=200.0)
    before = journal.load(r.cid)
    journal.write(r.ops[3:5], now=300.0)
    journal.write(r.ops, now=300.0)
    after = journal.load(r.cid)
    assert after == before
    assert journal.counts()["run_events"] == len(r.ops) - 2


def test_an_open_run_is_listed_for_recovery_and_its_projection_shows_the_key_in_flight(journal):
    r = Run().answer("validate_email", Ok("ada@example.com")).answer("generate_token", Ok({"token": "t"}))
    done = _completed(50.0)
    journal.write(r.ops + done.ops, now=200.0)
    assert [(o.run_id, o.status) for o in journal.unfinished()] == [(r.cid, "running")]
    summary, outcome = journal.find(r.cid)
    assert summary.status == "running" and outcome is None
    steps = replay(EXECUTOR, journal.load(r.cid)).steps  # a run's steps are its replayed events
    assert steps["generate_token"].status == "succeeded"
    assert steps["send_magic_link"].status == "running"
    assert steps["send_magic_link"].inflight == f"{r.cid}:send_magic_link:run:0"


def test_a_rolled_back_run_keeps_its_last_keys_and_finishes_failed(journal):
    r = Run().answer("validate_email", Ok("a@b.co")).answer("generate_token", Ok({"token": "t"}))
    r.answer("send_magic_link", Fail(StepError("smtp_down")))
    assert r.state.status == "rolling_back"
    r.answer("generate_token", Ok(), kind="undo").finish()
    journal.write(r.ops, now=200.0)
    summary, outcome = journal.find(r.cid)
    assert summary.status == "failed" and summary.failed_step == "send_magic_link"
    assert outcome.status == "failed" and journal.unfinished() == []
    token = replay(EXECUTOR, journal.load(r.cid)).steps["generate_token"]
    assert token.status == "undone" and token.comp_attempt == 1


def test_a_finish_then_a_reopening_event_in_one_batch_are_applied_in_order(journal):
    r = Run().answer("validate_email", Ok("a@b.co"))
    first = r.ops + [Finish(r.cid, "halted", RunOutcome(correlation_id=r.cid, saga=SAGA, status="halted"))]
    r.answer("generate_token", Ok({"token": "t"}))
    journal.write(first + r.ops[-1:], now=200.0)
    summary, _ = journal.find(r.cid)
    assert summary.status == "running" and summary.finished_at is None
    assert [o.run_id for o in journal.unfinished()] == [r.cid]


def test_list_runs_filters_by_status_saga_and_age_newest_first_with_a_total(journal):
    old, new = _completed(1000.0), _completed(5000.0)
    open_run = Run(3000.0)
    journal.write(old.ops + new.ops + open_run.ops, now=6000.0)
    page = journal.list_runs(ListRuns(), now=6000.0)
    assert [s.correlation_id for s in page.runs] == [new.cid, open_run.cid, old.cid] and page.total == 3
    assert [s.correlation_id for s in journal.list_runs(ListRuns(status=["running"]), 6000.0).runs] == [open_run.cid]
    aged = journal.list_runs(ListRuns(older_than_s=2500, limit=1), now=6000.0)
    assert [s.correlation_id for s in aged.runs] == [open_run.cid] and aged.total == 2
    assert journal.list_runs(ListRuns(newer_than_s=1500), 6000.0).total == 1
    assert journal.list_runs(ListRuns(saga="other"), 6000.0).total == 0


def test_retention_prunes_only_old_completed_failed_or_cancelled_runs(journal):
    old, recent = _completed(), _completed(800.0)
    stuck = Run().answer("validate_email", Ok("a@b.co")).finish("stuck")
    open_run = Run()
    journal.write(old.ops + stuck.ops + open_run.ops, now=200.0)
    journal.write(recent.ops, now=900.0)
    assert journal.prune(cutoff=500.0) == 1
    assert journal.load(old.cid) is None
    assert {o for o in (recent.cid, stuck.cid, open_run.cid) if journal.load(o) is not None} == {
        recent.cid,
        stuck.cid,
        open_run.cid,
    }
    counts = journal.counts()
    assert counts["runs"] == 3 and counts["run_events"] == 7 + 1


def test_a_resumed_run_links_its_predecessor_and_keeps_what_it_carried(journal):
    failed = Run().answer("validate_email", Ok("a@b.co")).finish("failed")
    journal.write(failed.ops, now=200.0)
    successor = uuid7()
    begin = Begin(
        StartSaga(saga=SAGA, inputs={"email": "a@b.co"}, correlation_id=successor),
        1,
        300.0,
        resumed_from=failed.cid,
        carried={"validate_email": "a@b.co"},
    )
    journal.write([begin], now=300.0)
    assert journal.find(failed.cid)[0].successor == successor
    loaded = journal.load(successor)
    assert loaded.begin.resumed_from == failed.cid and loaded.begin.carried == {"validate_email": "a@b.co"}


@pytest.mark.parametrize("table, column", [("run_events", "event"), ("runs", "inputs")])
def test_a_corrupt_row_is_reported_as_a_problem_never_guessed(journal, table, column):
    r = Run().answer("validate_email", Ok("a@b.co"))
    journal.write(r.ops, now=200.0)
    with journal.file.transaction():
        journal.file.execute(f"UPDATE {table} SET {column} = ?", (b"\xc1 not msgpack",))
    loaded = journal.load(r.cid)
    assert loaded is not None and "corrupt journal row" in loaded.problem


def test_an_event_that_is_not_a_run_event_fails_replay_with_corrupt_record(journal):
    from sagaline.saga.records import CorruptRecord

    r = Run().answer("validate_email", Ok("a@b.co"))
    last = r.ops[-1]
    bad = Append(last.run_id, last.seq, last.at, {"e": "nonsense"}, last.status)
    journal.write(r.ops[:-1] + [bad], now=200.0)
    with pytest.raises(CorruptRecord):
        replay(EXECUTOR, journal.load(r.cid))


def test_a_full_disk_fails_the_whole_batch_and_a_retry_writes_it_once(journal, store_location):
    from sagaline.storage.errors import StorageError

    if store_location.backend != "sqlite":
        pytest.skip("fills the disk with SQLite's max_page_count; PostgreSQL has no per-database cap to set")
    filler = [op for i in range(3) for op in _completed(10.0 + i).ops]
    journal.write(filler, now=100.0)
    pages = journal.file.fetchall("PRAGMA page_count")[0][0]
    journal.file.fetchall(f"PRAGMA max_page_count = {pages}")
    big = [op for i in range(40) for op in _completed(200.0 + i).ops]
    with pytest.raises(StorageError) as err:
        journal.write(big, now=300.0)
    assert err.value.retryable and err.value.reason == "disk_full"
    assert journal.counts()["runs"] == 3
    journal.file.fetchall("PRAGMA max_page_count = 1000000")
    journal.write(big, now=300.0)
    assert journal.counts()["runs"] == 43


def test_inputs_round_trip_through_the_codec_unchanged(journal):
    r = Run()
    inputs = {"email": "a@b.co", "nested": {"k": [1, 2.5, None]}}
    begin = Begin(StartSaga(saga=SAGA, inputs=inputs, correlation_id=r.cid), 1, 100.0)
    journal.write([begin], now=1.0)
    assert journal.load(r.cid).begin.start.inputs == inputs
    assert pack_value(journal.load(r.cid).begin.start.inputs)


def test_a_batch_of_thousands_of_runs_is_written_at_once(journal):
    runs = [Run(float(i)) for i in range(3000)]
    journal.write([op for r in runs for op in r.ops], now=1.0)
    assert journal.counts()["runs"] == len(runs)


def test_a_version_1_journal_is_migrated_and_its_runs_stay_readable(tmp_path):
    import sqlite3 as sql

    path = tmp_path / "old.sqlite"
    conn = sql.connect(path)
    conn.executescript("""
        CREATE TABLE runs (correlation_id TEXT PRIMARY KEY, saga TEXT NOT NULL, version INTEGER NOT NULL,
            status TEXT NOT NULL, inputs BLOB NOT NULL, causation_id TEXT, started_at REAL NOT NULL,
            updated_at REAL NOT NULL, finished_at REAL, outcome BLOB, failed_step TEXT, error_code TEXT,
            message TEXT, failed_compensations BLOB, resumed_from TEXT, carried BLOB, successor TEXT,
            last_seq INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE run_events (correlation_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL,
            event BLOB NOT NULL, PRIMARY KEY (correlation_id, seq)) WITHOUT ROWID;
        CREATE TABLE run_steps (correlation_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
            PRIMARY KEY (correlation_id, step)) WITHOUT ROWID;
        PRAGMA user_version = 1;""")
    conn.execute(
        "INSERT INTO runs (correlation_id, saga, version, status, inputs, started_at, updated_at) "
        "VALUES ('r1', ?, 1, 'running', ?, 1.0, 1.0)",
        (SAGA, pack_value({"email": "a@b.co"})),
    )
    conn.commit()
    conn.close()
    journal = SqliteJournal.open(path)
    try:
        assert journal.load("r1").begin.start.inputs == {"email": "a@b.co"}
        assert journal.file.fetchall("PRAGMA user_version")[0][0] == 3
        assert not journal.file.fetchall("SELECT name FROM sqlite_master WHERE name = 'run_steps'")
    finally:
        journal.close()


def test_a_partition_lease_is_acquired_renewed_refused_to_others_and_taken_over_after_expiry(journal):
    first = journal.claim("partition:0/2", "a", 100.0, 5.0)
    assert (first.outcome, first.lease.token) == ("acquired", 1)
    assert journal.claim("partition:0/2", "a", 103.0, 5.0).lease.expires_at == 108.0
    refused = journal.claim("partition:0/2", "b", 107.0, 5.0)
    assert (refused.outcome, refused.lease.owner) == ("refused", "a")
    stolen = journal.claim("partition:0/2", "b", 108.5, 5.0)
    assert (stolen.outcome, stolen.lease.owner, stolen.lease.token) == ("stolen", "b", 2)
    assert journal.leases() == [stolen.lease]


def test_a_write_fenced_by_a_lease_taken_over_since_is_refused_and_writes_nothing(journal):
    from sagaline.storage.errors import StorageError

    journal.fence = journal.claim("partition:0/1", "a", 100.0, 1.0).lease
    journal.write(Run().ops, now=100.0)
    journal.claim("partition:0/1", "b", 102.0, 1.0)  # a paused past its lease; b took over
    with pytest.raises(StorageError) as refused:
        journal.write(Run().ops, now=102.5)
    assert refused.value.reason == "fenced" and not refused.value.retryable
    assert journal.counts()["runs"] == 1


def test_a_stale_claim_loses_the_race_to_a_renewal_made_since_it_read(journal):
    held = journal.claim("partition:0/1", "a", 100.0, 1.0).lease
    journal.claim("partition:0/1", "a", 100.9, 1.0)  # renewed to 101.9
    # b decided on the lease as it was (expired at 101.0): its compare-and-set must fail
    assert not journal._store_claim(decide(held, "partition:0/1", "b", 101.5, 1.0), held, 101.5)
    assert journal.lease("partition:0/1").owner == "a"


def test_a_released_lease_is_taken_over_at_once_with_the_next_token_and_a_stale_release_changes_nothing(journal):
    held = journal.claim("partition:0/1", "a", 100.0, 30.0).lease
    assert journal.release(held)
    taken = journal.claim("partition:0/1", "b", 100.1, 30.0)
    assert (taken.outcome, taken.lease.token) == ("stolen", 2)
    assert not journal.release(held) and journal.lease("partition:0/1") == taken.lease


def test_a_version_2_journal_gains_the_leases_table_and_keeps_its_runs(store_location):
    from sagaline.storage.backend import open_store_file
    from sagaline.storage.journal_sqlite import _TABLES
    from sagaline.storage.schema import Schema

    location = store_location("old_journal")
    old = SqliteJournal(open_store_file(location, schema=Schema(2, _TABLES)))
    r = Run()
    old.write(r.ops, now=100.0)
    old.close()
    journal = SqliteJournal.open(location)
    try:
        assert journal.load(r.cid).begin.start.inputs == {"email": "ada@example.com"}
        assert journal.claim("partition:0/1", "a", 100.0, 5.0).outcome == "acquired"
    finally:
        journal.close()
