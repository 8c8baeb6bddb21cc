"""The SQLite journal store: batches in one transaction, idempotent writes, exact replay,
listing, retention, and corrupt rows reported rather than guessed."""

from __future__ import annotations

import sqlite3

import pytest

from sagaline.actors.saga_support import step_rows
from sagaline.messages.codec import pack_value
from sagaline.messages.ids import uuid7
from sagaline.messages.journal import JournalAppend, JournalBegin, JournalFinish
from sagaline.messages.saga import ListRuns, RunOutcome
from sagaline.saga import Executor, Fail, InvocationResult, Ok, StepError
from sagaline.saga.records import event_to_data
from sagaline.storage.journal import history_of, replay
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.sqlite import SqliteOptions
from thunderline.testing import definition

SAGA = "user_provisioning"
EXECUTOR = Executor(definition(SAGA))


class Run:
    """A UserProvisioning run driven by hand; every transition becomes a journal write."""

    def __init__(self, started_at: float = 100.0, cid: str | None = None) -> None:
        self.cid = cid or uuid7()
        self.now, self.token, self.seq = started_at, 0, 0
        self.state, self.commands = EXECUTOR.start(self.cid, {"email": "ada@example.com"}, started_at)
        self.ops = [JournalBegin(token=self._token(), correlation_id=self.cid, saga=SAGA, version=1,
                                 inputs={"email": "ada@example.com"}, started_at=started_at,
                                 status=self.state.status, steps=step_rows(None, self.state))]

    def _token(self) -> int:
        self.token += 1
        return self.token

    def answer(self, step: str, outcome, kind: str = "run") -> "Run":
        key = self.state.steps[step].inflight
        event = InvocationResult(step, kind, key, outcome)
        self.now += 1
        before = self.state
        self.state, commands = EXECUTOR.transition(before, event, self.now)
        self.commands += commands
        self.seq += 1
        self.ops.append(JournalAppend(token=self._token(), correlation_id=self.cid, seq=self.seq, at=self.now,
                                      event=event_to_data(event), status=self.state.status,
                                      steps=step_rows(before, self.state)))
        return self

    def finish(self, status: str | None = None) -> "Run":
        status = status or self.state.status
        out = RunOutcome(correlation_id=self.cid, saga=SAGA, status=status, started_at=100.0, finished_at=self.now,
                         failed_step=self.state.failure[0] if self.state.failure else None,
                         error={"code": self.state.failure[1].code} if self.state.failure else None,
                         failed_compensations=list(self.state.failed_compensations()))
        self.ops.append(JournalFinish(token=self._token(), correlation_id=self.cid, status=status, outcome=out))
        return self


def _completed(started_at: float = 100.0) -> Run:
    run = Run(started_at).answer("validate_email", Ok("ada@example.com"))
    run.answer("generate_token", Ok({"token": "t"})).answer("send_magic_link", Ok({}))
    run.answer("create_user", Ok({"user_id": "u", "email": "ada@example.com"}))
    run.answer("provision_vault", Ok({"vault_id": "v"})).answer("create_default_community", Ok({"m": 1}))
    return run.answer("emit_onboarding_event", Ok({"user": {}, "vault": {}, "membership": {}})).finish()


@pytest.fixture
def journal(run, tmp_path):
    store = run(SqliteJournal.open(tmp_path / "journal.sqlite", SqliteOptions(synchronous="FULL")))
    yield store
    run(store.close())


def test_a_batch_of_many_runs_is_one_transaction_and_replays_to_the_exact_state(journal, run):
    runs = [_completed(100.0 + i) for i in range(3)]
    interleaved = [op for group in zip(*(r.ops for r in runs)) for op in group]
    run(journal.write(interleaved, now=200.0))
    for r in runs:
        loaded = run(journal.load(r.cid))
        assert loaded.found and loaded.finished and loaded.problem is None
        assert replay(EXECUTOR, history_of(loaded)) == r.state
        assert loaded.outcome.status == "completed"
    assert run(journal.counts()) == {"runs": 3, "run_events": 21, "run_steps": 21}


