"""Gate's database: users, magic-link tokens, the mail outbox (and the ledger).

Schema (version 1; every effect row names the idempotency key that made it)::

    users(id TEXT PRIMARY KEY,                       -- UUID v7
          email TEXT NOT NULL UNIQUE COLLATE NOCASE, -- Ada@x.org == ada@x.org
          created_via TEXT NOT NULL, correlation_id TEXT,
          created_at TEXT NOT NULL, created_by_key TEXT NOT NULL UNIQUE)
    tokens(token TEXT PRIMARY KEY,                   -- UUID v7
           email TEXT NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL,
           revoked_at TEXT, correlation_id TEXT, created_by_key TEXT NOT NULL UNIQUE)
    outbox(message_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, subject TEXT NOT NULL,
           body TEXT NOT NULL, headers BLOB NOT NULL,  -- codec-packed map
           correlation_id TEXT, created_at TEXT NOT NULL, created_by_key TEXT)

The write methods take the open transaction's connection (they run inside
:meth:`~sagaline.storage.idempotency.StoreBase.apply_once`); the queries
read committed state. Raises :class:`~sagaline.storage.errors.StorageError`
on any SQLite failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from sqlite3 import Row
from typing import Any

import thunderline.messages.gate  # noqa: F401  registers gate replies, which the ledger decodes
from sagaline.messages.codec import pack_value, unpack_value
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, parse_iso, parse_iso_or_none

__all__ = ["GateStore", "UserRow", "TokenRow", "OutboxRow"]

_DDL = (
    """CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_via TEXT NOT NULL,
        correlation_id TEXT,
        created_at TEXT NOT NULL,
        created_by_key TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT,
        correlation_id TEXT,
        created_by_key TEXT NOT NULL UNIQUE)""",
    "CREATE INDEX IF NOT EXISTS tokens_by_email ON tokens (email COLLATE NOCASE)",
    """CREATE TABLE IF NOT EXISTS outbox (
        message_id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        headers BLOB NOT NULL,
        correlation_id TEXT,
        created_at TEXT NOT NULL,
        created_by_key TEXT)""",
)


@dataclass(frozen=True)
class UserRow:
    """A user."""

    id: str
    email: str
    created_via: str
    correlation_id: str | None
    created_at: datetime
    created_by_key: str


@dataclass(frozen=True)
class TokenRow:
    """A magic-link token; live while not revoked and ``expires_at`` is ahead."""

    token: str
    email: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    correlation_id: str | None
    created_by_key: str

    def is_live(self, now: datetime) -> bool:
        """True when the token is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class OutboxRow:
    """A mail written to the outbox (the embedded sender's "delivery")."""

    message_id: str
    recipient: str
    subject: str
    body: str
    headers: dict[str, str]
    correlation_id: str | None
    created_at: datetime
    created_by_key: str | None


_USER_COLS = "id, email, created_via, correlation_id, created_at, created_by_key"
_TOKEN_COLS = "token, email, issued_at, expires_at, revoked_at, correlation_id, created_by_key"
_OUTBOX_COLS = "message_id, recipient, subject, body, headers, correlation_id, created_at, created_by_key"


class GateStore(StoreBase):
    """Gate's tables; open with ``await GateStore.open(path)``."""

    STATEMENTS = _DDL
    EFFECT_TABLES = ("users", "tokens", "outbox")

    # -- writes (inside a transaction) ------------------------------------

    async def email_taken(self, conn: Connection, email: str) -> bool:
        """True when a user with ``email`` (any letter case) exists."""
        return bool(await conn.execute_fetchall("SELECT 1 FROM users WHERE email = ?", (email,)))

    async def insert_user(self, conn: Connection, user: UserRow) -> None:
        """Insert ``user`` (check :meth:`email_taken` first, in the same transaction)."""
        await conn.execute(f"INSERT INTO users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?)", _encoded(user))

    async def delete_user_by_key(self, conn: Connection, key: str) -> UserRow | None:
        """Delete the user made under idempotency key ``key``; return it, or None if none."""
        rows = await conn.execute_fetchall(f"DELETE FROM users WHERE created_by_key = ? RETURNING {_USER_COLS}", (key,))
        return _user(rows[0]) if rows else None

    async def insert_token(self, conn: Connection, token: TokenRow) -> None:
        """Insert a token row."""
        await conn.execute(f"INSERT INTO tokens ({_TOKEN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)", _encoded(token))

    async def revoke_token_by_key(self, conn: Connection, key: str, now: datetime) -> str | None:
        """Revoke the token made under ``key`` (kept revoked if already); return it or None."""
        rows = await conn.execute_fetchall(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE created_by_key = ? RETURNING token",
            (iso(now), key),
        )
        return rows[0][0] if rows else None

    async def revoke_live_tokens(self, conn: Connection, email: str, now: datetime) -> int:
        """Revoke every live token of ``email``; return how many."""
        cursor = await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE email = ? COLLATE NOCASE AND revoked_at IS NULL AND expires_at > ?",
            (iso(now), email, iso(now)),
        )
        return cursor.rowcount

    async def insert_outbox(self, mail: OutboxRow) -> None:
        """Write a mail to the outbox, joining the caller's transaction when one is open."""
        async with self.db.join() as conn:
            await conn.execute(f"INSERT INTO outbox ({_OUTBOX_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _encoded(mail))

    # -- queries ------------------------------------------------------------

    async def users(self) -> list[UserRow]:
        """Every user, oldest first."""
        rows = await self.db.fetchall(f"SELECT {_USER_COLS} FROM users ORDER BY created_at, id")
        return [_user(r) for r in rows]

    async def tokens(self) -> list[TokenRow]:
        """Every token, live or not, oldest first."""
        rows = await self.db.fetchall(f"SELECT {_TOKEN_COLS} FROM tokens ORDER BY issued_at, token")
        return [_token(r) for r in rows]

    async def live_tokens(self, now: datetime, email: str | None = None) -> list[TokenRow]:
        """Tokens neither revoked nor expired at ``now`` (of ``email`` only, when given)."""
        sql = (
            f"SELECT {_TOKEN_COLS} FROM tokens WHERE revoked_at IS NULL AND expires_at > ?"
            + ("" if email is None else " AND email = ? COLLATE NOCASE")
            + " ORDER BY issued_at, token"
        )
        params = (iso(now),) if email is None else (iso(now), email)
        return [_token(r) for r in await self.db.fetchall(sql, params)]

    async def outbox(self) -> list[OutboxRow]:
        """Every outbox mail, oldest first."""
        rows = await self.db.fetchall(f"SELECT {_OUTBOX_COLS} FROM outbox ORDER BY rowid")
        return [_mail(r) for r in rows]


def _encoded(row: UserRow | TokenRow | OutboxRow) -> tuple[Any, ...]:
    return tuple(_column(value) for value in astuple(row))


def _column(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return pack_value(value)
    return value


def _user(r: Sequence[Any] | Row) -> UserRow:
    return UserRow(r[0], r[1], r[2], r[3], parse_iso(r[4]), r[5])


def _token(r: Sequence[Any] | Row) -> TokenRow:
    return TokenRow(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]), parse_iso_or_none(r[4]), r[5], r[6])


def _mail(r: Sequence[Any] | Row) -> OutboxRow:
    return OutboxRow(r[0], r[1], r[2], r[3], unpack_value(r[4]), r[5], parse_iso(r[6]), r[7])
