"""Runs spread over hosts by their id, and group commit: one write for many runs, write-ahead kept."""

from __future__ import annotations

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.saga import RunOutcome, StartSaga
from sagaline.saga.journal import Append, Begin, Finish, GroupCommit, Halted, HaltRule, MemoryJournal
from sagaline.saga.placement import partition_of, successor_id


def test_a_run_id_always_falls_in_the_same_partition_whatever_its_case():
    cid = uuid7()
    assert partition_of(cid, 4) == partition_of(cid.upper(), 4) == partition_of(cid, 4)
    assert 0 <= partition_of(cid, 4) < 4 and partition_of(cid, 1) == 0


def test_run_ids_spread_evenly_over_the_partitions():
    counts = [0, 0, 0]
    for _ in range(3000):
        counts[partition_of(uuid7(), 3)] += 1
    assert all(800 < c < 1200 for c in counts), counts


def test_a_successor_id_lands_in_the_partition_asked_for():
    assert all(partition_of(successor_id(i, 5), 5) == i for i in range(5))


def test_no_partitions_is_refused():
    with pytest.raises(ValueError):
        partition_of(uuid7(), 0)


def _begin(cid: str) -> Begin:
    return Begin(StartSaga(saga="s", correlation_id=cid), 1, 1.0)


def test_a_flush_writes_every_queued_record_at_once_then_hands_back_their_continuations_in_order():
    store = MemoryJournal()
    group = GroupCommit(store)
    a, b = uuid7(), uuid7()
    group.add(_begin(a), "then-a")
    group.add(_begin(b))
    group.add(Append(a, 1, 2.0, {"e": "cancel", "reason": "x"}, "draining"), "then-a2")
    assert store.runs == {} and group.pending == 3  # nothing is durable before the flush
    assert group.flush(3.0) == ["then-a", "then-a2"]
    assert set(store.runs) == {a, b} and store.runs[a].status == "draining"
    assert (group.commits, group.writes, group.largest, group.pending) == (1, 3, 3, 0)
    assert group.flush(4.0) == []


class _Full(MemoryJournal):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def write(self, records, now):
        from sagaline.storage.errors import StorageError

        if self.fail:
            raise StorageError("database or disk is full", reason="disk_full", path="j", retryable=True)
        super().write(records, now)


def test_when_the_store_fails_nothing_follows_and_the_records_wait_for_the_next_flush():
    from sagaline.storage.errors import StorageError

    store = _Full()
    group = GroupCommit(store)
    cid = uuid7()
    group.add(_begin(cid), "then")
    with pytest.raises(StorageError):
        group.flush(1.0)
    assert group.pending == 1 and group.failures == 1 and store.runs == {}
    store.fail = False
    assert group.flush(2.0) == ["then"] and cid in store.runs


def test_a_start_whose_begin_waits_after_a_failed_write_is_withdrawn_with_its_later_records_and_others_stay():
    from sagaline.storage.errors import StorageError

    store = _Full()
    group = GroupCommit(store)
    going, new = uuid7(), uuid7()
    store.fail = False
    group.add(_begin(going))
    group.flush(0.5)
    store.fail = True
    group.add(Append(going, 3, 1.0, {"e": "cancel", "reason": "x"}, "draining"), "then-going")
    group.add(_begin(new), "then-new")
    group.add(Append(new, 1, 1.5, {"e": "cancel", "reason": "x"}, "draining"), "then-new-2")
    with pytest.raises(StorageError):
        group.flush(2.0)
    assert group.withdraw_starts() == [new] and group.pending == 1
    assert group.withdraw_starts() == []
    store.fail = False
    assert group.flush(3.0) == ["then-going"] and new not in store.runs


def test_a_halt_rule_writes_up_to_the_matching_record_and_then_mutes_the_journal():
    store = MemoryJournal()
    rule = HaltRule(step="b", when="before", action="mute")
    group = GroupCommit(store, rule)
    cid = uuid7()
    ok = {"e": "result", "step": "a", "kind": "run", "key": "k", "outcome": {"t": "ok"}}
    group.add(_begin(cid), "t0")
    group.add(Append(cid, 1, 1.0, ok, "running"), "t1")
    group.add(Append(cid, 2, 2.0, {**ok, "step": "b"}, "running"), "t2")
    with pytest.raises(Halted):
        group.flush(3.0)
    assert [e.seq for e in store.runs[cid].entries] == [1] and group.muted
    group.add(Finish(cid, "completed", RunOutcome(correlation_id=cid, saga="s", status="completed")))
    assert group.pending == 0  # a muted journal takes nothing more


def test_a_halt_rule_must_say_before_or_after_and_freeze_or_mute():
    with pytest.raises(ValueError):
        HaltRule(step="a", when="during")
