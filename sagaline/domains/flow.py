"""The flow domain: the event bus's logic and storage (behind the flow actor).

:meth:`FlowService.publish` takes a ``PublishEvent`` and returns a
:class:`Publication`: the reply, the event that was published, and which
subscribers must get it (the actor holds their addresses and sends the
``EventDelivery`` messages from its own thread). Step by step:

1. **Validate** with the taxonomy in ``config.mode``. Publishing never fails
   the publisher: in every mode the answer is ``EventPublished``. ``drop``
   (the daemon's): a broken event is counted in :attr:`FlowService.drops`
   and the ``audit.event_drop`` event from the validator is published in
   its place (``accepted=False``, ``reason`` = the violation). ``raise``
   (tests): the same, because the bus must not fail its publisher; call
   :func:`~sagaline.events.validator.validate` directly to see the
   exception. ``warn``: logged and published as is (``accepted=True``).
2. **Route**: ``select_pipeline``, ``reliability_of``.
3. **Store** persistent events durably (and the ``audit.event_drop``,
   which is persistent), exactly once per idempotency key: the command's
   key, or ``event:<event id>`` when it has none. A duplicate gets the first
   answer and is *not* delivered again. Transient events are not written;
   they go to a bounded in-memory ring (``config.transient_ring``) that
   :meth:`FlowService.tail` also reads.
4. **Match** subscriptions: each subscriber gets an event at most once,
   for the first of its patterns that matches.

If storing fails, the reply is ``CommandFailed(code="storage_unavailable",
retryable=True)`` (or ``storage_failed``) and nothing is delivered: the event
is not durable, and the publisher may retry with the same key.

Patterns (:class:`Pattern`): dot-separated segments; a literal segment
matches itself, ``*`` exactly one segment, and a final ``#`` the rest: zero
or more segments (``user.#`` matches ``user.onboarding.complete``; ``#``
alone matches every name). Subscriptions live in memory only; subscribers
re-subscribe after a bus restart and catch up with ``TailEvents``.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagaline.domains.service import answer
from sagaline.errors import SagalineError
from sagaline.events import DropCounter, Dropped, Event, EventRejected, Mode, reliability_of, select_pipeline, validate
from sagaline.events.flow import EventPublished, EventsPage, EventsSubscribed, PublishEvent, TailEvents
from sagaline.messages.base import Message, Reply
from sagaline.messages.codec import CodecError
from sagaline.messages.common import CommandFailed
from sagaline.storage.database import Connection
from sagaline.storage.errors import StorageError
from sagaline.storage.flow_store import FlowStore, event_row
from sagaline.storage.idempotency import apply_once, failure
from sagaline.storage.sqlite import Clock, read_clock, utc_now

__all__ = ["FlowConfig", "FlowService", "Pattern", "InvalidPattern", "Delivery", "Publication"]

_log = logging.getLogger("sagaline.flow")
_LITERAL = re.compile(r"^[a-z0-9_]+$")


class InvalidPattern(SagalineError, ValueError):
    """A subscription pattern is malformed; raised by :meth:`Pattern.parse`
    (and so by :meth:`FlowService.subscribe`). Nothing was subscribed; fix
    the pattern."""


@dataclass(frozen=True)
class Pattern:
    """A compiled subscription pattern (syntax in the module docstring)."""

    text: str
    """The pattern as written."""
    segments: tuple[str, ...]
    """Its segments."""

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Compile ``text``.

        Raises:
            InvalidPattern: empty, an empty segment, ``#`` not last, or a
                segment that is neither ``[a-z0-9_]+``, ``*`` nor ``#``.
        """
        segments = tuple(text.split(".")) if isinstance(text, str) and text else ()
        if not segments:
            raise InvalidPattern("a pattern cannot be empty")
        for i, seg in enumerate(segments):
            if seg == "#" and i != len(segments) - 1:
                raise InvalidPattern(f"{text!r}: '#' may only be the last segment")
            if seg not in ("*", "#") and not _LITERAL.match(seg):
                raise InvalidPattern(f"{text!r}: segment {seg!r} is not [a-z0-9_]+, '*' or '#'")
        return cls(text, segments)

    def matches(self, name: str) -> bool:
        """True when the event name ``name`` matches this pattern."""
        parts = name.split(".")
        if self.segments[-1] == "#":
            head = self.segments[:-1]
            return len(parts) >= len(head) and _same(head, parts[: len(head)])
        return len(parts) == len(self.segments) and _same(self.segments, parts)


