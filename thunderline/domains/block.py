"""The block domain: storage vaults (the logic behind the block actor).

:class:`BlockService` answers :mod:`thunderline.messages.block` commands with
``await service.handle(command)``, always with a Reply; each idempotency key
is applied at most once and a duplicate gets the first answer.

``ProvisionVault``
    ``VaultProvisioned`` (id UUID v7; capacity 1 GiB, tier standard,
    encrypted by default, as the command's defaults say);
    ``vault_provisioning_failed`` when ``capacity_bytes`` is not in
    ``1..config.max_capacity_bytes``. Whether the user exists is not
    block's business: gate owns users, and domains share no database.
``DeprovisionVault``
    ``VaultDeprovisioned(vault_id)`` for the vault made under
    ``effect_key``; ``vault_id=None`` when none was (the undo of an
    effect that never happened; a ``ProvisionVault`` with that key arriving
    later is refused with ``undone_before_applied``).

Every command may also fail with the shared codes of
:func:`~sagaline.domains.service.answer` and
:func:`~sagaline.storage.idempotency.apply_once`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.domains.service import Handler, answer
from sagaline.messages.base import Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure, forbid
from sagaline.storage.sqlite import Clock, read_clock, utc_now
from thunderline.messages.block import DeprovisionVault, ProvisionVault, VaultDeprovisioned, VaultProvisioned
from thunderline.storage.block_store import BlockStore, VaultRow

__all__ = ["BlockConfig", "BlockService"]


@dataclass(frozen=True)
class BlockConfig:
    """Block's settings."""

    max_capacity_bytes: int = 1 << 40
    """Largest vault accepted (1 TiB): a typo of a few digits is refused, not provisioned."""


class BlockService:
    """Vaults over a :class:`BlockStore`."""

    def __init__(self, store: BlockStore, clock: Clock = utc_now, config: BlockConfig = BlockConfig()) -> None:
        """Args: store: block's open store; clock: aware UTC now; config: :class:`BlockConfig`."""
        self.store = store
        self.config = config
        self._clock = clock
        self._handlers: dict[type, Handler] = {ProvisionVault: self._provision, DeprovisionVault: self._deprovision}

    async def start(self) -> None:
        """Nothing to prepare (present so every service starts alike)."""

    async def handle(self, command: object) -> Reply:
        """Apply one block command; outcomes in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    async def vaults(self, user_id: str | None = None) -> list[VaultRow]:
        """Every vault, or ``user_id``'s (tests, CLI)."""
        return await self.store.vaults(user_id)

    async def _provision(self, cmd: ProvisionVault) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            if not 0 < cmd.capacity_bytes <= self.config.max_capacity_bytes:
                return failure(
                    cmd,
                    "vault_provisioning_failed",
                    f"capacity_bytes {cmd.capacity_bytes} is not in 1..{self.config.max_capacity_bytes}",
                )
            vault = VaultRow(
                uuid7(),
                cmd.user_id,
                cmd.capacity_bytes,
                cmd.tier,
                cmd.encrypted,
                cmd.headers.correlation_id,
                now,
                cmd.headers.idempotency_key or "",
            )
            await self.store.insert_vault(conn, vault)
            return VaultProvisioned(
                headers=cmd.headers,
                vault_id=vault.id,
                user_id=vault.user_id,
                capacity_bytes=vault.capacity_bytes,
                tier=vault.tier,
                encrypted=vault.encrypted,
            )

        return await self.store.apply_once(cmd, effect, now)

    async def _deprovision(self, cmd: DeprovisionVault) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            vault_id = await self.store.delete_vault_by_key(conn, cmd.effect_key)
            if vault_id is None:
                await forbid(conn, cmd, cmd.effect_key, ProvisionVault.__name__, now)
            return VaultDeprovisioned(headers=cmd.headers, vault_id=vault_id)

        return await self.store.apply_once(cmd, effect, now)
