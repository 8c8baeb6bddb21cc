"""The bolt domain actor: UPM snapshots and adapters, NAS datasets, runs and versions.

A :class:`~sagaline.actors.domain.DomainActor` over
:class:`~thunderline.domains.bolt.BoltService`. Child-spec args are the domain
actor's (``db_path``, ``synchronous``, ``config``, ``faults``); ``config``
holds :class:`~thunderline.domains.bolt.BoltConfig` fields
(``seed_builtin_datasets``). Register it under the domain name ``bolt``
(the tree does it as ``domain:bolt``).
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.domain import DomainActor
from thunderline.domains.bolt import BoltConfig, BoltService
from thunderline.storage.bolt_store import BoltStore

__all__ = ["BoltActor"]


class BoltActor(DomainActor):
    """UPM and NAS bookkeeping."""

    DOMAIN = "bolt"
    STORE = BoltStore

    def build_service(self, store: BoltStore, config: dict[str, Any]) -> BoltService:
        return BoltService(store, config=BoltConfig(**config))