def _same(pattern: tuple[str, ...], parts: list[str]) -> bool:
    return all(p == "*" or p == part for p, part in zip(pattern, parts, strict=False))


@dataclass(frozen=True)
class Delivery:
    """One subscriber that must receive the published event."""

    subscriber: Any
    """Who (an actor address, opaque here)."""
    pattern: str
    """The pattern of its that matched."""


@dataclass(frozen=True)
class Publication:
    """The outcome of :meth:`FlowService.publish`."""

    reply: EventPublished | CommandFailed
    """The answer for the publisher."""
    event: Event | None
    """The event published (the ``audit.event_drop`` when dropped); None on failure."""
    deliveries: tuple[Delivery, ...] = ()
    """Subscribers to send it to (empty for a duplicate or a failure)."""


@dataclass(frozen=True)
class FlowConfig:
    """The bus's settings."""

    mode: Mode = "drop"
    """Validation mode: drop (daemon), raise (tests), warn (development)."""
    transient_ring: int = 1000
    """How many recent transient events :meth:`FlowService.tail` can show."""
    max_tail: int = 1000
    """Most events one ``TailEvents`` returns."""


class FlowService:
    """The event bus over a :class:`FlowStore`; subscriptions in memory."""

    def __init__(self, store: FlowStore, clock: Clock = utc_now, config: FlowConfig = FlowConfig()) -> None:
        """Args: store: flow's open store; clock: aware UTC now; config: :class:`FlowConfig`."""
        self.store = store
        self.config = config
        self.drops = DropCounter()
        """Events dropped by the validator, by rule."""
        self._clock = clock
        self._subs: list[tuple[Any, Pattern]] = []
        self._ring: deque[Event] = deque(maxlen=max(0, config.transient_ring))

    async def start(self) -> None:
        """Nothing to prepare (present so every service starts alike)."""

    async def handle(self, message: Message) -> Reply | EventsPage:
        """Answer a ``PublishEvent`` (its reply; deliveries are dropped: the actor
        uses :meth:`publish`) or a ``TailEvents`` (an ``EventsPage``).

        Raises:
            StorageError: ``TailEvents`` could not read the store.
            TypeError: ``message`` is not a Command nor ``TailEvents``.
        """
        if isinstance(message, TailEvents):
            return await self.tail(message)
        return await answer(message, {PublishEvent: self._reply_only})

    async def _reply_only(self, cmd: PublishEvent) -> Reply:
        return (await self.publish(cmd)).reply

    async def publish(self, cmd: PublishEvent) -> Publication:
        """Validate, route, store and match one event (module docstring). Never raises
        for a bad event or a storage failure; the reply says what happened."""
        now = read_clock(self._clock)
        event, reason = self._judge(cmd.event, now)
        pipeline, reliability = select_pipeline(event), reliability_of(event)
        deliveries = self.subscribers_for(event.name)
        reply = EventPublished(
            headers=cmd.headers,
            event_id=event.id,
            accepted=not reason,
            reason=reason,
            pipeline=pipeline,
            stored=reliability == "persistent",
            delivered=len(deliveries),
        )
        if reliability != "persistent":
            self._ring.append(event)
            return Publication(reply, event, deliveries)
        return await self._store(cmd, event, reply, deliveries, now)

    def _judge(self, candidate: Event, now: datetime) -> tuple[Event, str]:
        try:
            outcome = validate(candidate, self.config.mode, drops=self.drops, now=now)
        except EventRejected:  # raise mode: the publisher still gets an answer
            outcome = validate(candidate, "drop", drops=self.drops, now=now)
        if isinstance(outcome, Dropped):
            return outcome.audit_event, str(outcome.violation)
        return outcome.event, ""

    async def _store(
        self, cmd: PublishEvent, event: Event, reply: EventPublished, deliveries: tuple[Delivery, ...], now: datetime
    ) -> Publication:
        key = cmd.headers.idempotency_key or f"event:{cmd.event.id}"
        keyed = cmd.model_copy(update={"headers": cmd.headers.model_copy(update={"idempotency_key": key})})
        try:
            row = event_row(event, reply.pipeline, "persistent", key)
        except CodecError as exc:
            _log.warning("event %s not stored: %s", event.id, exc)
            return Publication(
                reply.model_copy(
                    update={"accepted": False, "stored": False, "delivered": 0, "reason": f"cannot be stored: {exc}"}
                ),
                None,
            )
        fresh = False

        async def effect(conn: Connection) -> Reply:
            nonlocal fresh
            fresh = True
            await self.store.insert_event(conn, row)
            return reply

        try:
            answered = await apply_once(self.store.db, keyed, effect, now)
        except StorageError as exc:
            code = "storage_unavailable" if exc.retryable else "storage_failed"
            return Publication(failure(cmd, code, str(exc), exc.retryable), None)
        if isinstance(answered, CommandFailed):
            return Publication(answered, None)
        return Publication(answered, event, deliveries if fresh else ())  # type: ignore[arg-type]

    def subscribe(self, subscriber: Any, pattern: str) -> EventsSubscribed:
        """Deliver events matching ``pattern`` to ``subscriber`` (again is a no-op).

        Raises:
            InvalidPattern: the pattern is malformed.
        """
        compiled = Pattern.parse(pattern)
        if not any(s == subscriber and p.text == pattern for s, p in self._subs):
            self._subs.append((subscriber, compiled))
        return EventsSubscribed(pattern=pattern)

    def unsubscribe(self, subscriber: Any, pattern: str | None = None) -> int:
        """Drop ``subscriber``'s ``pattern`` (all its patterns when None); return how many."""
        keep = [(s, p) for s, p in self._subs if not (s == subscriber and (pattern is None or p.text == pattern))]
        removed, self._subs = len(self._subs) - len(keep), keep
        return removed

    def subscriptions(self) -> list[tuple[Any, str]]:
        """Every (subscriber, pattern), in subscription order."""
        return [(s, p.text) for s, p in self._subs]

    def subscribers_for(self, name: str) -> tuple[Delivery, ...]:
        """Who gets an event called ``name``: each subscriber once, first matching pattern."""
        found: list[Delivery] = []
        for subscriber, pattern in self._subs:
            if pattern.matches(name) and not any(d.subscriber == subscriber for d in found):
                found.append(Delivery(subscriber, pattern.text))
        return tuple(found)

    async def tail(self, query: TailEvents) -> EventsPage:
        """The newest events matching ``query`` (stored ones and the transient ring), oldest first.

        Raises:
            StorageError: the store could not be read.
        """
        limit = max(0, min(query.limit, self.config.max_tail))
        if limit == 0:
            return EventsPage(events=[])
        stored = await self.store.tail(limit, query.name_prefix, query.correlation_id)
        recent = [
            e
            for e in self._ring
            if e.name.startswith(query.name_prefix) and query.correlation_id in (None, e.correlation_id)
        ]
        merged = sorted(stored + recent, key=lambda e: (e.at, e.id))
        return EventsPage(events=merged[-limit:])

    def drop_counts(self) -> dict[str, int]:
        """Dropped events so far, by rule name."""
        return {rule.value: count for rule, count in self.drops.by_rule().items()}
