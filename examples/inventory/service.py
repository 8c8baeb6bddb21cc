"""The stock domain's logic: plain async code over the store, no actor in sight.

Every effect goes through ``store.apply_once``: a command whose idempotency
key was seen before is answered with the first answer, never applied twice.
``Release`` (the undo of ``Reserve``) that finds nothing to release forbids
the reservation, so a late ``Reserve`` with that key cannot take items after
its saga rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass

from inventory.messages import Item, Levels, Release, Released, Reserve, Reserved, Restock, Restocked, StockLevels
from inventory.store import StockStore
from sagaline.domains.service import answer
from sagaline.messages.base import Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure, forbid
from sagaline.storage.sqlite import Clock, iso, read_clock, utc_now

__all__ = ["StockSettings", "StockService"]


@dataclass(frozen=True)
class StockSettings:
    """What ``[domains.stock]`` may hold in the daemon's config."""

    max_order: int = 100
    """Most items one reservation may take."""


class StockService:
    """The stock, over a :class:`StockStore`."""

    def __init__(self, store: StockStore, clock: Clock = utc_now, config: StockSettings = StockSettings()) -> None:
        self.store, self.config, self._clock = store, config, clock
        self._handlers = {
            Restock: self._restock,
            Reserve: self._reserve,
            Release: self._release,
            StockLevels: self._levels,
        }

    async def start(self) -> None:
        """Nothing to prepare."""

    async def handle(self, command: object) -> Reply:
        """Answer one command; failures are ``CommandFailed`` replies, never exceptions."""
        return await answer(command, self._handlers)

    async def _restock(self, cmd: Restock) -> Reply:
        async def effect(conn: Connection) -> Reply:
            return Restocked(
                headers=cmd.headers, sku=cmd.sku, quantity=await self.store.add(conn, cmd.sku, cmd.quantity)
            )

        return await self.store.apply_once(cmd, effect, read_clock(self._clock))

    async def _reserve(self, cmd: Reserve) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            have = await self.store.quantity(conn, cmd.sku)
            if cmd.quantity > min(have, self.config.max_order):
                return failure(cmd, "out_of_stock", f"{cmd.quantity} x {cmd.sku} wanted, {have} in stock")
            reservation = uuid7()
            await self.store.reserve(
                conn,
                (reservation, cmd.sku, cmd.quantity, cmd.headers.correlation_id, iso(now), cmd.headers.idempotency_key),
            )
            return Reserved(headers=cmd.headers, reservation_id=reservation, left=have - cmd.quantity)

        return await self.store.apply_once(cmd, effect, now)

    async def _release(self, cmd: Release) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            released = await self.store.release(conn, cmd.effect_key)
            if released is None:
                await forbid(conn, cmd, cmd.effect_key, Reserve.__name__, now)
            return Released(headers=cmd.headers, reservation_id=released)

        return await self.store.apply_once(cmd, effect, now)

    async def _levels(self, cmd: StockLevels) -> Reply:
        return Levels(headers=cmd.headers, items=[Item(sku=s, quantity=q) for s, q in await self.store.levels()])
