"""apply_once: one effect per key, the first answer for duplicates, failures handled by kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagaline.domains.service import answer
from sagaline.messages.base import Command, Headers, Reply
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.storage.errors import StorageError
from sagaline.storage.idempotency import StoreBase, apply_once, ledger

NOW = datetime(2025, 10, 27, 12, 0, tzinfo=UTC)


class StorageTestPut(Command):
    """Put ``value`` under a new row (test-only command)."""

    value: str
    """What to store."""


class StorageTestOther(Command):
    """Another command type, for key-conflict tests."""


class StorageTestPutDone(Reply):
    """Answer to StorageTestPut."""

    row: int
    """Id of the inserted row."""


class Rows(StoreBase):
    STATEMENTS = ("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value TEXT, created_by_key TEXT)",)
    EFFECT_TABLES = ("rows",)


def put(value, key="k1"):
    return StorageTestPut(headers=Headers(correlation_id=uuid7(), idempotency_key=key), value=value)


def inserting(cmd, calls, outcome=None):
    async def effect(conn):
        calls.append(cmd.value)
        rows = await conn.execute_fetchall(
            "INSERT INTO rows (value, created_by_key) VALUES (?, ?) RETURNING id",
            (cmd.value, cmd.headers.idempotency_key),
        )
        if outcome is not None:
            return outcome
        return StorageTestPutDone(headers=cmd.headers, row=rows[0][0])

    return effect


@pytest.fixture
def store(run, store_location):
    s = run(Rows.open(store_location("rows")))
    yield s
    run(s.close())


def values(run, store):
    return [r[0] for r in run(store.db.fetchall("SELECT value FROM rows ORDER BY id"))]


def test_a_new_key_applies_the_effect_and_records_its_reply(run, store):
    calls = []
    cmd = put("a")
    reply = run(store.apply_once(cmd, inserting(cmd, calls), NOW))
    assert isinstance(reply, StorageTestPutDone) and calls == ["a"] and values(run, store) == ["a"]
    [entry] = run(store.ledger())
    assert (entry.key, entry.command, entry.ok, entry.reply, entry.created_at) == (
        "k1",
        "StorageTestPut",
        True,
        reply,
        NOW,
    )


def test_a_duplicate_key_returns_the_first_reply_without_running_the_effect(run, store):
    calls = []
    first = run(store.apply_once(put("a"), inserting(put("a"), calls), NOW))
    again = run(store.apply_once(put("b"), inserting(put("b"), calls), NOW))
    assert again == first and calls == ["a"] and values(run, store) == ["a"]
    assert run(store.rows_per_key()) == {"rows": {"k1": 1}}


def test_a_business_failure_is_remembered_and_its_writes_rolled_back(run, store):
    cmd = put("a")
    refused = CommandFailed(headers=cmd.headers, code="nope", message="refused")
    calls = []
    first = run(store.apply_once(cmd, inserting(cmd, calls, refused), NOW))
    again = run(store.apply_once(cmd, inserting(cmd, calls), NOW))
    assert first == again == refused and calls == ["a"] and values(run, store) == []
    assert [e.ok for e in run(store.ledger())] == [False]


def test_a_retryable_failure_is_not_remembered_so_the_retry_can_succeed(run, store):
    cmd = put("a")
    transient = CommandFailed(headers=cmd.headers, code="later", retryable=True)
    assert run(store.apply_once(cmd, inserting(cmd, [], transient), NOW)) == transient
    assert values(run, store) == [] and run(store.ledger()) == []
    assert isinstance(run(store.apply_once(cmd, inserting(cmd, []), NOW)), StorageTestPutDone)


def test_an_exception_in_the_effect_rolls_everything_back_and_is_not_remembered(run, store):
    cmd = put("a")

    async def broken(conn):
        await inserting(cmd, [])(conn)
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        run(store.apply_once(cmd, broken, NOW))
    assert values(run, store) == [] and run(store.ledger()) == []


def test_a_storage_error_rolls_back_and_the_same_key_succeeds_later(run, store, store_location):
    if store_location.backend != "sqlite":
        pytest.skip("fills the disk with SQLite's max_page_count; PostgreSQL has no per-database cap to set")
    cmd = put("x" * 60_000)
    pages = run(store.db.fetchone("PRAGMA page_count"))[0]
    run(store.db.fetchall(f"PRAGMA max_page_count = {pages}"))
    with pytest.raises(StorageError) as caught:
        run(store.apply_once(cmd, inserting(cmd, []), NOW))
    assert caught.value.retryable and run(store.ledger()) == []
    run(store.db.fetchall("PRAGMA max_page_count = 1000000"))
    assert isinstance(run(store.apply_once(cmd, inserting(cmd, []), NOW)), StorageTestPutDone)


def test_a_key_reused_by_another_command_type_is_an_error_reply(run, store):
    run(store.apply_once(put("a"), inserting(put("a"), []), NOW))
    other = StorageTestOther(headers=Headers(correlation_id=uuid7(), idempotency_key="k1"))
    reply = run(store.apply_once(other, inserting(put("never"), []), NOW))
    assert isinstance(reply, CommandFailed) and reply.code == "idempotency_key_conflict"
    assert values(run, store) == ["a"] and len(run(store.ledger())) == 1


def test_a_command_without_a_key_is_refused_and_changes_nothing(run, store):
    cmd = put("a", key=None)
    reply = run(apply_once(store.db, cmd, inserting(cmd, []), NOW))
    assert isinstance(reply, CommandFailed) and reply.code == "idempotency_key_missing"
    assert values(run, store) == [] and run(ledger(store.db)) == []


def test_answer_turns_storage_errors_into_failed_replies_by_retryability(run):
    cmd = put("a")

    def raising(retryable):
        async def handler(_):
            raise StorageError("disk", reason="disk_full", path="/x.db", retryable=retryable)

        return {StorageTestPut: handler}

    transient = run(answer(cmd, raising(True)))
    permanent = run(answer(cmd, raising(False)))
    assert (transient.code, transient.retryable) == ("storage_unavailable", True)
    assert (permanent.code, permanent.retryable) == ("storage_failed", False)


def test_answer_refuses_an_unsupported_command_with_a_reply_and_a_non_command_with_typeerror(run):
    reply = run(answer(put("a"), {}))
    assert isinstance(reply, CommandFailed) and reply.code == "unsupported_command"
    with pytest.raises(TypeError):
        run(answer("not a command", {}))
