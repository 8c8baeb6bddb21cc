"""Flow's database: durably stored (persistent) events, and the ledger.

Schema (version 1)::

    events(seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- storage order, for tail
           id TEXT NOT NULL UNIQUE,                 -- the event's UUID v7
           name TEXT NOT NULL, source TEXT NOT NULL,
           correlation_id TEXT NOT NULL, causation_id TEXT,
           at TEXT NOT NULL,                        -- ISO-8601 UTC
           payload BLOB NOT NULL, meta BLOB NOT NULL,  -- codec-packed maps
           priority TEXT NOT NULL, taxonomy_version INTEGER NOT NULL,
           event_version INTEGER NOT NULL,
           pipeline TEXT NOT NULL, reliability TEXT NOT NULL,
           created_by_key TEXT)                     -- the publish's idempotency key

An event id is stored once: publishing the same event again (even under
another key) adds no row. Raises
:class:`~sagaline.storage.errors.StorageError` on SQLite failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from sqlite3 import Row
from typing import Any

import sagaline.events.flow  # noqa: F401  registers EventPublished, which the ledger decodes
from sagaline.events.envelope import Event
from sagaline.messages.codec import pack_value, unpack_value
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, parse_iso

__all__ = ["FlowStore", "event_row"]

_DDL = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        causation_id TEXT,
        at TEXT NOT NULL,
        payload BLOB NOT NULL,
        meta BLOB NOT NULL,
        priority TEXT NOT NULL,
        taxonomy_version INTEGER NOT NULL,
        event_version INTEGER NOT NULL,
        pipeline TEXT NOT NULL,
        reliability TEXT NOT NULL,
        created_by_key TEXT)""",
    "CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id)",
)
_EVENT_COLS = (
    "id, name, source, correlation_id, causation_id, at, payload, meta, priority, taxonomy_version, event_version"
)
_COLS = _EVENT_COLS + ", pipeline, reliability, created_by_key"


def event_row(event: Event, pipeline: str, reliability: str, key: str | None) -> tuple[Any, ...]:
    """Encode ``event`` as the values of an ``events`` row (pure; no database).

    Raises:
        UnencodableMessage: the payload or meta holds a value msgpack cannot carry.
    """
    return (
        event.id,
        event.name,
        event.source,
        event.correlation_id,
        event.causation_id,
        iso(event.at),
        pack_value(event.payload),
        pack_value(event.meta),
        event.priority,
        event.taxonomy_version,
        event.event_version,
        pipeline,
        reliability,
        key,
    )


class FlowStore(StoreBase):
    """Flow's tables; open with ``await FlowStore.open(path)``."""

    STATEMENTS = _DDL
    EFFECT_TABLES = ("events",)

    async def insert_event(self, conn: Connection, row: tuple[Any, ...]) -> bool:
        """Store an event made by :func:`event_row`; False when its id was already stored."""
        cursor = await conn.execute(f"INSERT OR IGNORE INTO events ({_COLS}) VALUES ({', '.join('?' * 14)})", row)
        return cursor.rowcount == 1

    async def tail(self, limit: int, name_prefix: str = "", correlation_id: str | None = None) -> list[Event]:
        """The newest ``limit`` stored events matching the filters, oldest first."""
        where, params = ["substr(name, 1, ?) = ?"], [len(name_prefix), name_prefix]
        if correlation_id is not None:
            where.append("correlation_id = ?")
            params.append(correlation_id)
        rows = await self.db.fetchall(
            f"SELECT {_EVENT_COLS} FROM events WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?", (*params, limit)
        )
        return [_event(r) for r in reversed(rows)]

    async def count(self) -> int:
        """How many events are stored."""
        row = await self.db.fetchone("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0


def _event(r: Sequence[Any] | Row) -> Event:
    return Event.model_validate(
        {
            "id": r[0],
            "name": r[1],
            "source": r[2],
            "correlation_id": r[3],
            "causation_id": r[4],
            "at": parse_iso(r[5]),
            "payload": unpack_value(r[6]),
            "meta": unpack_value(r[7]),
            "priority": r[8],
            "taxonomy_version": r[9],
            "event_version": r[10],
        }
    )