def test_writes_are_idempotent_so_a_resent_batch_changes_nothing(journal, run):
    r = _completed()
    run(journal.write(r.ops, now=200.0))
    before = run(journal.load(r.cid))
    run(journal.write(r.ops[3:5], now=300.0))
    run(journal.write(r.ops, now=300.0))
    after = run(journal.load(r.cid))
    assert after == before
    assert run(journal.counts())["run_events"] == len(r.ops) - 2


def test_an_open_run_is_listed_for_recovery_and_its_projection_shows_the_key_in_flight(journal, run):
    r = Run().answer("validate_email", Ok("ada@example.com")).answer("generate_token", Ok({"token": "t"}))
    done = _completed(50.0)
    run(journal.write(r.ops + done.ops, now=200.0))
    assert [(o.correlation_id, o.status) for o in run(journal.unfinished())] == [(r.cid, "running")]
    summary, outcome, steps = run(journal.find(r.cid))
    assert summary.status == "running" and outcome is None
    rows = {s.step: s for s in steps}
    assert rows["generate_token"].status == "succeeded"
    assert rows["send_magic_link"].status == "running"
    assert rows["send_magic_link"].idempotency_key == f"{r.cid}:send_magic_link:run:0"


def test_a_rolled_back_run_keeps_its_last_keys_and_finishes_failed(journal, run):
    r = Run().answer("validate_email", Ok("a@b.co")).answer("generate_token", Ok({"token": "t"}))
    r.answer("send_magic_link", Fail(StepError("smtp_down")))
    assert r.state.status == "rolling_back"
    r.answer("generate_token", Ok(), kind="undo").finish()
    run(journal.write(r.ops, now=200.0))
    summary, outcome, steps = run(journal.find(r.cid))
    assert summary.status == "failed" and summary.failed_step == "send_magic_link"
    assert outcome.status == "failed" and run(journal.unfinished()) == []
    token = {s.step: s for s in steps}["generate_token"]
    assert token.status == "undone" and token.idempotency_key == f"{r.cid}:generate_token:undo:0"


def test_a_finish_then_a_reopening_event_in_one_batch_are_applied_in_order(journal, run):
    r = Run().answer("validate_email", Ok("a@b.co"))
    first = r.ops + [JournalFinish(token=99, correlation_id=r.cid, status="halted",
                                   outcome=RunOutcome(correlation_id=r.cid, saga=SAGA, status="halted"))]
    r.answer("generate_token", Ok({"token": "t"}))
    run(journal.write(first + r.ops[-1:], now=200.0))
    summary, _, _ = run(journal.find(r.cid))
    assert summary.status == "running" and summary.finished_at is None
    assert [o.correlation_id for o in run(journal.unfinished())] == [r.cid]


def test_list_runs_filters_by_status_saga_and_age_newest_first_with_a_total(journal, run):
    old, new = _completed(1000.0), _completed(5000.0)
    open_run = Run(3000.0)
    run(journal.write(old.ops + new.ops + open_run.ops, now=6000.0))
    page = run(journal.list_runs(ListRuns(), now=6000.0))
    assert [s.correlation_id for s in page.runs] == [new.cid, open_run.cid, old.cid] and page.total == 3
    assert [s.correlation_id for s in run(journal.list_runs(ListRuns(status=["running"]), 6000.0)).runs] == \
        [open_run.cid]
    aged = run(journal.list_runs(ListRuns(older_than_s=2500, limit=1), now=6000.0))
    assert [s.correlation_id for s in aged.runs] == [open_run.cid] and aged.total == 2
    assert run(journal.list_runs(ListRuns(newer_than_s=1500), 6000.0)).total == 1
    assert run(journal.list_runs(ListRuns(saga="other"), 6000.0)).total == 0


