"""The event bus actor (registered as ``domain:flow``): runtime infrastructure.

A :class:`~sagaline.actors.domain.DomainActor` over
:class:`~sagaline.domains.flow.FlowService`: it validates each published
event against the taxonomy, stores the persistent ones and delivers them to
the actors subscribed to them. Service settings come from the child spec's
``config``: ``mode`` (warn | raise | drop), ``transient_ring``, ``max_tail``.

Which event names and sources are legal is not the bus's to know: the
runtime's own events (``reactor.saga.*``, ``flow.reactor.retry``,
``audit.event_drop``) are registered by :mod:`sagaline.events`, each app's
by its :class:`~sagaline.apps.App` record. The bus therefore loads the apps
named in its ``apps`` arg (spec strings, once per process) before it
serves, so an app's known events are validated here as they are where they
are emitted.
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.domain import DomainActor
from sagaline.actors.domain_args import FlowArgs
from sagaline.domains.flow import FlowConfig, FlowService, InvalidPattern
from sagaline.events.flow import (
    EventDelivery,
    EventsSubscribed,
    FlowError,
    PublishEvent,
    SubscribeEvents,
    TailEvents,
    UnsubscribeEvents,
)
from sagaline.storage.errors import StorageError
from sagaline.storage.flow_store import FlowStore
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["FlowActor"]


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

    ARGS = FlowArgs

    def on_start(self, args: dict[str, Any]) -> None:
        from sagaline.apps import load_apps

        load_apps(FlowArgs.parse(args).apps, entry_points=False)  # registers the apps' event taxonomy
        self.deliveries: list[tuple[Any, EventDelivery]] = []
        super().on_start(args)

    def build_service(self, store: FlowStore, config: dict[str, Any]) -> FlowService:
        return FlowService(store, config=FlowConfig(**config))

    async def handle(self, command: Any, sender: Any) -> Any:
        if not isinstance(command, PublishEvent):
            return await super().handle(command, sender)
        publication = await self.service.publish(command)
        self.deliveries.extend(
            (d.subscriber, EventDelivery(event=publication.event, pattern=d.pattern)) for d in publication.deliveries
        )
        _emit_publication(command, publication)
        return publication.reply

    def after_answer(self) -> None:
        """Deliver what was published, once it is stored (after the batch's commit)."""
        deliveries, self.deliveries = self.deliveries, []
        for subscriber, delivery in deliveries:
            self.send(subscriber, delivery)

    def receive_SubscribeEvents(self, message: SubscribeEvents, sender: Any) -> None:
        try:
            reply: EventsSubscribed | FlowError = self.service.subscribe(message.subscriber or sender, message.pattern)
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
    meta = {
        "name": command.event.name,
        "correlation_id": command.headers.correlation_id,
        "pipeline": reply.pipeline,
        "accepted": reply.accepted,
    }
    telemetry.execute(tn.EVENT_VALIDATED, {"count": 1}, meta)
    if not reply.accepted:
        telemetry.execute(tn.EVENT_DROPPED, {"count": 1}, {**meta, "reason": reply.reason})
    telemetry.execute(
        tn.EVENT_ENQUEUE, {"count": 1}, {**meta, "reliability": "persistent" if reply.stored else "transient"}
    )
    telemetry.execute(tn.EVENT_PUBLISH, {"delivered": len(publication.deliveries)}, meta)
