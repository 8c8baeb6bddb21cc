"""Storage: SQLite through aiosqlite, driven from synchronous actors.

Layering (imports run downward only)::

    aio            AsyncRunner: a private event loop in a daemon thread
    errors         StorageError, StorageCorrupt (the tree is drawn there)
    sqlite         open_database, Database (transactions), Schema, SqliteOptions
    idempotency    apply_once (exactly-once effects), StoreBase, answer
    flow_store     the event bus's store (an app's stores live in its package, e.g. thunderline.storage)

Only this package imports aiosqlite. A domain actor, inside its own process,
makes an ``AsyncRunner``, opens its store through it and hands the store to
its service (:mod:`sagaline.domains`).
"""

from sagaline.storage.aio import AsyncRunner
from sagaline.storage.errors import StorageCorrupt, StorageError
from sagaline.storage.idempotency import apply_once
from sagaline.storage.sqlite import Database, SqliteOptions, open_database

__all__ = ["AsyncRunner", "Database", "SqliteOptions", "StorageCorrupt", "StorageError", "apply_once",
           "open_database"]
