"""open_database: settings, schema, transactions, and SQLite errors as typed errors."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from sagaline.storage.database import open_database
from sagaline.storage.errors import StorageCorrupt, StorageError, storage_error
from sagaline.storage.sqlite import Schema, SqliteOptions, iso, iso_or_none, parse_iso, parse_iso_or_none

SCHEMA = Schema(2, ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v BLOB)",))


async def _pragma(db, name):
    return (await db.fetchone(f"PRAGMA {name}"))[0]


async def _values(db):
    return [r[0] for r in await db.fetchall("SELECT k FROM t ORDER BY k")]


def test_a_new_database_uses_wal_full_sync_foreign_keys_and_a_busy_timeout(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", SqliteOptions(busy_timeout_ms=1234), SCHEMA)
        try:
            return [
                await _pragma(db, p)
                for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
            ]
        finally:
            await db.close()

    assert run(scenario()) == ["wal", 2, 1, 1234, 2]  # synchronous 2 = FULL


def test_normal_synchronous_can_be_chosen(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", SqliteOptions(synchronous="NORMAL"))
        try:
            return await _pragma(db, "synchronous")
        finally:
            await db.close()

    assert run(scenario()) == 1


def test_an_unknown_synchronous_level_is_refused():
    with pytest.raises(ValueError, match="NORMAL or FULL"):
        SqliteOptions(synchronous="OFF")  # type: ignore[arg-type]


def test_applying_the_schema_again_keeps_the_data(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('x', NULL)")
        await db.close()
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        try:
            return await _values(db)
        finally:
            await db.close()

    assert run(scenario()) == ["x"]


def test_a_database_with_a_newer_schema_version_is_refused(run, tmp_path):
    async def scenario():
        await (await open_database(tmp_path / "a.db", schema=Schema(5, ()))).close()
        await open_database(tmp_path / "a.db", schema=SCHEMA)

    with pytest.raises(StorageError) as caught:
        run(scenario())
    assert caught.value.reason == "schema_too_new" and not caught.value.retryable


def test_a_transaction_commits_when_its_block_ends_and_rolls_back_when_it_raises(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('kept', NULL)")
        with pytest.raises(ZeroDivisionError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES ('lost', NULL)")
                raise ZeroDivisionError
        try:
            return await _values(db)
        finally:
            await db.close()

    assert run(scenario()) == ["kept"]


def test_a_nested_transaction_is_a_savepoint_that_rolls_back_alone(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('outer', NULL)")
            with pytest.raises(KeyError):
                async with db.transaction() as inner:
                    await inner.execute("INSERT INTO t VALUES ('inner', NULL)")
                    raise KeyError
        try:
            return await _values(db)
        finally:
            await db.close()

    assert run(scenario()) == ["outer"]


def test_a_full_database_raises_a_retryable_error_and_keeps_earlier_data(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('early', NULL)")
        pages = await _pragma(db, "page_count")
        await db.fetchall(f"PRAGMA max_page_count = {pages}")
        try:
            with pytest.raises(StorageError) as caught:
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO t VALUES ('big', ?)", (b"x" * 50_000,))
            return caught.value, await _values(db)
        finally:
            await db.close()

    error, values = run(scenario())
    assert (error.reason, error.retryable, values) == ("disk_full", True, ["early"])
    assert "a.db" in str(error)


def test_a_database_locked_by_another_connection_raises_a_retryable_error(run, tmp_path):
    path = tmp_path / "a.db"

    async def scenario():
        db = await open_database(path, SqliteOptions(busy_timeout_ms=20), SCHEMA)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StorageError) as caught:
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO t VALUES ('x', NULL)")
            other.execute("ROLLBACK")
            async with db.transaction() as conn:  # the lock is gone: the retry succeeds
                await conn.execute("INSERT INTO t VALUES ('x', NULL)")
            return caught.value, await _values(db)
        finally:
            other.close()
            await db.close()

    error, values = run(scenario())
    assert (error.reason, error.retryable, values) == ("locked", True, ["x"])


def test_a_file_that_is_not_a_database_raises_storage_corrupt_naming_the_file(run, tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a sqlite file at all " * 200)
    with pytest.raises(StorageCorrupt) as caught:
        run(open_database(path, schema=SCHEMA))
    assert not caught.value.retryable and str(path) in str(caught.value)
    assert caught.value.reason == "not_a_database"


def test_a_missing_directory_cannot_be_opened_and_is_not_retryable(run, tmp_path):
    with pytest.raises(StorageError) as caught:
        run(open_database(tmp_path / "nowhere" / "a.db"))
    assert (caught.value.reason, caught.value.retryable) == ("cant_open", False)


def test_a_failed_open_leaves_no_aiosqlite_thread_to_answer_a_closed_loop(run, tmp_path):
    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}

    before = workers()
    with pytest.raises(StorageError):
        run(open_database(tmp_path / "nowhere" / "a.db"))
    assert workers() <= before


def test_using_a_closed_database_raises_a_storage_error(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        await db.close()
        await db.fetchall("SELECT 1")

    with pytest.raises(StorageError, match="closed"):
        run(scenario())


def test_error_mapping_covers_corrupt_io_and_other_codes():
    def err(code):
        exc = sqlite3.DatabaseError("x")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return storage_error(exc, "/data/f.db")

    assert isinstance(err(sqlite3.SQLITE_CORRUPT), StorageCorrupt)
    assert err(sqlite3.SQLITE_IOERR_WRITE).retryable and err(sqlite3.SQLITE_IOERR_WRITE).reason == "io_error"
    read_only = err(sqlite3.SQLITE_READONLY)
    assert (read_only.reason, read_only.retryable) == ("read_only", False)
    assert err(sqlite3.SQLITE_MISMATCH).reason == "sqlite_error"


def test_bugs_in_our_sql_are_not_disguised_as_storage_errors(run, tmp_path):
    async def scenario():
        db = await open_database(tmp_path / "a.db", schema=SCHEMA)
        try:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (?, ?)", (1,))
        finally:
            await db.close()

    with pytest.raises(sqlite3.ProgrammingError):
        run(scenario())


def test_times_are_stored_as_utc_text_and_a_null_time_stays_null():
    moment = datetime(2026, 12, 6, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    text = iso(moment)
    assert text == "2026-12-06T01:04:05.123456+00:00"
    assert parse_iso(text) == moment and iso_or_none(moment) == text and parse_iso_or_none(text) == moment
    assert iso_or_none(None) is None and parse_iso_or_none(None) is None
    with pytest.raises(ValueError):
        iso(datetime(2026, 12, 6))
