"""The stock domain's database: items in stock and the reservations orders made.

Schema (version 1)::

    stock(sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL CHECK (quantity >= 0))
    reservations(id TEXT PRIMARY KEY, sku, quantity, correlation_id, created_at,
                 created_by_key TEXT NOT NULL UNIQUE)   -- the Reserve's idempotency key

:class:`~sagaline.storage.idempotency.StoreBase` adds the ledger that makes
every effect happen at most once, and opens and closes the database.
"""

from __future__ import annotations

import inventory.messages  # noqa: F401  registers the replies, which the ledger decodes
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase

__all__ = ["StockStore"]


class StockStore(StoreBase):
    """Open with ``await StockStore.open(path)``; write methods take the open transaction."""

    STATEMENTS = (
        "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL CHECK (quantity >= 0))",
        """CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, sku TEXT NOT NULL,
            quantity INTEGER NOT NULL, correlation_id TEXT, created_at TEXT NOT NULL,
            created_by_key TEXT NOT NULL UNIQUE)""",
    )
    EFFECT_TABLES = ("reservations",)

    async def add(self, conn: Connection, sku: str, quantity: int) -> int:
        """Add ``quantity`` of ``sku``; return how many there are now."""
        rows = await conn.execute_fetchall(
            "INSERT INTO stock (sku, quantity) VALUES (?, ?) ON CONFLICT (sku) DO UPDATE "
            "SET quantity = stock.quantity + excluded.quantity RETURNING quantity",
            (sku, quantity),
        )
        return rows[0][0]

    async def quantity(self, conn: Connection, sku: str) -> int:
        """How many of ``sku`` are in stock (0 when unknown)."""
        rows = await conn.execute_fetchall("SELECT quantity FROM stock WHERE sku = ?", (sku,))
        return rows[0][0] if rows else 0

    async def reserve(self, conn: Connection, row: tuple) -> None:
        """Insert a reservation ``(id, sku, quantity, correlation_id, created_at, key)`` and take its items."""
        await conn.execute("INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?)", row)
        await conn.execute("UPDATE stock SET quantity = quantity - ? WHERE sku = ?", (row[2], row[1]))

    async def release(self, conn: Connection, key: str) -> str | None:
        """Delete the reservation made under ``key`` and put its items back; its id, or None."""
        rows = await conn.execute_fetchall(
            "DELETE FROM reservations WHERE created_by_key = ? RETURNING id, sku, quantity", (key,)
        )
        if not rows:
            return None
        await self.add(conn, rows[0][1], rows[0][2])
        return rows[0][0]

    async def levels(self) -> list[tuple[str, int]]:
        """Every ``(sku, quantity)``, by sku."""
        return [(r[0], r[1]) for r in await self.db.fetchall("SELECT sku, quantity FROM stock ORDER BY sku")]
