"""Commands to the block domain actor (storage vaults) and its replies.

Same conventions as :mod:`thunderline.messages.gate`: idempotency keys, undo by
``effect_key``, failures as ``CommandFailed``.
"""

from __future__ import annotations

from typing import Literal

from sagaline.messages.base import Command, Reply

__all__ = ["ONE_GIB", "ProvisionVault", "VaultProvisioned", "DeprovisionVault", "VaultDeprovisioned"]

#: A vault's default capacity: 1 GiB, as in the original saga.
ONE_GIB = 1_073_741_824


class ProvisionVault(Command):
    """Create a vault for ``user_id``."""

    user_id: str
    """Owner of the vault."""
    capacity_bytes: int = ONE_GIB
    """Capacity in bytes (1 GiB by default)."""
    tier: Literal["standard", "premium"] = "standard"
    """Storage tier."""
    encrypted: bool = True
    """Whether the vault is encrypted at rest."""


class VaultProvisioned(Reply):
    """The vault made by a :class:`ProvisionVault`."""

    vault_id: str
    """The vault's id (UUID v7)."""
    user_id: str
    """Its owner."""
    capacity_bytes: int
    """Its capacity in bytes."""
    tier: str
    """Its tier."""
    encrypted: bool
    """Whether it is encrypted."""


class DeprovisionVault(Command):
    """Remove the vault created by the command whose idempotency key is ``effect_key``."""

    effect_key: str
    """Idempotency key of the :class:`ProvisionVault` that made the vault."""


class VaultDeprovisioned(Reply):
    """Answer to :class:`DeprovisionVault`; a vault that does not exist is not an error."""

    vault_id: str | None
    """The vault removed, or None when none was made under that key."""
