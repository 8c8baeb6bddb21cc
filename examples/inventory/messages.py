"""PURE. What the stock domain actor is asked, and what it answers.

Every command carries headers (correlation id, idempotency key); the actor
applies each key at most once, so a re-sent command is harmless. An undo
(``Release``) names the effect it reverses by that effect's key.
"""

from __future__ import annotations

from pydantic import Field

from sagaline.messages.base import Command, Message, Reply

__all__ = ["Restock", "Restocked", "Reserve", "Reserved", "Release", "Released", "StockLevels", "Item", "Levels"]


class Restock(Command):
    """Add ``quantity`` items of ``sku`` to the stock (an admin command: ``sagaline app run restock``)."""

    sku: str = Field(min_length=1, max_length=64)
    """The item."""
    quantity: int = Field(ge=1)
    """How many to add."""


class Restocked(Reply):
    """Answer to :class:`Restock`."""

    sku: str
    """The item."""
    quantity: int
    """How many are in stock now."""


class Reserve(Command):
    """Take ``quantity`` items of ``sku`` out of the stock for an order (``out_of_stock`` when too few)."""

    sku: str
    """The item."""
    quantity: int = Field(ge=1)
    """How many."""


class Reserved(Reply):
    """Answer to :class:`Reserve`."""

    reservation_id: str
    """The reservation (UUID v7)."""
    left: int
    """How many of the item are left in stock."""


class Release(Command):
    """Put back the items the :class:`Reserve` with idempotency key ``effect_key`` took."""

    effect_key: str
    """The reservation's idempotency key."""


class Released(Reply):
    """Answer to :class:`Release`: None when that key reserved nothing (it never will now)."""

    reservation_id: str | None
    """The reservation undone."""


class StockLevels(Command):
    """Every item and how many are in stock (an admin command: ``sagaline app run stock_levels``)."""


class Item(Message):
    """One stock row."""

    sku: str
    """The item."""
    quantity: int
    """How many are in stock."""


class Levels(Reply):
    """Answer to :class:`StockLevels`."""

    items: list[Item]
    """Every item, by sku."""
