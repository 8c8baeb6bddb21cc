"""The stock domain actor: registered as ``domain:stock``, owning ``<data_dir>/stock.sqlite``.

A :class:`~sagaline.actors.domain.DomainActor` needs only its domain's name,
its store class and how to build its service from the store and the
``[domains.stock]`` settings; the base opens the database inside the
actor's own process and answers each command with the service's reply.
"""

from __future__ import annotations

from typing import Any

from inventory.service import StockService, StockSettings
from inventory.store import StockStore
from sagaline.actors.domain import DomainActor

__all__ = ["StockActor"]


class StockActor(DomainActor):
    """Items in stock and their reservations."""

    DOMAIN = "stock"
    STORE = StockStore

    def build_service(self, store: StockStore, config: dict[str, Any]) -> StockService:
        return StockService(store, config=StockSettings(**config))
