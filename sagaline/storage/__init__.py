"""Storage: SQLite (the default) or PostgreSQL on the calling thread, for synchronous actors and their coroutines.

Layering (imports run downward only)::

    errors         StorageError, StorageCorrupt (the tree is drawn there)
    schema         Schema, Migration, migration_plan (versioned migrations; pure but for the error type)
    location       PURE: where a store lives (a SQLite path or postgresql://...#schema)
    dialect        PURE: SQL written once in SQLite's dialect, translated for PostgreSQL
    sqlite         SqliteFile (sync: the journal), open_file, SqliteOptions
    postgres       PgFile: the same face on psycopg 3 (the ``postgres`` extra; imported lazily)
    backend        open_store_file: the one door, by location
    database       Database: the async face of either file (the domain services)
    aio            AsyncRunner: a private event loop in a daemon thread (tests, asyncio callers)
    idempotency    apply_once (exactly-once effects), StoreBase, answer
    journal_sqlite the saga journal's tables (records and replay: sagaline.saga.journal)
    flow_store     the event bus's store (an app's stores live in its package, e.g. thunderline.storage)

A domain actor, inside its own process, opens its store and hands it to
its service (:mod:`sagaline.domains`); statements run ``sqlite3`` inline on
the actor's thread, with no hand-off to another thread.
"""

from sagaline.storage.aio import AsyncRunner
from sagaline.storage.database import Database, open_database
from sagaline.storage.errors import StorageCorrupt, StorageError
from sagaline.storage.idempotency import apply_once
from sagaline.storage.sqlite import SqliteOptions

__all__ = ["AsyncRunner", "Database", "SqliteOptions", "StorageCorrupt", "StorageError", "apply_once", "open_database"]
