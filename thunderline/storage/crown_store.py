"""Crown's database: the audit trail of policy decisions (and the ledger).

Schema (version 1)::

    decisions(id TEXT PRIMARY KEY,                 -- UUID v7
              decided_at TEXT NOT NULL, action TEXT NOT NULL,
              subject BLOB NOT NULL,                -- codec-packed map, datetimes kept
              effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
              reasons TEXT NOT NULL, failed TEXT NOT NULL,   -- JSON lists
              policy_id TEXT NOT NULL, policy_version INTEGER NOT NULL,
              correlation_id TEXT, created_by_key TEXT NOT NULL UNIQUE)

One row per decision, written in the same transaction as the ledger row of
the command that asked for it, so a re-sent command adds no second row.
Raises :class:`~sagaline.storage.errors.StorageError` on SQLite failure.
"""

from __future__ import annotations

import json
from typing import Any

import thunderline.messages.crown  # noqa: F401  registers crown replies, which the ledger decodes
from sagaline.messages.codec import pack_value, unpack_value
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase
from sagaline.storage.sqlite import iso, parse_iso
from thunderline.messages.crown import DecisionRecord

__all__ = ["CrownStore"]

_DDL = (
    """CREATE TABLE IF NOT EXISTS decisions (
        id TEXT PRIMARY KEY, decided_at TEXT NOT NULL, action TEXT NOT NULL, subject BLOB NOT NULL,
        effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')), reasons TEXT NOT NULL, failed TEXT NOT NULL,
        policy_id TEXT NOT NULL, policy_version INTEGER NOT NULL, correlation_id TEXT,
        created_by_key TEXT NOT NULL UNIQUE)""",
    "CREATE INDEX IF NOT EXISTS decisions_by_run ON decisions (correlation_id)",
)
_COLS = "id, decided_at, action, subject, effect, reasons, failed, policy_id, policy_version, correlation_id"


def _record(r: Any) -> DecisionRecord:
    return DecisionRecord(
        decision_id=r[0],
        decided_at=parse_iso(r[1]),
        action=r[2],
        subject=unpack_value(r[3]),
        effect=r[4],
        reasons=json.loads(r[5]),
        failed=json.loads(r[6]),
        policy_id=r[7],
        policy_version=r[8],
        correlation_id=r[9],
    )


class CrownStore(StoreBase):
    """Crown's audit table; open with ``await CrownStore.open(path)``."""

    STATEMENTS = _DDL
    EFFECT_TABLES = ("decisions",)

    async def insert_decision(self, conn: Connection, d: DecisionRecord, key: str) -> None:
        """Audit one decision made for the command with idempotency key ``key``."""
        await conn.execute(
            f"INSERT INTO decisions ({_COLS}, created_by_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                d.decision_id,
                iso(d.decided_at),
                d.action,
                pack_value(d.subject),
                d.effect,
                json.dumps(d.reasons),
                json.dumps(d.failed),
                d.policy_id,
                d.policy_version,
                d.correlation_id,
                key,
            ),
        )

    async def decisions(
        self, limit: int = 50, correlation_id: str | None = None, effect: str | None = None
    ) -> list[DecisionRecord]:
        """Audited decisions, newest first, optionally of one run or one effect."""
        clauses, params = [], []
        for column, value in (("correlation_id", correlation_id), ("effect", effect)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM decisions {where} ORDER BY decided_at DESC, id DESC LIMIT ?", (*params, max(0, limit))
        )
        return [_record(r) for r in rows]
