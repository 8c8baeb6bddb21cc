"""Block's database: storage vaults (and the ledger).

Schema (version 1)::

    vaults(id TEXT PRIMARY KEY,                 -- UUID v7
           user_id TEXT NOT NULL,               -- gate's user; no foreign key:
                                                -- each domain owns its own database
           capacity_bytes INTEGER NOT NULL CHECK (capacity_bytes > 0),
           tier TEXT NOT NULL, encrypted INTEGER NOT NULL,  -- 0/1
           correlation_id TEXT, created_at TEXT NOT NULL,
           created_by_key TEXT NOT NULL UNIQUE)

Write methods take the open transaction's connection; queries read committed
state. Raises :class:`~sagaline.storage.errors.StorageError` on SQLite failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import thunderline.messages.block  # noqa: F401  registers block replies, which the ledger decodes
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, parse_iso

__all__ = ["BlockStore", "VaultRow"]

_DDL = (
    """CREATE TABLE IF NOT EXISTS vaults (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        capacity_bytes INTEGER NOT NULL CHECK (capacity_bytes > 0),
        tier TEXT NOT NULL,
        encrypted INTEGER NOT NULL,
        correlation_id TEXT,
        created_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL UNIQUE)""",
    "CREATE INDEX IF NOT EXISTS vaults_by_user ON vaults (user_id)",
)
_COLS = "id, user_id, capacity_bytes, tier, encrypted, correlation_id, created_at, created_by_key"


@dataclass(frozen=True)
class VaultRow:
    """A vault."""

    id: str
    user_id: str
    capacity_bytes: int
    tier: str
    encrypted: bool
    correlation_id: str | None
    created_at: datetime
    created_by_key: str


class BlockStore(StoreBase):
    """Block's tables; open with ``await BlockStore.open(path)``."""

    STATEMENTS = _DDL
    EFFECT_TABLES = ("vaults",)

    async def insert_vault(self, conn: Connection, vault: VaultRow) -> None:
        """Insert a vault row."""
        await conn.execute(
            f"INSERT INTO vaults ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vault.id,
                vault.user_id,
                vault.capacity_bytes,
                vault.tier,
                int(vault.encrypted),
                vault.correlation_id,
                iso(vault.created_at),
                vault.created_by_key,
            ),
        )

    async def delete_vault_by_key(self, conn: Connection, key: str) -> str | None:
        """Delete the vault made under idempotency key ``key``; return its id, or None."""
        rows = await conn.execute_fetchall("DELETE FROM vaults WHERE created_by_key = ? RETURNING id", (key,))
        return rows[0][0] if rows else None

    async def vaults(self, user_id: str | None = None) -> list[VaultRow]:
        """Every vault (of ``user_id`` only, when given), oldest first."""
        where, params = ("", ()) if user_id is None else (" WHERE user_id = ?", (user_id,))
        rows = await self.db.fetchall(f"SELECT {_COLS} FROM vaults{where} ORDER BY created_at, id", params)
        return [VaultRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5], parse_iso(r[6]), r[7]) for r in rows]
