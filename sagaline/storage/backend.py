"""Open a store's database wherever its location says: a SQLite file, or a PostgreSQL schema.

The one door every store opens through (:func:`open_store_file`); the
location string is made by :func:`~sagaline.storage.location.store_location`.
PostgreSQL needs the ``postgres`` extra (psycopg 3); without it, opening a
PostgreSQL location raises a ``StorageError`` saying what to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from sagaline.storage.errors import StorageError
from sagaline.storage.location import is_postgres, redacted
from sagaline.storage.schema import Schema
from sagaline.storage.sqlite import SqliteFile, SqliteOptions, open_file

if TYPE_CHECKING:
    from sagaline.storage.postgres import PgFile

__all__ = ["StoreFile", "open_store_file"]

#: What :func:`open_store_file` returns: both have the same methods.
StoreFile = Union[SqliteFile, "PgFile"]


def open_store_file(
    location: str | Path, options: SqliteOptions = SqliteOptions(), schema: Schema | None = None
) -> StoreFile:
    """Open (creating and migrating) the store at ``location``; see :func:`~sagaline.storage.sqlite.open_file`
    and :func:`~sagaline.storage.postgres.open_pg` for the settings and errors of each backend.

    Raises:
        StorageError: as the backend's open; ``driver_missing`` when a
            PostgreSQL location is given and psycopg is not installed.
    """
    if not is_postgres(location):
        return open_file(location, options, schema)
    try:
        from sagaline.storage.postgres import open_pg
    except ImportError as exc:
        raise StorageError(
            f"{redacted(location)} needs the PostgreSQL driver: pip install 'sagaline[postgres]' ({exc})",
            reason="driver_missing",
            path=redacted(location),
            retryable=False,
        ) from None
    return open_pg(str(location), options, schema)
