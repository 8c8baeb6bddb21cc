"""Messages of the flow domain actor: the event bus.

Publishing never fails the publisher: an event that breaks the taxonomy is
answered with :class:`EventPublished` (``accepted=False``, the reason and the
``audit.event_drop`` that replaced it) rather than an error, so a saga's emit
step always succeeds; the drop is counted and recorded.
"""

from __future__ import annotations

from sagaline.events.envelope import Event
from sagaline.messages.base import ActorRef, Command, Message, Reply
from sagaline.messages.ids import GivenId

__all__ = [
    "PublishEvent",
    "EventPublished",
    "SubscribeEvents",
    "EventsSubscribed",
    "UnsubscribeEvents",
    "EventDelivery",
    "TailEvents",
    "EventsPage",
    "FlowError",
]


class PublishEvent(Command):
    """Validate, store (when persistent) and deliver ``event``."""

    event: Event
    """The event to publish."""


class EventPublished(Reply):
    """What became of a :class:`PublishEvent`."""

    event_id: str
    """Id of the event that was stored/delivered (the audit event's when dropped)."""
    accepted: bool
    """False when the event broke the taxonomy and was dropped."""
    reason: str = ""
    """Why it was dropped, when it was."""
    pipeline: str = ""
    """The pipeline it was routed to (realtime, cross_domain, general)."""
    stored: bool = False
    """True when it was written durably (persistent events)."""
    delivered: int = 0
    """How many subscribers it was sent to."""


class SubscribeEvents(Message):
    """Deliver events whose name matches ``pattern`` to ``subscriber`` (or the sender)."""

    pattern: str
    """A name pattern: exact, or with ``*`` for one segment and a final ``#`` for the rest."""
    subscriber: ActorRef = None
    """Who receives :class:`EventDelivery` messages; the sender when None."""


class EventsSubscribed(Message):
    """Acknowledges a :class:`SubscribeEvents`."""

    pattern: str
    """The pattern now delivered."""


class UnsubscribeEvents(Message):
    """Stop delivering ``pattern`` to the sender (every pattern when None)."""

    pattern: str | None = None
    """The pattern to drop, or None for all of the sender's."""


class EventDelivery(Message):
    """An event delivered to a subscriber."""

    event: Event
    """The event."""
    pattern: str
    """The subscription pattern it matched."""


class TailEvents(Message):
    """Ask for the most recent stored events (the CLI's ``events tail``)."""

    limit: int = 50
    """How many at most."""
    name_prefix: str = ""
    """Only names starting with this."""
    correlation_id: GivenId | None = None
    """Only events of this run (any letter case)."""


class EventsPage(Message):
    """Answer to :class:`TailEvents`: newest last."""

    events: list[Event]
    """The events."""


class FlowError(Message):
    """The bus could not do a subscription or a query; nothing changed."""

    code: str
    """``invalid_pattern`` or ``storage_unavailable``."""
    message: str
    """What was wrong."""
