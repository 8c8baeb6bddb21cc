"""The pieces that let one store run on SQLite or PostgreSQL: the dialect translation, locations,
versioned migrations, and PostgreSQL's errors as typed errors."""

from __future__ import annotations

import pytest

from sagaline.storage.dialect import to_postgres
from sagaline.storage.errors import StorageError
from sagaline.storage.location import check_storage_url, redacted, split_location, store_location
from sagaline.storage.schema import Migration, Schema, migration_plan
from sagaline.storage.sqlite import SqliteOptions

URL = "postgresql://app:s3cret@db.example:5432/sagaline"


def test_placeholders_become_psycopgs_and_a_literal_percent_is_kept():
    assert (
        to_postgres("SELECT a FROM t WHERE b = ? AND c LIKE '10%'") == "SELECT a FROM t WHERE b = %s AND c LIKE '10%%'"
    )


def test_insert_or_ignore_becomes_on_conflict_do_nothing_before_any_returning():
    assert (
        to_postgres("INSERT OR IGNORE INTO t (a) VALUES (?)") == "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )
    assert (
        to_postgres("INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING a")
        == "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING a"
    )


def test_a_table_gets_postgres_types_bytewise_text_and_an_explicit_rowid():
    out = to_postgres(
        "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, n INTEGER, x REAL, b BLOB, "
        "e TEXT NOT NULL UNIQUE COLLATE NOCASE)"
    )
    assert out == (
        'CREATE TABLE IF NOT EXISTS t (k TEXT COLLATE "C" PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, '
        "b BYTEA, e TEXT NOT NULL UNIQUE COLLATE NOCASE, rowid BIGSERIAL)"
    )


def test_a_rowid_alias_key_becomes_bigserial_and_without_rowid_adds_no_rowid():
    assert (
        to_postgres("CREATE TABLE e (seq INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
        == 'CREATE TABLE e (seq BIGSERIAL PRIMARY KEY, v TEXT COLLATE "C")'
    )
    assert (
        to_postgres("CREATE TABLE w (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID")
        == 'CREATE TABLE w (a TEXT COLLATE "C", PRIMARY KEY (a))'
    )


def test_a_store_location_is_a_file_or_the_url_with_the_store_as_schema():
    assert store_location(None, "/d", "gate") == "/d/gate.sqlite"
    assert store_location(URL, "/d", "gate") == URL + "#gate"
    assert split_location(URL + "#gate") == (URL, "gate")
    with pytest.raises(ValueError, match="schema name"):
        store_location(URL, "/d", "Gate; DROP")


def test_a_location_shown_in_a_message_hides_the_password():
    assert redacted(URL + "#journal") == "postgresql://app:***@db.example:5432/sagaline#journal"
    assert redacted("/d/gate.sqlite") == "/d/gate.sqlite"


@pytest.mark.parametrize(
    "url, problem",
    [("mysql://h/db", "postgresql://"), ("postgresql://h/", "name a database"), ("postgresql://h/db#x", "fragment")],
)
def test_a_storage_url_that_is_not_a_postgres_database_is_refused_naming_why(url, problem):
    with pytest.raises(ValueError, match=problem):
        check_storage_url(url)


SCHEMA = Schema(3, ("create v3",), upgrades=(Migration(2, ("to 2",)), Migration(3, ("to 3",))))


def test_an_empty_database_gets_the_layout_and_an_older_one_its_upgrades_in_order():
    assert migration_plan(SCHEMA, 0, "db") == ("create v3",)
    assert migration_plan(SCHEMA, 1, "db") == ("to 2", "to 3")
    assert migration_plan(SCHEMA, 2, "db") == ("to 3",)
    assert migration_plan(SCHEMA, 3, "db") == ()


def test_a_database_newer_than_the_code_is_refused_and_a_gap_in_the_upgrades_too():
    with pytest.raises(StorageError) as newer:
        migration_plan(SCHEMA, 4, "db")
    assert newer.value.reason == "schema_too_new" and "knows up to 3" in str(newer.value)
    with pytest.raises(StorageError) as gap:
        migration_plan(Schema(3, (), upgrades=(Migration(3, ()),)), 1, "db")
    assert gap.value.reason == "schema_unknown"


def test_upgrades_out_of_order_are_a_bad_schema():
    with pytest.raises(ValueError, match="ascending"):
        Schema(3, (), upgrades=(Migration(3, ()), Migration(2, ())))


def test_a_postgres_schema_newer_than_the_code_is_refused_and_the_store_stays_untouched(postgres_url):
    from sagaline.storage.postgres import open_pg

    location = store_location(postgres_url, ".", "things")
    open_pg(location, SqliteOptions(), Schema(5, ("CREATE TABLE IF NOT EXISTS t (k TEXT)",))).close()
    with pytest.raises(StorageError) as caught:
        open_pg(location, SqliteOptions(), Schema(2, ("CREATE TABLE IF NOT EXISTS t (k TEXT)",)))
    assert caught.value.reason == "schema_too_new" and not caught.value.retryable
    assert "s3cret" not in str(caught.value)


def test_a_postgres_store_is_migrated_once_by_concurrent_openers(postgres_url):
    import threading

    from sagaline.storage.postgres import open_pg

    schema = Schema(
        2,
        ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)",),
        upgrades=(Migration(2, ("ALTER TABLE t ADD COLUMN v INTEGER",)),),
    )
    location = store_location(postgres_url, ".", "shared")
    open_pg(location, SqliteOptions(), Schema(1, schema.statements)).close()
    errors, files = [], []

    def opener():
        try:
            files.append(open_pg(location, SqliteOptions(), schema))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert errors == [] and len(files) == 6
        assert [r[0] for r in files[0].fetchall("SELECT version FROM sagaline_schema")] == [2]
        files[0].execute("INSERT INTO t (k, v) VALUES (?, ?)", ("a", 1))
    finally:
        for f in files:
            f.close()


def test_an_unreachable_postgres_is_a_retryable_storage_error_without_the_password():
    from sagaline.storage.postgres import open_pg
    from sagaline.testing.postgres import free_port

    with pytest.raises(StorageError) as caught:
        open_pg(f"postgresql://app:s3cret@127.0.0.1:{free_port()}/db#gate")
    assert caught.value.retryable and caught.value.reason == "connection" and "s3cret" not in str(caught.value)


def test_a_postgres_connection_cut_by_the_server_fails_once_retryably_and_the_next_call_reconnects(postgres_url):
    import psycopg

    from sagaline.storage.postgres import open_pg

    file = open_pg(
        store_location(postgres_url, ".", "cut"),
        SqliteOptions(),
        Schema(1, ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)",)),
    )
    try:
        pid = file.fetchall("SELECT pg_backend_pid()")[0][0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StorageError) as cut:
            file.fetchall("SELECT k FROM t")
        assert cut.value.retryable and cut.value.reason == "connection"
        assert file.fetchall("SELECT k FROM t") == []  # a read reconnects (the journal's reader only reads)
        with file.transaction():
            file.execute("INSERT INTO t (k) VALUES (?)", ("a",))
        assert [r[0] for r in file.fetchall("SELECT k FROM t")] == ["a"]
    finally:
        file.close()


def test_a_postgres_connection_cut_before_a_transaction_fails_it_retryably_and_the_next_one_reconnects(postgres_url):
    import psycopg

    from sagaline.storage.postgres import open_pg

    file = open_pg(
        store_location(postgres_url, ".", "cut"),
        SqliteOptions(),
        Schema(1, ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)",)),
    )
    try:
        pid = file.fetchall("SELECT pg_backend_pid()")[0][0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StorageError) as cut, file.transaction():
            file.execute("INSERT INTO t (k) VALUES (?)", ("lost",))
        assert cut.value.retryable
        with file.transaction():
            file.execute("INSERT INTO t (k) VALUES (?)", ("kept",))
        assert [r[0] for r in file.fetchall("SELECT k FROM t")] == ["kept"]
    finally:
        file.close()
