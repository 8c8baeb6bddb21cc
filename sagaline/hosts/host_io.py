"""A saga host's plumbing: the runs' timers on one clock, and sends gathered per destination.

Both exist because a host carries many runs and a Thespian operation costs
far more than the work behind it:

* :class:`RunTimers` keeps every run's named timers in one heap and needs
  at most one Thespian ``wakeupAfter`` outstanding (for the earliest
  deadline). Thespian timers cannot be cancelled, so one wakeup per step
  deadline would deliver thousands of stale wakeups per second at a few
  hundred runs per second; here a cancelled or replaced timer is simply
  skipped when its time comes. Pure: the caller passes ``now``.
* :class:`Outbox` gathers what the runs send and sends it one envelope per
  destination: several commands for one actor travel as one
  :class:`~sagaline.messages.batch.CommandBatch` (see that module for the
  measured cost of a message against an item), through a window that lets
  batches grow under load.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from sagaline.messages.base import Command
from sagaline.messages.batch import CommandBatch

__all__ = ["RunTimers", "Outbox"]

#: Seconds after which an unanswered envelope is no longer tracked (its actor died, or it waits long).
_FORGET_S = 60.0


class RunTimers:
    """Named timers of many runs on one heap (``key`` is any hashable, e.g. ``(run_id, name)``)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._live: dict[Any, tuple[int, Any]] = {}  # key -> (serial, data) of its live start
        self._serials = itertools.count(1)

    def start(self, key: Any, at: float, data: Any = None) -> None:
        """(Re)start timer ``key`` to fire at ``at``, replacing any earlier start of it."""
        serial = next(self._serials)
        self._live[key] = (serial, data)
        heapq.heappush(self._heap, (at, serial, key))

    def cancel(self, key: Any) -> None:
        """Cancel timer ``key`` (no error if absent)."""
        self._live.pop(key, None)

    def cancel_all(self, prefix: Callable[[Any], bool]) -> None:
        """Cancel every timer whose key satisfies ``prefix`` (a run that ended)."""
        for key in [k for k in self._live if prefix(k)]:
            del self._live[key]

    def due(self, now: float) -> list[tuple[Any, Any]]:
        """Pop every live timer due at ``now``: ``[(key, data)]`` in deadline order."""
        fired = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, serial, key = heapq.heappop(heap)
            live = self._live.get(key)
            if live is not None and live[0] == serial:
                del self._live[key]
                fired.append((key, live[1]))
        return fired

    def next_at(self) -> float | None:
        """When the earliest live timer fires (None: none); drops stale heads on the way."""
        heap = self._heap
        while heap:
            at, serial, key = heap[0]
            live = self._live.get(key)
            if live is not None and live[0] == serial:
                return at
            heapq.heappop(heap)
        return None

    def __len__(self) -> int:
        return len(self._live)


class _Envelope:
    """Commands sent to one actor in one envelope, until each is answered."""

    __slots__ = ("keys", "sent_at")

    def __init__(self, keys: set[str], sent_at: float) -> None:
        self.keys, self.sent_at = keys, sent_at


class Outbox:
    """Messages gathered per destination, sent by :meth:`flush`, commands through a window.

    **The window** (Nagle's algorithm, one envelope in flight): commands for
    an actor wait while an earlier envelope of commands to it is still
    unanswered, then leave together as one batch. Idle, a command leaves at
    once; under load, batches grow by themselves to what the actor can take.
    A batch waits at most ``release_s`` for an answer (a command that is
    answered late, like a wait for training, must not hold the others).
    This is what makes batches form at all: Thespian sends one message per
    connection at a time and waits for its acknowledgement, so messages
    queued behind it would otherwise leave one by one.

    Args:
        send: the actor's ``send(address, message)``.
        release_s: the longest a batch waits for the answers to the one before.
    """

    def __init__(self, send: Callable[[Any, Any], None], release_s: float = 0.05) -> None:
        self._send = send
        self._release_s = release_s
        self._queues: list[tuple[Any, list[Any]]] = []  # addresses are not hashable: short lists
        self._windows: list[tuple[Any, list[_Envelope]]] = []
        self._envelope_of: dict[str, _Envelope] = {}
        self._fresh = False
        self.envelopes = 0
        self.items = 0

    def put(self, address: Any, message: Any) -> None:
        """Queue ``message`` for ``address``."""
        _entry(self._queues, address, list).append(message)
        self._fresh = True

    def answered(self, key: str | None) -> None:
        """The command with idempotency key ``key`` was answered: it no longer holds the window."""
        envelope = self._envelope_of.pop(key, None) if key else None
        if envelope is not None:
            envelope.keys.discard(key)

    def flush(self, now: float) -> float | None:
        """Send what may leave now; return when held commands must leave at the latest (None: none held)."""
        queues, self._queues = self._queues, []
        self._fresh = False
        release = None
        for address, messages in queues:
            commands = [m for m in messages if isinstance(m, Command)]
            held_until = self._held_until(address, now) if commands else None
            if held_until is not None:
                _entry(self._queues, address, list).extend(commands)
                release = held_until if release is None else min(release, held_until)
                messages = [m for m in messages if not isinstance(m, Command)]
                commands = []
            if len(commands) > 1:
                self._out(address, CommandBatch(commands=commands), commands, now)
                messages = [m for m in messages if not isinstance(m, Command)]
            for message in messages:
                self._out(address, message, [message] if isinstance(message, Command) else [], now)
        return release

    def _held_until(self, address: Any, now: float) -> float | None:
        window = _entry(self._windows, address, list)
        while window and (not window[0].keys or now - window[0].sent_at > _FORGET_S):
            for key in window.pop(0).keys:  # never answered (its actor died): stop tracking it
                self._envelope_of.pop(key, None)
        if not window or now >= window[0].sent_at + self._release_s:
            return None
        return window[0].sent_at + self._release_s

    def _out(self, address: Any, message: Any, commands: list[Any], now: float) -> None:
        keys = {c.headers.idempotency_key for c in commands if c.headers.idempotency_key}
        if keys:
            envelope = _Envelope(keys, now)
            _entry(self._windows, address, list).append(envelope)
            self._envelope_of.update((k, envelope) for k in keys)
        self._send(address, message)
        self.envelopes += 1
        self.items += max(1, len(commands))

    def __bool__(self) -> bool:
        """True when something was queued since the last flush (held commands do not count)."""
        return self._fresh


def _entry(entries: list[tuple[Any, Any]], address: Any, make: Callable[[], Any]) -> Any:
    for dest, value in entries:
        if dest == address:
            return value
    value = make()
    entries.append((address, value))
    return value
