"""A store's schema as versioned migrations, and the pure decision of what to run on open.

A :class:`Schema` has a ``version``, the ``statements`` that create its
layout from nothing, and ``upgrades``: one :class:`Migration` per later
version, run in order on a database stamped with an older version. The
backends (:mod:`sagaline.storage.sqlite`, :mod:`sagaline.storage.postgres`)
keep the stamp (``PRAGMA user_version``; a ``sagaline_schema`` table in the
store's PostgreSQL schema), hold their lock while they run
:func:`migration_plan`'s statements, and stamp the new version in the same
transaction, so a crash mid-migration leaves the old version intact.

A database newer than the code is refused: older code must not write a
layout it does not know (``StorageError(reason="schema_too_new")``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.storage.errors import StorageError

__all__ = ["Migration", "Schema", "migration_plan"]


@dataclass(frozen=True)
class Migration:
    """The statements that bring a database from ``version - 1`` to ``version``."""

    version: int
    """The version a database has once these statements ran."""
    statements: tuple[str, ...]
    """DDL (and data moves), run in order inside the migration's transaction."""


@dataclass(frozen=True)
class Schema:
    """A store's tables: how to create them, and how to upgrade older layouts.

    Every statement of ``statements`` must be safe to run again (``CREATE
    ... IF NOT EXISTS``): a database stamped 0 may hold some tables already.
    """

    version: int
    """The version this code writes; a database with a higher one is refused."""
    statements: tuple[str, ...]
    """The DDL creating the layout of ``version`` on an empty database (stamped 0)."""
    upgrades: tuple[Migration, ...] = ()
    """Migrations for databases stamped 1 .. ``version - 1``, by ascending version."""

    def __post_init__(self) -> None:
        versions = [m.version for m in self.upgrades]
        if versions != sorted(set(versions)) or any(v < 2 or v > self.version for v in versions):
            raise ValueError(f"upgrades must have distinct ascending versions in 2..{self.version}, not {versions}")


def migration_plan(schema: Schema, found: int, where: str) -> tuple[str, ...]:
    """The statements to run on a database stamped ``found`` (empty: nothing to do).

    Args:
        schema: The code's schema.
        found: The database's stamped version (0: empty or never stamped).
        where: The database, for the error message.

    Raises:
        StorageError: ``found`` is newer than ``schema.version``
            (``schema_too_new``), or no upgrade path leads from ``found``
            (``schema_unknown``); neither is retryable.
    """
    if found > schema.version:
        raise StorageError(
            f"database {where} has schema version {found}; this code knows up to {schema.version}: "
            "run the newer sagaline, or restore a backup taken before the upgrade",
            reason="schema_too_new",
            path=where,
            retryable=False,
        )
    if found == schema.version:
        return ()
    if found == 0:
        return schema.statements
    steps = [m for m in schema.upgrades if m.version > found]
    if [m.version for m in steps] != list(range(found + 1, schema.version + 1)):
        raise StorageError(
            f"database {where} has schema version {found}, from which this code has no migration to {schema.version}",
            reason="schema_unknown",
            path=where,
            retryable=False,
        )
    return tuple(statement for m in steps for statement in m.statements)
