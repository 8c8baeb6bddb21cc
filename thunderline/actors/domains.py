"""The domain actors of UserProvisioning: gate, block and link.

Each is a :class:`~sagaline.actors.domain.DomainActor` over its service
(:mod:`thunderline.domains`); they differ only in how the service is opened.
The event bus (flow) is the runtime's: :mod:`sagaline.actors.flow`.

Service settings come from the child spec's ``config``:

* gate: ``base_url``, ``subject``, ``mail_domain`` (:class:`GateConfig`) and
  ``smtp`` (a :class:`SmtpConfig` mapping: magic links go through that
  server; absent: the outbox table, the embedded default);
* link: ``default_community``;
* block: ``max_capacity_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagaline.actors.domain import DomainActor
from thunderline.domains.block import BlockConfig, BlockService
from thunderline.domains.gate import GateConfig, GateService
from thunderline.domains.link import LinkConfig, LinkService
from thunderline.domains.mail import SmtpConfig, SmtpSender
from thunderline.storage.block_store import BlockStore
from thunderline.storage.gate_store import GateStore
from thunderline.storage.link_store import LinkStore

__all__ = ["GateActor", "BlockActor", "LinkActor", "GateSettings"]


@dataclass(frozen=True)
class GateSettings(GateConfig):
    """What ``[domains.gate]`` may hold: :class:`GateConfig`'s fields and ``smtp``."""

    smtp: SmtpConfig | None = None
    """Send magic links through this SMTP server; None: to the outbox table (the default)."""


class GateActor(DomainActor):
    """Users, magic-link tokens and the magic-link sender."""

    DOMAIN = "gate"
    STORE = GateStore

    def build_service(self, store: GateStore, config: dict[str, Any]) -> GateService:
        smtp = config.pop("smtp", None)
        sender = SmtpSender(SmtpConfig(**smtp)) if smtp else None
        return GateService(store, config=GateConfig(**config), sender=sender)


class BlockActor(DomainActor):
    """Storage vaults."""

    DOMAIN = "block"
    STORE = BlockStore

    def build_service(self, store: BlockStore, config: dict[str, Any]) -> BlockService:
        return BlockService(store, config=BlockConfig(**config))


class LinkActor(DomainActor):
    """Communities and memberships."""

    DOMAIN = "link"
    STORE = LinkStore

    def build_service(self, store: LinkStore, config: dict[str, Any]) -> LinkService:
        return LinkService(store, config=LinkConfig(**config))
