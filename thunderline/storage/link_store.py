"""Link's database: communities and memberships (and the ledger).

Schema (version 1)::

    communities(id TEXT PRIMARY KEY,            -- UUID v7
                name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)
    memberships(id TEXT PRIMARY KEY,            -- UUID v7
                community_id TEXT NOT NULL REFERENCES communities(id),
                user_id TEXT NOT NULL,          -- gate's user; no cross-domain key
                role TEXT NOT NULL, correlation_id TEXT, created_at TEXT NOT NULL,
                created_by_key TEXT NOT NULL UNIQUE,
                UNIQUE (community_id, user_id))   -- one membership per pair

Communities are configuration (the default one is made at startup), not
command effects, so they carry no ``created_by_key``. Write methods take the
open transaction's connection. Raises
:class:`~sagaline.storage.errors.StorageError` on SQLite failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import thunderline.messages.link  # noqa: F401  registers link replies, which the ledger decodes
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, parse_iso

__all__ = ["LinkStore", "CommunityRow", "MembershipRow"]

_DDL = (
    """CREATE TABLE IF NOT EXISTS communities (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS memberships (
        id TEXT PRIMARY KEY,
        community_id TEXT NOT NULL REFERENCES communities(id),
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        correlation_id TEXT,
        created_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL UNIQUE,
        UNIQUE (community_id, user_id))""",
    "CREATE INDEX IF NOT EXISTS memberships_by_user ON memberships (user_id)",
)
_COLS = "id, community_id, user_id, role, correlation_id, created_at, created_by_key"


@dataclass(frozen=True)
class CommunityRow:
    """A community."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class MembershipRow:
    """A user's membership of a community."""

    id: str
    community_id: str
    user_id: str
    role: str
    correlation_id: str | None
    created_at: datetime
    created_by_key: str


class LinkStore(StoreBase):
    """Link's tables; open with ``await LinkStore.open(path)``."""

    STATEMENTS = _DDL
    EFFECT_TABLES = ("memberships",)

    async def ensure_community(self, name: str, now: datetime) -> CommunityRow:
        """Return the community called ``name``, creating it first if missing.

        Joins the caller's transaction when one is open.
        """
        async with self.db.join() as conn:
            rows = await conn.execute_fetchall("SELECT id, name, created_at FROM communities WHERE name = ?", (name,))
            if rows:
                return CommunityRow(rows[0][0], rows[0][1], parse_iso(rows[0][2]))
            row = (uuid7(), name, iso(now))
            await conn.execute("INSERT INTO communities (id, name, created_at) VALUES (?, ?, ?)", row)
        return CommunityRow(row[0], row[1], parse_iso(row[2]))

    async def community_exists(self, conn: Connection, community_id: str) -> bool:
        """True when a community with id ``community_id`` exists."""
        return bool(await conn.execute_fetchall("SELECT 1 FROM communities WHERE id = ?", (community_id,)))

    async def is_member(self, conn: Connection, community_id: str, user_id: str) -> bool:
        """True when ``user_id`` already belongs to ``community_id``."""
        return bool(
            await conn.execute_fetchall(
                "SELECT 1 FROM memberships WHERE community_id = ? AND user_id = ?", (community_id, user_id)
            )
        )

    async def insert_membership(self, conn: Connection, m: MembershipRow) -> None:
        """Insert a membership (check :meth:`is_member` first, in the same transaction)."""
        await conn.execute(
            f"INSERT INTO memberships ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (m.id, m.community_id, m.user_id, m.role, m.correlation_id, iso(m.created_at), m.created_by_key),
        )

    async def delete_membership_by_key(self, conn: Connection, key: str) -> str | None:
        """Delete the membership made under ``key``; return its id, or None if none."""
        rows = await conn.execute_fetchall("DELETE FROM memberships WHERE created_by_key = ? RETURNING id", (key,))
        return rows[0][0] if rows else None

    async def communities(self) -> list[CommunityRow]:
        """Every community, oldest first."""
        rows = await self.db.fetchall("SELECT id, name, created_at FROM communities ORDER BY created_at, id")
        return [CommunityRow(r[0], r[1], parse_iso(r[2])) for r in rows]

    async def memberships(self, user_id: str | None = None) -> list[MembershipRow]:
        """Every membership (of ``user_id`` only, when given), oldest first."""
        where, params = ("", ()) if user_id is None else (" WHERE user_id = ?", (user_id,))
        rows = await self.db.fetchall(f"SELECT {_COLS} FROM memberships{where} ORDER BY created_at, id", params)
        return [MembershipRow(r[0], r[1], r[2], r[3], r[4], parse_iso(r[5]), r[6]) for r in rows]
