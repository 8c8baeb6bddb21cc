"""A full or locked database becomes a retryable failure reply; the retry then succeeds."""

from __future__ import annotations

import sqlite3

import pytest

from sagaline.messages.common import CommandFailed
from sagaline.storage.sqlite import SqliteOptions
from thunderline.domains.block import BlockService
from thunderline.messages.block import ProvisionVault, VaultProvisioned
from thunderline.messages.gate import CreateUser, UserCreated
from thunderline.storage.block_store import BlockStore


def test_a_full_disk_answers_storage_unavailable_remembers_nothing_and_the_retry_succeeds(
    run, gate, saga, store_location
):
    if store_location.backend != "sqlite":
        pytest.skip("fills the disk with SQLite's max_page_count; PostgreSQL has no per-database cap to set")
    pages = run(gate.store.db.fetchone("PRAGMA page_count"))[0]
    run(gate.store.db.fetchall(f"PRAGMA max_page_count = {pages}"))
    failed, step = None, None
    for i in range(500):  # fill the free space left in the existing pages
        step = f"user-{i}"
        reply = run(gate.handle(CreateUser(headers=saga.headers(step), email=f"u{i}@example.org")))
        if isinstance(reply, CommandFailed):
            failed = reply
            break
    assert failed is not None and (failed.code, failed.retryable) == ("storage_unavailable", True)
    assert "gate.sqlite" in failed.message
    assert run(gate.store.ledger(saga.key(step))) == []
    run(gate.store.db.fetchall("PRAGMA max_page_count = 1000000"))
    retried = run(gate.handle(CreateUser(headers=saga.headers(step), email=f"u{i}@example.org")))
    assert isinstance(retried, UserCreated)
    assert set(run(gate.store.rows_per_key())["users"].values()) == {1}


def test_a_locked_database_answers_storage_unavailable_and_the_retry_succeeds(run, tmp_path, clock, saga):
    path = tmp_path / "block.db"
    store = run(BlockStore.open(path, SqliteOptions(busy_timeout_ms=20)))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        block = BlockService(store, clock)
        command = ProvisionVault(headers=saga.headers("vault"), user_id="u1")
        holder.execute("BEGIN IMMEDIATE")
        locked = run(block.handle(command))
        holder.execute("ROLLBACK")
        assert isinstance(locked, CommandFailed)
        assert (locked.code, locked.retryable) == ("storage_unavailable", True)
        assert isinstance(run(block.handle(command)), VaultProvisioned)
    finally:
        holder.close()
        run(store.close())


def test_a_table_locked_on_postgresql_answers_storage_unavailable_and_the_retry_succeeds(
    run, postgres_url, clock, saga
):
    import psycopg

    from sagaline.storage.location import store_location

    store = run(BlockStore.open(store_location(postgres_url, ".", "block"), SqliteOptions(busy_timeout_ms=20)))
    holder = psycopg.connect(postgres_url, autocommit=True)
    try:
        block = BlockService(store, clock)
        command = ProvisionVault(headers=saga.headers("vault"), user_id="u1")
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE block.vaults IN ACCESS EXCLUSIVE MODE")
        locked = run(block.handle(command))
        holder.execute("ROLLBACK")
        assert isinstance(locked, CommandFailed)
        assert (locked.code, locked.retryable) == ("storage_unavailable", True) and "lock" in locked.message
        assert isinstance(run(block.handle(command)), VaultProvisioned)
    finally:
        holder.close()
        run(store.close())
