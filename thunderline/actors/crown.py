"""The crown domain actor: the policy engine, with its audit trail.

A :class:`~sagaline.actors.domain.DomainActor` over
:class:`~thunderline.domains.crown.CrownService`. ``config`` may hold
``policy_paths`` (a list of TOML policy files; the shipped
``policies/default.toml`` when absent). A bad policy file fails the start:
the supervisor (or :func:`~sagaline.actors.spawn.start_actor`) gets
``InitFailed`` whose detail names the file, the field and the problem.
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.domain import DomainActor
from thunderline.domains.crown import CrownConfig, CrownService, policy_paths
from thunderline.storage.crown_store import CrownStore

__all__ = ["CrownActor"]


class CrownActor(DomainActor):
    """Policy decisions, audited."""

    DOMAIN = "crown"
    STORE = CrownStore

    def build_service(self, store: CrownStore, config: dict[str, Any]) -> CrownService:
        return CrownService(store, config=CrownConfig(policy_paths=policy_paths(config)))
