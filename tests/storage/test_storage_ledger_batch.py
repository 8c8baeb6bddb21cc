"""ledger_batch: a batch's ledger rows read in one SELECT, every answer the one a lookup per command would give.

The batch read is on by default only where a statement is a round trip (PostgreSQL); these tests turn it on
(``read=True``) on both backends, so its bookkeeping is checked on each.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagaline.messages.base import Command, Headers, Reply
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.storage.idempotency import StoreBase, forbid, ledger_batch

NOW = datetime(2025, 10, 27, 12, 0, tzinfo=UTC)
LOOKUP = "SELECT command, reply FROM idempotency WHERE key = ?"


class LedgerBatchPut(Command):
    """Put ``value`` under a new row (test-only command)."""

    value: str
    """What to store."""


class LedgerBatchUndo(Command):
    """Delete the row the put under ``effect_key`` made (test-only command)."""

    effect_key: str
    """The undone put's key."""


class LedgerBatchDone(Reply):
    """Answer to both test commands."""

    rows: int
    """Rows the command changed."""


class Rows(StoreBase):
    STATEMENTS = ("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value TEXT, created_by_key TEXT)",)
    EFFECT_TABLES = ("rows",)


@pytest.fixture
def store(run, store_location):
    s = run(Rows.open(store_location("rows")))
    yield s
    run(s.close())


@pytest.fixture
def lookups(store, monkeypatch):
    """The single-key ledger lookups the store's connection runs (a list of their keys)."""
    seen: list[str] = []
    file, execute = store.db.file, store.db.file.execute

    def counting(sql, params=()):
        if sql == LOOKUP:
            seen.append(next(iter(params)))
        return execute(sql, params)

    monkeypatch.setattr(file, "execute", counting)
    return seen


def put(value, key):
    return LedgerBatchPut(headers=Headers(correlation_id=uuid7(), idempotency_key=key), value=value)


def undo(key, effect_key):
    return LedgerBatchUndo(headers=Headers(correlation_id=uuid7(), idempotency_key=key), effect_key=effect_key)


def handle(store, cmd, outcome=None):
    """apply_once with a put's or an undo's effect; ``outcome`` replaces a put's reply (a failure)."""

    async def effect(conn):
        if isinstance(cmd, LedgerBatchUndo):
            cursor = await conn.execute("DELETE FROM rows WHERE created_by_key = ?", (cmd.effect_key,))
            if cursor.rowcount == 0:
                await forbid(conn, cmd, cmd.effect_key, "LedgerBatchPut", NOW)
            return LedgerBatchDone(headers=cmd.headers, rows=cursor.rowcount)
        await conn.execute(
            "INSERT INTO rows (value, created_by_key) VALUES (?, ?)", (cmd.value, cmd.headers.idempotency_key)
        )
        return outcome or LedgerBatchDone(headers=cmd.headers, rows=1)

    return store.apply_once(cmd, effect, NOW)


def batch(run, store, items):
    """Apply ``items`` (commands, or (command, outcome) pairs) as the domain actor does: one transaction."""
    pairs = [item if isinstance(item, tuple) else (item, None) for item in items]

    async def go():
        async with store.db.transaction() as conn, ledger_batch(conn, [c for c, _ in pairs], read=True):
            return [await handle(store, c, outcome) for c, outcome in pairs]

    return run(go())


def values(run, store):
    return [r[0] for r in run(store.db.fetchall("SELECT value FROM rows ORDER BY id"))]


def test_a_batch_looks_its_keys_up_in_one_select_and_applies_each_new_key_once(run, store, lookups):
    replies = batch(run, store, [put("a", "k1"), put("b", "k2"), put("c", "k3")])
    assert [r.rows for r in replies] == [1, 1, 1] and values(run, store) == ["a", "b", "c"]
    assert lookups == []
    assert [e.key for e in run(store.ledger())] == ["k1", "k2", "k3"]


