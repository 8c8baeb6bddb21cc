"""The ``rows`` domain: one table, one row per saga step, written at most once per idempotency key.

Commands: :class:`PutRow` (insert the row of step ``step`` of run ``run``;
``reject`` makes it fail, as a business rule would) and :class:`DeleteRow`
(the undo: delete the row a ``PutRow`` made, named by its key; deleting
first forbids the put from landing later).
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.domain import DomainActor
from sagaline.domains.service import answer
from sagaline.messages.base import Command, Reply
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import StoreBase, failure, forbid
from sagaline.storage.sqlite import iso, utc_now

__all__ = ["PutRow", "RowPut", "DeleteRow", "RowDeleted", "RowsStore", "RowsService", "RowsActor"]


class PutRow(Command):
    """Insert one row for step ``step`` of run ``run``."""

    run: str
    """The run's correlation id."""
    step: int
    """The step (1..7)."""
    reject: bool = False
    """Refuse it (``row_rejected``, not retryable): the benchmark's failing step."""


class RowPut(Reply):
    """The row was inserted."""

    row_id: str
    """The new row's id."""


class DeleteRow(Command):
    """Delete the row that the ``PutRow`` with idempotency key ``effect_key`` inserted."""

    effect_key: str
    """The undone command's key."""


class RowDeleted(Reply):
    """The row is gone (or never landed: it never will now)."""

    deleted: bool
    """False when there was nothing to delete."""


class RowsStore(StoreBase):
    """``rows(id, run, step, created_by_key)``: one row per applied ``PutRow``."""

    STATEMENTS = (
        """CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, run TEXT NOT NULL, step INTEGER NOT NULL,
                     created_at TEXT NOT NULL, created_by_key TEXT NOT NULL UNIQUE)""",
    )
    EFFECT_TABLES = ("rows",)


class RowsService:
    """Applies the two commands through the idempotency ledger."""

    def __init__(self, store: RowsStore, config: Any = None) -> None:
        self.store = store

    async def start(self) -> None:
        pass

    async def handle(self, command: Command) -> Reply:
        return await answer(command, {PutRow: self._put, DeleteRow: self._delete})

    async def _put(self, command: PutRow) -> Reply:
        now = utc_now()

        async def effect(conn: Connection) -> Reply:
            if command.reject:
                return failure(command, "row_rejected", f"step {command.step} refused")
            row_id = f"{command.run}:{command.step}"
            await conn.execute(
                "INSERT INTO rows VALUES (?, ?, ?, ?, ?)",
                (row_id, command.run, command.step, iso(now), command.headers.idempotency_key),
            )
            return RowPut(headers=command.headers, row_id=row_id)

        return await self.store.apply_once(command, effect, now)

    async def _delete(self, command: DeleteRow) -> Reply:
        now = utc_now()

        async def effect(conn: Connection) -> Reply:
            cursor = await conn.execute("DELETE FROM rows WHERE created_by_key = ?", (command.effect_key,))
            if cursor.rowcount == 0:
                await forbid(conn, command, command.effect_key, "PutRow", now)
            return RowDeleted(headers=command.headers, deleted=cursor.rowcount > 0)

        return await self.store.apply_once(command, effect, now)


class RowsActor(DomainActor):
    """The ``rows`` domain actor."""

    DOMAIN = "rows"
    STORE = RowsStore

    def build_service(self, store: RowsStore, config: dict[str, Any]) -> RowsService:
        return RowsService(store)