def test_retention_prunes_only_old_completed_failed_or_cancelled_runs(journal, run):
    old, recent = _completed(), _completed(800.0)
    stuck = Run().answer("validate_email", Ok("a@b.co")).finish("stuck")
    open_run = Run()
    run(journal.write(old.ops + stuck.ops + open_run.ops, now=200.0))
    run(journal.write(recent.ops, now=900.0))
    assert run(journal.prune(cutoff=500.0)) == 1
    assert run(journal.load(old.cid)).found is False
    assert {o for o in (recent.cid, stuck.cid, open_run.cid) if run(journal.load(o)).found} == \
        {recent.cid, stuck.cid, open_run.cid}
    counts = run(journal.counts())
    assert counts["runs"] == 3 and counts["run_events"] == 7 + 1


def test_a_resumed_run_links_its_predecessor_and_keeps_what_it_carried(journal, run):
    failed = Run().answer("validate_email", Ok("a@b.co")).finish("failed")
    run(journal.write(failed.ops, now=200.0))
    successor = uuid7()
    begin = JournalBegin(token=1, correlation_id=successor, saga=SAGA, version=1, inputs={"email": "a@b.co"},
                         started_at=300.0, resumed_from=failed.cid, carried={"validate_email": "a@b.co"})
    run(journal.write([begin], now=300.0))
    assert run(journal.find(failed.cid))[0].successor == successor
    loaded = run(journal.load(successor))
    assert loaded.resumed_from == failed.cid and loaded.carried == {"validate_email": "a@b.co"}


@pytest.mark.parametrize("table, column", [("run_events", "event"), ("runs", "inputs")])
def test_a_corrupt_row_is_reported_as_a_problem_never_guessed(journal, run, tmp_path, table, column):
    r = Run().answer("validate_email", Ok("a@b.co"))
    run(journal.write(r.ops, now=200.0))
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    conn.execute(f"UPDATE {table} SET {column} = ?", (b"\xc1 not msgpack",))
    conn.commit()
    conn.close()
    loaded = run(journal.load(r.cid))
    assert loaded.found and "corrupt journal row" in loaded.problem


def test_an_event_that_is_not_a_run_event_fails_replay_with_corrupt_record(journal, run):
    from sagaline.saga.records import CorruptRecord
    r = Run().answer("validate_email", Ok("a@b.co"))
    bad = r.ops[-1].model_copy(update={"event": {"e": "nonsense"}})
    run(journal.write(r.ops[:-1] + [bad], now=200.0))
    with pytest.raises(CorruptRecord):
        replay(EXECUTOR, history_of(run(journal.load(r.cid))))


def test_a_full_disk_fails_the_whole_batch_and_a_retry_writes_it_once(journal, run):
    from sagaline.storage.errors import StorageError
    filler = [op for i in range(3) for op in _completed(10.0 + i).ops]
    run(journal.write(filler, now=100.0))
    pages = run(journal.db.fetchone("PRAGMA page_count"))[0]
    run(journal.db.fetchall(f"PRAGMA max_page_count = {pages}"))
    big = [op for i in range(40) for op in _completed(200.0 + i).ops]
    with pytest.raises(StorageError) as err:
        run(journal.write(big, now=300.0))
    assert err.value.retryable and err.value.reason == "disk_full"
    assert run(journal.counts())["runs"] == 3
    run(journal.db.fetchall("PRAGMA max_page_count = 1000000"))
    run(journal.write(big, now=300.0))
    assert run(journal.counts())["runs"] == 43


def test_inputs_round_trip_through_the_codec_unchanged(journal, run):
    r = Run()
    begin = r.ops[0].model_copy(update={"inputs": {"email": "a@b.co", "nested": {"k": [1, 2.5, None]}}})
    run(journal.write([begin], now=1.0))
    assert run(journal.load(r.cid)).inputs == {"email": "a@b.co", "nested": {"k": [1, 2.5, None]}}
    assert pack_value(run(journal.load(r.cid)).inputs)


def test_a_batch_larger_than_one_statement_binds_is_still_one_transaction(journal, run):
    from sagaline.storage import journal_sqlite
    runs = [Run(float(i)) for i in range(journal_sqlite._MAX_ROWS + 5)]
    run(journal.write([r.ops[0] for r in runs], now=1.0))
    assert run(journal.counts())["runs"] == len(runs)