def test_a_key_twice_in_one_batch_applies_once_and_the_second_gets_the_first_reply(run, store, lookups):
    first, second = batch(run, store, [put("a", "k1"), put("b", "k1")])
    assert first == second and values(run, store) == ["a"] and lookups == []
    assert run(store.rows_per_key()) == {"rows": {"k1": 1}}


def test_a_key_recorded_before_the_batch_is_answered_from_the_batch_read(run, store, lookups):
    [before] = batch(run, store, [put("a", "k1")])
    again, other = batch(run, store, [put("b", "k1"), undo("k1", "nothing")])
    assert again == before and values(run, store) == ["a"]
    assert isinstance(other, CommandFailed) and other.code == "idempotency_key_conflict"
    assert lookups == []


def test_an_undo_ahead_of_its_put_in_one_batch_forbids_the_put(run, store):
    undone, late = batch(run, store, [undo("u1", "k1"), put("a", "k1")])
    assert undone.rows == 0 and isinstance(late, CommandFailed) and late.code == "undone_before_applied"
    assert values(run, store) == []


def test_a_failure_in_a_batch_rolls_back_alone_and_is_remembered_for_its_duplicate(run, store):
    cmd = put("a", "k1")
    refused = CommandFailed(headers=cmd.headers, code="nope", message="refused")
    failed, kept, again = batch(run, store, [(cmd, refused), put("b", "k2"), put("c", "k1")])
    assert failed == again == refused and kept.rows == 1 and values(run, store) == ["b"]
    assert [(e.key, e.ok) for e in run(store.ledger())] == [("k1", False), ("k2", True)]


def test_a_retryable_failure_in_a_batch_is_not_remembered_so_its_duplicate_applies(run, store):
    cmd = put("a", "k1")
    transient = CommandFailed(headers=cmd.headers, code="later", retryable=True)
    failed, retried = batch(run, store, [(cmd, transient), put("b", "k1")])
    assert failed == transient and retried.rows == 1 and values(run, store) == ["b"]


def test_a_batch_rolled_back_leaves_nothing_and_the_next_batch_applies_afresh(run, store):
    async def broken():
        async with store.db.transaction() as conn, ledger_batch(conn, [put("a", "k1")], read=True):
            await handle(store, put("a", "k1"))
            raise RuntimeError("the batch's commit fails")

    with pytest.raises(RuntimeError):
        run(broken())
    assert values(run, store) == [] and run(store.ledger()) == []
    assert batch(run, store, [put("b", "k1")])[0].rows == 1 and values(run, store) == ["b"]


def test_the_batch_read_ends_with_the_block_and_needs_a_transaction(run, store):
    async def outside():
        async with ledger_batch(store.db._conn, [put("a", "k1")], read=True):
            pass

    async def inside():
        async with store.db.transaction() as conn:
            async with ledger_batch(conn, [put("a", "k1"), put("b", None)], read=True):
                seen = dict(conn.ledger_view or {})
            return seen, conn.ledger_view

    with pytest.raises(ValueError, match="open transaction"):
        run(outside())
    assert run(inside()) == ({"k1": None}, None)


def test_keys_outside_the_batch_are_still_looked_up_one_by_one(run, store, lookups):
    batch(run, store, [put("a", "k1")])

    async def go():
        async with store.db.transaction() as conn, ledger_batch(conn, [put("x", "k2")], read=True):
            return await handle(store, put("b", "k1"))

    assert run(go()).rows == 1 and values(run, store) == ["a"] and lookups == ["k1"]


def test_by_default_the_batch_read_happens_on_postgresql_only(run, store, store_location, lookups):
    async def go():
        async with store.db.transaction() as conn, ledger_batch(conn, [put("a", "k1"), put("b", "k2")]):
            return [await handle(store, put("a", "k1")), await handle(store, put("b", "k2"))]

    assert [r.rows for r in run(go())] == [1, 1] and values(run, store) == ["a", "b"]
    assert lookups == ([] if store_location.backend == "postgres" else ["k1", "k2"])
