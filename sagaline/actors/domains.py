"""The domain actors of UserProvisioning: gate, block, link, and flow (the event bus).

Each is a :class:`~sagaline.actors.domain.DomainActor` over its service
(:mod:`sagaline.domains`); they differ only in how the service is opened,
and flow also delivers published events to the actors subscribed to them.

Service settings come from the child spec's ``config``:

* gate: ``base_url``, ``subject``, ``mail_domain`` (:class:`GateConfig`) and
  ``smtp`` (a :class:`SmtpConfig` mapping: magic links go through that
  server; absent: the outbox table, the embedded default);
* link: ``default_community``;
* block: ``max_capacity_bytes``;
* flow: ``mode`` (warn | raise | drop), ``transient_ring``, ``max_tail``.
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.domain import DomainActor
from sagaline.domains.block import BlockConfig, BlockService
from sagaline.domains.flow import FlowConfig, FlowService, InvalidPattern
from sagaline.domains.gate import GateConfig, GateService
from sagaline.domains.link import LinkConfig, LinkService
from sagaline.domains.mail import SmtpConfig, SmtpSender
from sagaline.messages.flow import (EventDelivery, EventsSubscribed, FlowError, PublishEvent,
                                    SubscribeEvents, TailEvents, UnsubscribeEvents)
from sagaline.storage.block_store import BlockStore
from sagaline.storage.errors import StorageError
from sagaline.storage.flow_store import FlowStore
from sagaline.storage.gate_store import GateStore
from sagaline.storage.link_store import LinkStore
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["GateActor", "BlockActor", "LinkActor", "FlowActor"]


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


class FlowActor(DomainActor):
    """The event bus: validates, stores persistent events, delivers to subscribers.

    Publishing never fails the publisher (see :mod:`sagaline.domains.flow`).
    Each answered publish emits the bus's telemetry events: validated,
    dropped (when the validator dropped it), enqueue and publish.
    Subscribers are actors; one that has died simply stops receiving (its
    deliveries become dead letters).
    """

    DOMAIN = "flow"

    STORE = FlowStore

    def build_service(self, store: FlowStore, config: dict[str, Any]) -> FlowService:
        return FlowService(store, config=FlowConfig(**config))

    def on_start(self, args: dict[str, Any]) -> None:
        self.deliveries: list[tuple[Any, EventDelivery]] = []
        super().on_start(args)

    async def handle(self, command: Any, sender: Any) -> Any:
        if not isinstance(command, PublishEvent):
            return await super().handle(command, sender)
        publication = await self.service.publish(command)
        self.deliveries.extend((d.subscriber, EventDelivery(event=publication.event, pattern=d.pattern))
                               for d in publication.deliveries)
        _emit_publication(command, publication)
        return publication.reply

    def after_answer(self) -> None:
        """Deliver what was published, once it is stored (after the batch's commit)."""
        deliveries, self.deliveries = self.deliveries, []
        for subscriber, delivery in deliveries:
            self.send(subscriber, delivery)

    def receive_SubscribeEvents(self, message: SubscribeEvents, sender: Any) -> None:
        try:
            reply: EventsSubscribed | FlowError = self.service.subscribe(message.subscriber or sender,
                                                                         message.pattern)
        except InvalidPattern as exc:
            reply = FlowError(code="invalid_pattern", message=str(exc))
        self.send(sender, reply)

    def receive_UnsubscribeEvents(self, message: UnsubscribeEvents, sender: Any) -> None:
        self.service.unsubscribe(sender, message.pattern)

    def receive_TailEvents(self, message: TailEvents, sender: Any) -> None:
        try:
            self.send(sender, self.run(self.service.tail(message)))
        except StorageError as exc:
            self.send(sender, FlowError(code="storage_unavailable", message=str(exc)))


def _emit_publication(command: PublishEvent, publication: Any) -> None:
    """Telemetry for one publish: validated, dropped (when it was), enqueue, publish."""
    reply = publication.reply
    if not hasattr(reply, "accepted"):
        return  # CommandFailed: not stored, nothing delivered
    meta = {"name": command.event.name, "correlation_id": command.headers.correlation_id,
            "pipeline": reply.pipeline, "accepted": reply.accepted}
    telemetry.execute(tn.EVENT_VALIDATED, {"count": 1}, meta)
    if not reply.accepted:
        telemetry.execute(tn.EVENT_DROPPED, {"count": 1}, {**meta, "reason": reply.reason})
    telemetry.execute(tn.EVENT_ENQUEUE, {"count": 1},
                      {**meta, "reliability": "persistent" if reply.stored else "transient"})
    telemetry.execute(tn.EVENT_PUBLISH, {"delivered": len(publication.deliveries)}, meta)
